"""Finance and consolidation rules on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from abm import MiningIndustry
from abm.finance import (
    borrowing_room,
    credit_factor,
    debt_service,
    second_price_auction,
    waterfall,
)
from tests.conftest import small_scenario


def test_debt_service():
    # $3.65M at 10%/yr: interest 3.65e6 x 0.1 / 365 = $1,000/day; 100 days to maturity:
    # principal 3.65e6 / 100 = $36,500/day; matured loans are due at once
    i, p = debt_service(np.array([3.65e6, 1e6]), np.array([0.1, 0.0]), np.array([110, 5]), 10)
    assert i[0] == pytest.approx(1000.0)
    assert p[0] == pytest.approx(36_500.0)
    assert i[1] == 0 and p[1] == pytest.approx(1e6)


def test_credit_tightens_when_hashprice_falls():
    # short/long = 0.5, sensitivity 2 -> 0.25; a rise is capped at 1; sensitivity 0 -> 1
    assert credit_factor(0.02, 0.04, 2.0) == pytest.approx(0.25)
    assert credit_factor(0.08, 0.04, 2.0) == 1.0
    assert credit_factor(0.02, 0.04, 0.0) == 1.0
    # LTV 0.5 x factor 0.5 x $10M collateral = $2.5M, less $1M debt -> $1.5M; never negative
    room = borrowing_room(np.array([10e6, 10e6]), np.array([1e6, 4e6]), np.array([0.5, 0.5]), 0.5)
    np.testing.assert_allclose(room, [1.5e6, 0.0])


def test_second_price_auction():
    # bids = min(value, budget) = [5, 8, 3]; winner 1 pays the second bid 5
    out = second_price_auction(np.array([5.0, 10.0, 3.0]), np.array([9.0, 8.0, 9.0]), 2.0)
    assert (out.winner, out.price_usd) == (1, 5.0)
    # reserve above the second bid: the winner pays the reserve
    assert second_price_auction(np.array([5.0, 10.0]), np.array([9.0, 9.0]), 7.0).price_usd == 7
    # nobody reaches the reserve: unsold
    assert second_price_auction(np.array([5.0, 6.0]), np.array([9.0, 9.0]), 7.0).winner == -1


@given(
    values=st.lists(st.floats(0, 1e9), min_size=1, max_size=20),
    budgets=st.lists(st.floats(0, 1e9), min_size=20, max_size=20),
    reserve=st.floats(0, 1e9),
)
def test_auction_never_takes_more_than_the_winner_has(values, budgets, reserve):
    v = np.array(values)
    b = np.array(budgets[: len(values)])
    out = second_price_auction(v, b, reserve)
    if out.winner >= 0:
        assert out.price_usd <= min(v[out.winner], b[out.winner]) + 1e-9
        assert out.price_usd >= reserve


def test_waterfall_seniority():
    # estate 100 + cash 20 = 120 -> lenders get their 80, owners 40
    assert waterfall(100.0, 20.0, 80.0) == (0.0, 80.0, 0.0, 40.0)
    # estate 100, bills 30 (cash -30): bills paid first, lenders 70 of 90 (20 lost), owners 0
    assert waterfall(100.0, -30.0, 90.0) == (0.0, 70.0, 20.0, 0.0)
    # estate 10, bills 30: 20 of bills unpaid, lenders lose everything
    assert waterfall(10.0, -30.0, 50.0) == (20.0, 0.0, 50.0, 0.0)


@given(proceeds=st.floats(0, 1e9), cash=st.floats(-1e9, 1e9), debt=st.floats(0, 1e9))
def test_waterfall_conserves(proceeds, cash, debt):
    unpaid, lenders, loss, owners = waterfall(proceeds, cash, debt)
    # what comes in (proceeds + cash) = what goes out (lenders + owners) - bills left unpaid
    assert proceeds + cash == pytest.approx(lenders + owners - unpaid, abs=1e-3)
    assert lenders + loss == pytest.approx(debt, abs=1e-3)
    assert min(unpaid, lenders, loss, owners) >= 0


def test_treasury_holds_its_share_of_mined_btc():
    sc = small_scenario(
        years=0.1,
        **{
            "finance.treasury_hold_fraction_listed": 1.0,
            "finance.treasury_hold_fraction_private": 0.0,
            "consolidation.acquisitions": False,
        },
    )
    m = MiningIndustry(sc, seed=1)
    m.run_model()
    t = m.firms
    listed, private = t.kind == 1, t.kind == 0
    # listed firms hold every BTC they mined unless they sold it under distress
    sold = m.ledger["btc_sold"]
    assert t.btc_held[listed].sum() == pytest.approx(t.cum_btc_mined[listed].sum(), abs=sold + 1e-9)
    assert t.btc_held[private].sum() == 0


def test_finance_off_means_all_cash_firms():
    sc = small_scenario(years=0.2, **{"finance.enabled": False})
    m = MiningIndustry(sc, seed=1)
    m.run_model()
    firms = m.firms.kind != 2  # sovereigns keep their own treasury policy
    assert m.firms.debt_usd.sum() == 0 and m.firms.btc_held[firms].sum() == 0
    assert m.ledger["usd_interest"] == 0 and m.ledger["usd_equity_raised"] == 0
