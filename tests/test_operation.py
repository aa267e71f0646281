"""Operation without cliffs (abm/operation.py, the fee backlog in abm/markets/fees.py): each rule
on a hand-computed case, then the daily path on small explicit worlds, and a property of the
baseline over seeds (no hashrate collapse without a price collapse)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from abm import MiningIndustry, Scenario, operation, run
from abm.firms import fleet_by_vintage
from abm.markets.fees import backlog_multiplier, backlog_next
from abm.markets.hardware import build_generations
from abm.scenario import OperationConfig, ScenarioError
from abm.sites import BUILDING, CARE, MINING
from tests.conftest import NO_FAILURES
from tests.test_consolidation import _world
from tests.test_invariants import check_invariants

# the baseline's hazard: 4%/yr new, 25%/yr at 7 years -> b = ln(6.25) / 7
B_HAZARD = math.log(0.25 / 0.04) / 7.0


def _three_firms(firm_changes: dict[int, dict], **overrides) -> Scenario:
    """The explicit world of tests/test_consolidation.py (A $30/MWh S21, B $70/MWh S19 XP, C
    $50/MWh S21) with some of the firms' specifications changed."""
    firms = [f.model_dump() for f in _world().firms.explicit]
    for i, change in firm_changes.items():
        firms[i].update(change)
    return _world(**{"firms.explicit": firms, **overrides})


def _gompertz_survival(age_years: float) -> float:
    """exp(-(0.04 / b) (exp(b a) - 1)), written out by hand."""
    return math.exp(-(0.04 / B_HAZARD) * (math.exp(B_HAZARD * age_years) - 1.0))


# --------------------------------------------------------------------------------------------
# hysteresis
def test_switch_follows_a_scripted_revenue_path_by_hand():
    # cost 1.0, off after 3 losing days in a row, on again above 1.1 (margin 10%)
    revenue = [1.2, 1.05, 0.9, 0.95, 1.05, 0.8, 0.9, 0.99, 1.0, 1.05, 1.08, 1.11, 1.2]
    # d0 1.2 > 1.1: on; d2-d3 lose (1, 2 days), d4 pays: the count restarts; d5-d7 lose three
    # days in a row: off on d7; d8 ties (revenue = cost counts as a loss), d9-d10 pay but
    # within the margin: still off; d11 1.11 > 1.1: on
    want_on = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1]
    want_loss = [0, 0, 1, 2, 0, 1, 2, 3, 4, 0, 0, 0, 0]
    on, loss = np.array([False]), np.array([0])
    got_on, got_loss = [], []
    for rev in revenue:
        on, loss, _ = operation.switch(on, loss, np.array([1.0]), rev, 3, 0.10)
        got_on.append(int(on[0]))
        got_loss.append(int(loss[0]))
    assert got_on == want_on
    assert got_loss == want_loss


def test_switch_with_one_day_and_no_margin_is_the_rule_without_hysteresis():
    rng = np.random.default_rng(0)
    cost = rng.uniform(0.5, 1.5, size=(20, 4))
    on, loss = np.zeros((20, 4), dtype=bool), np.zeros((20, 4), dtype=int)
    for rev in rng.uniform(0.5, 1.5, size=30):
        on, loss, _ = operation.switch(on, loss, cost, rev, 1, 0.0)
        np.testing.assert_array_equal(on, cost < rev)


def test_start_delays_hold_an_idle_vintage_back_by_hand():
    # cost 1.0, margin 10%: revenue 1.2 lets a vintage start; with a delay of 3 days it starts
    # on the third such day in a row; a day within the margin (1.05) restarts the count
    revenue = [1.2, 1.2, 1.05, 1.2, 1.2, 1.2, 1.2]
    want_on = [0, 0, 0, 0, 0, 1, 1]
    want_count = [1, 2, 0, 1, 2, 3, 0]  # counts only while off
    on, loss, start = np.array([False]), np.array([0]), np.array([0])
    got_on, got_count = [], []
    for rev in revenue:
        on, loss, start = operation.switch(on, loss, np.array([1.0]), rev, 3, 0.10, start, 3)
        got_on.append(int(on[0]))
        got_count.append(int(start[0]))
    assert got_on == want_on and got_count == want_count


def test_start_delays_are_spread_over_the_days_and_fixed_per_key():
    keys = np.arange(10_000)
    d = operation.start_delays(keys, 5)
    assert set(np.unique(d)) == {1, 2, 3, 4, 5}
    # spread evenly: each delay holds a fifth of the keys (within 2 points)
    np.testing.assert_allclose(np.bincount(d)[1:] / keys.size, 0.2, atol=0.02)
    # the same key, the same delay, whatever else is asked; a maximum of 1 is no delay
    np.testing.assert_array_equal(operation.start_delays(keys[::7], 5), d[::7])
    assert (operation.start_delays(keys, 1) == 1).all()


def test_the_initial_fleet_is_ready_to_run_whatever_the_start_delay():
    # counts one short of each row's delay: a paying vintage starts on day one (delay 1 or
    # 4), one that does not pay restarts its count and then waits its full delay
    delays = np.array([[1], [4]])
    start = operation.ready_start_days(delays, (2, 3))
    np.testing.assert_array_equal(start, [[0, 0, 0], [3, 3, 3]])
    off, loss, cost = np.zeros((2, 3), dtype=bool), np.zeros((2, 3), dtype=int), np.ones((2, 3))
    on, _, _ = operation.switch(off, loss, cost, 1.2, 3, 0.10, start, delays)
    assert on.all()
    on, _, start = operation.switch(off, loss, cost, 1.0, 3, 0.10, start, delays)
    assert not on.any() and (start == 0).all()
    # in the model: day one runs the same network with a 10-day maximum delay as with none
    sc = Scenario().with_overrides({"run": {"years": 1 / 365}})
    nets = [
        run(sc.with_overrides({"operation": {"start_delay_max_days": d}}), seed=3)
        .timeseries["network_hashrate_ehs"]
        .iloc[0]
        for d in (1, 10)
    ]
    assert nets[1] == pytest.approx(nets[0], rel=1e-12) and nets[0] > 0


def test_care_status_by_hand():
    # care after 3 days with no vintage on; any vintage on brings a site in care back
    status, off = np.array([MINING, BUILDING], dtype=np.int8), np.array([0, 0])
    seen = []
    for any_on in (False, False, False, False, True, False):
        status, off = operation.care_status(status, np.array([any_on, False]), off, 3)
        seen.append((int(status[0]), int(off[0])))
        assert status[1] == BUILDING and off[1] == 0  # other statuses are left alone
    assert seen == [(MINING, 1), (MINING, 2), (CARE, 3), (CARE, 4), (MINING, 0), (MINING, 1)]


def test_fixed_cost_share_by_status():
    from abm.sites import AI, CLOSED, STRANDED

    status = np.array([MINING, STRANDED, CARE, AI, CLOSED, BUILDING])
    np.testing.assert_array_equal(
        operation.fixed_cost_share(status, 0.3), [1.0, 1.0, 0.3, 0.0, 0.0, 0.0]
    )


# --------------------------------------------------------------------------------------------
# failures by age
def test_hazard_is_calibrated_as_documented():
    cfg = OperationConfig()
    b = operation.hazard_slope_per_year(0.04, 0.25, 7.0)
    assert b == pytest.approx(B_HAZARD)
    h = lambda a: 0.04 * math.exp(b * a)  # noqa: E731
    # ~4-5%/yr in the first two years, ~20-30%/yr after 6-8 years (CALIBRATION.md)
    assert 0.04 <= h(1) <= 0.06 and h(6) >= 0.15 and h(7) == pytest.approx(0.25)
    assert h(8) <= 0.40
    for a in (0.0, 1.0, 5.0, 10.0):
        assert operation.survival(np.array([a]), cfg)[0] == pytest.approx(_gompertz_survival(a))
    # mean life from new: e^x E1(x) / b with x = 0.04 / b (E1 by its series) ~ 6.45 years,
    # "average life ~7 years with repairs" (CALIBRATION.md)
    x = 0.04 / b
    e1 = (
        -0.5772156649 - math.log(x) - sum((-x) ** k / (k * math.factorial(k)) for k in range(1, 30))
    )
    mean_life = math.exp(x) * e1 / b
    assert mean_life == pytest.approx(6.447, abs=0.005)
    assert operation.remaining_life_years(np.array([0.0]), cfg)[0] == pytest.approx(
        mean_life, rel=1e-3
    )


def test_daily_survival_compounds_to_the_closed_form():
    cfg = OperationConfig()
    for start_days, years in ((0, 3), (2 * 365, 5), (6 * 365, 2)):
        days = np.arange(start_days, start_days + years * 365)
        product = np.prod(operation.daily_survival(days, cfg))
        a0, a1 = start_days / 365, start_days / 365 + years
        assert product == pytest.approx(_gompertz_survival(a1) / _gompertz_survival(a0), rel=1e-9)


def test_no_failures_when_both_rates_are_zero_and_bad_hazards_are_refused():
    cfg = OperationConfig(failure_rate_young_per_year=0.0, failure_rate_old_per_year=0.0)
    assert np.all(operation.daily_survival(np.arange(0, 5000, 100), cfg) == 1.0)
    assert operation.remaining_life_years(np.array([3.0]), cfg)[0] == pytest.approx(40.0)
    with pytest.raises(ScenarioError, match="failure_rate_old_per_year must be at least"):
        Scenario().with_overrides({"operation.failure_rate_old_per_year": 0.01})
    with pytest.raises(ScenarioError, match="set both to 0"):
        Scenario().with_overrides({"operation.failure_rate_young_per_year": 0.0})


def test_rigs_on_a_site_fail_by_the_closed_form_and_the_rig_book_shrinks_with_them():
    # firm C's S21s (released 2023-11-01, 792 days old on 2026-01-01) after 200 days; no
    # reviews and no clearing of the used market (nothing sold or bought) and no finance (no
    # depreciation of the books)
    sc = _world(
        **{
            "behaviour.review_cadence_days": 5000,
            "used_rigs.clearing_period_days": 3650,
            "run.years": 1.0,
        }
    )
    m = MiningIndustry(sc, seed=1)
    s, g = m.sites, m.gens.index_of("S21")
    site = int(m.sites.of_firm(2)[0])
    ths0, book0 = float(s.fleet_ths[site, g]), float(s.rig_book_usd[site])
    failed = 0.0
    for _ in range(200):
        m.step()
        failed += m.last_day.op.failed_ths
    age0 = 792 / 365
    assert -int(m.gens.release_day[g]) == 792
    keep = _gompertz_survival(age0 + 200 / 365) / _gompertz_survival(age0)
    assert s.fleet_ths[site, g] == pytest.approx(ths0 * keep, rel=1e-9)
    assert s.rig_book_usd[site] == pytest.approx(book0 * keep, rel=1e-9)
    assert failed > ths0 * (1 - keep)  # C's and the others'
    check_invariants(m)


def test_initial_fleets_weigh_generations_by_their_survival():
    gens = build_generations(Scenario().hardware, Scenario().run.start_date, 10)
    alive = np.ones(gens.n)
    alive[0] = 0.25  # the oldest generation: a quarter of its rigs still work
    rng = lambda: np.random.default_rng(3)  # noqa: E731
    full = fleet_by_vintage(rng(), np.array([1.0]), np.array([9.0]), gens, np.ones(gens.n))
    worn = fleet_by_vintage(rng(), np.array([1.0]), np.array([9.0]), gens, alive)
    # the same draws; the oldest generation's weight x 0.25, then normalised to 1 EH/s
    w_full, w_worn = full[0] / 1e6, worn[0] / 1e6
    ratio = (w_worn[0] / w_worn[1:].sum()) / (w_full[0] / w_full[1:].sum())
    assert ratio == pytest.approx(0.25)
    assert worn.sum() == pytest.approx(1e6)


# --------------------------------------------------------------------------------------------
# economic retirement
def test_keep_value_by_hand():
    # hp 0.04, cost 0.02 USD/TH-day, hurdle 10%, hashprice expected to fall 20%/yr: the
    # margin is positive until t* = ln 2 / 0.2 = 3.466 years (switched off after)
    a = lambda k, t: (1 - math.exp(-k * t)) / k * 365  # noqa: E731
    t_star = math.log(2) / 0.2
    long_life = 0.04 * a(0.3, t_star) - 0.02 * a(0.1, t_star)  # life 5 years: t* binds
    short_life = 0.04 * a(0.3, 2.0) - 0.02 * a(0.1, 2.0)  # life 2 years binds
    assert long_life == pytest.approx(10.07, abs=0.01) and short_life == pytest.approx(
        8.73, abs=0.01
    )
    got = operation.keep_value_usd_per_th(
        0.04, np.array([[0.02, 0.02]]), 0.1, 0.2, np.array([5.0, 2.0])
    )
    np.testing.assert_allclose(got, [[long_life, short_life]], rtol=1e-12)
    # no margin today, none expected: worth 0 (never negative); no decline: the whole life
    assert operation.keep_value_usd_per_th(0.04, np.array([0.05]), 0.1, 0.2, 5.0)[0] == 0.0
    no_decline = operation.keep_value_usd_per_th(0.04, np.array([0.02]), 0.1, 0.0, 5.0)[0]
    assert no_decline == pytest.approx(0.02 * a(0.1, 5.0))


def test_retire_when_the_used_price_reaches_the_value_of_keeping():
    keep = np.array([[10.07, 8.73, 0.0, 0.0]])
    used = np.array([10.0, 10.0, 0.0, 1.0])
    fleet = np.array([[1.0, 1.0, 1.0, 0.0]])
    # keep the first (10 < 10.07), sell the second (10 >= 8.73), scrap the third (worth 0
    # either way), nothing to sell of the fourth
    assert operation.retire_mask(used, keep, fleet).tolist() == [[False, True, True, False]]


def test_the_used_market_buys_the_dear_sites_rigs_and_not_the_cheap_ones():
    # A ($30/MWh, hurdle 12%) keeps its S21s; B ($70/MWh, hurdle 18%) values its S19 XPs below
    # the dealer's bid and sells them at the first clearing of the used market
    sc = _three_firms(
        {1: {"cash_usd": 1e9}}, **{"used_rigs.clearing_period_days": 3}, **NO_FAILURES
    )
    m = MiningIndustry(sc, seed=1)
    s = m.sites
    a, b = int(s.of_firm(0)[0]), int(s.of_firm(1)[0])
    _, used = m.rig_prices(0)
    xp = m.gens.index_of("S19 XP")
    # valued over its expected remaining life, at most the 5-year valuation horizon
    life = operation.remaining_life_years(
        np.array([-m.gens.release_day[xp] / 365]), m.params.operation
    )
    keep_b = operation.keep_value_usd_per_th(
        m.expected_hashprice_usd_per_th_day,
        m.cost_usd_per_th_day[b, xp],
        0.18,
        0.2,
        min(life[0], 5.0),
    )
    assert used[xp] > keep_b
    xp_b0, fleet_a0 = s.fleet_ths[b, xp], s.fleet_ths[a].copy()
    for _ in range(3):
        m.step()
    assert s.fleet_ths[b, xp] == xp_b0  # nothing sold before the first clearing
    m.step()  # the first clearing is on day 3: B sells (as many as the buyers take), A keeps
    assert s.fleet_ths[b, xp] < xp_b0 and np.all(s.fleet_ths[a] >= fleet_a0 * (1 - 1e-3))
    check_invariants(m)


# --------------------------------------------------------------------------------------------
# care and maintenance on the daily path
def test_an_idle_site_goes_into_care_at_a_reduced_cost_and_returns_when_it_pays():
    # B pays $300/MWh from day one: its S19 XPs never switch on; after 10 days its site goes
    # into care (30% of 270 USD/MW-day); a tariff cut of 90% on day 20 ($30/MWh) makes them pay
    # again: back to mining on day 20, running from day 21
    sc = _three_firms(
        {1: {"power_price_usd_per_mwh": 300.0, "cash_usd": 1e9}},
        **{
            "behaviour.review_cadence_days": 5000,  # no retirement
            "operation.care_after_idle_days": 10,
            "operation.failure_rate_young_per_year": 0.0,
            "operation.failure_rate_old_per_year": 0.0,
            "firms.region_mix": {"us": 1.0, "other": 0.0},
            "events": [
                {
                    "kind": "tariff_change",
                    "date": "2026-01-21",
                    "region": "us",
                    "price_change": -0.9,
                }
            ],
        },
    )
    m = MiningIndustry(sc, seed=1)
    t, s = m.firms, m.sites
    b = int(s.of_firm(1)[0])
    cap = float(s.capacity_mw[b])
    statuses, costs, running = [], [], []
    for _ in range(23):
        m.step()
        statuses.append(int(s.status[b]))
        costs.append(float(t.site_cost_usd[1]))
        running.append(float(t.running_ths[1]))
    assert statuses[:9] == [MINING] * 9 and statuses[9:20] == [CARE] * 11
    assert statuses[20:] == [MINING] * 3
    assert costs[8] == pytest.approx(cap * 270.0)  # mining, nothing running: fixed cost only
    assert costs[10] == pytest.approx(cap * 270.0 * 0.3)
    assert running[20] == 0 and running[21] > 0
    check_invariants(m)


def test_idle_firms_wait_when_they_can_pay_and_have_a_use_else_exit():
    # three firms' rigs are sold: B ($70) has no positive-NPV use; C ($50 -> $20 here) has one;
    # the runway: its site's fixed cost (mining) for 180 days
    sc = _three_firms({2: {"power_price_usd_per_mwh": 20.0}})
    m = MiningIndustry(sc, seed=1)
    s = m.sites
    for r in (1, 2):
        site = s.of_firm(r)
        m.books.sell_rigs(site, s.fleet_ths[site].copy())
    c_site = int(s.of_firm(2)[0])
    runway = float(s.capacity_mw[c_site]) * 270.0 * 180
    rows = np.array([1, 2])
    m.firms.cash_usd[2] = runway + 1.0
    assert operation.idle_firms_that_wait(m, rows).tolist() == [False, True]
    m.firms.cash_usd[2] = runway - 1.0
    assert operation.idle_firms_that_wait(m, rows).tolist() == [False, False]
    s.status[c_site] = CARE  # in care, 30% of the cost
    assert operation.idle_firms_that_wait(m, rows).tolist() == [False, True]


# --------------------------------------------------------------------------------------------
# the fee backlog
def test_backlog_recursion_by_hand():
    # decay 0.2: 144 found -> 0; 100 -> (0 + 44) 0.8 = 35.2; 100 -> (35.2 + 44) 0.8 = 63.36;
    # 200 -> (63.36 - 56) 0.8 = 5.888; 144 -> 5.888 x 0.8 = 4.7104; 300 -> 0 (never below 0)
    b, seen = 0.0, []
    for n in (144, 100, 100, 200, 144, 300):
        b = backlog_next(b, n, 0.2)
        seen.append(b)
    np.testing.assert_allclose(seen, [0.0, 35.2, 63.36, 5.888, 4.7104, 0.0], atol=1e-12)
    assert backlog_multiplier(0.0, 1.5) == 1.0
    assert backlog_multiplier(72.0, 1.0) == pytest.approx(1.5)
    assert backlog_multiplier(144.0, 2.0) == pytest.approx(4.0)


def test_fees_paid_are_the_fee_path_times_the_backlog_factor():
    sc = Scenario().with_overrides({"run.years": 0.3, "fees.backlog_elasticity": 2.0})
    r = run(sc, seed=4)
    ts = r.timeseries
    path = MiningIndustry(sc, seed=4).fee_btc_per_block
    backlog = ts["fee_backlog_blocks"].to_numpy()
    blocks = ts["blocks_found"].to_numpy()
    prev = np.concatenate([[0.0], backlog[:-1]])
    np.testing.assert_allclose(
        ts["fees_btc_per_block"], path[: len(ts)] * (1 + prev / 144) ** 2, rtol=1e-12
    )
    # the recursion of the recorded blocks
    np.testing.assert_allclose(
        backlog, [backlog_next(p, n, 0.2) for p, n in zip(prev, blocks, strict=True)], atol=1e-9
    )
    assert backlog.max() > 0 and backlog.min() == 0  # luck leaves a small backlog at times


# --------------------------------------------------------------------------------------------
# a property of the baseline
@pytest.mark.parametrize("seed", range(1, 11))
def test_hashrate_never_halves_in_30_days_without_a_price_halving(seed):
    """Over 2.5 years (the 2028 halving included), no 30-day window in which running hashrate
    falls by more than half unless the BTC price fell by half within it."""
    ts = run(Scenario().with_overrides({"run.years": 2.5}), seed=seed).timeseries
    h = ts["network_hashrate_ehs"].to_numpy()
    p = ts["btc_price_usd"].to_numpy()
    window = 30
    for i in range(h.size - window):
        if h[i + window] < 0.5 * h[i]:
            assert p[i : i + window + 1].min() <= 0.5 * p[i], (seed, str(ts["date"].iloc[i]))
