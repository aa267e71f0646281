"""Consolidation and sites by hand: an auction of a defaulted firm's sites, an acquisition, the
release of subsidiaries, rigs moving to a firm's cheapest spare site, and the
clients of a host that defaults.

The world: three explicit firms (one site each) with finance off, so budgets are spare cash
and nothing borrows; valuations are recomputed here from the closed-form present values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from abm import MiningIndustry, Scenario, deals, review
from abm.consolidation import liquidate, resolve_distress
from abm.markets.ai import HYBRID, PURE
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


def _frontier(m: MiningIndustry) -> tuple[int, float]:
    """The newest generation on sale today and its price [USD/TH]."""
    price, _ = m.rig_prices(m.day)
    g = int(np.flatnonzero(np.isfinite(price))[-1])
    return g, float(price[g])


def _fill_npv(m: MiningIndustry, price_usd_per_mwh: float, rate: float, spare_mw: float):
    """NPV and capex of filling `spare_mw` with the newest rigs on sale (0, 0 if it does not
    pay) [USD]."""
    g, price = _frontier(m)
    ths = spare_mw / (m.gens.efficiency_j_per_th[g] * 1e-6)  # W per TH/s -> MW
    npv = _rig_value_per_th(m, price_usd_per_mwh, rate, g) - price
    return (npv * ths, price * ths) if npv > 0 else (0.0, 0.0)


def _best_use_world() -> MiningIndustry:
    """The three firms with B's $70 site enlarged to 100 MW (43 MW of rigs: 57 MW spare), so
    the best use of B is to re-equip it, which B (no cash, no credit) cannot pay for."""
    # (a 2% premium, so that A gains from buying either)
    over = {"consolidation.acquisitions": True, "consolidation.acquisition_premium": 0.02}
    m = MiningIndustry(_world(**over), seed=1)
    m.sites.capacity_mw[m.sites.of_firm(1)] = 100.0
    assert m.valuation_hashprice_usd_per_th_day == m.expected_hashprice_usd_per_th_day
    return m


def _hand_values(m: MiningIndustry) -> dict[str, float]:
    """By hand, at day 0 (budgets are cash: no flows yet, finance off): each target's (B, C)
    value to itself (rigs at its 18% hurdle, kept or sold to the dealer, plus the re-equipment
    of its spare MW its budget pays for) and to A (12%, energy 20% cheaper by the synergy, A
    can pay for the re-equipment), without the facilities, cash and debt both count alike."""
    gb, gc = m.gens.index_of("S19 XP"), m.gens.index_of("S21")
    used = m.used.prices_usd_per_th
    spare_b = 100.0 - 2e6 * m.gens.efficiency_j_per_th[gb] * 1e-6
    spare_c = 20.0 - 1e6 * m.gens.efficiency_j_per_th[gc] * 1e-6
    own_b = 2e6 * max(_rig_value_per_th(m, 70.0, 0.18, gb), used[gb])  # B pays for no fill
    npv_c, capex_c = _fill_npv(m, 50.0, 0.18, spare_c)
    funded_c = min(1.0, 1e7 / capex_c) if capex_c > 0 else 1.0
    own_c = 1e6 * max(_rig_value_per_th(m, 50.0, 0.18, gc), used[gc]) + funded_c * npv_c
    a_b = (
        2e6 * max(_rig_value_per_th(m, 56.0, 0.12, gb), used[gb])
        + _fill_npv(m, 56.0, 0.12, spare_b)[0]
    )
    a_c = (
        1e6 * max(_rig_value_per_th(m, 40.0, 0.12, gc), used[gc])
        + _fill_npv(m, 40.0, 0.12, spare_c)[0]
    )
    return {"own_b": own_b, "own_c": own_c, "a_b": a_b, "a_c": a_c}


def test_a_buyer_values_a_target_at_its_best_use_and_the_largest_gain_is_matched():
    # A (listed, $30 power, 1e9 cash) can buy B ($70, 100 MW, no cash) or C ($50, 20 MW,
    # 1e7 cash); C is smaller than B, so neither buys the other, and A is too big to be bought
    m = _best_use_world()
    t, s, sc = m.firms, m.sites, m.params
    a = 0
    v = _hand_values(m)
    facility = {1: 100.0 * _site_value_per_mw(m, 70.0), 2: 20.0 * _site_value_per_mw(m, 50.0)}
    own = {1: v["own_b"] + facility[1], 2: v["own_c"] + facility[2] + 1e7}
    theirs = {1: v["a_b"] + facility[1], 2: v["a_c"] + facility[2] + 1e7}
    gain = {r: theirs[r] - own[r] for r in (1, 2)}
    price = {r: own[r] * (1 + sc.consolidation.acquisition_premium) for r in (1, 2)}
    assert all(theirs[r] > price[r] for r in (1, 2))  # both deals are feasible
    assert gain[1] > 10 * gain[2]  # B's idle MW, re-equipped by A, are worth far more
    tg = max(gain, key=gain.get)
    deal = deals.deal(m, site_purchase=False)
    assert (deal.buyer, deal.seller, deal.site) == (a, tg, -1)
    assert deal.gain_usd == pytest.approx(gain[tg], rel=1e-9)
    assert deal.price_usd == pytest.approx(price[tg], rel=1e-12)
    # A is listed: it pays in new shares (its own equity is worth more than the price)
    assert deal.shares_usd == deal.price_usd
    assert m.ledger["usd_shares_for_deals"] == pytest.approx(price[tg], rel=1e-12)
    assert m.ledger["usd_to_owners"] == pytest.approx(price[tg], rel=1e-12)
    assert t.cash_usd[a] == pytest.approx(1e9, rel=1e-12)
    assert t.ultimate_owner[tg] == a and t.acquired_day[tg] == 0 and t.active[tg]
    assert t.hurdle_rate[tg] == sc.firms.hurdle_rate_listed  # the group's cost of capital
    (edge,) = m.ownership.edges_frame().itertuples()
    assert (edge.kind, edge.sites, edge.mw) == ("acquisition", 1, 100.0)
    # the subsidiary keeps operating its own site at its own price
    assert s.owner[s.of_firm(tg)[0]] == tg and s.power_price_usd_per_mwh[s.of_firm(tg)[0]] == 70
    check_invariants(m)


def test_a_site_purchase_by_hand_moves_one_site_and_keeps_the_seller():
    m = _best_use_world()
    t, s, sc = m.firms, m.sites, m.params
    a = 0
    v = _hand_values(m)
    (site_b,), (site_c,) = s.of_firm(1), s.of_firm(2)
    # the seller values its site without its cash: B's is its whole estate, C's re-equipment
    # is what C's own 1e7 pays for
    gain = {site_b: v["a_b"] - v["own_b"], site_c: v["a_c"] - v["own_c"]}
    facility = {site_b: 100.0 * _site_value_per_mw(m, 70.0), site_c: 20 * _site_value_per_mw(m, 50)}
    own = {site_b: v["own_b"], site_c: v["own_c"]}
    best = max(gain, key=gain.get)
    seller = int(s.owner[best])
    price = (own[best] + facility[best]) * (1 + sc.consolidation.acquisition_premium)
    cash_seller = float(t.cash_usd[seller])
    deal = deals.deal(m, site_purchase=True)
    assert (deal.buyer, deal.seller, deal.site) == (a, seller, best)
    assert deal.price_usd == pytest.approx(price, rel=1e-12) and deal.shares_usd == 0
    assert deal.gain_usd == pytest.approx(gain[best], rel=1e-9)
    assert t.cash_usd[a] == pytest.approx(1e9 - price, rel=1e-12)  # cash, no shares
    assert t.cash_usd[seller] == pytest.approx(cash_seller + price, rel=1e-12)
    assert s.owner[best] == a and s.host[best] == a
    assert s.power_price_usd_per_mwh[best] == (70.0 if best == site_b else 50.0)
    assert t.active[seller] and t.ultimate_owner[seller] == seller  # the seller goes on
    (edge,) = m.ownership.edges_frame().itertuples()
    assert (edge.acquirer, edge.target, edge.kind, edge.sites) == (a, seller, "site_purchase", 1)
    assert m.n_site_purchases == 1 and m.n_acquisitions == 0
    check_invariants(m)


def test_no_deal_when_nobody_gains():
    # without synergies, at the seller's own hurdle and with a premium nobody pays, no pair
    # gains: the opportunity passes
    m = MiningIndustry(
        _world(
            **{
                "consolidation.acquisitions": True,
                "consolidation.acquisition_synergy": 0.0,
                "consolidation.acquisition_premium": 5.0,
            }
        ),
        seed=1,
    )
    assert deals.deal(m, site_purchase=False) is None
    assert deals.deal(m, site_purchase=True) is None
    assert m.ownership.edges_frame().empty and m.n_acquisitions == 0


def test_transfers_are_counted_by_kind():
    m = MiningIndustry(_world(), seed=1)
    liquidate(m, 2, "voluntary")  # C leaves: its site is sold as an exiting firm's
    _set_cash(m, 1, -1.0)
    resolve_distress(m)  # B defaults: its estate is auctioned
    counts = m.ownership.counts_by_kind()
    assert counts["exit_sale"]["deals"] == 1 and counts["exit_sale"]["sites"] == 1
    assert counts["exit_sale"]["mw"] == 20.0
    assert counts["auction"]["deals"] == 1 and counts["auction"]["mw"] == 45.0
    assert counts["acquisition"]["deals"] == counts["site_purchase"]["deals"] == 0
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


def test_the_option_to_convert_to_ai_by_hand():
    """A (listed, hybrid: may convert 20% of its eligible MW, 12%) values B's 100 MW site (B a
    pure miner: no option of its own) at the MW it adds to A's room, 0.2 x (200 + 100) - 0.2 x
    200 = 20 MW, times the lease's NPV over A's own bid; with 2 tenders of 100 MW a year the
    next three years' 600 MW exceed every firm's room (A's 40 MW), so the take-up is 1. An
    acquirer turns its target hybrid too: then B's whole 20 MW of room are A's."""
    over = {
        "ai.enabled": True,
        "ai.tender_rate_per_year": 2.0,
        "ai.demand_growth_per_year": 0.0,
        "ai.tender_mw_min": 100.0,
        "ai.tender_mw_max": 100.0,
        "ai.initial_contracts": [],
    }
    m = MiningIndustry(_world(**over), seed=1)
    t, s = m.firms, m.sites
    s.capacity_mw[s.of_firm(1)] = 100.0
    t.ai_strategy[:] = [HYBRID, PURE, PURE]
    t.ai_build_days[:] = 400
    opt = m.ai.option_terms()
    assert opt.take_up == 1.0  # 6 tenders x 100 MW against 40 MW of room
    assert opt.price_usd_per_mw_year == pytest.approx(1.55e6)  # the tenants' range, no book yet
    assert opt.term_years == 12.5
    # A's bid for B's site by hand: capex 9.5M x 70%, carried 400 days at the blend of 80%
    # project debt at 7.5% and 20% equity at 12%, recovered over 12.5 years, + opex + the
    # margin B's site would mine on the newest rig over the term
    (site_b,) = s.of_firm(1)
    blend = 0.8 * 0.075 + 0.2 * 0.12
    crf = blend / (1 - (1 + blend) ** -12.5)
    g = m.gens.newest_released(m.day)
    hp, decline = m.valuation_hashprice_usd_per_th_day, 0.30
    k = -math.log(1 - decline)
    avg = (1 - math.exp(-k * 12.5)) / (k * 12.5)
    e_mw = m.gens.power_mw_per_th[g]
    margin_th = hp * avg - m.cost_usd_per_th_day[site_b, g]
    opex_day = m.params.energy.fixed_opex_usd_per_mw_day
    foregone = max(margin_th / e_mw * 365 - opex_day * 365, 0.0)
    bid = 9.5e6 * 0.7 * (1 + blend) ** (400 / 365) * crf + 0.2e6 + foregone
    assert bid < 1.55e6  # A beats the expected price: the option is worth something
    npv_per_mw = (1.55e6 - bid) / crf
    v = deals.valuations(m)
    j = int(np.flatnonzero(v.sites == site_b)[0])
    i = int(np.flatnonzero(v.firms[v.buyers] == 0)[0])
    assert v.purchased_ai_usd[i, j] == pytest.approx(20.0 * npv_per_mw, rel=1e-9)
    assert v.acquired_ai_usd[i, j] == pytest.approx(20.0 * npv_per_mw, rel=1e-9)
    # B, a pure miner, has no option: its own value of the site leaves it out
    own = deals.ai_options(m, v.firms, v.sites, v.pos, np.zeros(0, dtype=np.int64))
    assert own.own[j] == 0.0
    # A's own 200 MW site: 40 MW of room at A's bid for its own site
    (site_a,) = s.of_firm(0)
    margin_a = hp * avg - m.cost_usd_per_th_day[site_a, g]
    bid_a = bid - foregone + max(margin_a / e_mw * 365 - opex_day * 365, 0.0)
    ja = int(np.flatnonzero(v.sites == site_a)[0])
    assert own.own[ja] == pytest.approx(40.0 * max(1.55e6 - bid_a, 0.0) / crf, rel=1e-9)
    # the purchase with the largest gain includes the option; B's site goes to A
    deal = deals.deal(m, site_purchase=True)
    assert deal.buyer == 0 and deal.site == site_b
    check_invariants(m)
