"""Scheduled events: TOML round trips, a ban removing exactly its region's hashrate, grid
emergencies and credits by hand, tariffs, sovereign programmes, AI demand shocks, conservation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from abm import MiningIndustry
from abm.events import step_path
from abm.scenario import Scenario, ScenarioError, load_scenario
from abm.sites import AI, MINING, RELOCATED
from tests.conftest import small_scenario
from tests.test_invariants import step_checked

ALL_EVENTS = [
    {
        "kind": "regional_ban",
        "date": dt.date(2026, 2, 1),
        "region": "china",
        "share": 1.0,
        "relocate_share": 0.5,
        "relocation_days": 30,
        "relocation_cost_usd_per_mw": 100_000.0,
        "to_region": "kazakhstan",
    },
    {
        "kind": "grid_emergency",
        "date": dt.date(2026, 3, 1),
        "region": "us",
        "days": 3,
        "curtailed_share": 0.8,
        "credit_usd_per_mwh": 60.0,
    },
    {"kind": "price_shock", "date": dt.date(2026, 4, 1), "change": -0.3, "days": 5},
    {
        "kind": "tariff_change",
        "date": dt.date(2026, 4, 15),
        "region": "russia",
        "price_change": 0.2,
        "levy_usd_per_mwh": 5.0,
    },
    {"kind": "sovereign_programme", "date": dt.date(2026, 3, 1), "name": "UAE-like", "scale": 0},
    {"kind": "ai_demand_shock", "date": dt.date(2026, 2, 1), "multiplier": 2.0},
]


def test_every_event_round_trips_through_toml(tmp_path):
    sc = Scenario().with_overrides({"events": ALL_EVENTS})
    path = tmp_path / "events.toml"
    sc.save(path)
    back = load_scenario(path)
    assert back == sc
    assert [e.kind for e in back.events] == [e["kind"] for e in ALL_EVENTS]


def test_events_name_known_regions_and_sovereigns():
    with pytest.raises(ScenarioError, match=r"events\[0\].*'atlantis'"):
        Scenario().with_overrides({"events": [{**ALL_EVENTS[0], "region": "atlantis"}]})
    with pytest.raises(ScenarioError, match="no sovereign named"):
        Scenario().with_overrides({"events": [{**ALL_EVENTS[4], "name": "Nowhere"}]})
    with pytest.raises(ScenarioError, match="events.0"):
        Scenario().with_overrides({"events": [{"kind": "meteor", "date": "2026-01-01"}]})


def _deterministic(**over) -> Scenario:
    return small_scenario(
        n_firms=60,
        years=0.3,
        **{
            "protocol.block_luck": False,
            "price.volatility_per_year": 0.0,
            "price.jump_rate_per_year": 0.0,
            "energy.outage_prob_per_day": dict.fromkeys(
                ("hydro", "wind", "solar", "gas", "grid", "stranded"), 0.0
            ),
            "energy.seasonal_share_of_hydro": 0.0,
            **over,
        },
    )


def test_regional_ban_removes_exactly_that_regions_hashrate_on_its_date():
    ban = {**ALL_EVENTS[0], "date": dt.date(2026, 2, 1)}
    day = (ban["date"] - dt.date(2026, 1, 1)).days
    with_ban = MiningIndustry(_deterministic(events=[ban]), seed=3)
    without = MiningIndustry(_deterministic(), seed=3)
    for _ in range(day):
        with_ban.step()
        without.step()
    assert with_ban.recorder.daily["network_hashrate_ehs"][day - 1] == pytest.approx(
        without.recorder.daily["network_hashrate_ehs"][day - 1], rel=1e-12
    )  # identical up to the ban (common random numbers)
    china = without.events.region_index("china")
    installed_before = without.sites.fleet_ths[without.sites.region == china].sum() / 1e6
    with_ban.step()
    without.step()
    in_region = without.sites.region == china
    assert in_region.any()
    region_ths = without.sites.running_ths[in_region].sum()
    assert region_ths > 0
    h_with = with_ban.recorder.daily["network_hashrate_ehs"][day]
    h_without = without.recorder.daily["network_hashrate_ehs"][day]
    assert h_without - h_with == pytest.approx(region_ths / 1e6, rel=1e-9)
    assert with_ban.sites.running_ths[with_ban.sites.region == china].sum() == 0
    # half the rigs installed on the morning of the ban relocate (in transit 30 days), half
    # were sold
    transit = with_ban.recorder.daily["hashrate_in_transit_ehs"][day]
    assert transit == pytest.approx(0.5 * installed_before, rel=1e-9)
    for _ in range(31):
        with_ban.step()
    # (all of it arrived: what is left is the rounding of the running sum)
    assert with_ban.recorder.daily["hashrate_in_transit_ehs"][with_ban.day - 1] == pytest.approx(
        0.0, abs=1e-9
    )


def test_relocated_rigs_pay_the_new_sites_power_price():
    # a whole-region ban (share 1), half the capacity relocates to sites at $70/MWh: on return
    # each firm gets one new site in Kazakhstan with half its banned MW, at $70, and its other
    # sites keep their own prices
    ban = {**ALL_EVENTS[0], "relocated_price_usd_per_mwh": 70.0}
    day = (ban["date"] - dt.date(2026, 1, 1)).days
    m = MiningIndustry(_deterministic(events=[ban]), seed=3)
    s = m.sites
    china = m.events.region_index("china")
    banned = np.flatnonzero((s.status == MINING) & (s.region == china))
    mw_before = np.bincount(s.owner[banned], weights=s.capacity_mw[banned], minlength=m.firms.n)
    elsewhere = np.flatnonzero((s.status == MINING) & (s.region != china))
    prices_elsewhere = s.power_price_usd_per_mwh[elsewhere].copy()
    n0 = s.n
    for _ in range(day + 1 + 30):
        m.step()
    new = np.flatnonzero((np.arange(s.n) >= n0) & (s.origin == RELOCATED))
    assert new.size and np.all(m.firms.active[s.owner[new]])
    assert np.allclose(s.power_price_usd_per_mwh[new], 70.0)
    assert np.allclose(s.capacity_mw[new], 0.5 * mw_before[s.owner[new]])
    assert np.all(s.region[new] == m.events.region_index("kazakhstan"))
    assert np.all(s.capacity_mw[banned] == 0)
    assert np.array_equal(s.power_price_usd_per_mwh[elsewhere], prices_elsewhere)


def test_grid_emergency_curtails_and_pays_credits_by_hand():
    sc = _deterministic(events=[ALL_EVENTS[1]])
    m = MiningIndustry(sc, seed=2)
    t, s = m.firms, m.sites
    us = m.events.region_index("us")
    rows = np.flatnonzero((s.status == MINING) & (s.region == us))
    cash = t.cash_usd.copy()
    avail = np.ones(s.n)
    m.events._curtail(sc.events[0], avail)
    # 80% of capacity released: availability 0.2; credit 60 USD/MWh x 24 h x 0.8 x MW, to the
    # host of each site
    assert np.allclose(avail[rows], 0.2) and np.all(np.delete(avail, rows) == 1.0)
    expected = np.bincount(
        s.host[rows], weights=60.0 * 24 * 0.8 * s.capacity_mw[rows], minlength=t.n
    )
    assert np.allclose(t.cash_usd - cash, expected)
    assert m.ledger["usd_demand_response"] == pytest.approx(expected.sum())


def test_tariff_change_by_region():
    sc = _deterministic(events=[{**ALL_EVENTS[3], "date": dt.date(2026, 1, 2)}])
    m = MiningIndustry(sc, seed=2)
    s = m.sites
    before, rate = s.power_price_usd_per_mwh.copy(), s.rate_usd_per_mwh.copy()
    n = before.size
    m.step()  # not yet
    assert np.array_equal(s.power_price_usd_per_mwh[:n], before)
    m.step()  # its date
    # every site there that is not closed, hosting AI too (day one's leases)
    ru = (s.region[:n] == m.events.region_index("russia")) & np.isin(s.status[:n], (MINING, AI))
    price = s.power_price_usd_per_mwh[:n]
    assert np.allclose(price[ru], before[ru] * 1.2 + 5.0)
    assert np.array_equal(price[~ru], before[~ru])
    # own sites pay the new price; hosted clients keep their contracted rate
    hosted = s.hosted()[:n]
    assert np.array_equal(s.rate_usd_per_mwh[:n][ru & ~hosted], price[ru & ~hosted])
    assert np.array_equal(s.rate_usd_per_mwh[:n][ru & hosted], rate[ru & hosted])


def test_sovereign_programme_and_ai_demand_shock_paths():
    sc = Scenario().with_overrides({"run.years": 1.0, "events": [ALL_EVENTS[4], ALL_EVENTS[5]]})
    m = MiningIndustry(sc, seed=1)
    uae = [s.name for s in sc.sovereigns if s.enabled].index("UAE-like")
    stop = (dt.date(2026, 3, 1) - dt.date(2026, 1, 1)).days
    cap = m.sovereigns.paths.capacity_mw
    assert cap[uae, stop - 1] == 250.0 and np.all(cap[uae, stop:] == 0)
    # stop then restart: the multiplier is set, not compounded; demand shocks compound
    d0 = dt.date(2026, 1, 1)
    path = step_path([(dt.date(2026, 1, 3), 0.0), (dt.date(2026, 1, 5), 1.0)], d0, 7, False)
    assert list(path) == [1, 1, 0, 0, 1, 1, 1]
    path = step_path([(dt.date(2026, 1, 3), 2.0), (dt.date(2026, 1, 5), 3.0)], d0, 7, True)
    assert list(path) == [1, 1, 2, 2, 6, 6, 6]


def test_all_events_conserve_cash_btc_and_debt():
    m = MiningIndustry(_deterministic(events=ALL_EVENTS, **{"run.years": 0.5}), seed=4)
    while m.running:
        step_checked(m)
    assert m.ledger["usd_relocation"] > 0 and m.ledger["usd_demand_response"] > 0
