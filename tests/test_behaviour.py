"""Decision rules and rig pricing on hand-built cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from abm.behaviour import (
    group_argmax,
    move_plan,
    operate,
    plan_investment,
    row_sums,
    spend_in_order,
)
from abm.markets.energy import energy_cost_usd_per_th_day
from abm.markets.hardware import build_generations, pv_annuity_days, rig_value_usd_per_th
from abm.scenario import HardwareConfig


def test_energy_cost_per_th_day():
    # 20 J/TH x 24 h = 480 Wh = 0.00048 MWh per TH-day; at $50/MWh -> $0.024
    c = energy_cost_usd_per_th_day(np.array([50.0]), np.array([20 * 24 / 1e6]))
    assert c[0, 0] == pytest.approx(0.024)


def test_operate_runs_the_vintages_on_and_fills_capacity_most_efficient_first():
    power_mw_per_th = np.array([30e-6, 20e-6, 10e-6])  # 30, 20, 10 J/TH
    fleet = np.array([[1e6, 1e6, 1e6], [1e6, 1e6, 1e6]])  # 1 EH/s of each vintage
    # site 0: the 30 J/TH vintage is off; site 1: all on
    on = np.array([[False, True, True], [True, True, True]])
    # site 0 has 100 MW: 10 J/TH needs 10 MW, 20 J/TH needs 20 MW -> both run (30 MW)
    # site 1 has 25 MW: 10 MW for the newest, 15 MW left for 20 J/TH -> 0.75e6 TH/s, 0 of oldest
    running = operate(fleet, on, np.array([100.0, 25.0]), power_mw_per_th)
    np.testing.assert_allclose(running[0], [0.0, 1e6, 1e6])
    np.testing.assert_allclose(running[1], [0.0, 0.75e6, 1e6])


def test_pv_annuity_and_rig_value():
    # r -> 0: PV of $1/day for 2 years = 730 days
    assert pv_annuity_days(0.0, 2.0) == pytest.approx(730, rel=1e-6)
    # r = 10%/yr, 1 year: (1 - e^-0.1)/0.1 x 365 = 0.951626 x 365 = 347.34
    assert pv_annuity_days(0.1, 1.0) == pytest.approx(347.3435, rel=1e-5)
    # value with no decline and zero cost = hp x PV
    v = rig_value_usd_per_th(0.04, np.array([0.0]), 0.1, 0.0, 1.0)
    assert v[0] == pytest.approx(0.04 * 347.3435, rel=1e-5)


def test_plan_investment_fills_headroom_then_expands_within_budget():
    npv = np.array([[5.0, 10.0], [-1.0, -2.0]])  # USD/TH; firm 1 has nothing worth buying
    price = np.array([10.0, 20.0])  # per-dollar NPV 0.5 each -> argmax picks the first
    mw_per_th = np.array([20e-6, 10e-6])
    plan = plan_investment(
        npv,
        price,
        mw_per_th,
        headroom_mw=np.array([1.0, 5.0]),
        site_firm=np.array([0, 1]),
        capacity_mw=np.array([10.0, 10.0]),
        budget_usd=np.array([1e6, 1e6]),
        capex_usd_per_mw=100_000.0,
        max_growth=0.1,
        npv_new_site_usd_per_th=npv,
    )
    # firm 0, spare MW: gen 0 (per dollar 5/10 = 10/20, the first wins): 1 MW = 50,000 TH/s x
    # $10 = $500,000. New MW: per dollar of rigs and site, gen 0 (20 J/TH, site $2/TH)
    # (5 - 2) / (10 + 2) = 0.25, gen 1 (10 J/TH, site $1/TH) (10 - 1) / (20 + 1) = 0.43 -> gen 1;
    # 1 MW = 100,000 TH/s at $21/TH = $2.1M, but only $500,000 is left -> 10/42 of it:
    # 23,809.5 TH/s, 0.238095 MW
    assert plan.generation[0] == 0 and plan.generation_new[0] == 1
    assert plan.ths_headroom[0] == pytest.approx(50_000, rel=1e-9)
    assert plan.ths_new[0] == pytest.approx(100_000 * 10 / 42, rel=1e-9)
    assert plan.mw_added[0] == pytest.approx(10 / 42, rel=1e-9)
    assert plan.rigs_usd[0] == pytest.approx(500_000 + 100_000 * 10 / 42 * 20, rel=1e-9)
    assert plan.rigs_usd[0] + plan.infra_usd[0] == pytest.approx(1e6)
    assert plan.ths_headroom[1] == 0 and plan.ths_new[1] == 0 and plan.rigs_usd[1] == 0


def test_plan_investment_builds_new_mw_with_the_rig_that_pays_for_its_site():
    # S19 XP (21.5 J/TH) is the best buy per dollar for spare MW, (6 / 20 = 0.30 against
    # 8 / 30 = 0.27), but on a new site at $330,000/MW it needs $7.10/TH of site for $6 of NPV;
    # S21 XP (13.5 J/TH) needs $4.46/TH for $8 -> new MW go to S21 XP: 4% of 100 MW = 4 MW =
    # 296,296 TH/s, $8.89M of rigs and $1.32M of site
    plan = plan_investment(
        np.array([[6.0, 8.0]]),
        np.array([20.0, 30.0]),
        np.array([21.5e-6, 13.5e-6]),
        headroom_mw=np.array([0.0]),
        site_firm=np.array([0]),
        capacity_mw=np.array([100.0]),
        budget_usd=np.array([1e9]),
        capex_usd_per_mw=330_000.0,
        max_growth=0.04,
        npv_new_site_usd_per_th=np.array([[6.0, 8.0]]),
    )
    assert plan.generation_new[0] == 1
    assert plan.mw_added[0] == pytest.approx(4.0)
    assert plan.ths_new[0] == pytest.approx(4.0 / 13.5e-6)
    assert plan.rigs_usd[0] == pytest.approx(4.0 / 13.5e-6 * 30.0)
    assert plan.infra_usd[0] == pytest.approx(1_320_000.0)


def test_synthetic_generations_improve_at_the_frontier_rate():
    hw = HardwareConfig(frontier_improvement_per_year=0.12)
    g = build_generations(hw, dt.date(2026, 1, 1), 365 * 4)
    # last listed: S23 Hydro 9.5 J/TH on 2026-03-01; next one a year later at 9.5 x 0.88 = 8.36
    i = g.names.index("S23 Hydro")
    assert g.efficiency_j_per_th[i + 1] == pytest.approx(8.36)
    assert g.release_day[i + 1] - g.release_day[i] == 365


def test_plan_investment_never_buys_negative_amounts():
    # a budget that rounding left slightly negative buys nothing (found by a 200-run sweep)
    plan = plan_investment(
        np.array([[5.0]]),
        np.array([10.0]),
        np.array([20e-6]),
        headroom_mw=np.array([1.0]),
        site_firm=np.array([0]),
        capacity_mw=np.array([10.0]),
        budget_usd=np.array([-1e-9]),
        capex_usd_per_mw=1e5,
        max_growth=0.1,
        npv_new_site_usd_per_th=np.array([[5.0]]),
    )
    assert plan.ths_headroom[0] == 0 and plan.ths_new[0] == 0
    assert plan.rigs_usd[0] == 0 and plan.mw_added[0] == 0


def test_a_firms_budget_goes_to_its_best_sites_first():
    # one firm, three sites of one generation (10 USD/TH, 10 W/TH): NPV per dollar 0.2, 0.5
    # and 0.1 at the sites' energy costs; each has 1 MW spare = 100,000 TH/s = $1M of rigs. A
    # $1.5M budget buys all of site 1 (0.5) and half of site 0 (0.2); nothing at site 2
    plan = plan_investment(
        np.array([[2.0], [5.0], [1.0]]),
        np.array([10.0]),
        np.array([10e-6]),
        headroom_mw=np.array([1.0, 1.0, 1.0]),
        site_firm=np.array([0, 0, 0]),
        capacity_mw=np.array([30.0]),
        budget_usd=np.array([1.5e6]),
        capex_usd_per_mw=1e9,  # no new MW
        max_growth=0.1,
        npv_new_site_usd_per_th=np.array([[2.0]]),
    )
    np.testing.assert_allclose(plan.ths_headroom, [50_000.0, 100_000.0, 0.0])
    np.testing.assert_allclose(plan.headroom_usd, [0.5e6, 1e6, 0.0])
    assert plan.rigs_usd[0] == pytest.approx(1.5e6) and plan.mw_added[0] == 0


def test_spend_in_order_by_hand():
    # group 0: items wanting 5, 5, 5 with priorities 1, 3, 2 and a budget of 7 -> 5 to the
    # second, 2 to the third, 0 to the first; group 1 (budget 100) takes what it wants
    got = spend_in_order(
        np.array([0, 0, 0, 1]),
        np.array([1.0, 3.0, 2.0, 1.0]),
        np.full(4, 5.0),
        np.array([7.0, 100.0]),
    )
    np.testing.assert_allclose(got, [0.0, 5.0, 2.0, 5.0])


def test_group_argmax_and_move_plan_by_hand():
    g = np.array([0, 0, 1, 1, 1, 2])
    v = np.array([1.0, 3.0, 2.0, 2.0, -np.inf, np.nan])
    # group 0 -> item 1; group 1: a tie at 2.0 -> the first (item 2); group 2, 3: none
    assert group_argmax(g, v, 4).tolist() == [1, 2, -1, -1]
    # 1 MW of room; rigs of 40 W/TH (10,000 TH/s = 0.4 MW) and 20 W/TH (50,000 TH/s = 1 MW):
    # the least efficient first: all 10,000 of the first, then 0.6 MW = 30,000 of the second
    moved = move_plan(np.array([[10_000.0, 50_000.0]]), np.array([40e-6, 20e-6]), np.array([1.0]))
    np.testing.assert_allclose(moved, [[10_000.0, 30_000.0]])


@pytest.mark.parametrize("cols", [1, 2, 3, 7, 8, 9, 12, 15, 16, 17, 24, 31, 64, 127, 128, 129])
def test_row_sums_are_the_sums_of_the_rows(cols):
    rng = np.random.default_rng(cols)
    x = rng.lognormal(0.0, 4.0, (300, cols)) * (rng.random((300, cols)) > 0.3)
    x[0] = -0.0  # a row of negative zeros sums to zero
    x[1, 0] = np.inf
    x[2, -1] = np.nan
    got, want = row_sums(x), x.sum(axis=1)
    assert got[0] == 0.0 and got[1] == np.inf and np.isnan(got[2])
    np.testing.assert_allclose(got[3:], want[3:], rtol=1e-12)
