"""Consolidation and sites by hand: an auction of a defaulted firm's sites, an acquisition, the
release of subsidiaries, rigs moving to a firm's cheapest spare site, and the
clients of a host that defaults.

The world: three explicit firms (one site each) with finance off, so budgets are spare cash
and nothing borrows; valuations are recomputed here from the closed-form present values.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from abm import MiningIndustry, Scenario, review
from abm.consolidation import attempt_acquisition, liquidate, resolve_distress
from abm.sites import MINING, OUTSIDE, STRANDED
from tests.conftest import ALONE, NO_FAILURES
from tests.test_invariants import check_invariants

PV_DAYS = 365.0


def _pv(rate: float, years: float) -> float:
    """PV of 1 USD/day paid continuously for `years` at `rate` [days]."""
    return (1.0 - math.exp(-rate * years)) / rate * PV_DAYS


def _world(**overrides) -> Scenario:
    firms = [
        {
            "name": "A",
            "hashrate_ehs": 10.0,
            "power_price_usd_per_mwh": 30.0,
            "capacity_mw": 200.0,
            "cash_usd": 1e9,
            "kind": "listed",
            "generation": "S21",
        },
        {
            "name": "B",
            "hashrate_ehs": 2.0,
            "power_price_usd_per_mwh": 70.0,
            "capacity_mw": 45.0,
            "cash_usd": 0.0,
            "generation": "S19 XP",
        },
        {
            "name": "C",
            "hashrate_ehs": 1.0,
            "power_price_usd_per_mwh": 50.0,
            "capacity_mw": 20.0,
            "cash_usd": 1e7,
            "generation": "S21",
        },
    ]
    base = {
        "firms.population": "explicit",
        "firms.explicit": firms,
        "run.years": 1.0,
        "protocol.block_luck": False,
        "price.volatility_per_year": 0.0,
        "price.jump_rate_per_year": 0.0,
        "price.drift_per_year": 0.0,
        "energy.outage_prob_per_day": dict.fromkeys(
            ("hydro", "wind", "solar", "gas", "grid", "stranded"), 0.0
        ),
        "finance.enabled": False,
        "ai.enabled": False,
        "consolidation.entry": False,
        "consolidation.acquisitions": False,
        "sovereigns": [],
        **ALONE,  # the three firms are the market
    }
    return Scenario().with_overrides({**base, **overrides})


def _set_cash(m: MiningIndustry, r: int, usd: float) -> None:
    """Set a firm's cash by hand, as if it had started with it (keeps the invariants' books)."""
    m.initial_cash_usd += usd - float(m.firms.cash_usd[r])
    m.firms.cash_usd[r] = usd


def _rig_value_per_th(m: MiningIndustry, price_usd_per_mwh: float, rate: float, g: int) -> float:
    """PV of 1 TH/s of generation g at a power price and discount rate [USD/TH]."""
    sc = m.params
    hp = m.expected_hashprice_usd_per_th_day
    life, decline = (
        sc.hardware.economic_life_years,
        sc.behaviour.expected_hashprice_decline_per_year,
    )
    cost = price_usd_per_mwh * m.gens.efficiency_j_per_th[g] * 24e-6
    if cost >= hp:
        return 0.0
    run = min(life, math.log(hp / cost) / decline)  # switched off when the margin is gone
    return hp * _pv(rate + decline, run) - cost * _pv(rate, run)


def _site_value_per_mw(m: MiningIndustry, price_usd_per_mwh: float) -> float:
    """Market value of a MW at a power price (finance.site_value_usd_per_mw, by hand)."""
    sc = m.params
    hp = m.expected_hashprice_usd_per_th_day
    g = int(m.released_by_day[m.day]) - 1
    e = m.gens.efficiency_j_per_th[g] * 24e-6
    margin = hp - price_usd_per_mwh * e
    ref = hp - sc.energy.median_price_usd_per_mwh * e
    return sc.finance.site_value_usd_per_mw * min(max(margin / ref, 0.0), 1.5)


def test_auction_of_a_dear_site_to_a_cheap_buyer_by_hand():
    m = MiningIndustry(_world(), seed=1)
    t, s = m.firms, m.sites
    a, b = 0, 1
    gb = m.gens.index_of("S19 XP")
    ths_b = 2e6
    cost_a_before = m.cost_usd_per_th_day[s.of_firm(a)].copy()
    # the lot: B's rigs at the used-rig dealer's bid and its 45 MW at the site value of a $70
    # site
    used = m.used.prices_usd_per_th[gb]
    site_value = 45.0 * _site_value_per_mw(m, 70.0)
    market = ths_b * used + site_value
    assert m.lot_market_value_usd(b) == pytest.approx(market, rel=1e-12)
    # bidders value the rigs where they run (the lot's $70 site, nobody hosts it) at their
    # hurdles (listed 12%, private 18%), or at the dealer's bid if that is more (they can sell
    # them); budgets are spare cash (no flows yet, no credit)
    value_a = ths_b * max(_rig_value_per_th(m, 70.0, 0.12, gb), used) + site_value
    value_c = ths_b * max(_rig_value_per_th(m, 70.0, 0.18, gb), used) + site_value
    bid_a, bid_c = min(value_a, 1e9), min(value_c, 1e7)
    assert bid_a > bid_c
    price = max(bid_c, 0.5 * market)  # second price, at least the reserve
    _set_cash(m, b, -1.0)  # B cannot pay a bill: it defaults
    resolve_distress(m)
    assert not t.active[b] and m.n_defaults == 1
    (edge,) = m.ownership.edges_frame().itertuples()
    assert (edge.acquirer, edge.target, edge.kind) == (a, b, "auction")
    assert edge.price_usd == pytest.approx(price, rel=1e-12)
    assert t.cash_usd[a] == pytest.approx(1e9 - price, rel=1e-12)
    # B's estate: the price less the unpaid bill of 1 USD goes to its owners (no debt)
    assert m.ledger["usd_to_owners"] == pytest.approx(price - 1.0, rel=1e-12)
    # the site moved whole, with its own price; A's own site and costs are unchanged
    (bought,) = np.flatnonzero(s.owner == a)[1:]
    assert s.host[bought] == a and s.power_price_usd_per_mwh[bought] == 70.0
    assert s.capacity_mw[bought] == 45.0 and s.fleet_ths[bought, gb] == pytest.approx(ths_b)
    np.testing.assert_array_equal(m.cost_usd_per_th_day[s.of_firm(a)[:1]], cost_a_before)
    # nothing averages: A's firm-level price is an output, the capacity-weighted mix
    assert m.firm_power_price_usd_per_mwh()[a] == pytest.approx((30 * 200 + 70 * 45) / 245)
    check_invariants(m)


def test_acquisition_by_hand_keeps_the_target_and_its_sites():
    m = MiningIndustry(_world(**{"consolidation.acquisitions": True}), seed=1)
    t, s, sc = m.firms, m.sites, m.params
    a = 0
    _set_cash(m, 2, 0.0)  # only A can pay: it is the acquirer
    rng = copy.deepcopy(m.streams["mna"])
    rng.choice(3, p=[1.0, 0.0, 0.0])
    tg = [1, 2][int(rng.integers(2))]  # the target the stream draws among the smaller firms
    g = int(np.argmax(s.fleet_ths[tg]))
    ths = s.fleet_ths[tg, g]
    price_mwh = s.power_price_usd_per_mwh[tg]
    site_value = s.capacity_mw[tg] * _site_value_per_mw(m, price_mwh)
    balance = site_value + t.cash_usd[tg]  # no BTC, no debt, no AI contracts
    own = ths * max(_rig_value_per_th(m, price_mwh, 0.18, g), 0.0) + balance
    synergy = 1.0 - sc.consolidation.acquisition_synergy
    theirs = ths * max(_rig_value_per_th(m, price_mwh * synergy, 0.12, g), 0.0) + balance
    price = own * (1 + sc.consolidation.acquisition_premium)
    assert theirs > price  # cheaper capital and synergies make the deal
    sites_before = s.owner.copy(), s.power_price_usd_per_mwh.copy()
    assert attempt_acquisition(m)
    assert t.ultimate_owner[tg] == a and t.acquired_day[tg] == 0 and t.active[tg]
    assert t.hurdle_rate[tg] == sc.firms.hurdle_rate_listed  # the group's cost of capital
    assert t.cash_usd[a] == pytest.approx(1e9 - price, rel=1e-12)
    assert m.ledger["usd_to_owners"] == pytest.approx(price, rel=1e-12)
    # the subsidiary keeps operating its own sites at their own prices
    np.testing.assert_array_equal(s.owner, sites_before[0])
    np.testing.assert_array_equal(s.power_price_usd_per_mwh, sites_before[1])
    check_invariants(m)


def test_released_subsidiaries_keep_what_they_own():
    # A owns B, B owns C; A leaves: B is independent again and still owns C
    m = MiningIndustry(_world(), seed=1)
    t = m.firms
    m.ownership.record(1, 2, 0, 1.0, "acquisition")
    t.ultimate_owner[2] = 1
    m.ownership.record(0, 1, 0, 1.0, "acquisition")
    t.ultimate_owner[[1, 2]] = 0
    liquidate(m, 0, "voluntary")
    assert not t.active[0]
    assert t.ultimate_owner[1] == 1 and t.ultimate_owner[2] == 1
    assert m.ownership.owner_of(1) is None and m.ownership.owner_of(2) == 1
    check_invariants(m)


def test_review_moves_rigs_to_the_cheapest_spare_site_by_hand():
    m = MiningIndustry(_world(), seed=1)
    s, g = m.sites, m.gens
    (dear,) = s.of_firm(1)  # B: S19 XP at $70, 45 MW
    # B also runs a $25 site of 25 MW: 5 MW of S21s and 20 MW of room
    gn = g.index_of("S21")
    cheap = int(
        m.add_sites(_one_site(m, 25.0, 25.0, gn, 5.0 / g.power_mw_per_th[gn]), np.array([1]))[0]
    )
    m.refresh_costs()
    _set_cash(m, 1, 1e7)  # enough to pay for the move
    fleet_dear = s.fleet_ths[dear].copy()
    cash0 = m.firms.cash_usd[1]
    review.move_to_cheaper_sites(m, np.array([dear, cheap]), np.array([0, 0]), np.array([1]))
    # 20 MW of room take the least efficient rigs first: all B's rigs are S19 XP (21.5 W/TH):
    # 20 MW = 930,232.6 TH/s move, at $0.5/TH
    gb = g.index_of("S19 XP")
    moved = 20.0 / g.power_mw_per_th[gb]
    assert s.fleet_ths[cheap, gb] == pytest.approx(moved)
    assert s.fleet_ths[dear, gb] == pytest.approx(fleet_dear[gb] - moved)
    assert m.firms.cash_usd[1] == pytest.approx(cash0 - 0.5 * moved)
    assert m.ledger["usd_relocation"] == pytest.approx(0.5 * moved)
    check_invariants(m)
    # a firm without spare cash moves as many as it can pay for: none
    _set_cash(m, 1, 0.0)
    before = s.fleet_ths.copy()
    review.move_to_cheaper_sites(m, np.array([dear, cheap]), np.array([0, 0]), np.array([1]))
    np.testing.assert_array_equal(s.fleet_ths, before)


def _one_site(m: MiningIndustry, price: float, mw: float, g: int, ths: float):
    from abm.sites import one_site_each

    fleet = np.zeros((1, m.gens.n))
    fleet[0, g] = ths
    return one_site_each(
        np.array([mw]),
        np.array([price]),
        np.array([4], dtype=np.int8),
        np.array([False]),
        np.zeros(1),
        fleet,
    )


def test_a_defaulting_host_strands_its_clients_for_the_recovery_period():
    recovery = 20
    # (without auctions: nobody in the model takes over B's facilities; the moved rigs pay
    # 4.4% above their energy cost at the outside provider's rate: no on-margin, so they run)
    over = {
        "sites.host_default_recovery_days": recovery,
        "consolidation.auctions": False,
        "operation.on_margin": 0.0,
        "operation.start_delay_max_days": 1,  # the moved rigs start on the first day
    }
    m = MiningIndustry(_world(**over, **NO_FAILURES), seed=1)
    t, s, g = m.firms, m.sites, m.gens
    host, client = 1, 2
    _set_cash(m, host, 1e8)  # B can pay its bills until we make it default
    # C's rigs move into B's facility: a hosted site at B's $70 power, paying $75 all-in
    (own_c,) = s.of_firm(client)
    gn = g.index_of("S21")
    plan = _one_site(m, 70.0, 20.0, gn, s.fleet_ths[own_c, gn])
    plan.host[:] = 1  # index into the batch below: B
    plan.rate_usd_per_mwh[:] = 75.0
    (hosted,) = m.add_sites(plan, np.array([client, host]))
    m.close_sites(np.array([own_c]))  # C has no site of its own
    m.refresh_costs()
    m.update_live_columns(0)
    assert s.host[hosted] == host and s.owner[hosted] == client
    m.step()
    assert s.running_ths[hosted] > 0
    # the host pays the energy at $70 and earns $75 per MWh its client draws
    mwh = s.running_ths[hosted] * g.efficiency_j_per_th[gn] * 24e-6
    assert t.hosting_fees_usd[client] == pytest.approx(75.0 * mwh)
    assert t.hosting_income_usd[host] == pytest.approx(75.0 * mwh)
    # ... and B's bill: $70 per MWh drawn at both sites it holds, $270/MW-day on their 65 MW
    (own_b,) = np.flatnonzero((s.owner == host) & (s.host == host))
    gb = g.index_of("S19 XP")
    mwh_b = s.running_ths[own_b] * g.efficiency_j_per_th[gb] * 24e-6
    assert s.power_price_usd_per_mwh[own_b] == 70.0
    assert t.site_cost_usd[host] == pytest.approx(70.0 * (mwh + mwh_b) + 270.0 * (45.0 + 20.0))
    _set_cash(m, host, -1e12)  # B defaults
    liquidate(m, host, "insolvent")
    day0 = m.day
    assert s.status[hosted] == STRANDED and s.stranded_until[hosted] == day0 + recovery
    for _ in range(recovery):
        m.step()
        assert s.running_ths[hosted] == 0.0  # the client's rigs stay stopped
        check_invariants(m)
    assert m.day == day0 + recovery
    m.step()  # the recovery is over: the rigs move before the day's operation of tomorrow
    new = np.flatnonzero((s.owner == client) & (s.status == MINING))
    assert new.size == 1 and s.fleet_ths[new[0]].sum() == pytest.approx(plan.fleet_ths.sum())
    # nobody in the model hosts (A does not offer hosting): an outside provider in B's region
    assert s.host[new[0]] == OUTSIDE and s.region[new[0]] == s.region[hosted]
    # the provider charges at least its $70 power + $270/MW-day / 24 h + the $5 margin, above
    # the drawn $60-80
    assert s.rate_usd_per_mwh[new[0]] == pytest.approx(70.0 + 270.0 / 24.0 + 5.0)
    assert m.ledger["usd_relocation"] == pytest.approx(0.5 * plan.fleet_ths.sum())
    m.step()
    assert s.running_ths[new[0]] > 0
    check_invariants(m)
