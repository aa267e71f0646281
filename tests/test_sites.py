"""Sites by hand: what happens to capacity, rigs and rates when sites change hands, close,
convert to AI or fall under a ban; the outage draws' keys.

The world is the three explicit firms of tests/test_consolidation.py (A listed at $30/MWh,
200 MW; B at $70, 45 MW; C at $50, 20 MW; one site each, finance off); expected numbers are
worked out here from the scenario's parameters.
"""

from __future__ import annotations

import numpy as np
import pytest

from abm import MiningIndustry, review
from abm.consolidation import liquidate
from abm.entry import Candidates
from abm.firms import PRIVATE
from abm.markets.energy import SOURCES, OutageDraws
from abm.sites import AI, BUILDING, CLOSED, MINING, OUTSIDE, SiteTable
from tests.conftest import INSTANT_RIGS
from tests.test_consolidation import _one_site, _pv, _set_cash, _site_value_per_mw, _world
from tests.test_invariants import check_invariants

A, B, C = 0, 1, 2


def _host_c_at_a(m: MiningIndustry, rate: float = 75.0) -> int:
    """C's rigs move into A's facility (A's $30 power, C pays `rate` all-in); C's own site
    closes. Returns the hosted site."""
    s, g = m.sites, m.gens
    (own_c,) = s.of_firm(C)
    gn = g.index_of("S21")
    plan = _one_site(m, 30.0, 20.0, gn, s.fleet_ths[own_c, gn])
    plan.host[:] = 1  # index into the batch below: A
    plan.rate_usd_per_mwh[:] = rate
    (hosted,) = m.add_sites(plan, np.array([C, A]))
    m.close_sites(np.array([own_c]))
    m.firms.hosts[A] = True
    m.refresh_costs()
    m.update_live_columns(m.day)
    return int(hosted)


def test_the_cheapest_spare_site_takes_the_rigs_and_only_when_the_saving_pays_the_move():
    m = MiningIndustry(_world(), seed=1)
    s, g, t = m.sites, m.gens, m.firms
    (dear,) = s.of_firm(B)  # B: S19 XP at $70, 45 MW, full
    gn, gb = g.index_of("S21"), g.index_of("S19 XP")
    # B also runs a $50 and a $25 site, each 25 MW with 5 MW of S21s (20 MW of room)
    fill = 5.0 / g.power_mw_per_th[gn]
    mid, cheap = (
        int(m.add_sites(_one_site(m, p, 25.0, gn, fill), np.array([B]))[0]) for p in (50.0, 25.0)
    )
    m.refresh_costs()
    _set_cash(m, B, 1e7)
    rows = np.array([dear, mid, cheap])
    review.move_to_cheaper_sites(m, rows, np.zeros(3, dtype=int), np.array([B]))
    # 20 MW of S19 XP (21.5 W/TH) = 930,232.6 TH/s go to the $25 site, none to the $50 one
    moved = 20.0 / g.power_mw_per_th[gb]
    assert s.fleet_ths[cheap, gb] == pytest.approx(moved)
    assert s.fleet_ths[mid, gb] == 0.0
    check_invariants(m)

    # a $0.40/MWh saving over the rigs' life at B's 18% hurdle is worth less than the move
    m = MiningIndustry(_world(), seed=1)
    s = m.sites
    (dear,) = s.of_firm(B)
    near = int(m.add_sites(_one_site(m, 69.6, 25.0, gn, fill), np.array([B]))[0])
    m.refresh_costs()
    _set_cash(m, B, 1e7)
    life = m.params.hardware.economic_life_years
    saving = 0.4 * _pv(0.18, life) * g.efficiency_j_per_th[gb] * 24e-6  # [USD/TH]
    assert saving < 0.5  # the move costs $0.5/TH
    before = s.fleet_ths.copy()
    review.move_to_cheaper_sites(m, np.array([dear, near]), np.zeros(2, dtype=int), np.array([B]))
    np.testing.assert_array_equal(s.fleet_ths, before)
    assert t.hurdle_rate[B] == 0.18


def test_a_host_that_buys_its_clients_estate_runs_the_site_at_its_own_power_price():
    m = MiningIndustry(_world(), seed=1)
    s, t = m.sites, m.firms
    hosted = _host_c_at_a(m)
    _set_cash(m, C, -1.0)  # C cannot pay: its estate is auctioned; A is the richest bidder
    liquidate(m, C, "insolvent")
    assert s.owner[hosted] == A and s.host[hosted] == A and s.status[hosted] == MINING
    assert s.rate_usd_per_mwh[hosted] == 30.0  # no longer the client's $75
    # the energy cost of the site's rigs is at $30 now
    e = m.gens.energy_mwh_per_th_day
    np.testing.assert_allclose(m.cost_usd_per_th_day[hosted], 30.0 * e)
    assert not t.active[C]
    check_invariants(m)


def test_a_client_that_exits_hands_the_capacity_back_to_its_host():
    m = MiningIndustry(_world(**{"consolidation.auctions": False}), seed=1)
    s = m.sites
    hosted = _host_c_at_a(m)
    liquidate(m, C, "voluntary")  # no auction: nobody buys C's rigs, the estate closes
    assert s.owner[hosted] == A and s.status[hosted] == MINING
    assert s.capacity_mw[hosted] == 20.0 and not s.fleet_ths[hosted].any()
    assert s.rate_usd_per_mwh[hosted] == 30.0
    check_invariants(m)


def test_a_pivot_host_leaving_mining_sells_what_it_holds_and_its_clients_stay():
    m = MiningIndustry(_world(), seed=1)
    s, t = m.sites, m.firms
    hosted = _host_c_at_a(m)
    (own_a,) = np.flatnonzero((s.owner == A) & (s.host == A))
    fleet_c = s.fleet_ths[hosted].copy()
    _, used = m.rig_prices(m.day)
    # A sells its rigs at the secondary price, its 200 MW site and C's 20 MW facility at the
    # site value of $30 power
    per_mw = _site_value_per_mw(m, 30.0)
    expected = s.fleet_ths[own_a] @ used + (200.0 + 20.0) * per_mw
    sales0, cash0 = m.ledger["usd_asset_sales"], t.cash_usd[A]
    m.ai._leave_mining(A)
    assert m.ledger["usd_asset_sales"] - sales0 == pytest.approx(expected, rel=1e-12)
    assert t.cash_usd[A] == pytest.approx(cash0 + expected, rel=1e-12)  # no debt to repay
    assert s.status[own_a] == CLOSED
    # C's rigs keep running in the facility, now run by an outside operator
    assert s.host[hosted] == OUTSIDE and s.status[hosted] == MINING
    np.testing.assert_array_equal(s.fleet_ths[hosted], fleet_c)
    assert not t.active[A]


def _queued_world(**overrides) -> MiningIndustry:
    """A world where new MW take 10 days to connect and everyone is at home in "us"."""
    return MiningIndustry(
        _world(
            **{
                "capabilities.enabled": True,
                "capabilities.energy_access_prob_listed": 0.0,
                "capabilities.energy_access_prob_private": 0.0,
                "capabilities.interconnection_days": 10,
                "firms.region_mix": {"us": 1.0, "other": 0.0},
                # nobody's review buys MW of its own meanwhile
                "firms.hurdle_rate_listed": 10.0,
                "firms.hurdle_rate_private": 10.0,
                **INSTANT_RIGS,
                **overrides,
            }
        ),
        seed=1,
    )


def _queue(m: MiningIndustry, r: int, mw: float, ths: float) -> int:
    """Queue `mw` MW and `ths` TH/s of S21s for firm r at $40; returns the site they join."""
    fleet = np.zeros((1, m.gens.n))
    fleet[0, m.gens.index_of("S21")] = ths
    m.interconnection.queue(
        np.array([r]), np.array([mw]), fleet, np.array([40.0]), np.array([1e6]), np.array([2e6])
    )
    return int(m.firms.dev_site[r])


def test_queued_mw_whose_site_was_converted_to_ai_open_a_new_site():
    m = _queued_world(
        **{
            "ai.enabled": True,
            "ai.tender_rate_per_year": 0.0,
            "ai.min_award_mw": 5.0,
            "capabilities.flexible_prob_listed": 0.0,
        }
    )
    s, t = m.sites, m.firms
    dev = _queue(m, A, 10.0, 1e5)
    assert s.status[dev] == BUILDING and s.capacity_mw[dev] == 0.0
    # the first batch connects; a second is queued for the same site, which then goes to AI
    for _ in range(11):
        m.step()
    assert s.status[dev] == MINING and s.capacity_mw[dev] == 10.0
    assert _queue(m, A, 5.0, 5e4) == dev
    m.ai.convert(A, 10.0, 1.5e6, 5, 1e6, site=dev)  # a tenant takes the whole site
    assert s.status[dev] == AI and t.dev_site[A] == -1
    for _ in range(11):
        m.step()
    # the 5 MW and their rigs opened a new own site at the price of a new contract
    new = int(t.dev_site[A])
    assert new not in (dev, -1) and s.status[new] == MINING and s.owner[new] == A
    assert s.capacity_mw[new] == 5.0 and s.fleet_ths[new].sum() == pytest.approx(5e4)
    assert s.power_price_usd_per_mwh[new] == m.params.energy.expansion_price_usd_per_mwh
    # the batch's books arrive with it (then depreciate by the day)
    assert 0.95e6 < s.rig_book_usd[new] <= 1e6 and 1.9e6 < s.site_book_usd[new] <= 2e6
    assert s.capacity_mw[dev] == 10.0 and not s.fleet_ths[dev].any()
    check_invariants(m)


def test_a_full_ban_closes_the_region_for_good():
    ban = {
        "kind": "regional_ban",
        "date": "2026-01-03",
        "region": "us",
        "share": 1.0,
        "relocate_share": 0.5,
        "relocation_days": 5,
        "to_region": "other",
    }
    m = _queued_world(**{"events": [ban]})
    s, t = m.sites, m.firms
    us, other = m.events.region_index("us"), m.events.region_index("other")
    dev = _queue(m, A, 10.0, 1e5)  # building in "us" when the ban comes
    for _ in range(3):  # day 2 = 2026-01-03: the ban
        m.step()
    assert m.events.banned[us] and not m.events.banned[other]
    assert np.all(s.status[s.region == us] == CLOSED)
    assert s.status[dev] == CLOSED and t.dev_site[A] == -1
    assert np.all(t.region[t.active] == other)
    for _ in range(20):
        m.step()
    # entrants whose projects pay (cheap power, a 10% cost of capital) arrive after the ban
    kind, grid = np.full(4, PRIVATE, np.int8), np.full(4, SOURCES.index("grid"), np.int8)
    cands = Candidates(np.full(4, 5.0), np.full(4, 15.0), kind, np.full(4, 0.1), grid, kind < 0)
    assert m.entry.enter(cands).entrants == 4
    # the queued MW opened in "other", the relocated rigs too; entrants never go to "us"
    assert not np.any((s.region == us) & (s.status != CLOSED))
    assert t.entry_day.max() > 2 and np.all(t.region[t.entry_day > 2] == other)
    (new,) = np.flatnonzero((s.owner == A) & (s.capacity_mw == 10.0))
    # (less the few rigs that failed on the way: ~4%/yr)
    assert s.region[new] == other and s.fleet_ths[new].sum() == pytest.approx(1e5, rel=0.01)
    check_invariants(m)


def test_a_partial_ban_takes_both_the_sold_and_the_moved_share_of_the_rig_book():
    m = MiningIndustry(_world(), seed=1)
    s = m.sites
    (site,) = s.of_firm(B)
    book0, fleet0 = float(s.rig_book_usd[site]), s.fleet_ths[site].copy()
    rows = np.array([site])
    stopped = fleet0[None, :] * 0.5
    moved = stopped * 0.5  # half of the stopped rigs relocate, half are sold
    moved_book = m.books.stop_in_ban(rows, 0.5, stopped - moved, moved, np.zeros(1))
    assert moved_book[0] == pytest.approx(0.25 * book0)
    assert s.rig_book_usd[site] == pytest.approx(0.5 * book0)  # half the rigs are left
    np.testing.assert_allclose(s.fleet_ths[site], 0.5 * fleet0)
    assert s.capacity_mw[site] == pytest.approx(22.5)


def test_an_ai_contract_needs_an_eligible_site_of_the_firm():
    m = MiningIndustry(_world(**{"ai.enabled": True}), seed=1)
    with pytest.raises(ValueError, match="no eligible site"):
        m.ai.convert(C, 10.0, 1.5e6, 5, 1e6)  # C's 20 MW are too small for an award
    (site_a,) = m.sites.of_firm(A)
    with pytest.raises(ValueError, match="no eligible site"):
        m.ai.convert(B, 10.0, 1.5e6, 5, 1e6, site=int(site_a))  # not B's site


def test_outage_draws_follow_the_site_not_its_row():
    draws = OutageDraws(7)
    keys = np.array([5, 3_000_001, 17, 2_000_000])
    u = draws.uniforms(12, keys)
    # the same keys in another order, among other sites, give the same draws
    other = draws.uniforms(12, np.array([17, 99, 2_000_000, 5, 3_000_001]))
    np.testing.assert_array_equal(u[[2, 3, 0, 1]], other[[0, 2, 3, 4]])
    assert draws.uniforms(13, keys).tolist() != u.tolist()  # a new day, new draws
    assert OutageDraws(8).uniforms(12, keys).tolist() != u.tolist()  # another seed
    # over many site-days the draws are uniform: mean 1/2, variance 1/12
    big = draws.uniforms(3, np.arange(200_000))
    assert big.mean() == pytest.approx(0.5, abs=3 * np.sqrt(1 / 12 / 2e5))
    assert big.var() == pytest.approx(1 / 12, rel=0.01)


def test_each_owner_numbers_its_sites():
    t = SiteTable(2)
    first = t.append(owner=np.array([4, 2, 4]))
    second = t.append(owner=np.array([4, 9]))
    k = 1 << 20
    assert t.draw_key[first].tolist() == [4 * k, 2 * k, 4 * k + 1]
    assert t.draw_key[second].tolist() == [4 * k + 2, 9 * k]
    kept = t.append(owner=np.array([2]), draw_key=np.array([4 * k]))  # a split keeps its parent's
    assert t.draw_key[kept].tolist() == [4 * k]
    assert t.append(owner=np.array([2])).tolist() == [6] and t.draw_key[6] == 2 * k + 1
