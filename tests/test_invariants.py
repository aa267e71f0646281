"""Invariants checked after every simulated day on random small scenarios (hypothesis).

Nothing is created or lost: every balance (cash, debt, project debt, BTC held, BTC issued and
not yet paid out) equals its initial value plus the ledger's flows times their declared signs
(abm.books.LEDGER); no state is negative or non-finite; running hashrate never exceeds
installed hashrate or power capacity.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from abm import MiningIndustry
from abm.books import LEDGER, expected_balances
from abm.contracts import BUILDING as CONTRACT_BUILDING
from abm.firms import PIVOT_AI
from abm.ownership import ultimate_owners
from abm.sites import AI, AI_SPLIT, BUILDING, CARE, CLOSED, MOVED, STRANDED
from tests.conftest import small_scenario


def step_checked(m: MiningIndustry) -> None:
    """One step; on every site that existed before it, running hashrate is bounded by the
    fleet and capacity it was operated with (sites opened during the day are checked by the
    invariants)."""
    s = m.sites
    n0 = s.n
    fleet, capacity = s.fleet_ths.copy(), s.capacity_mw.copy()
    m.step()
    running = m.running_by_gen_ths[:n0]
    assert np.all(running <= fleet + 1e-6)
    power = running @ m.gens.power_mw_per_th
    sov = np.isin(s.owner[:n0], m.sovereigns.rows)  # capacity set by policy during the day
    assert np.all((power <= capacity * (1 + 1e-9) + 1e-9) | sov)
    check_invariants(m)


def run_checked(m: MiningIndustry) -> int:
    """Run to the end, checking every step; returns the most sites stranded on any day."""
    stranded = 0
    while m.running:
        step_checked(m)
        stranded = max(stranded, int((m.sites.status == STRANDED).sum()))
    return stranded


def check_invariants(m: MiningIndustry) -> None:
    t, lg = m.firms, m.ledger
    # every balance as the ledger's declared signs imply it (abm.books.LEDGER)
    expected = expected_balances(
        lg, {"cash": m.initial_cash_usd, "debt": m.initial_debt_usd, "btc": m.initial_btc_held}
    )
    issued = lg["btc_subsidy"] + lg["btc_fees"]
    assert np.isclose(expected["unpaid"], 0.0, rtol=0, atol=1e-9 * max(issued, 1.0))
    assert np.isclose(t.cum_btc_mined.sum(), lg["btc_to_firms"], rtol=1e-9, atol=1e-9)
    assert np.isclose(t.debt_usd.sum(), expected["debt"], rtol=1e-9, atol=1.0)
    assert np.isclose(m.ai.book.debt_usd.sum(), expected["project_debt"], rtol=1e-9, atol=1.0)
    assert np.all(m.ai.book.debt_usd >= -1e-6)
    # MW under contract per firm = the live contracts' MW
    live = m.ai.book.live()
    by_firm = np.bincount(m.ai.book.firm_id[live], m.ai.book.mw[live], minlength=t.n)
    assert np.allclose(t.ai_mw, by_firm, atol=1e-6)
    assert np.isclose(t.btc_held.sum(), expected["btc"], rtol=1e-9, atol=1e-6)
    # exited firms hold nothing (those that left mining for AI keep their contracts' cash);
    # acquired firms are owned by an active firm
    gone = ~t.active & (t.ai_mw <= 1e-9)
    assert np.all(t.cash_usd[gone] == 0) and np.all(t.debt_usd[gone] == 0)
    assert np.all(t.btc_held[gone] == 0)
    assert np.all(t.active[t.ultimate_owner[t.active]])
    graph_owner = ultimate_owners(m.ownership.graph)
    for r in np.flatnonzero(t.active):
        assert t.ultimate_owner[r] == graph_owner[r]
    assert np.isclose(t.cash_usd.sum(), expected["cash"], rtol=1e-9, atol=1.0)
    for col in (
        "cash_usd",
        "running_ths",
        "btc_held",
        "revenue_usd",
        "site_cost_usd",
        "hosting_fees_usd",
        "hosting_income_usd",
    ):
        a = getattr(t, col)
        assert np.all(np.isfinite(a)), col
        assert np.all(a >= -1e-6), col
    s = m.sites
    for col in ("capacity_mw", "running_ths", "power_price_usd_per_mwh", "rate_usd_per_mwh"):
        a = getattr(s, col)
        assert np.all(np.isfinite(a)), col
        assert np.all(a >= -1e-6), col
    assert np.all(np.isfinite(s.fleet_ths)) and np.all(s.fleet_ths >= -1e-9)
    # rigs run only on the sites of active firms; closed sites hold nothing
    assert not np.any(s.fleet_ths[~t.active[s.owner]] > 1e-9)
    closed = s.status == CLOSED
    assert np.all(s.capacity_mw[closed] == 0) and not np.any(s.fleet_ths[closed] > 0)
    # book values sit with the assets (rigs still in the interconnection queue are on their
    # site's books): finite, non-negative, none on closed sites
    for col in ("rig_book_usd", "site_book_usd"):
        a = getattr(s, col)
        assert np.all(np.isfinite(a)) and np.all(a >= -1e-6), col
        assert np.all(a[closed] == 0), col
    # every rig is of a generation the daily path looks at (the live columns)
    outside_live = np.ones(s.fleet_ths.shape[1], dtype=bool)
    outside_live[m.live_columns] = False
    assert not s.fleet_ths[:, outside_live].any()
    # stranded sites are hosted ones; AI and building sites hold no rigs
    assert np.all(s.host[s.status == STRANDED] != s.owner[s.status == STRANDED])
    assert not np.any(s.fleet_ths[s.status == AI] > 0)
    assert not np.any(s.fleet_ths[s.status == BUILDING] > 0)
    # an own site's owner pays its power price; a hosted one at least the host's
    own = (s.host == s.owner) & ~closed
    assert np.array_equal(s.rate_usd_per_mwh[own], s.power_price_usd_per_mwh[own])
    # the rigs on a mining site (or one in care) fit its capacity (sovereigns' capacity
    # follows their policy)
    mining = s.mining_or_care() & ~np.isin(s.owner, m.sovereigns.rows)
    power = s.fleet_ths[mining] @ m.gens.power_mw_per_th
    assert np.all(power <= s.capacity_mw[mining] * (1 + 1e-9) + 1e-9)
    # a firm's site under build-out is its own, building or mining (or in care)
    dev = t.dev_site[t.dev_site >= 0]
    firms = np.flatnonzero(t.dev_site >= 0)
    assert np.all((s.owner[dev] == firms) & (s.host[dev] == firms))
    assert np.all((s.status[dev] == BUILDING) | s.mining_or_care()[dev])
    # a site in care runs nothing; a vintage counts its losing days only while it loses
    assert not np.any(s.running_ths[s.status == CARE] > 0)
    assert np.all(s.loss_days >= 0) and np.all(s.off_days >= 0)
    # an AI site's capacity is the MW of the live contracts it serves
    b = m.ai.book
    taken = b.live() & ~(b.handover_deferred & (b.status == CONTRACT_BUILDING))
    served = np.bincount(b.site_id[taken], weights=b.mw[taken], minlength=s.n)
    ai = s.status == AI
    np.testing.assert_allclose(s.capacity_mw[ai], served[ai], rtol=1e-9, atol=1e-6)
    # nothing is open in a region under a full ban
    assert not np.any(m.events.banned[s.region] & ~closed & (s.status != AI))
    assert m.chain.difficulty > 0 and np.isfinite(m.chain.difficulty)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    n_firms=st.integers(10, 50),
    vol=st.floats(0.0, 1.5),
    drift=st.floats(-1.0, 1.0),
    jump_rate=st.floats(0.0, 10.0),
    price=st.floats(10_000, 300_000),
    fixed_opex=st.floats(0.0, 2000.0),
    luck=st.booleans(),
    acq_rate=st.floats(0.0, 300.0),
    entry_rate=st.floats(0.0, 300.0),
    finance_on=st.booleans(),
    tender_rate=st.floats(0.0, 200.0),
    tenant_default=st.floats(0.0, 1.0),
    ban_share=st.floats(0.0, 1.0),
    relocate_share=st.floats(0.0, 1.0),
    capabilities=st.booleans(),
    access_prob=st.floats(0.0, 1.0),
    risk_prob=st.floats(0.0, 1.0),
    flex_prob=st.floats(0.0, 1.0),
    hosted=st.floats(0.0, 1.0),
)
# found by hypothesis: a ban empties a flexible hybrid's sites before its deferred AI handover
@example(
    seed=0,
    n_firms=11,
    vol=0.0,
    drift=0.0,
    jump_rate=0.0,
    price=10000.0,
    fixed_opex=0.0,
    luck=False,
    acq_rate=0.0,
    entry_rate=0.0,
    finance_on=False,
    tender_rate=13.0,
    tenant_default=0.0,
    ban_share=1.0,
    relocate_share=0.0,
    capabilities=True,
    access_prob=0.0,
    risk_prob=0.0,
    flex_prob=1.0,
    hosted=0.0,
)
def test_invariants_every_step(
    seed,
    n_firms,
    vol,
    drift,
    jump_rate,
    price,
    fixed_opex,
    luck,
    acq_rate,
    entry_rate,
    finance_on,
    tender_rate,
    tenant_default,
    ban_share,
    relocate_share,
    capabilities,
    access_prob,
    risk_prob,
    flex_prob,
    hosted,
):
    sc = small_scenario(
        n_firms=n_firms,
        years=0.4,
        **{
            "price.volatility_per_year": vol,
            "price.drift_per_year": drift,
            "price.jump_rate_per_year": jump_rate,
            "price.jump_mean_log": -0.3,
            "price.initial_usd": price,
            "energy.fixed_opex_usd_per_mw_day": fixed_opex,
            "protocol.block_luck": luck,
            "behaviour.review_cadence_days": 7,
            "consolidation.deal_rate_per_year": acq_rate,
            "consolidation.entry_rate_per_year": entry_rate,
            "finance.enabled": finance_on,
            # AI market: frequent, small tenders and fast builds so that contracts start,
            # default, end and are sold with estates within the short horizon
            "ai.tender_rate_per_year": tender_rate,
            "ai.tender_mw_min": 1.0,
            "ai.tender_mw_max": 20.0,
            "ai.min_award_mw": 0.5,
            "ai.term_years_min": 1,
            "ai.term_years_max": 1,
            "ai.conversion_capex_usd_per_mw": 0.5e6,  # a one-year term must pay back
            "ai.redundancy_capex_usd_per_mw": 0.0,
            "ai.build_days_min": 5,
            "ai.build_days_max": 40,
            "ai.deadline_days_min": 30,
            "ai.deadline_days_max": 60,
            "ai.tenant_default_prob_per_year": tenant_default,
            "ai.strategy_mix_private": {"pure": 0.3, "hybrid": 0.4, "pivot": 0.3},
            # capabilities, with interconnections that complete within the horizon
            "capabilities.enabled": capabilities,
            "capabilities.energy_access_prob_listed": access_prob,
            "capabilities.energy_access_prob_private": access_prob,
            "capabilities.interconnection_days": 30,
            "capabilities.interconnection_days_access": 3,
            "capabilities.risk_managed_prob_listed": risk_prob,
            "capabilities.risk_managed_prob_private": risk_prob,
            "capabilities.hedge_tenor_days": 10,
            "capabilities.flexible_prob_listed": flex_prob,
            "capabilities.flexible_prob_private": flex_prob,
            # hosting: the private firms count as small, a share of them hosted at listed hosts
            "firms.small_max_ehs": 50.0,
            "firms.large_min_ehs": 100.0,
            "sites.hosted_share_small": hosted,
            "sites.host_share_listed": 1.0,
            "sites.host_default_recovery_days": 20,
            # a ban in the largest region, with relocation back within the horizon
            "events": [
                {
                    "kind": "regional_ban",
                    "date": "2026-02-01",
                    "region": "us",
                    "share": ban_share,
                    "relocate_share": relocate_share,
                    "relocation_days": 40,
                },
                {
                    "kind": "grid_emergency",
                    "date": "2026-03-01",
                    "region": "russia",
                    "days": 5,
                    "credit_usd_per_mwh": 40.0,
                },
            ],
        },
    )
    m = MiningIndustry(sc, seed=seed)
    while m.running:
        step_checked(m)


@pytest.mark.parametrize("auctions", [True, False])
def test_distress_path_conserves_cash(auctions):
    # a deep crash with high fixed costs forces defaults: auctions (or fire sales without them),
    # hosts among them, whose clients are stranded and then move
    sc = small_scenario(
        n_firms=40,
        years=1.0,
        **{
            "price.initial_usd": 30_000.0,
            "price.drift_per_year": -1.0,
            "energy.fixed_opex_usd_per_mw_day": 1500.0,
            "consolidation.auctions": auctions,
            "firms.small_max_ehs": 50.0,
            "firms.large_min_ehs": 100.0,
            "sites.hosted_share_small": 0.8,
            "sites.host_share_listed": 1.0,
            "sites.host_default_recovery_days": 20,
            "world.enabled": False,  # the firms alone: their distress is the point
            # idle sites cost as much in care as mining, so hosts default with their clients
            "operation.care_fixed_cost_share": 1.0,
        },
    )
    m = MiningIndustry(sc, seed=2)  # a seed in which a host defaults with clients
    stranded = run_checked(m)
    assert m.n_defaults > 0
    if auctions:
        assert stranded > 0  # some host defaulted with clients
    edges = m.ownership.edges_frame()
    if auctions:
        assert (edges["kind"] == "auction").sum() > 0
        assert m.ledger["usd_debt_recovered"] + m.ledger["usd_debt_written_off"] > 0
    else:
        assert m.ledger["usd_asset_sales"] > 0
        assert (edges["kind"] == "auction").sum() == 0
    # exited agents leave model.agents; their rows stay in the table
    assert len(m.agents) == int(m.firms.active.sum())


def test_every_ledger_key_declares_a_balance_and_a_doc():
    for key, entry in LEDGER.items():
        signs = [entry.cash, entry.debt, entry.project_debt, entry.btc, entry.unpaid]
        assert any(signs) != entry.internal, key  # a key that moves nothing is a transfer
        assert set(signs) <= {-1, 0, 1} and entry.doc, key
        assert key.startswith("btc_") == bool(entry.btc or entry.unpaid), key


def test_expected_balances_by_hand():
    # cash: 10 + 3 (debt drawn) - 2 (principal) - 1 (energy) = 10; debt: 5 + 3 - 2 - 0.5 = 5.5
    lg = dict.fromkeys(LEDGER, 0.0)
    lg.update(usd_debt_drawn=3.0, usd_principal=2.0, usd_energy=1.0, usd_debt_written_off=0.5)
    lg.update(btc_subsidy=6.25, btc_fees=0.25, btc_to_firms=6.37, btc_pool_fees=0.13)
    got = expected_balances(lg, {"cash": 10.0, "debt": 5.0})
    assert got["cash"] == 10.0 and got["debt"] == 5.5 and got["project_debt"] == 0.0
    assert got["btc"] == pytest.approx(6.37) and got["unpaid"] == pytest.approx(0.0, abs=1e-12)


def test_invariants_over_three_years_of_everything_at_once():
    # the long run the hypothesis examples are too short for: AI tenders and pivots, the
    # capabilities (interconnection queues, hedges, hourly scheduling), hosting with host
    # defaults, acquisitions and entry, a partial ban then a full ban, and a tariff
    sc = small_scenario(
        n_firms=120,
        years=3.0,
        **{
            "price.drift_per_year": -0.6,
            "price.volatility_per_year": 0.9,
            "energy.fixed_opex_usd_per_mw_day": 900.0,
            "firms.small_max_ehs": 50.0,
            "firms.large_min_ehs": 100.0,
            "sites.hosted_share_small": 0.8,
            "sites.host_share_listed": 1.0,
            "sites.host_default_recovery_days": 30,
            # used rigs fetch little (the dealer pays a tenth of what it sells them for), so
            # hosted clients keep theirs (economic retirement) and are still there when their
            # hosts default
            "used_rigs.dealer_spread": 0.9,
            "ai.tender_rate_per_year": 40.0,
            "ai.strategy_mix_private": {"pure": 0.3, "hybrid": 0.4, "pivot": 0.3},
            "ai.strategy_mix_listed": {"pure": 0.2, "hybrid": 0.4, "pivot": 0.4},
            "capabilities.enabled": True,
            "capabilities.interconnection_days": 60,
            "capabilities.interconnection_days_access": 20,
            "consolidation.deal_rate_per_year": 30.0,
            "consolidation.entry_rate_per_year": 30.0,
            "events": [
                {"kind": "regional_ban", "date": "2026-06-01", "region": "russia", "share": 0.6},
                {"kind": "regional_ban", "date": "2027-02-01", "region": "us", "share": 1.0},
                {
                    "kind": "tariff_change",
                    "date": "2027-06-01",
                    "region": "all",
                    "price_change": 0.3,
                    "levy_usd_per_mwh": 5.0,
                },
            ],
        },
    )
    m = MiningIndustry(sc, seed=4)  # a seed in which every path runs (day one's leases too)
    stranded = run_checked(m)
    s, t = m.sites, m.firms
    # every path ran: defaults with stranded clients that moved, pivots, acquisitions
    assert m.n_defaults > 0 and stranded > 0 and (s.origin == MOVED).any()
    assert (t.exit_cause == PIVOT_AI).any() and m.n_acquisitions > 0
    # and the deals: site purchases, acquisitions paid in shares, auctions of estates
    assert m.n_site_purchases > 0 and m.ledger["usd_shares_for_deals"] > 0
    assert m.ownership.counts_by_kind()["auction"]["deals"] > 0
    # the recorder's energy and AI margin add up to the ledger's flows
    ts = m.recorder.timeseries()
    lg = m.ledger
    assert ts["mining_energy_usd"].sum() == pytest.approx(lg["usd_energy"], rel=1e-9)
    ai_margin = lg["usd_ai_income"] - lg["usd_ai_opex"]
    assert ts["ai_margin_usd"].sum() == pytest.approx(ai_margin, rel=1e-9)
    assert (s.status == AI).any() and (s.origin == AI_SPLIT).any()  # whole and split conversions
    assert m.events.banned[m.events.region_index("us")]
