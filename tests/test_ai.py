"""AI/HPC hosting market: tender draws, bids and awards (closed forms worked by hand), contract
cash flows, eligibility, conversion, pivots, and conservation with contracts present."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from abm import MiningIndustry
from abm.contracts import BUILDING, ENDED, OPERATING, SOLD, TENANT_DEFAULT
from abm.firms import LISTED
from abm.markets import ai
from abm.markets.ai import HYBRID, PIVOT, PURE
from abm.scenario import AIConfig, Scenario
from tests.conftest import ALONE, INSTANT_RIGS, NO_FAILURES, small_scenario
from tests.test_invariants import step_checked


# --------------------------------------------------------------------------------------------
# pure functions
def test_capital_recovery_factor_by_hand():
    # 8% over 10 years: 0.08 / (1 - 1.08^-10) = 0.149029...
    assert ai.capital_recovery_factor(np.array([0.08]), 10.0)[0] == pytest.approx(0.1490295, 1e-6)
    assert ai.capital_recovery_factor(np.array([0.0]), 4.0)[0] == pytest.approx(0.25)


def test_bid_by_hand():
    cfg = AIConfig(loan_to_cost=0.8, project_rate=0.075, opex_usd_per_mw_year=0.2e6)
    # blended cost of capital 0.8 x 7.5% + 0.2 x 15% = 9%; capex 7M carried one year at 9% =
    # 7.63M; level recovery over 10 years at 9%: x 0.155820 = 1.188907M; + opex 0.2M + 0.1M
    bid = ai.bid_usd_per_mw_year(
        np.array([7e6]), np.array([0.15]), cfg, np.array([365.0]), 10.0, np.array([0.1e6])
    )
    crf = 0.09 / (1 - 1.09**-10)
    assert bid[0] == pytest.approx(7e6 * 1.09 * crf + 0.3e6, rel=1e-12)
    assert bid[0] == pytest.approx(1.4889e6, rel=1e-4)


def test_foregone_margin_by_hand():
    # hashprice 0.05 USD/TH/day flat (no decline), energy 0.02 -> 0.03 USD/TH/day; a MW holds
    # 1 / 2e-5 = 50,000 TH/s -> 1,500 USD/day; less fixed 270 USD/MW/day -> 1,230 x 365
    v = ai.foregone_mining_usd_per_mw_year(0.05, np.array([0.02, 0.06]), 2e-5, 270.0, 0.0, 10.0)
    assert v[0] == pytest.approx(1230 * 365)
    assert v[1] == 0.0  # an uneconomic site gives up nothing
    # with decline d, the term average of (1-d)^t (continuous) is (1 - e^-kT)/(kT), k=-ln(1-d)
    k = -math.log(0.8)
    avg = (1 - math.exp(-10 * k)) / (10 * k)
    v = ai.foregone_mining_usd_per_mw_year(0.05, np.array([0.0]), 2e-5, 0.0, 0.2, 10.0)
    assert v[0] == pytest.approx(0.05 * avg * 50_000 * 365)


def test_award_uniform_second_price():
    # offers 100, 80, 50 MW at 1.0, 1.1, 1.3 M; tender 150 MW, maximum 1.5 M, perfect sites:
    # the two best win (100 MW and the remaining 50), both paid the first refused score 1.3 M
    aw = ai.award(
        np.array([100.0, 80.0, 50.0]),
        np.array([1.0e6, 1.1e6, 1.3e6]),
        np.zeros(3),
        150.0,
        1.5e6,
        5.0,
    )
    assert list(aw.winners) == [0, 1]
    assert aw.mw == pytest.approx([100.0, 50.0])
    assert aw.price_usd_per_mw_year == pytest.approx([1.3e6, 1.3e6])


def test_award_reliability_and_reserve():
    # a site down 2% of days scores 1.0 x (1 + 5 x 0.02) = 1.1 and ranks behind a perfect site
    # bidding 1.05; a lone winner is paid the maximum divided by its penalty; offers above the
    # maximum are refused
    aw = ai.award(
        np.array([60.0, 60.0]), np.array([1.0e6, 1.05e6]), np.array([0.02, 0.0]), 60.0, 1.5e6, 5.0
    )
    assert list(aw.winners) == [1]
    assert aw.price_usd_per_mw_year[0] == pytest.approx(1.1e6)
    aw = ai.award(np.array([60.0]), np.array([1.0e6]), np.array([0.02]), 60.0, 1.5e6, 5.0)
    assert aw.price_usd_per_mw_year[0] == pytest.approx(1.5e6 / 1.1)
    aw = ai.award(np.array([60.0]), np.array([1.6e6]), np.array([0.0]), 60.0, 1.5e6, 5.0)
    assert aw.winners.size == 0


def test_redundancy_by_uptime_requirement():
    cfg = AIConfig(conversion_capex_usd_per_mw=9e6, tenant_capex_share=0.5)
    outage = np.array([0.0, 0.0005, 0.002])
    # Tier III (99.98%) allows 0.0002 outage days per day: the two last sites need redundancy
    # (4.5M + 1M); 99.9% allows 0.001: only the last
    assert list(ai.capex_usd_per_mw(cfg, outage, 0.9998)) == [4.5e6, 5.5e6, 5.5e6]
    assert list(ai.capex_usd_per_mw(cfg, outage, 0.999)) == [4.5e6, 4.5e6, 5.5e6]


def test_tender_arrivals_match_the_demand_path():
    cfg = AIConfig(tender_rate_per_year=50.0, demand_growth_per_year=0.3)
    start, n = dt.date(2026, 1, 1), 3650
    expected = (50.0 / 365.0 * ai.demand_multiplier(cfg, start, n)).sum()
    # closed form of the sum: 50/365 x sum_t 1.3^(t/365) = 50/365 x (1.3^10 - 1)/(1.3^(1/365) - 1)
    assert expected == pytest.approx(50 / 365 * (1.3**10 - 1) / (1.3 ** (1 / 365) - 1))
    counts = [
        ai.draw_tenders(cfg, np.random.default_rng(s), start, n).n for s in range(20)
    ]  # Poisson: mean = expected, sd = sqrt(expected / 20) for the mean of 20
    assert abs(np.mean(counts) - expected) < 5 * math.sqrt(expected / 20)
    t = ai.draw_tenders(cfg, np.random.default_rng(0), start, n)
    assert t.mw.min() >= 100 and t.mw.max() <= 800
    assert set(np.unique(t.term_years)) <= set(range(10, 16))
    # a demand path doubling the rate from year 5 on
    path = AIConfig(
        tender_rate_per_year=50.0,
        demand_growth_per_year=0.0,
        demand_path=[
            {"date": dt.date(2030, 12, 31), "multiplier": 1.0},
            {"date": dt.date(2031, 1, 1), "multiplier": 2.0},
        ],
    )
    mult = ai.demand_multiplier(path, start, n)
    assert mult[0] == 1.0 and mult[-1] == 2.0


# --------------------------------------------------------------------------------------------
# the model side
def _two_firms(**overrides) -> Scenario:
    """Two listed firms with no outages, no block luck, no tenders of their own."""
    firms = [
        {
            "name": "Big",
            "hashrate_ehs": 20.0,
            "power_price_usd_per_mwh": 35.0,
            "capacity_mw": 400.0,
            "cash_usd": 2e9,
            "kind": "listed",
            "source": "gas",
            "generation": "S21",
        },
        {
            "name": "Small",
            "hashrate_ehs": 0.5,
            "power_price_usd_per_mwh": 60.0,
            "capacity_mw": 10.0,
            "cash_usd": 0.0,
            "kind": "private",
            "source": "grid",
            "generation": "S21",
        },
    ]
    base = {
        "firms.population": "explicit",
        "firms.explicit": firms,
        "run.years": 3.0,
        "protocol.block_luck": False,
        "price.volatility_per_year": 0.0,
        "price.jump_rate_per_year": 0.0,
        "price.drift_per_year": 0.0,
        "energy.outage_prob_per_day": dict.fromkeys(
            ("hydro", "wind", "solar", "gas", "grid", "stranded"), 0.0
        ),
        "consolidation.acquisitions": False,
        "consolidation.entry": False,
        "sovereigns": [],
        "ai.tender_rate_per_year": 0.0,
        **INSTANT_RIGS,
        **ALONE,
        "ai.tenant_default_prob_per_year": 0.0,
        "ai.renewal_prob": 0.0,
    }
    return Scenario().with_overrides({**base, **overrides})


def test_contract_cash_flows_by_hand():
    cfg = AIConfig()
    m = MiningIndustry(_two_firms(), seed=1)
    t, lg = m.firms, m.ledger
    mw, price, capex_mw, term, build = 50.0, 1.5e6, 7e6, 1, 30
    t.ai_build_days[0] = build
    cash0 = t.cash_usd[0]
    c = m.ai.convert(0, mw, price, term, capex_mw)
    b = m.ai.book
    capex = mw * capex_mw  # 350 M
    d0 = cfg.loan_to_cost * capex  # 280 M of project debt
    assert b.debt_usd[c] == pytest.approx(d0)
    # the equity share (70 M) leaves the firm's cash; displaced rigs (none here: 400 MW of
    # capacity, 20 EH/s x 17.5 J/TH = 350 MW of rigs, 50 MW converted leaves exactly 350) are 0
    assert cash0 - t.cash_usd[0] == pytest.approx(capex - d0)
    assert b.hashrate_removed_ths[c] == pytest.approx(0.0, abs=1e-6)
    assert m.firm_capacity_mw()[0] == pytest.approx(350.0) and t.ai_mw[0] == 50.0
    # build: interest is capitalised daily for 30 days, nothing is earned
    i = cfg.project_rate / 365
    for _ in range(build):
        m.ai.run_day(m.day)
        m.day += 1
    assert b.status[c] == BUILDING
    assert b.debt_usd[c] == pytest.approx(d0 * (1 + i) ** build, rel=1e-12)
    assert lg["usd_ai_income"] == 0.0
    # operation: 365 days of income price x MW / 365, level debt service that repays it all
    d1 = d0 * (1 + i) ** build
    n = 365
    payment = d1 * i / (1 - (1 + i) ** -n)
    cash_before = t.cash_usd[0]
    days = []
    for _ in range(n):
        days.append(m.ai.run_day(m.day))
        m.day += 1
    assert b.status[c] == ENDED and b.debt_usd[c] == pytest.approx(0.0, abs=1e-3)
    income = price * mw  # one year
    opex = cfg.opex_usd_per_mw_year * mw
    assert lg["usd_ai_income"] == pytest.approx(income, rel=1e-9)
    # the day's records carry the income and the opex (the recorder's AI margin)
    assert sum(d.income_usd for d in days) == pytest.approx(income, rel=1e-9)
    assert sum(d.opex_usd for d in days) == pytest.approx(opex, rel=1e-9)
    assert lg["usd_ai_principal"] == pytest.approx(d1, rel=1e-9)
    assert lg["usd_ai_interest"] == pytest.approx(n * payment - d1, rel=1e-6)
    assert t.cash_usd[0] - cash_before == pytest.approx(income - opex - n * payment, rel=1e-6)
    # at the end (no renewal) the MW return to mining
    assert m.firm_capacity_mw()[0] == pytest.approx(400.0) and t.ai_mw[0] == 0.0


def test_eligibility_and_financing():
    m = MiningIndustry(_two_firms(), seed=1)
    t, h = m.firms, m.ai
    t.ai_strategy[:] = HYBRID
    t.ai_build_days[:] = 400
    h.tenders = ai.Tenders(
        day=np.array([0, 0]),
        mw=np.array([300.0, 300.0]),
        term_years=np.array([15, 15]),
        max_price_usd_per_mw_year=np.array([1.9e6, 1.9e6]),
        deadline_days=np.array([500, 300]),
        uptime=np.array([0.9998, 0.9998]),
    )
    rows, offer, bid, _ = h.offers(0)
    offered = dict(zip(rows.tolist(), offer.tolist(), strict=True))
    # Big: a hybrid converts at most 20% of its 400 MW; Small has 10 MW (below the 50 MW
    # block), no cash and no borrowing room: it cannot finance a conversion, so it offers 0
    assert offered[0] == pytest.approx(80.0)
    assert offered.get(1, 0.0) == 0.0
    assert np.all(bid > 0)
    rows, _, _, _ = h.offers(1)  # a 300-day deadline: a 400-day build cannot deliver
    assert rows.size == 0
    t.ai_strategy[0] = PURE  # a pure miner never bids
    assert h.offers(0)[0].size == 0
    t.ai_strategy[0] = HYBRID
    m.sites.seasonal[0] = True  # seasonal (run-of-river) sites cannot host
    assert h.offers(0)[0].size == 0
    m.sites.seasonal[0] = False
    m.sites.outage_prob[0] = 0.02  # above what redundancy can fix (stranded, off-grid)
    assert h.offers(0)[0].size == 0
    m.sites.outage_prob[0] = 0.0
    t.cash_usd[0] = 0.0  # cash gone; the equity it could still raise
    equity_per_mw = ai.capex_usd_per_mw(m.params.ai, np.zeros(1), 0.9998)[0] * 0.2
    expected = min(80.0, h.equity_issuable_usd(np.array([0]))[0] / equity_per_mw)
    _, offer, _, _ = h.offers(0)
    assert offer[0] == pytest.approx(expected if expected >= 50 else 0.0)


def _lone_hybrid_with_one_tender(cash: float) -> MiningIndustry:
    """ "Lone" (a hybrid with `cash`, no credit) and one 100 MW tender on day 1; run to the end."""
    m = MiningIndustry(
        _two_firms(**{"firms.explicit": _small_only(cash=cash), "run.years": 0.2}), seed=1
    )
    m.firms.ai_strategy[:] = HYBRID
    m.firms.ai_build_days[:] = 365
    m.ai.tenders = ai.Tenders(
        np.array([1]),
        np.array([100.0]),
        np.array([10]),
        np.array([1.9e6]),
        np.array([700]),
        np.array([0.99]),
    )
    while m.running:
        m.step()
    return m


def test_firm_that_cannot_finance_cannot_win():
    # Lone has capacity to convert but no money and no credit
    m = _lone_hybrid_with_one_tender(cash=0.0)
    assert m.ai.book.n == 0 and m.ai.tenders_unfilled == 1
    # the same firm with the cash for its equity share wins
    assert _lone_hybrid_with_one_tender(cash=1e9).ai.book.n == 1


def _small_only(cash: float = 0.0) -> list[dict]:
    return [
        {
            "name": "Lone",
            "hashrate_ehs": 10.0,
            "power_price_usd_per_mwh": 40.0,
            "capacity_mw": 300.0,
            "cash_usd": cash,
            "kind": "private",
            "source": "gas",
            "generation": "S21",
        },
        {
            "name": "Other",
            "hashrate_ehs": 10.0,
            "power_price_usd_per_mwh": 40.0,
            "capacity_mw": 200.0,
            "kind": "private",
            "source": "gas",
            "generation": "S21",
        },
    ]


# Big's 20 EH/s of S21 (17.5 J/TH) draw 350 MW; at its first review it fills the other 50 MW
# of its 400 MW with the generation on sale, S21 XP+ Hydro (11 J/TH): 50 / 11e-6 = 4.5455
# EH/s, 24.5455 EH/s in all; converting 150 MW removes the least efficient rigs: 150 / 1.75e-5
# = 8.5714 EH/s of S21
BIG_EHS = 20.0 + 50 / 11e-6 / 1e6


def test_conversion_removes_exactly_the_converted_hashrate():
    m = MiningIndustry(
        _two_firms(**{"behaviour.max_capacity_growth_per_review": 0.0}, **NO_FAILURES), seed=1
    )
    for _ in range(3):
        m.step()
    assert m.firms.running_ths[0] / 1e6 == pytest.approx(BIG_EHS)
    before = m.recorder.daily["network_hashrate_ehs"][m.day - 1]
    m.ai.convert(0, 150.0, 1.5e6, 10, 7e6)
    m.step()
    after = m.recorder.daily["network_hashrate_ehs"][m.day - 1]
    removed = 150 / 17.5e-6 / 1e6
    assert removed == pytest.approx(8.5714286, rel=1e-6)
    assert before - after == pytest.approx(removed, rel=1e-9)
    assert m.recorder.daily["hashrate_to_ai_ehs"][m.day - 1] == pytest.approx(removed)


def test_a_flexible_firm_mines_converted_mw_until_the_contract_starts():
    # as in the test above, but Big schedules its compute (capabilities: flexible): the 150 MW
    # keep mining through the 20-day build and leave, with their 8.5714 EH/s, when it starts
    m = MiningIndustry(
        _two_firms(**{"behaviour.max_capacity_growth_per_review": 0.0}, **NO_FAILURES), seed=1
    )
    t = m.firms
    for _ in range(3):
        m.step()
    t.flexible[0], t.ai_strategy[0], t.ai_build_days[0] = True, HYBRID, 20
    c = m.ai.convert(0, 150.0, 1.5e6, 10, 7e6)
    b = m.ai.book
    assert b.handover_deferred[c] and m.firm_capacity_mw()[0] == 400.0 and t.ai_mw[0] == 150.0
    # eligibility counts the promised MW as taken: a hybrid may convert 20% of its sites
    assert m.ai._free_mw(0) == pytest.approx(250.0)
    start = int(b.start_day[c])
    while m.day < start:
        m.step()
    assert m.firms.running_ths[0] / 1e6 == pytest.approx(BIG_EHS)  # still mining
    m.step()  # the start day: mined, then handed over when the contract starts
    assert m.firm_capacity_mw()[0] == pytest.approx(250.0) and b.status[c] == OPERATING
    before = m.recorder.daily["network_hashrate_ehs"][m.day - 1]
    m.step()
    after = m.recorder.daily["network_hashrate_ehs"][m.day - 1]
    assert before - after == pytest.approx(150 / 17.5e-6 / 1e6, rel=1e-9)
    assert b.hashrate_removed_ths[c] / 1e6 == pytest.approx(150 / 17.5e-6 / 1e6)


def test_pivot_firm_leaves_mining_but_keeps_its_contracts():
    m = MiningIndustry(_two_firms(), seed=1)
    t = m.firms
    t.ai_strategy[0] = PIVOT
    t.ai_build_days[0] = 10
    m.ai.convert(0, 360.0, 1.5e6, 10, 7e6)  # 40 MW left: below a 50 MW block
    assert not t.active[0] and t.exit_cause[0] == 4  # "pivot_ai"
    assert m.firm_capacity_mw()[0] == 0 and m.firm_installed_ths()[0] == 0 and t.debt_usd[0] == 0
    cash = t.cash_usd[0]
    while m.running:
        step_checked(m)
    assert m.ai.book.status[0] == OPERATING
    assert t.cash_usd[0] > cash  # lives on its contract income
    assert m.recorder.firm_outcomes()["exit_cause"][0] == "pivot_ai"


def test_defaults_ends_renewals_and_estate_sales_conserve_everything():
    sc = small_scenario(
        n_firms=30,
        years=3.0,
        **{
            "ai.tender_rate_per_year": 40.0,
            "ai.tender_mw_min": 5.0,
            "ai.tender_mw_max": 60.0,
            "ai.min_award_mw": 2.0,
            "ai.term_years_min": 1,
            "ai.term_years_max": 1,
            "ai.conversion_capex_usd_per_mw": 0.5e6,  # a one-year term must pay back
            "ai.redundancy_capex_usd_per_mw": 0.0,
            "ai.build_days_min": 30,
            "ai.build_days_max": 60,
            "ai.deadline_days_min": 90,
            "ai.deadline_days_max": 120,
            "ai.tenant_default_prob_per_year": 0.3,
            "ai.renewal_prob": 0.5,
            "ai.strategy_mix_private": {"pure": 0.2, "hybrid": 0.5, "pivot": 0.3},
            "price.drift_per_year": -0.4,
        },
    )
    m = MiningIndustry(sc, seed=7)
    while m.running:
        step_checked(m)
    status = m.ai.book.status
    for s in (OPERATING, ENDED, TENANT_DEFAULT):
        assert (status == s).any(), s
    assert m.ai.book.renewals.sum() > 0
    # contracts sold with estates, when there were any, took their project debt with them
    if (status == SOLD).any():
        assert m.ledger["usd_ai_debt_transferred"] > 0


def test_ai_off_and_no_tenders_give_the_same_mining_run():
    on = small_scenario(
        n_firms=40, years=1.0, **{"ai.tender_rate_per_year": 0.0, "ai.initial_contracts": []}
    )
    off = small_scenario(n_firms=40, years=1.0, **{"ai.enabled": False})
    a, b = MiningIndustry(on, seed=5), MiningIndustry(off, seed=5)
    a.run_model()
    b.run_model()
    ta, tb = a.recorder.timeseries(), b.recorder.timeseries()
    assert ta.equals(tb)


# --------------------------------------------------------------------------------------------
# day one: the 2024-25 contracts (ai.initial_contracts)
# CALIBRATION.md's seven leases: 500 + 800 + 400 + 360 (TeraWulf, the 200-360 MW deal at its
# full size) + 168 + 300 + 245 MW
DOCUMENTED_2026_MW = 500 + 800 + 400 + 360 + 168 + 300 + 245  # = 2,773 MW


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_baseline_starts_with_the_documented_contracts(seed):
    m = MiningIndustry(Scenario(), seed=seed)
    b, t = m.ai.book, m.firms
    assert DOCUMENTED_2026_MW == 2773
    assert b.mw.sum() == pytest.approx(DOCUMENTED_2026_MW)
    assert t.ai_mw.sum() == pytest.approx(DOCUMENTED_2026_MW)
    assert m.ai.summary()["ai_mw_initial"] == pytest.approx(DOCUMENTED_2026_MW)
    assert m.ai.summary()["ai_mw_awarded"] == 0.0  # no tender decided yet
    holders = b.firm_id
    assert np.unique(holders).size == 7  # one deal per firm (14 listed candidates)
    assert (t.kind[holders] == LISTED).all()
    assert (t.ai_strategy[holders] == PIVOT).all()  # mining < 20% of revenue by late 2026
    # each deal sits on a site of its own hosting AI, MW as contracted, no rigs
    s = m.sites
    assert (s.owner[b.site_id] == holders).all()
    assert s.capacity_mw[b.site_id] == pytest.approx(b.mw)
    assert s.fleet_ths[b.site_id].sum() == 0.0
    # Core Scientific - CoreWeave, signed 2024-06-01, 579 days before the start (214 to the
    # end of 2024, 365 in 2025): every build (365-545 days) has ended, so it operates from day
    # one and its 12-year term ends 12 x 365 days after signing + build
    core = int(np.flatnonzero(b.mw == 500.0)[0])
    build = int(t.ai_build_days[b.firm_id[core]])
    assert b.start_day[core] == 0
    assert b.end_day[core] == build - 579 + 12 * 365
    # Hut 8 (2025-12-01): 31 days before the start, builds for at least a year
    hut8 = int(np.flatnonzero(b.mw == 245.0)[0])
    assert b.start_day[hut8] == int(t.ai_build_days[b.firm_id[hut8]]) - 31 >= 334
    m.step()
    # on day one only the contracts whose build has ended earn, Core Scientific's among them
    # (500 MW x $1.45M / 365 = $1.986M a day)
    operating = b.status == OPERATING
    assert operating[core]
    expected = float((b.mw * b.price_usd_per_mw_year)[operating].sum()) / 365.0
    assert m.last_day.ai.income_usd == pytest.approx(expected)
    assert expected >= 500 * 1.45e6 / 365 - 1e-6


def test_initial_contracts_leave_the_mining_state_and_cash_unchanged():
    """The leases sit on sites beside the mining ones and were financed before the start: the
    population, its fleet, mining MW, cash and debt on day one are those without them."""
    with_ = MiningIndustry(Scenario(), seed=4)
    without = MiningIndustry(Scenario().with_overrides({"ai.initial_contracts": []}), seed=4)
    assert without.ai.book.n == 0
    a, b = with_.firms, without.firms
    for col in ("debt_usd", "btc_held", "hurdle_rate", "kind", "initial_hashrate_ehs"):
        assert np.array_equal(getattr(a, col), getattr(b, col)), col
    assert a.cash_usd == pytest.approx(b.cash_usd, rel=1e-12)  # + debt + equity - capex
    assert np.array_equal(with_.firm_capacity_mw(), without.firm_capacity_mw())
    assert np.array_equal(with_.firm_installed_ths(), without.firm_installed_ths())
    # the ledger: project debt and equity raised pay exactly for the capex
    led = with_.ledger
    assert led["usd_ai_debt_drawn"] + led["usd_equity_raised"] == pytest.approx(led["usd_ai_capex"])
    assert led["usd_ai_debt_drawn"] == pytest.approx(0.8 * led["usd_ai_capex"])


def test_deals_signed_after_the_start_are_left_out():
    # a run from 2025 holds only Core Scientific - CoreWeave (June 2024); the history replay
    # (2020) holds none
    sc = Scenario().with_overrides({"run.start_date": dt.date(2025, 1, 1), "run.years": 1.0})
    m = MiningIndustry(sc, seed=1)
    assert m.ai.book.n == 1 and m.ai.book.mw[0] == 500.0
    # signed 2024-06-01, 214 days before 2025-01-01 (Jun 30 + Jul-Dec 184): as in 2026
    assert m.ai.book.start_day[0] == max(int(m.firms.ai_build_days[m.ai.book.firm_id[0]]) - 214, 0)
    sc = Scenario().with_overrides({"run.start_date": dt.date(2020, 1, 1), "run.years": 1.0})
    assert MiningIndustry(sc, seed=1).ai.book.n == 0
