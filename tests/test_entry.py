"""Entry by NPV (issue 18, item 5): the size law and the project NPV by hand, an entrant's
firm, site, rigs and funding by hand, the draws under the price multiplier, and properties of
entry over seeds (arrivals, common random numbers, entry rising with profitability)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from abm import MiningIndustry
from abm.entry import Candidates, draw_candidates, truncated_pareto
from abm.firms import LISTED, PRIVATE
from abm.markets.energy import SOURCES, scale_power_prices
from abm.runner import run
from abm.sites import ENTRANT, MINING
from tests.conftest import small_scenario
from tests.test_consolidation import _pv, _world
from tests.test_invariants import check_invariants, run_checked

GRID = SOURCES.index("grid")


def test_truncated_pareto_by_hand():
    low, high, a = 2.0, 400.0, 0.5
    # u = 0.5: 2 x (1 - 0.5 x (1 - sqrt(2/400)))^-2 = 2 / 0.535355^2 = 6.9783
    x = truncated_pareto(np.array([0.0, 0.5, 1.0]), low, high, a)
    assert x == pytest.approx([2.0, 6.9783, 400.0], rel=1e-4)
    u = np.random.default_rng(0).random(400_000)
    mw = truncated_pareto(u, low, high, a)
    # P(X >= 100) = (sqrt(2/100) - sqrt(2/400)) / (1 - sqrt(2/400)) = 0.07609
    assert (mw >= 100).mean() == pytest.approx(0.07609, abs=0.002)
    # mean = a low^a / (1 - (low/high)^a) x (high^(1-a) - low^(1-a)) / (1 - a) = 28.285 MW
    assert mw.mean() == pytest.approx(28.285, rel=0.01)
    assert mw.min() >= low and mw.max() <= high


def _hand_npv(hp, price, hurdle, e_j_per_th, rig_usd_per_th, sc) -> tuple[float, float]:
    """(gain per TH, gain per dollar) of a new site: rigs of e J/TH at the rig price and the
    site build, at the entrant's power price and the site's fixed opex, by closed form."""
    life, decline = (
        sc.hardware.economic_life_years,
        sc.behaviour.expected_hashprice_decline_per_year,
    )
    cost = price * e_j_per_th * 24e-6 + sc.energy.fixed_opex_usd_per_mw_day * e_j_per_th * 1e-6
    infra = e_j_per_th * 1e-6 * sc.energy.capex_usd_per_mw
    # the rigs run while they pay: T = min(life, ln(hp / cost) / decline), 0 if hp <= cost
    run = min(life, math.log(hp / cost) / decline) if hp > cost else 0.0
    gain = hp * _pv(hurdle + decline, run) - cost * _pv(hurdle, run) - rig_usd_per_th - infra
    return gain, gain / (rig_usd_per_th + infra)


def _candidates(mw, price, kind=PRIVATE, hurdle=0.18) -> Candidates:
    n = len(mw)
    return Candidates(
        np.asarray(mw, float),
        np.asarray(price, float),
        np.full(n, kind, np.int8),
        np.full(n, hurdle),
        np.full(n, GRID, np.int8),
        np.zeros(n, bool),
    )


def test_an_entrant_by_hand_builds_only_a_positive_npv_project():
    m = MiningIndustry(_world(), seed=4)
    sc, t, s, g = m.params, m.firms, m.sites, m.gens
    hp = m.valuation_hashprice_usd_per_th_day  # (anticipating the next halving)
    new, _ = m.rig_prices(0)
    on_sale = np.flatnonzero(np.isfinite(new))
    assert on_sale.size == 1  # the makers sell the newest generation only
    hand = {
        p: {k: _hand_npv(hp, p, 0.18, g.efficiency_j_per_th[k], new[k], sc) for k in on_sale}
        for p in (15.0, 110.0)
    }
    best = max(on_sale, key=lambda k: hand[15.0][k][1])  # best gain per dollar
    assert hand[15.0][best][0] > 0 > max(v[0] for v in hand[110.0].values())
    n0, ledger0 = t.n, dict(m.ledger)
    rec = m.entry.enter(_candidates([10.0, 10.0], [15.0, 110.0]))
    assert t.n == n0 + 1 and rec.candidates == 2 and rec.entrants == 1  # the dear one stays out
    r = n0
    (site,) = s.of_firm(r)
    ths = 10.0 / (g.efficiency_j_per_th[best] * 1e-6)
    rigs, infra = ths * new[best], 10.0 * sc.energy.capex_usd_per_mw
    working = sc.behaviour.cash_reserve_days * (
        ths * g.efficiency_j_per_th[best] * 24e-6 * 15.0
        + 10.0 * sc.energy.fixed_opex_usd_per_mw_day
    )
    assert t.name[r].startswith("Entrant") and t.kind[r] == PRIVATE and t.hurdle_rate[r] == 0.18
    assert s.origin[site] == ENTRANT and s.status[site] == MINING and s.host[site] == r
    assert s.capacity_mw[site] == 10.0 and s.power_price_usd_per_mwh[site] == 15.0
    assert s.fleet_ths[site, best] == pytest.approx(ths) and s.fleet_ths[
        site
    ].sum() == pytest.approx(ths)
    assert s.rig_book_usd[site] == pytest.approx(rigs) and s.site_book_usd[site] == pytest.approx(
        infra
    )
    assert t.cash_usd[r] == pytest.approx(working) and t.debt_usd[r] == 0.0  # finance off
    assert t.cum_capex_usd[r] == pytest.approx(rigs + infra)
    assert rec.capital_usd == pytest.approx(rigs + infra + working) and rec.mw == 10.0
    new_capital = m.ledger["usd_new_capital"] - ledger0["usd_new_capital"]
    assert new_capital == pytest.approx(rigs + infra + working)
    assert m.ledger["usd_capex_rigs"] - ledger0["usd_capex_rigs"] == pytest.approx(rigs)
    assert m.entry.summary()["entry_capital_usd"] == pytest.approx(rigs + infra + working)
    check_invariants(m)


def test_a_listed_builder_is_funded_by_lenders_and_investors():
    m = MiningIndustry(_world(**{"finance.enabled": True, "capabilities.enabled": False}), seed=4)
    sc, t, s = m.params, m.firms, m.sites
    c = _candidates([150.0], [20.0], kind=LISTED, hurdle=sc.firms.hurdle_rate_listed)
    ledger0 = dict(m.ledger)
    rec = m.entry.enter(c)
    assert rec.entrants == 1
    r = t.n - 1
    (site,) = s.of_firm(r)
    assert (
        t.kind[r] == LISTED
        and t.hurdle_rate[r] == 0.12
        and t.debt_rate[r] == sc.finance.rate_listed
    )
    rigs, infra = float(s.rig_book_usd[site]), float(s.site_book_usd[site])
    # lenders: the listed initial leverage x today's credit factor x the rigs (secondary price)
    # and the site at market value
    _, used = m.rig_prices(0)
    collateral = s.fleet_ths[site] @ used + 150.0 * m.site_value_usd_per_mw()[site]
    debt = 0.35 * m.credit_factor() * collateral
    assert debt > 0 and t.debt_usd[r] == pytest.approx(debt)
    working = rec.capital_usd - rigs - infra
    assert t.cash_usd[r] == pytest.approx(working) and working > 0
    equity = m.ledger["usd_new_capital"] - ledger0["usd_new_capital"]
    assert equity == pytest.approx(rigs + infra + working - debt)
    assert m.ledger["usd_debt_drawn"] - ledger0["usd_debt_drawn"] == pytest.approx(debt)
    check_invariants(m)


def test_draws_kinds_sizes_and_the_price_multiplier():
    sc = small_scenario(**{"consolidation.entrant_listed_share": 1.0})
    half = small_scenario(
        **{"energy.price_multiplier": 0.5, "consolidation.entrant_listed_share": 1.0}
    )
    rng = np.random.default_rng(3)
    c1 = draw_candidates(copy.deepcopy(rng), 5000, sc, 10e-6)
    ck = draw_candidates(copy.deepcopy(rng), 5000, scale_power_prices(half), 10e-6)
    np.testing.assert_array_equal(c1.mw, ck.mw)
    np.testing.assert_allclose(ck.power_price_usd_per_mwh, 0.5 * c1.power_price_usd_per_mwh, 1e-12)
    listed = c1.mw >= 100.0
    assert listed.any() and (~listed).any()
    assert np.all(c1.kind == np.where(listed, LISTED, PRIVATE))
    assert np.all(c1.hurdle_rate == np.where(listed, 0.12, 0.18))
    assert c1.mw.min() >= 2.0 and c1.mw.max() <= 400.0
    # builders are 5-20 EH/s-scale on 20-25 J/TH rigs: 100 MW / 20e-6 MW per TH/s = 5 EH/s
    assert (c1.mw[listed] / 20e-6 / 1e6).min() >= 5.0
    # bigger sites draw cheaper power (the size discount of the price distribution)
    small, big = c1.power_price_usd_per_mwh[c1.mw < 5], c1.power_price_usd_per_mwh[listed]
    assert np.median(big) < np.median(small)


def test_a_share_of_the_large_builders_is_listed():
    """``consolidation.entrant_listed_share`` 0.4: the same sizes and prices as with 1.0 (the
    kind is drawn last), small builders never listed, and of the large ones 40% listed within
    four binomial standard deviations."""
    rng = np.random.default_rng(5)
    every = draw_candidates(
        copy.deepcopy(rng),
        20000,
        small_scenario(**{"consolidation.entrant_listed_share": 1.0}),
        10e-6,
    )
    some = draw_candidates(
        copy.deepcopy(rng),
        20000,
        small_scenario(**{"consolidation.entrant_listed_share": 0.4}),
        10e-6,
    )
    np.testing.assert_array_equal(every.mw, some.mw)
    np.testing.assert_array_equal(every.power_price_usd_per_mwh, some.power_price_usd_per_mwh)
    big = every.mw >= 100.0
    assert np.all(some.kind[~big] == PRIVATE)
    n = int(big.sum())
    share = float((some.kind[big] == LISTED).mean())
    assert n > 500 and abs(share - 0.4) <= 4 * math.sqrt(0.24 / n)
    assert np.all(some.hurdle_rate == np.where(some.kind == LISTED, 0.12, 0.18))


SEEDS = range(10)


@pytest.fixture(scope="module")
def paired_runs():
    """Ten seeds of a small world at BTC $90k and $63k, with new rigs at the makers' cost
    (capacity never binds), so that an entrant's NPV follows hashprice rather than the price
    of rigs."""
    out = {}
    for label, price in (("base", 90_000.0), ("low", 63_000.0)):
        sc = small_scenario(
            years=1.0,
            **{
                "price.initial_usd": price,
                "consolidation.entry_rate_per_year": 40.0,
                # factories that can make any quantity: new rigs at the makers' cost
                "asic.initial_capacity_ehs_per_year": 1e9,
            },
        )
        out[label] = [run(sc, seed=s) for s in SEEDS]
    return out


def test_entry_properties_over_seeds(paired_runs):
    base, low = paired_runs["base"], paired_runs["low"]
    cands = np.array([r.summary["entry_candidates"] for r in base])
    # Poisson(40 / 365 per day) over 365 days: mean 40, sd sqrt(40) per run; ten runs
    assert abs(cands.mean() - 40.0) < 3 * math.sqrt(40.0 / len(SEEDS))
    # common random numbers: the same potential entrants whatever the price path
    assert [r.summary["entry_candidates"] for r in low] == list(cands)
    # entry rises with profitability: never fewer entrants at the higher price, and more
    # entrants and capital over the seeds (a seed's capital can be lower: rigs cost more)
    for b, lo in zip(base, low, strict=True):
        assert b.summary["entrants"] >= lo.summary["entrants"]
    n_base, n_low = (sum(r.summary["entrants"] for r in x) for x in (base, low))
    usd_base, usd_low = (sum(r.summary["entry_capital_usd"] for r in x) for x in (base, low))
    assert n_base > n_low and usd_base > usd_low
    # only part of the potential entrants build (the NPV test binds)
    assert 0 < sum(r.summary["entrants"] for r in base) < cands.sum()


def test_capital_series_and_summary_agree(paired_runs):
    for r in paired_runs["base"][:3]:
        s, ts = r.summary, r.timeseries
        assert ts["entry_capital_usd"].sum() == pytest.approx(s["entry_capital_usd"])
        by_year = ts.groupby(ts["date"].dt.year)["entry_capital_usd"].sum()
        assert {str(y): v for y, v in by_year.items() if v > 0} == pytest.approx(
            s["entry_capital_usd_by_year"]
        )
        entrants = r.firm_outcomes["name"].str.startswith("Entrant").sum()
        assert entrants == s["entrants"] and s["entrants"] <= s["entries"]


def test_invariants_hold_every_day_with_many_entrants():
    sc = small_scenario(
        years=1.0,
        **{
            "consolidation.entry_rate_per_year": 200.0,
            "asic.initial_capacity_ehs_per_year": 1e9,  # rigs at the makers' cost
            "capabilities.enabled": True,
            "capabilities.risk_managed_prob_listed": 1.0,  # halves listed entrants' leverage
            "price.volatility_per_year": 1.2,
        },
    )
    m = MiningIndustry(sc, seed=5)
    run_checked(m)  # the accounting invariants after every step
    t = m.firms
    ent = np.flatnonzero(np.char.startswith(np.array(t.name, dtype=str), "Entrant"))
    assert ent.size > 30 and (t.kind[ent] == LISTED).any() and (t.kind[ent] == PRIVATE).any()
    assert m.entry.summary()["entrants"] == ent.size
    assert m.ledger["usd_new_capital"] > 0 and (t.cum_capex_usd[ent] > 0).all()
