"""The rig markets and the rest of the world: hand-computed clearing, valuation, order book,
dealer and supply curve; and properties of the markets in the model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from abm.markets.clearing import Asks, Bids, allocate, clearing_price, demand, just_below
from abm.markets.hardware import rig_value_usd_per_th
from abm.model import MiningIndustry
from abm.scenario import Scenario
from abm.world import tranche_prices


def _bids(value, quantity, group=None, budget=None, extra=None) -> Bids:
    n = len(value)
    group = np.arange(n) if group is None else np.asarray(group)
    budget = np.full(group.max() + 1, np.inf) if budget is None else np.asarray(budget, float)
    extra = np.zeros(n) if extra is None else np.asarray(extra, float)
    return Bids(np.asarray(value, float), np.asarray(quantity, float), extra, group, budget)


def test_demand_and_clearing_price_by_hand():
    # three buyers worth 10, 8 and 6 a unit, one unit each
    b = _bids([10.0, 8.0, 6.0], [1.0, 1.0, 1.0])
    assert demand(7.0, b) == 2.0 and demand(9.0, b) == 1.0 and demand(10.0, b) == 0.0
    # supply 2: the lowest price at which at most 2 are wanted is 6 (the third buyer drops out
    # at any price >= its value)
    assert clearing_price(b, 2.0, floor=1.0) == pytest.approx(6.0, rel=3e-3)
    # supply 3 at a floor of 1: all three buy at the floor
    assert clearing_price(b, 3.0, floor=1.0) == 1.0
    # supply 0.5: the price rises to the top value
    assert clearing_price(b, 0.5, floor=1.0) == pytest.approx(10.0, rel=3e-3)


def test_budgets_limit_demand_by_hand():
    # one buyer worth 10 a unit wants 4 units but has 20 USD, and pays 1 USD a unit extra
    b = _bids([10.0], [4.0], budget=[20.0], extra=[1.0])
    # at p = 4: it can pay 20 / (4 + 1) = 4 units: all it wants
    assert demand(4.0, b) == pytest.approx(4.0)
    # at p = 8.5: 20 / 9.5 units
    assert demand(8.5, b) == pytest.approx(20.0 / 9.5)
    # supply 2.5 clears where 20 / (p + 1) = 2.5: p = 7
    assert clearing_price(b, 2.5, floor=0.0) == pytest.approx(7.0, rel=3e-3)


def test_an_item_is_wanted_only_below_its_value_less_its_extra_cost_by_hand():
    # a rig worth 10 that needs 3 of site per unit is wanted below 7, not below 10: at p = 8 the
    # buyer would pay 8 + 3 = 11 for 10 of value
    b = _bids([10.0, 6.0], [1.0, 1.0], extra=[3.0, 0.0])
    assert demand(8.0, b) == 0.0
    assert demand(6.5, b) == 1.0 and demand(5.0, b) == 2.0
    # supply 1: the second buyer (6) drops out first; the price is 6, where the first (net 7)
    # still buys; supply 0.5: the price rises to the first's net value, 7 (not 10)
    assert clearing_price(b, 1.0, floor=1.0) == pytest.approx(6.0, rel=3e-3)
    assert clearing_price(b, 0.5, floor=1.0) == pytest.approx(7.0, rel=3e-3)
    # rationing serves the higher net value first: at p = 5 with supply 1, the first (7) buys
    np.testing.assert_allclose(allocate(5.0, b, supply=1.0), [1.0, 0.0])
    # and one whose value beats the price but not price + extra cost buys nothing
    np.testing.assert_allclose(allocate(8.0, b, supply=np.inf), [0.0, 0.0])


def test_allocate_serves_the_highest_values_and_rations_the_marginal_buyer():
    b = _bids([10.0, 8.0, 6.0], [1.0, 1.0, 1.0])
    got = allocate(5.0, b, supply=2.5)
    np.testing.assert_allclose(got, [1.0, 1.0, 0.5])
    # budgets within a group: the better item first (group 0: 12 USD at p = 5 buys 2.4 units)
    b = _bids([10.0, 9.0], [2.0, 2.0], group=[0, 0], budget=[12.0])
    np.testing.assert_allclose(allocate(5.0, b, supply=np.inf), [2.0, 0.4])


def test_asks_join_the_supply_at_their_reservation():
    # buyers worth 10 and 8 (1 unit each); a holder sells 1 unit at any price above 5
    b = _bids([10.0, 8.0], [1.0, 1.0])
    asks = Asks(np.array([5.0]), np.array([1.0]))
    # without the ask and supply 1: the price is 8; with it, 2 units are offered above 5, and
    # both buyers buy at any price below 8: the lowest price with demand <= supply is 8
    assert clearing_price(b, 1.0, 0.0) == pytest.approx(8.0, rel=3e-3)
    assert clearing_price(b, 1.0, 0.0, asks=asks) == pytest.approx(5.0, rel=3e-3)
    # a price just below the clearing price still serves the marginal buyer
    assert just_below(8.0, 1.0) < 8.0 and just_below(1.0, 1.0) == 1.0


def test_rig_value_with_the_option_to_switch_off_by_hand():
    hp, c, r = 0.04, 0.02, 0.1
    d = math.log(2.0)  # hashprice halves in a year: the margin is gone after T = 1 year
    v = rig_value_usd_per_th(hp, np.array([c]), r, d, 5.0)[0]
    pv = lambda rate, t: (1 - math.exp(-rate * t)) / rate * 365  # noqa: E731
    assert v == pytest.approx(hp * pv(r + d, 1.0) - c * pv(r, 1.0), rel=1e-9)
    # a rig that does not cover its energy today is worth nothing; no decline: the full life
    assert rig_value_usd_per_th(hp, np.array([0.05]), r, d, 5.0)[0] == 0.0
    v0 = rig_value_usd_per_th(hp, np.array([c]), r, 0.0, 2.0)[0]
    assert v0 == pytest.approx((hp - c) * pv(r, 2.0), rel=1e-9)


def test_tranche_prices_are_lognormal_quantiles():
    # two tranches: the 25% and 75% quantiles, median x exp(-+ sd x 0.67449)
    p = tranche_prices(40.0, 0.5, 2)
    np.testing.assert_allclose(p, 40.0 * np.exp(0.5 * np.array([-0.6744898, 0.6744898])))
    assert np.all(np.diff(tranche_prices(40.0, 0.3, 10)) > 0)


def test_world_holds_its_share_on_day_one():
    m = MiningIndustry(Scenario(), seed=3)
    firms = m.sites.fleet_ths.sum()
    world = m.world.fleet_ths.sum()
    assert world / (firms + world) == pytest.approx(m.params.world.initial_share, rel=1e-9)
    # its rigs fit its MW, the cheapest tranches built first
    w = m.world
    assert np.all(w.fleet_ths @ m.gens.power_mw_per_th <= w.capacity_mw * (1 + 1e-9))
    assert np.all(np.diff(w.capacity_mw) <= 1e-9)


def test_asic_order_book_by_hand():
    m = MiningIndustry(Scenario(), seed=1)
    a = m.asic
    a.backlog_ths = 0.0
    a.capacity_ths_per_day = 1e6
    lead = m.params.asic.lead_time_days
    assert a.delivery_days() == lead
    # 2.5 days of capacity on order: an order waits ceil(2.5) = 3 days, then the lead time
    a.backlog_ths = 2.5e6
    assert a.delivery_days() == 3 + lead
    # a supply beyond the backlog allowance is worked off over one pricing period
    cfg = m.params.asic
    a.backlog_ths = 1e6 * cfg.backlog_days + 7e6
    assert a.supply_per_day() == pytest.approx(1e6 - 7e6 / cfg.pricing_period_days)
    # the price never falls below the cost of making the newest generation
    g = m.gens.newest_released(0)
    assert a.cost_usd_per_th == pytest.approx(
        cfg.unit_cost_usd_per_w * m.gens.efficiency_j_per_th[g]
    )
    assert a.price_usd_per_th >= a.cost_usd_per_th


def test_capacity_follows_the_lagged_margin():
    m = MiningIndustry(Scenario(), seed=1)
    a = m.asic
    a.margin_lagged = 0.5
    k0 = a.capacity_ths_per_day
    a.orders = []
    m.step()
    growth = m.params.asic.capacity_response_per_year * math.tanh(0.5) / 365
    assert a.capacity_ths_per_day == pytest.approx(k0 * math.exp(growth), rel=1e-12)


def test_sold_rigs_go_to_the_dealer_and_are_resold_or_scrapped():
    # (without the rest of the world, whose own sales would join the clearing)
    m = MiningIndustry(Scenario(), seed=2, run__years=0.2, world__enabled=False)
    s = m.sites
    site = int(np.flatnonzero(s.fleet_ths.sum(axis=1) > 0)[0])
    g = int(np.flatnonzero(s.fleet_ths[site])[0])
    ths = s.fleet_ths[site].copy()
    bid = m.used.prices_usd_per_th.copy()
    cash0 = m.firms.cash_usd[s.owner[site]]
    proceeds = m.books.sell_rigs(np.array([site]), ths[None, :])
    # the owner is paid the dealer's bid, and the rigs are in the dealer's stock
    assert proceeds[0] == pytest.approx(ths @ bid)
    assert m.firms.cash_usd[s.owner[site]] == pytest.approx(cash0 + ths @ bid)
    assert m.used.stock_ths[g] == pytest.approx(ths[g])
    sold, scrapped = m.used.clear()  # (the firms' own offers join the clearing)
    assert sold + scrapped >= ths.sum() * (1 - 1e-9)
    assert m.used.stock_ths.sum() == 0.0


def test_no_reference_buyer_in_the_scenario():
    hw = Scenario().hardware.model_dump()
    assert "reference_power_price_usd_per_mwh" not in hw
    assert "pricing_discount_rate" not in hw


def test_the_rest_of_the_world_switches_with_the_firms_hysteresis():
    # one tranche, one generation's rigs: cost 1.0 per TH-day; off after 5 losing days in a
    # row, back on above cost x 1.05 (the baseline's operation parameters)
    m = MiningIndustry(Scenario(), seed=1)
    w, cfg = m.world, m.params.operation
    assert (cfg.off_after_loss_days, cfg.on_margin) == (5, 0.05)
    g = int(np.flatnonzero(w.fleet_ths.sum(axis=0) > 0)[-1])
    live = slice(g, g + 1)
    w.fleet_ths[:] = 0.0
    w.fleet_ths[0, g] = 100.0
    w.capacity_mw[:] = 1e6
    w.cost_usd_per_th_day[0, g] = 1.0

    def idle(start_delay_days: int) -> None:
        w.vintage_on[:] = False
        w.loss_days[:] = 0
        w.start_days[:] = 0
        w.start_delay_days[:] = start_delay_days

    idle(1)  # this tranche starts on the first day it could
    # revenue path and the running TH/s worked out by hand
    path = [1.04, 1.06, 0.9, 0.9, 0.9, 0.9, 1.01, 0.9, 0.9, 0.9, 0.9, 0.9, 1.04, 1.051]
    want = [0, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 0, 0, 100]
    got = [float(w.operate(rev, live)[0, 0]) for rev in path]
    assert got == want
    # a start delay of 3 days: it starts on the third day in a row above cost x 1.05; a day
    # at 1.0 (not above the margin) resets the count
    idle(3)
    path = [1.06, 1.06, 1.0, 1.06, 1.06, 1.06, 1.06]
    want = [0, 0, 0, 0, 0, 100, 100]
    assert [float(w.operate(rev, live)[0, 0]) for rev in path] == want
