"""The equity market: premiums, at-the-market issuance, the cost of capital (closed forms by
hand), listings and at-the-market raises in the model, and their accounting (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm import MiningIndustry
from abm.firms import LISTED, PRIVATE
from abm.markets import equity
from abm.scenario import EquityConfig
from tests.conftest import small_scenario
from tests.test_invariants import step_checked

# the formulas by hand at round sensitivities (not the fitted defaults)
CFG = EquityConfig(enabled=True, momentum_beta=1.5, margin_beta=2.0)


def test_sector_premium_by_hand():
    # BTC up 20% over 90 days (log return ln 1.2), margin at the reference: 1.2^1.5 = 1.31453
    assert equity.sector_mnav(math.log(1.2), 0.4, CFG) == pytest.approx(1.2**1.5)
    # 10 points of margin above the reference: x e^(2 x 0.1) = x 1.22140
    assert equity.sector_mnav(math.log(1.2), 0.5, CFG) == pytest.approx(1.2**1.5 * math.exp(0.2))
    # a crash is clipped at the floor, a mania at the cap
    assert equity.sector_mnav(-3.0, 0.0, CFG) == CFG.mnav_min
    assert equity.sector_mnav(3.0, 0.9, CFG) == CFG.mnav_max


def test_ai_rerating_atm_and_shares_by_hand():
    # a firm with a quarter of its revenue from AI: 1.3 x (1 + 2 x 0.25) = 1.95
    assert equity.firm_mnav(1.3, np.array([0.25]), CFG)[0] == pytest.approx(1.95)
    # market value 1,500M at a premium of 1.5 over 30 days: 0.2 x 30/365 x 0.5 x 1,500M
    room = np.array([1e12, 1e12, 5e6, -1e6])  # what cash lacks of its target
    usd = equity.atm_usd(np.full(4, 1.5e9), np.array([1.5, 0.9, 1.5, 1.5]), 30, room, CFG)
    assert usd[0] == pytest.approx(0.2 * 30 / 365 * 0.5 * 1.5e9)  # 12.33M
    assert usd[1] == 0.0  # no issuance at a discount to NAV
    assert usd[2] == 5e6  # topped up to the cash target only
    assert usd[3] == 0.0  # cash above its target: nothing
    # 1,000M shares at $1.50 (NAV 1,000M, premium 1.5); issuing $150M adds 100M shares, and NAV
    # per share rises from 1.000 to 1,150 / 1,100 = 1.04545: issuance at a premium is accretive
    shares, price = equity.issue_shares(np.array([1e9]), np.array([1.5e9]), np.array([150e6]))
    assert price[0] == pytest.approx(1.5) and shares[0] == pytest.approx(1.1e9)
    assert (1e9 + 150e6) / shares[0] == pytest.approx(1.0454545, rel=1e-6)


def test_cost_of_capital_by_hand():
    # equity at 15% on market value is 10% on NAV at a premium of 1.5; floored at 5%
    coe = equity.cost_of_equity(np.array([1.5, 4.0]), CFG)
    assert coe == pytest.approx([0.10, 0.05])
    # debt 40 at 10%, equity (NAV) 60 at 20%: 0.4 x 0.1 + 0.6 x 0.2 = 0.16; no debt: equity
    w = equity.weighted_cost_of_capital(
        np.array([40.0, 0.0]), np.array([60.0, -5.0]), np.array([0.1, 0.1]), np.array([0.2, 0.2])
    )
    assert w == pytest.approx([0.16, 0.2])
    # a convertible at a 3% coupon costs 3% + 6% (the option) = 9%: debt 30 at 9%, NAV 70 at
    # 10% gives 0.3 x 0.09 + 0.7 x 0.10 = 0.097
    real = equity.convertible_cost(np.array([0.03]), CFG)
    assert real[0] == pytest.approx(0.09)
    w = equity.weighted_cost_of_capital(np.array([30.0]), np.array([70.0]), real, np.array([0.1]))
    assert w[0] == pytest.approx(0.097)


def _equity_scenario(**over):
    return small_scenario(
        n_firms=40,
        years=1.0,
        **{
            "equity.enabled": True,
            "equity.ipo_min_ehs": 0.0,
            "equity.ipo_min_mnav": 0.3,  # listings whatever the premium
            "equity.ipo_rate_per_year": 5.0,
            "ai.enabled": False,  # conversions raise equity too: keep the ledger to this market
            **over,
        },
    )


def test_listings_and_raises_in_the_model():
    m = MiningIndustry(_equity_scenario(**{"consolidation.entry": False}), seed=3)
    kind0 = m.firms.kind.copy()
    m.run_model()
    t = m.firms
    assert t.n == kind0.size  # no entrants: every listing is a row of day one
    listed_now = (kind0 == PRIVATE) & (t.kind == LISTED)
    assert m.equity.listings == listed_now.sum() > 0
    # every dollar raised is in the ledger, and every listed firm has shares and a premium
    assert m.ledger["usd_equity_raised"] == pytest.approx(m.equity.raised_usd)
    alive = t.active & (t.kind == LISTED)
    assert (t.shares[alive] > 0).all() and (t.mnav[alive] > 0).all()
    # hurdle rates of listed firms are derived: between the cheapest and the dearest source
    lo = min(CFG.cost_of_equity_min, float(t.debt_rate[alive].min()))
    assert (t.hurdle_rate[alive] >= lo - 1e-12).all()
    assert np.isfinite(m.recorder.timeseries()["sector_mnav"]).all()


def test_off_leaves_everything_as_it_was():
    m = MiningIndustry(small_scenario(n_firms=40, years=0.3, **{"equity.enabled": False}), seed=3)
    hurdle0 = m.firms.hurdle_rate.copy()
    m.run_model()
    n0 = hurdle0.size
    assert np.array_equal(m.firms.hurdle_rate[:n0], hurdle0)
    assert m.equity.raised_usd == 0.0 and m.equity.listings == 0
    assert np.isnan(m.recorder.timeseries()["sector_mnav"]).all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    drift=st.floats(-1.0, 1.5),
    vol=st.floats(0.0, 1.2),
    ipo_rate=st.floats(0.0, 20.0),
    atm=st.floats(0.0, 2.0),
    period=st.integers(1, 60),
)
def test_equity_market_conserves_and_shares_only_grow(seed, drift, vol, ipo_rate, atm, period):
    sc = _equity_scenario(
        **{
            "price.drift_per_year": drift,
            "price.volatility_per_year": vol,
            "equity.ipo_rate_per_year": ipo_rate,
            "equity.atm_share_per_year": atm,
            "equity.issue_period_days": period,
        }
    )
    sc = sc.with_overrides({"run.years": 0.4})
    m = MiningIndustry(sc, seed=seed)
    kind_before = m.firms.kind.copy()
    shares_before = m.firms.shares.copy()
    while m.running:
        step_checked(m)  # the books' invariants every day
        t = m.firms
        n = kind_before.size
        # shares never shrink; kinds change only from private to listed
        assert (t.shares[:n] >= shares_before - 1e-6 * np.abs(shares_before)).all()
        changed = t.kind[:n] != kind_before
        assert (kind_before[changed] == PRIVATE).all() and (t.kind[:n][changed] == LISTED).all()
        kind_before, shares_before = t.kind.copy(), t.shares.copy()
    assert m.ledger["usd_equity_raised"] == pytest.approx(m.equity.raised_usd, rel=1e-9, abs=1e-3)
