"""Firm capabilities: switched off they change nothing; energy access by hand (discounted new
MW, the capacity-weighted power price, the interconnection queue); hedges on a hand-built price
path, the leverage cap and the treasury policy of risk-managed firms; hourly scheduling of
flexible firms on a 4-hour toy shape; the study's spec and intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm import MiningIndustry, chain, operation, review
from abm.capabilities import hedge_day, intraday_shape, run_share_and_cost
from abm.markets.energy import SOURCES
from abm.runner import run
from abm.sites import BUILDING, MINING
from tests.conftest import ALONE, EXPERIMENTS, INSTANT_RIGS, NO_FAILURES, small_scenario

OFF = {"capabilities.enabled": False}  # the counterfactual without capabilities
ON_NOTHING = {  # capabilities on, but no firm has any and new MW connect at once
    "capabilities.enabled": True,
    "capabilities.energy_access_prob_listed": 0.0,
    "capabilities.energy_access_prob_private": 0.0,
    "capabilities.interconnection_days": 0,
    "capabilities.interconnection_days_access": 0,
    "capabilities.risk_managed_prob_listed": 0.0,
    "capabilities.risk_managed_prob_private": 0.0,
    "capabilities.flexible_prob_listed": 0.0,
    "capabilities.flexible_prob_private": 0.0,
}


def test_capabilities_off_or_held_by_nobody_reproduce_the_model_exactly():
    off = run(small_scenario(years=1.0, **OFF), seed=3)
    nobody = run(small_scenario(years=1.0, **ON_NOTHING), seed=3)
    pd.testing.assert_frame_equal(off.timeseries, nobody.timeseries, check_exact=True)
    assert off.timeseries["network_hashrate_ehs"].iloc[-1] > 0


def test_energy_access_is_drawn_by_kind_from_its_own_stream():
    sc = small_scenario(
        **{
            "capabilities.enabled": True,
            "capabilities.energy_access_prob_listed": 1.0,
            "capabilities.energy_access_prob_private": 0.0,
        }
    )
    on, off = MiningIndustry(sc, seed=5), MiningIndustry(small_scenario(**OFF), seed=5)
    t = on.firms
    assert np.all(t.energy_access[t.kind == 1] == 1) and np.all(t.energy_access[t.kind != 1] == 0)
    assert np.all(off.firms.energy_access == 0)
    # drawing the capability leaves every other draw unchanged
    np.testing.assert_array_equal(on.price_usd, off.price_usd)
    np.testing.assert_array_equal(on.sites.fleet_ths, off.sites.fleet_ths)
    np.testing.assert_array_equal(
        on.sites.power_price_usd_per_mwh, off.sites.power_price_usd_per_mwh
    )


def test_expansion_with_energy_access_by_hand():
    lead = 30
    sc = small_scenario(
        **{
            "capabilities.enabled": True,
            "capabilities.energy_access_prob_listed": 1.0,
            "capabilities.energy_access_prob_private": 1.0,
            "capabilities.energy_price_discount": 0.2,
            "capabilities.energy_capex_discount": 0.1,
            "capabilities.energy_scale_discount_per_decade": 0.0,
            "capabilities.stranded_price_usd_per_mwh": 1000.0,
            "capabilities.interconnection_days_access": lead,
            "energy.expansion_price_usd_per_mwh": 50.0,
            "energy.capex_usd_per_mw": 300_000.0,
            "behaviour.max_capacity_growth_per_review": 0.1,
            **INSTANT_RIGS,
            **NO_FAILURES,
        }
    )
    m = MiningIndustry(sc, seed=1)
    t, s, g = m.firms, m.sites, m.gens
    r = 0
    own = s.of_firm(r)
    assert own.size > 1  # a listed firm with several sites
    t.cash_usd[r] = 1e12  # the budget never binds
    m.expected_hashprice_usd_per_th_day *= 3.0  # new sites pay
    day = m.day = 10
    # the few old rigs that do not pay even so would be scrapped (freeing MW): none here
    keep = operation.keep_values(m, own)
    s.fleet_ths[own] *= ~operation.retire_mask(m.used.prices_usd_per_th, keep, s.fleet_ths[own])
    s.capacity_mw[own] = s.fleet_ths[own] @ g.power_mw_per_th  # no headroom: rigs need new MW
    mw0, prices0 = s.capacity_mw[own].sum(), s.power_price_usd_per_mwh[own].copy()
    ths0 = m.firm_installed_ths()[r]
    infra0 = m.ledger["usd_capex_infra"]
    review.review(m, np.array([r]), day)
    # nothing online yet: the new MW and their rigs wait in the queue, at a new site
    (p,) = m.interconnection.pending
    new = int(p.site[0])
    assert p.day == day + lead and list(p.rows) == [r] and new not in own
    assert s.status[new] == BUILDING and s.capacity_mw[new] == 0 and t.dev_site[r] == new
    assert np.isclose(m.firm_capacity_mw()[r], mw0)
    mw = 0.1 * mw0
    assert np.isclose(p.mw[0], mw)
    assert np.isclose(s.power_price_usd_per_mwh[new], 50.0 * (1 - 0.2))
    assert np.isclose(m.ledger["usd_capex_infra"] - infra0, mw * 300_000.0 * 0.9)
    gen = int(np.flatnonzero(p.fleet_ths[0])[0])
    assert np.isclose(p.fleet_ths[0, gen], mw / g.power_mw_per_th[gen])
    assert np.isclose(m.firm_installed_ths()[r], ths0)  # rigs bought for the new MW wait too
    m.interconnection.connect(day + lead - 1)
    assert s.capacity_mw[new] == 0
    m.interconnection.connect(day + lead)
    assert np.isclose(s.capacity_mw[new], mw) and s.status[new] == MINING
    assert np.isclose(m.firm_capacity_mw()[r], mw0 + mw)
    # nothing averages: the firm's other sites keep their own power prices
    np.testing.assert_array_equal(s.power_price_usd_per_mwh[own], prices0)
    assert np.isclose(m.firm_installed_ths()[r], ths0 + mw / g.power_mw_per_th[gen])
    assert not m.interconnection.pending and np.isclose(m.interconnection.pending_ths, 0.0)
    # the new site's cost of energy per TH is at its own price
    assert np.isclose(m.cost_usd_per_th_day[new, gen], 40.0 * g.energy_mwh_per_th_day[gen])


def test_new_mw_price_with_scale_and_own_energy_by_hand():
    sc = small_scenario(
        **{
            "capabilities.enabled": True,
            "capabilities.energy_price_discount": 0.2,
            "capabilities.energy_scale_discount_per_decade": 0.05,
            "capabilities.stranded_price_usd_per_mwh": 25.0,
            "energy.expansion_price_usd_per_mwh": 50.0,
        }
    )
    m = MiningIndustry(sc, seed=1)
    t, s = m.firms, m.sites
    rows = np.arange(5)
    gen = int(np.flatnonzero(s.fleet_ths[0])[-1])
    size = np.array([0.5, 10.0, 100.0, 10.0, 10.0]) * 1e6  # EH/s -> TH/s
    for r, ths in zip(rows, size, strict=True):
        sites = s.of_firm(r)
        s.fleet_ths[sites] = 0.0
        s.fleet_ths[sites[0], gen] = ths
    t.energy_access[rows] = [1, 1, 1, 0, 1]
    grid, hydro = SOURCES.index("grid"), SOURCES.index("hydro")
    t.source[rows] = [grid, grid, grid, grid, hydro]
    # 0.5 EH/s: no scale discount, 50 x 0.8; 10 EH/s: one decade, 50 x 0.75; 100 EH/s: two,
    # 50 x 0.7; no access: 50; own hydro with access: min(37.5, 25)
    price = m.capabilities.new_mw_price_usd_per_mwh(rows)
    assert np.allclose(price, [40.0, 37.5, 35.0, 50.0, 25.0])


def test_new_sites_arrive_exactly_after_the_lead_time_in_a_run():
    lead_access, lead = 7, 40
    sc = small_scenario(
        years=0.3,
        **{
            "capabilities.enabled": True,
            "capabilities.energy_access_prob_listed": 1.0,
            "capabilities.energy_access_prob_private": 0.3,
            "capabilities.interconnection_days_access": lead_access,
            "capabilities.interconnection_days": lead,
            "behaviour.review_cadence_days": 7,
            "price.initial_usd": 200_000.0,  # expansions pay
            "energy.expansion_price_usd_per_mwh": 20.0,
            **INSTANT_RIGS,
        },
    )
    m = MiningIndustry(sc, seed=2)
    queued = []  # (batch, day queued, day connected)
    while m.running:
        d, before = m.day, list(m.interconnection.pending)
        m.step()
        after = m.interconnection.pending
        queued += [[p, d, None] for p in after if all(p is not q for q in before)]
        for q in queued:
            if q[2] is None and all(q[0] is not p for p in after):
                q[2] = d
    assert {bool(m.firms.energy_access[q[0].rows[0]]) for q in queued} == {True, False}
    connected = [q for q in queued if q[2] is not None]
    assert connected
    for p, day_queued, day_connected in queued:
        access = m.firms.energy_access[p.rows]
        assert np.all(access == access[0])
        assert p.day == day_queued + (lead_access if access[0] else lead)
        assert day_connected in (p.day, None)
        assert day_connected is not None or p.day >= m.n_days


def test_hedge_payoffs_on_a_hand_built_price_path():
    # two firms, one hedging; tenor 2 days, ratio 0.5, cost 1% of notional
    prices = [100.0, 90.0, 120.0, 110.0]
    mined = np.array([2.0, 2.0])
    hedger = np.array([True, False])
    notional, strike = np.zeros(2), np.zeros(2)
    out = []
    for day, p in enumerate(prices):
        payoff, cost, notional, strike = hedge_day(
            day, p, mined + day, notional, strike, hedger, 0.5, 2, 0.01
        )
        out.append((payoff[0], cost[0], notional[0], strike[0]))
        assert payoff[1] == cost[1] == notional[1] == 0
    # day 0: roll at 100, 0.5 x 2 BTC = 1 BTC/day for 2 days, cost 0.01 x 1 x 2 x 100 = 2
    assert out[0] == (0.0, 2.0, 1.0, 100.0)
    # day 1: 1 x (100 - 90) = +10, no roll
    assert out[1] == (10.0, 0.0, 1.0, 100.0)
    # day 2: 1 x (100 - 120) = -20; roll at 120: 0.5 x 4 = 2 BTC/day, cost 0.01 x 2 x 2 x 120
    assert out[2][0] == -20.0 and np.isclose(out[2][1], 4.8) and out[2][2:] == (2.0, 120.0)
    # day 3: 2 x (120 - 110) = +20
    assert out[3] == (20.0, 0.0, 2.0, 120.0)


RISK_ALL = {
    "capabilities.enabled": True,
    "capabilities.energy_access_prob_listed": 0.0,
    "capabilities.energy_access_prob_private": 0.0,
    "capabilities.risk_managed_prob_listed": 1.0,
    "capabilities.risk_managed_prob_private": 0.0,
    "capabilities.hedge_ratio": 0.5,
    "capabilities.hedge_tenor_days": 3,
    "capabilities.hedge_cost": 0.01,
    "capabilities.leverage_factor": 0.5,
    "capabilities.flexible_prob_listed": 0.0,
    "capabilities.flexible_prob_private": 0.0,
}


def test_risk_managed_firms_hedge_cap_leverage_and_sell_all_in_the_model():
    sc = small_scenario(**RISK_ALL)
    m, plain = MiningIndustry(sc, seed=4), MiningIndustry(small_scenario(**OFF), seed=4)
    t = m.firms
    risk = t.risk_managed.copy()
    assert np.array_equal(risk, t.kind == 1)
    np.testing.assert_allclose(t.ltv_limit[risk], 0.5 * plain.firms.ltv_limit[risk])
    np.testing.assert_array_equal(t.ltv_limit[~risk], plain.firms.ltv_limit[~risk])
    np.testing.assert_allclose(t.debt_usd[risk], 0.5 * plain.firms.debt_usd[risk])
    assert np.all(t.hold_fraction[risk] == 0) and np.all(plain.firms.hold_fraction[risk] > 0)
    m.price_usd[:4] = [100_000.0, 95_000.0, 103_000.0, 99_000.0]  # a hand-built path
    m.step()  # day 0: roll at 100k
    mined0 = t.cum_btc_mined.copy()
    np.testing.assert_allclose(t.hedge_btc_per_day, np.where(risk, 0.5 * mined0, 0.0))
    assert np.isclose(m.ledger["usd_hedge_costs"], 0.01 * 0.5 * mined0[risk].sum() * 3 * 100e3)
    m.step()  # day 1: +5,000 per BTC/day hedged
    gain = 0.5 * mined0 * 5_000.0 * risk
    assert np.isclose(m.ledger["usd_hedge_gains"], gain.sum())
    assert m.ledger["usd_hedge_losses"] == 0
    # hedgers sell all they mine: their treasuries do not grow, the others' do
    assert np.all(t.btc_held[risk] == plain.firms.btc_held[risk])
    assert t.btc_held[~risk].sum() > plain.firms.btc_held[~risk].sum()
    m.step()  # day 2: -3,000 per BTC/day hedged
    assert np.isclose(m.ledger["usd_hedge_losses"], 0.5 * mined0[risk].sum() * 3_000.0)


TOY = np.array([0.5, 0.8, 1.2, 1.5])  # four equal blocks of the day, mean 1
TOY_CUM = np.concatenate([[0.0], np.cumsum(TOY)]) / 4


def test_run_share_and_energy_curves_on_a_toy_shape():
    x = np.array([0.4, 0.8, 1.0, 1.3, 2.0])
    share, energy = run_share_and_cost(TOY, TOY_CUM, x)
    np.testing.assert_allclose(share, [0.0, 0.25, 0.5, 0.75, 1.0])
    # C(x): sum of the multipliers of the hours run / 4
    np.testing.assert_allclose(energy, [0.0, 0.125, 0.325, 0.625, 1.0])
    for sd in (0.0, 0.2, 0.5):
        shape = intraday_shape(sd)
        assert shape.size == 24 and np.isclose(shape.mean(), 1.0)
        assert np.all(np.diff(shape) >= 0)


def test_a_flexible_firms_day_by_hand():
    credit = 8.0
    sc = small_scenario(
        **{
            "capabilities.enabled": True,
            "capabilities.energy_access_prob_listed": 0.0,
            "capabilities.energy_access_prob_private": 0.0,
            "capabilities.risk_managed_prob_listed": 0.0,
            "capabilities.risk_managed_prob_private": 0.0,
            "capabilities.flexible_prob_listed": 1.0,
            "capabilities.flexible_prob_private": 1.0,
            "capabilities.flex_credit_usd_per_mwh": {"us": credit},
            **ALONE,
            **NO_FAILURES,
        }
    )
    m = MiningIndustry(sc, seed=6)
    caps, t, s, g = m.capabilities, m.firms, m.sites, m.gens
    caps.hourly = np.tile(TOY, (caps.hourly.shape[0], 1))
    caps._cum = np.tile(TOY_CUM, (caps.hourly.shape[0], 1))
    r = int(np.flatnonzero(t.kind == 0)[0])
    site, *rest = s.of_firm(r)
    assert s.host[site] == r
    s.fleet_ths[rest] = 0.0  # the firm's rigs all on one site
    us = m.events.region_index("us")
    s.region[site], s.outage_prob[site], s.seasonal[site] = us, 0.0, False
    gen = int(np.argmax(s.fleet_ths[site]))
    ths = s.fleet_ths[site].sum()
    s.fleet_ths[site] = 0.0
    s.fleet_ths[site, gen] = ths
    s.capacity_mw[site] = 2 * ths * g.power_mw_per_th[gen]
    # revenue per TH-day = cost at the mean price: x = 1, half the day runs (blocks 0.5, 0.8)
    sub = chain.subsidy_btc(m.chain.height + 1)
    rev = m.revenue_per_th_day(sub + m.fee_btc_per_block[0], m.price_usd[0])
    price = rev / g.energy_mwh_per_th_day[gen]
    s.power_price_usd_per_mwh[site] = s.rate_usd_per_mwh[site] = price
    t.flexible[:] = False  # only firm r schedules by the hour
    t.flexible[r] = True
    m.prices_changed()
    m.update_live_columns(0)
    ledger0 = m.ledger["usd_flex_credits"]
    m.step()
    assert np.isclose(t.running_ths[r], 0.5 * ths)
    flat_energy = ths * g.energy_mwh_per_th_day[gen] * price
    fixed = s.capacity_mw[s.of_firm(r, None)].sum() * m.params.energy.fixed_opex_usd_per_mw_day
    assert np.isclose(t.site_cost_usd[r], 0.325 * flat_energy + fixed)
    # credits: the MW that run in the cheap half of the day are released in the dear half
    mwh_released = ths * g.power_mw_per_th[gen] * 24 * 0.5
    assert np.isclose(m.ledger["usd_flex_credits"] - ledger0, mwh_released * credit)
    # the other sites run flat: all hours or none, at the mean price
    n = m.last_day.op.running_ths.shape[0]
    running = m.running_by_gen_ths[:n]
    others = np.arange(n) != site
    assert (running[others].sum(axis=1) > 0).any()
    flat = (running[others] @ g.energy_mwh_per_th_day) * s.power_price_usd_per_mwh[:n][others]
    assert np.isclose(m.last_day.flows.network_energy_usd, 0.325 * flat_energy + flat.sum())


def _study():
    import importlib.util

    spec = importlib.util.spec_from_file_location("cap_study", EXPERIMENTS / "capabilities.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_capabilities_study_spec_and_intervals_by_hand():
    study = _study()
    sc = study.scenario(years=0.1)
    cap = sc.capabilities
    assert cap.enabled and sc.run.years == 0.1
    probs = [
        getattr(cap, f"{c}_prob_{k}")
        for c in ("energy_access", "risk_managed", "flexible")
        for k in ("listed", "private")
    ]
    assert probs == [0.5] * 6
    # mean 2, sd 1 over 4 seeds: half-width t(0.975, 3) x 1 / 2 = 3.182446 / 2
    mean, lo, hi = study.t_interval(pd.Series([1.0, 2.0, 2.0, 3.0]))
    sd = np.std([1.0, 2.0, 2.0, 3.0], ddof=1)
    assert mean == 2.0 and np.isclose(hi - mean, 3.182446305284263 * sd / 2)
    assert np.isclose(mean - lo, hi - mean)
    row = study.run_one((11, 0.1))
    for c in study.CAPABILITIES:
        assert np.isclose(
            row[f"survival_diff_{c}"], row[f"survival_with_{c}"] - row[f"survival_without_{c}"]
        )
        assert 0.2 < row[f"hashrate_share_{c}"] < 0.8  # about half the firms have each
