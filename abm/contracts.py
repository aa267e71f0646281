"""AI/HPC hosting contracts in the model: awards, conversion, contract cash flows and life.

The :class:`HostingMarket` is the model's component for the second revenue source. Tenders
(drawn up front, :func:`abm.markets.ai.draw_tenders`) are decided on their arrival day among
the eligible firms (:meth:`HostingMarket.offers`); a winner converts MW of its sites at once
(they stop mining, displaced rigs are sold least efficient first), pays its share of the capex
from cash and new corporate debt, and draws non-recourse project debt at the loan-to-cost
limit. During the build the project earns nothing and its interest is capitalised; then it
earns the contracted price, pays hosting opex and a level annuity on the project debt. Tenants
default at a configurable rate (the lenders lose the remaining project debt, the MW return to
mining); at the end of the term a contract is renewed or the MW return to mining. A firm whose
contracts are sold with its estate (default, voluntary exit) sells them at their equity value.

A firm with the "pivot" strategy that has converted all it can leaves mining (exit cause
``pivot_ai``): it sells its remaining rigs and sites, repays its corporate debt and lives on
its contracts (its row stays in the table, no longer active in mining). Every flow is booked in
the model's ledger (keys ``usd_ai_*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from abm import behaviour
from abm.components import BaseComponent
from abm.events import ai_demand_multiplier
from abm.firms import LISTED, SOVEREIGN
from abm.markets import ai
from abm.markets.ai import HYBRID, PIVOT, PURE, STRATEGIES
from abm.sites import (
    AI,
    AI_SPLIT,
    CLOSED,
    INITIAL,
    MINING,
    MINING_OR_CARE,
    STRANDED,
    SitePlan,
)

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry

STATUSES: tuple[str, ...] = ("building", "operating", "ended", "tenant_default", "sold")
BUILDING, OPERATING, ENDED, TENANT_DEFAULT, SOLD = range(5)

# column -> (dtype, documentation); the documentation of contracts.parquet
CONTRACT_COLUMNS: dict[str, tuple[Any, str]] = {
    "tender_id": (np.int64, "index of the tender in the run's tender draws [-]"),
    "firm_id": (np.int64, "row of the winning firm [-]"),
    "award_day": (np.int64, "day of the award [day index]"),
    "mw": (float, "converted capacity [MW]"),
    "price_usd_per_mw_year": (float, "contracted price [USD/MW-year]"),
    "term_days": (np.int64, "contract term [days]"),
    "start_day": (np.int64, "first operating day (award + build) [day index]"),
    "end_day": (np.int64, "scheduled end of the current term [day index]"),
    "capex_usd": (float, "the firm's conversion capex [USD]"),
    "debt_usd": (float, "project debt outstanding [USD]"),
    "payment_usd_per_day": (float, "level debt service while operating [USD/day]"),
    "status": (np.int8, "building / operating / ended / tenant_default / sold"),
    "closed_day": (np.int64, "day the contract ended, defaulted or was sold, -1 if live"),
    "renewals": (np.int64, "times the contract was renewed [-]"),
    "hashrate_removed_ths": (float, "hashrate of the rigs displaced at conversion [TH/s]"),
    "income_usd": (float, "contract income received so far [USD]"),
    "n_offers": (np.int64, "firms that offered capacity for the tender [-]"),
    "handover_deferred": (
        bool,
        "the firm (flexible: capabilities) kept mining the MW until the contract started",
    ),
    "site_id": (np.int64, "site the MW come from; the hosting site once converted [-]"),
}
_LIVE = (BUILDING, OPERATING)
OPTION_HORIZON_YEARS = 3.0  # the tenders a valuer of sites counts on: those of the next 3 years


@dataclass(frozen=True)
class OptionTerms:
    """What a valuer of sites expects of the AI market today (the option to convert)."""

    price_usd_per_mw_year: float  # expected lease price: the book's MW-weighted mean so far
    term_years: float  # the mean term of the tenders
    take_up: float  # share of the convertible MW the next years' tenders are expected to take
    free_mw: np.ndarray  # per site: MW a tenant would take, not yet promised [MW]
    capex_usd_per_mw: np.ndarray  # per site: the miner's conversion capex [USD/MW]
    foregone_usd_per_mw_year: np.ndarray  # per site: mining margin given up [USD/MW-year]


class ContractBook:
    """Columnar store of every contract ever awarded (a few hundred at most per run)."""

    def __init__(self) -> None:
        for col, (dtype, _) in CONTRACT_COLUMNS.items():
            setattr(self, col, np.zeros(0, dtype=dtype))
        self.version = 0  # bumped by every change of contracts, statuses or end days

    def touch(self) -> None:
        """Mark a change of statuses or end days (invalidates :class:`LiveContracts`)."""
        self.version += 1

    @property
    def n(self) -> int:
        return int(self.mw.size)

    def add(self, **cols: Any) -> int:
        """Append one contract (every column given); returns its index."""
        for col, (dtype, _) in CONTRACT_COLUMNS.items():
            setattr(self, col, np.append(getattr(self, col), np.asarray(cols[col], dtype=dtype)))
        self.touch()
        return self.n - 1

    def live(self) -> np.ndarray:
        return np.isin(self.status, _LIVE)

    def frame(self, start_date: Any, names: list[str]) -> pd.DataFrame:
        """contracts.parquet: one row per contract, dates resolved, columns documented in
        :data:`CONTRACT_COLUMNS` (plus firm name and dates)."""
        df = pd.DataFrame({c: getattr(self, c) for c in CONTRACT_COLUMNS})
        df.insert(2, "firm", pd.Series([names[i] for i in self.firm_id], dtype=object))
        df["status"] = pd.Categorical.from_codes(self.status, STATUSES)
        t0 = pd.Timestamp(start_date)
        for c in ("award_day", "start_day", "end_day"):
            df[c.replace("_day", "_date")] = t0 + pd.to_timedelta(df[c], "D")
        return df


_EMPTY = np.zeros(0, dtype=np.intp)
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class LiveContracts:
    """The live contracts of a book and their constant daily amounts, valid while the book's
    version is unchanged (so the daily accounting costs a few array operations)."""

    version: int
    building: np.ndarray  # contract indices, ascending
    first_start: int  # earliest start day of a building contract (_NEVER if none)
    operating: np.ndarray  # contract indices, ascending
    first_end: int  # earliest end day of an operating contract (_NEVER if none)
    firms: np.ndarray  # firm row of each operating contract
    rows: np.ndarray  # distinct firm rows of the operating contracts, ascending
    income: np.ndarray  # contract income per day [USD/day]
    net: np.ndarray  # income less hosting opex per day [USD/day]
    income_by_row: np.ndarray  # income per day summed per firm row (rows) [USD/day]
    income_sum: float  # total income per day [USD/day]
    opex_sum: float  # total hosting opex per day [USD/day]


def live_contracts(b: ContractBook, opex_usd_per_mw_year: float) -> LiveContracts:
    """Index the building and operating contracts of `b` (amounts as the daily accounting
    computes them, elementwise, so they are bit-identical)."""
    building = np.flatnonzero(b.status == BUILDING)
    op = np.flatnonzero(b.status == OPERATING)
    income = b.price_usd_per_mw_year[op] * b.mw[op] / 365.0
    opex = opex_usd_per_mw_year * b.mw[op] / 365.0
    firms = b.firm_id[op]
    rows, pos = np.unique(firms, return_inverse=True)
    return LiveContracts(
        version=b.version,
        building=building,
        first_start=int(b.start_day[building].min()) if building.size else _NEVER,
        operating=op,
        first_end=int(b.end_day[op].min()) if op.size else _NEVER,
        firms=firms,
        rows=rows,
        income=income,
        net=income - opex,
        income_by_row=np.bincount(pos, weights=income, minlength=rows.size),
        income_sum=float(income.sum()),
        opex_sum=float(opex.sum()),
    )


@dataclass(frozen=True)
class AIDay:
    """The AI market's record of a day."""

    income_usd: float  # contract income of all firms that day [USD/day]
    opex_usd: float = 0.0  # operating cost of the capacity hosting AI that day [USD/day]


class AIMarket(BaseComponent):
    """Tenders, awards and the contract book of one model run."""

    phases: ClassVar[tuple[str, ...]] = ("ai",)

    def __init__(self, m: MiningIndustry) -> None:
        super().__init__(m)
        self.cfg = m.params.ai
        self.on = self.cfg.enabled and not m.contest
        self.book = ContractBook()
        self.hashrate_removed_ths = 0.0
        self.tenders_unfilled = 0
        self.initial_mw = 0.0  # MW of the contracts signed before the start (seed_contracts)
        self.expected_rate_per_year = np.zeros(m.n_days)  # tenders expected per year, by day
        if self.on:
            shocks = ai_demand_multiplier(m.params, m.start_date, m.n_days)
            self.tenders = ai.draw_tenders(
                self.cfg, m.streams["ai"], m.start_date, m.n_days, shocks
            )
            self.expected_rate_per_year = (
                self.cfg.tender_rate_per_year
                * ai.demand_multiplier(self.cfg, m.start_date, m.n_days)
                * shocks
            )
        else:
            empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0)
            self.tenders = ai.Tenders(empty_i, empty_f, empty_i, empty_f, empty_i, empty_f)
        self._next_tender = 0
        self._tender_days: tuple[ai.Tenders | None, list[int]] = (None, [])
        self._live: LiveContracts | None = None
        self._income_rows = _EMPTY  # rows whose ai_income_usd is non-zero

    # ----------------------------------------------------------------------------------------
    def on_new_firms(self, rows: np.ndarray) -> None:
        """Strategy and conversion lead time of new firms (initial population and entrants),
        from their own stream so that AI on/off leaves every other draw unchanged."""
        if not self.on or rows.size == 0:
            return
        t, rng, cfg = self.m.firms, self.m.streams["ai_strategy"], self.cfg
        listed = t.kind[rows] == LISTED
        u = rng.random(rows.size)
        strategy = np.empty(rows.size, dtype=np.int8)
        for mask, mix in ((listed, cfg.strategy_mix_listed), (~listed, cfg.strategy_mix_private)):
            cum = np.cumsum([mix.get(s, 0.0) for s in STRATEGIES])
            strategy[mask] = np.minimum(np.searchsorted(cum, u[mask], side="right"), 2)
        strategy[t.kind[rows] == SOVEREIGN] = PURE  # sovereigns mine
        t.ai_strategy[rows] = strategy
        t.ai_build_days[rows] = rng.integers(cfg.build_days_min, cfg.build_days_max + 1, rows.size)

    def daily(self, phase: str, today: Today) -> None:
        """Contract cash flows, contract life events, today's tenders, pivoted firms' books."""
        today.ai = self.run_day(today.day)

    def run_day(self, d: int) -> AIDay:
        """The AI market's day `d`; returns its record."""
        if not self.on:
            return AIDay(0.0)
        income, opex = self._account(d)
        self._life_events(d)
        days = self._arrival_days()
        while self._next_tender < len(days) and days[self._next_tender] <= d:
            self._decide(self._next_tender)
            self._next_tender += 1
        if self.book.n:  # only firms with contracts can have left mining for AI
            self._pivoted_books()
        return AIDay(income, opex)

    def _arrival_days(self) -> list[int]:
        """The tenders' arrival days as Python ints (cached per Tenders object)."""
        tn, days = self._tender_days
        if tn is not self.tenders:
            days = self.tenders.day.tolist()
            self._tender_days = (self.tenders, days)
        return days

    def live(self) -> LiveContracts:
        """The book's live contracts (re-indexed only after a change of the book)."""
        if self._live is None or self._live.version != self.book.version:
            self._live = live_contracts(self.book, self.cfg.opex_usd_per_mw_year)
        return self._live

    # ----------------------------------------------------------------------------------------
    # cash flows
    def _account(self, d: int) -> tuple[float, float]:
        """Today's contract cash flows; returns the day's income and opex [USD]."""
        b, t, books = self.book, self.m.firms, self.m.books
        if self._income_rows.size:  # yesterday's income (every other row is 0)
            t.ai_income_usd[self._income_rows] = 0.0
            self._income_rows = _EMPTY
        live = self.live()
        daily_rate = self.cfg.project_rate / 365.0
        if live.building.size:  # interest during construction is capitalised, until start day
            self._build(live.building, d, d >= live.first_start, daily_rate)
            live = self.live()
        op = live.operating
        if op.size == 0:
            return 0.0, 0.0
        debt = b.debt_usd[op]
        interest = debt * daily_rate
        principal = np.clip(b.payment_usd_per_day[op] - interest, 0.0, debt)
        if d + 1 >= live.first_end:  # a term ends today: its debt is repaid in full
            principal = np.where(b.end_day[op] <= d + 1, debt, principal)
        b.debt_usd[op] = debt - principal
        b.income_usd[op] += live.income
        books.post_contracts_day(
            live.firms,
            live.net - interest - principal,
            live.income_sum,
            live.opex_sum,
            interest,
            principal,
        )
        t.ai_income_usd[live.rows] = live.income_by_row
        t.cum_ai_income_usd[live.rows] += live.income_by_row
        self._income_rows = live.rows
        return live.income_sum, live.opex_sum

    def _build(self, building: np.ndarray, d: int, any_ready: bool, daily_rate: float) -> None:
        """Capitalise a day's interest on the contracts still building; those whose start day
        has come start operating (`any_ready`: some may have)."""
        b, t = self.book, self.m.firms
        ready, accrue = _EMPTY, building
        if any_ready:
            ready = building[b.start_day[building] <= d]
            accrue = building[b.start_day[building] > d]
        idc = b.debt_usd[accrue] * daily_rate
        b.debt_usd[accrue] += idc
        self.m.books.post("usd_ai_interest_capitalised", float(idc.sum()))
        if ready.size:
            b.status[ready] = OPERATING
            b.payment_usd_per_day[ready] = b.debt_usd[ready] * ai.capital_recovery_factor(
                np.full(ready.size, daily_rate), b.end_day[ready] - d
            )
            b.touch()
            np.add.at(t.ai_mw_operating, b.firm_id[ready], b.mw[ready])
            for c in ready[b.handover_deferred[ready]]:
                self._hand_over(int(c))

    # ----------------------------------------------------------------------------------------
    # contract life: tenant defaults, ends and renewals
    def _life_events(self, d: int) -> None:
        b, live = self.book, self.live()
        op = live.operating
        if op.size == 0:
            return
        rng = self.m.streams["ai_default"]
        u = rng.random((op.size, 2))
        default = u[:, 0] < self.cfg.tenant_default_prob_per_year / 365.0
        if d + 1 < live.first_end and not default.any():  # nothing happens today
            return
        due = ~default & (b.end_day[op] <= d + 1)
        renew = due & (u[:, 1] < self.cfg.renewal_prob)
        for c in op[default]:
            self.m.books.post("usd_ai_debt_written_off", float(b.debt_usd[c]))
            b.debt_usd[c] = 0.0
            self._close(int(c), TENANT_DEFAULT, d)
        for c in op[due & ~renew]:
            self._close(int(c), ENDED, d)
        if renew.any():
            b.end_day[op[renew]] += b.term_days[op[renew]]
            b.renewals[op[renew]] += 1
            b.touch()

    def _close(self, c: int, status: int, d: int) -> None:
        """A contract stops: its MW return to the firm's mining sites (or are sold, if the firm
        has left mining)."""
        b, t, m = self.book, self.m.firms, self.m
        r, mw = int(b.firm_id[c]), float(b.mw[c])
        if b.status[c] == OPERATING:
            t.ai_mw_operating[r] -= mw
        t.ai_mw[r] -= mw
        b.status[c], b.closed_day[c] = status, d
        b.touch()
        site = int(b.site_id[c])
        s = m.sites
        if s.status[site] != AI:  # a deferred handover that never took its site
            return
        if status == SOLD:  # sold with an estate: the site goes with the contract
            m.close_sites(np.array([site]))
        elif t.active[r]:  # the site returns to mining, empty
            s.status[site] = MINING
        else:  # a pivoted firm sells the returned site
            s.status[site] = MINING
            usd = s.capacity_mw[site] * float(m.site_value_usd_per_mw()[site])
            m.books.sell_capacity(np.array([site]), s.capacity_mw[[site]], np.array([usd]))
            m.close_sites(np.array([site]))

    # ----------------------------------------------------------------------------------------
    # tenders
    def offers(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(rows, offered MW, bid USD/MW-year, capex USD/MW) of the firms eligible for tender
        `k`: an AI strategy, a grid-connected non-seasonal site reliable enough (after
        redundancy), a build that meets the deadline, convertible MW left, and the equity for
        their share of the capex within spare cash and borrowing room."""
        m, t, cfg, tn = self.m, self.m.firms, self.cfg, self.tenders
        site = self.best_sites()
        ok = (
            t.active
            & (t.ai_strategy != PURE)
            & (t.kind != SOVEREIGN)
            & (site >= 0)
            & (t.ai_build_days <= tn.deadline_days[k])
        )
        rows = np.flatnonzero(ok)
        if rows.size == 0:
            return rows, np.zeros(0), np.zeros(0), np.zeros(0)
        site = site[rows]
        s = m.sites
        share = self.convertible_share(rows)
        free = self._free_mw_all()[rows]  # eligible mining MW not yet promised
        room = ai.convertible_room_mw(share, free, t.ai_mw[rows])
        room = np.minimum(room, s.capacity_mw[site] - self._deferred_site_mw()[site])
        capex = ai.capex_usd_per_mw(cfg, s.outage_prob[site], float(tn.uptime[k]))
        afford = (m.budgets_usd(rows) + self.equity_issuable_usd(rows)) / (
            capex * (1.0 - cfg.loan_to_cost)
        )
        offer = np.minimum(np.minimum(room, afford), tn.mw[k])
        offer = np.where(offer >= cfg.min_award_mw, offer, 0.0)
        foregone = self._foregone_usd_per_mw_year(site, float(tn.term_years[k]))
        bid = ai.bid_usd_per_mw_year(
            capex,
            t.hurdle_rate[rows],
            cfg,
            t.ai_build_days[rows].astype(float),
            float(tn.term_years[k]),
            foregone,
        )
        return rows, offer, bid, capex

    def _foregone_usd_per_mw_year(self, site: np.ndarray, term_years: float) -> np.ndarray:
        """Mining margin each site's MW would earn over the term on the newest rig, as a level
        amount per year (:func:`abm.markets.ai.foregone_mining_usd_per_mw_year`)."""
        m = self.m
        g = m.gens.newest_released(m.day)
        return ai.foregone_mining_usd_per_mw_year(
            m.valuation_hashprice_usd_per_th_day,
            m.cost_usd_per_th_day[site, g],
            float(m.gens.power_mw_per_th[g]),
            m.params.energy.fixed_opex_usd_per_mw_day,
            m.params.behaviour.expected_hashprice_decline_per_year,
            term_years,
        )

    def convertible_share(self, rows: np.ndarray) -> np.ndarray:
        """Share of its eligible MW each firm may convert (0 for pure miners and sovereigns)."""
        t, cfg = self.m.firms, self.cfg
        share = np.where(t.ai_strategy[rows] == HYBRID, cfg.hybrid_max_share, cfg.pivot_max_share)
        return np.where((t.ai_strategy[rows] == PURE) | (t.kind[rows] == SOVEREIGN), 0.0, share)

    def option_terms(self) -> OptionTerms | None:
        """The AI market as a valuer of sites sees it today, or None when the market is off or
        no tenders arrive at today's rate. Take-up: the MW the tenders of the next
        :data:`OPTION_HORIZON_YEARS` seek at today's arrival rate (x the mean size), over the
        convertible MW of the firms that may convert (their eligible free MW x their share, less
        what is under contract), at most 1."""
        if not self.on:
            return None
        m, t, cfg, b = self.m, self.m.firms, self.cfg, self.book
        # today's arrival rate, held for the horizon: valuers see the tenders that come now,
        # not the scenario's demand path ahead (nobody in 2021 priced the 2024 AI deals)
        rate = float(self.expected_rate_per_year[m.day])
        tender_mw = rate * OPTION_HORIZON_YEARS * ai.mean_tender_mw(cfg)
        if tender_mw <= 0:
            return None
        s = m.sites
        free = np.where(self.eligible_sites(), s.capacity_mw - self._deferred_site_mw(), 0.0)
        free = np.maximum(free, 0.0)
        rows = np.flatnonzero(t.active)
        share = self.convertible_share(rows)
        room = float(ai.convertible_room_mw(share, s.by_firm(free, t.n)[rows], t.ai_mw[rows]).sum())
        take_up = min(1.0, tender_mw / room) if room > 0 else 0.0
        if b.n and b.mw.sum() > 0:
            price = float((b.price_usd_per_mw_year * b.mw).sum() / b.mw.sum())
        else:
            price = 0.5 * (cfg.price_min_usd_per_mw_year + cfg.price_max_usd_per_mw_year)
        term = 0.5 * (cfg.term_years_min + cfg.term_years_max)
        uptime = float(np.mean(cfg.uptime_options))
        return OptionTerms(
            price,
            term,
            take_up,
            free,
            ai.capex_usd_per_mw(cfg, s.outage_prob, uptime),
            self._foregone_usd_per_mw_year(np.arange(s.n), term),
        )

    def _decide(self, k: int) -> None:
        tn = self.tenders
        rows, offer, bid, capex = self.offers(k)
        site = self.best_sites()[rows]
        aw = ai.award(
            offer,
            bid,
            self.m.sites.outage_prob[site],
            float(tn.mw[k]),
            float(tn.max_price_usd_per_mw_year[k]),
            self.cfg.reliability_weight,
        )
        if aw.winners.size == 0:
            self.tenders_unfilled += 1
            return
        n_offers = int((offer > 0).sum())
        term = int(tn.term_years[k])
        for w, mw, price in zip(aw.winners, aw.mw, aw.price_usd_per_mw_year, strict=True):
            self.convert(
                int(rows[w]),
                float(mw),
                float(price),
                term,
                float(capex[w]),
                k,
                n_offers,
                int(site[w]),
            )

    def convert(
        self,
        r: int,
        mw: float,
        price: float,
        term_years: int,
        capex_per_mw: float,
        tender_id: int = -1,
        n_offers: int = 1,
        site: int = -1,
    ) -> int:
        """Firm r converts `mw` of its site `site` (default: its largest eligible one) at
        `price` [USD/MW-year] for `term_years`: pays the capex (equity from spare cash, new
        shares if listed, then corporate debt; the rest is project debt), sells displaced rigs,
        and the MW leave mining at once (they become a site hosting AI). Returns the contract
        index."""
        m, t, cfg, books = self.m, self.m.firms, self.cfg, self.m.books
        if site < 0:
            site = int(self.best_sites()[r])
        if site < 0 or m.sites.owner[site] != r or not self.eligible_sites()[site]:
            raise ValueError(f"firm {r} has no eligible site {site} for an AI contract")
        capex = mw * capex_per_mw
        debt = cfg.loan_to_cost * capex
        books.receive(r, debt, "usd_ai_debt_drawn")
        # the equity share: spare cash, then new shares (listed firms), then corporate debt
        rr = np.array([r])
        gap = capex - debt - float(m.spare_cash_usd(rr)[0])
        issue = min(max(gap, 0.0), float(self.equity_issuable_usd(rr)[0]))
        books.receive(r, issue, "usd_equity_raised")
        books.pay(r, capex)
        books.post("usd_ai_capex", capex)
        # a flexible hybrid (compute scheduling) keeps mining the MW until the contract starts;
        # a pivot firm hands its sites over at once (it is leaving mining)
        deferred = bool(t.flexible[r]) and t.ai_strategy[r] != PIVOT
        removed, ai_site, _ = (0.0, site, mw) if deferred else self._take_capacity(site, mw)
        t.ai_mw[r] += mw
        term_days = int(term_years) * 365
        start = m.day + int(t.ai_build_days[r])
        c = self._add_contract(
            r,
            mw,
            price,
            term_days,
            start,
            start + term_days,
            capex,
            debt,
            tender_id,
            n_offers,
            removed,
            deferred,
            ai_site,
        )
        if not deferred:
            self._pivot_done(r)
        return c

    def _take_capacity(self, site: int, mw: float) -> tuple[float, int, float]:
        """`mw` of a site leave mining: a site of their own (the whole site, or a part split
        off it) now hosts AI; the rigs that no longer fit the rest are sold. Returns (hashrate
        removed [TH/s], the AI site's row, the MW taken). A deferred handover takes only what
        is left: a ban or a sale since the award may already have taken MW out of mining."""
        m = self.m
        s = m.sites
        cap = float(s.capacity_mw[site]) if s.status[site] in MINING_OR_CARE else 0.0
        mw = min(mw, cap)
        if mw <= 0:
            return 0.0, site, 0.0
        if mw >= cap - 1e-9:  # the whole site
            ai_site = site
            removed = self._displace_rigs(site, 0.0)
            s.status[site] = AI
            t = m.firms
            t.dev_site[t.dev_site == site] = -1
        else:
            book = float(s.site_book_usd[site]) * (mw / cap)
            s.site_book_usd[site] *= 1.0 - mw / cap
            ai_site = self._add_ai_site(site, mw, AI_SPLIT, book, draw_key=s.draw_key[[site]])
            s.capacity_mw[site] = cap - mw
            m.refresh_costs()
            removed = self._displace_rigs(site, cap - mw)
        self.hashrate_removed_ths += removed
        return removed, int(ai_site), mw

    def _add_ai_site(
        self,
        template: int,
        mw: float,
        origin: int,
        site_book_usd: float,
        draw_key: np.ndarray | None = None,
    ) -> int:
        """A new site of `template`'s owner hosting AI: `mw` on the template's grid terms, in
        its region, without rigs. Returns its row."""
        m = self.m
        s = m.sites
        t = [template]
        plan = SitePlan(
            np.zeros(1, dtype=np.intp),
            np.zeros(1, dtype=np.intp),
            np.array([mw]),
            s.power_price_usd_per_mwh[t],
            s.rate_usd_per_mwh[t],
            s.source[t],
            s.seasonal[t],
            s.outage_prob[t],
            np.zeros((1, m.gens.n)),
            np.full(1, -1),
            np.full(1, origin, dtype=np.int8),
            rig_book_usd=np.zeros(1),
            site_book_usd=np.array([site_book_usd]),
        )
        (row,) = m.add_sites(plan, s.owner[t], status=AI, draw_key=draw_key)
        s.region[row] = s.region[template]
        return int(row)

    def seed_contracts(self) -> None:
        """Day one's contracts signed before the start (``ai.initial_contracts``), largest
        deal first, each held by a listed firm drawn in proportion to its eligible mining MW
        (one deal per firm until every candidate has one). The hosting site is a new site of
        the holder on the grid terms of its largest eligible site: the hashrate the firm was
        built from excludes capacity hosting AI, so no mining MW are taken. The capex was
        financed before the start (project debt at the loan-to-cost limit, the rest raised as
        equity), so the firm's cash is unchanged. A deal operates from signing + the firm's
        build time (from day one if that has passed) and its term runs from then. Holders
        pivot to AI (the listed miners with HPC deals expected mining below 20% of revenue by
        late 2026: CALIBRATION.md). Draws come from their own stream.
        Only the calibrated population holds them (an explicit population is its own state)."""
        m, cfg = self.m, self.cfg
        deals = [c for c in cfg.initial_contracts if c.signed < m.start_date]
        if not self.on or not deals or m.params.firms.population != "calibrated":
            return
        t, s, books = m.firms, m.sites, m.books
        template = self.best_sites()
        el = self.eligible_sites()
        cap = np.bincount(s.owner[el], weights=s.capacity_mw[el], minlength=t.n)
        candidates = np.where((t.kind == LISTED) & t.active & (template >= 0), cap, 0.0)
        if candidates.sum() <= 0:
            raise ValueError(
                "ai.initial_contracts: no listed firm has a site eligible for AI hosting; "
                "set ai.initial_contracts = [] for this population"
            )
        weight = candidates.copy()
        rng = self.m.streams["ai_initial"]
        uptime = max(cfg.uptime_options)
        # the equity share: shares issued, or outside capital when the model has no finance
        equity_key = "usd_equity_raised" if m.finance_on else "usd_new_capital"
        for deal in sorted(deals, key=lambda c: (-c.mw, c.signed)):
            if weight.sum() <= 0:
                weight = candidates.copy()
            r = int(rng.choice(t.n, p=weight / weight.sum()))
            weight[r] = 0.0
            start = (deal.signed - m.start_date).days + int(t.ai_build_days[r])
            term_days = deal.term_years * 365
            if start + term_days <= 0:  # ended before the start
                continue
            site = int(template[r])
            capex = deal.mw * float(ai.capex_usd_per_mw(cfg, s.outage_prob[[site]], uptime)[0])
            debt = cfg.loan_to_cost * capex
            books.receive(r, debt, "usd_ai_debt_drawn")
            books.receive(r, capex - debt, equity_key)
            books.pay(r, capex, borrow=False)
            books.post("usd_ai_capex", capex)
            ai_site = self._add_ai_site(site, deal.mw, INITIAL, 0.0)
            t.ai_strategy[r] = PIVOT
            t.ai_mw[r] += deal.mw
            self._add_contract(
                r,
                deal.mw,
                deal.price_usd_per_mw_year,
                term_days,
                max(start, 0),
                start + term_days,
                capex,
                debt,
                -1,
                0,
                0.0,
                False,
                ai_site,
            )
            self.initial_mw += deal.mw
        m.refresh_costs()

    def _add_contract(
        self,
        r: int,
        mw: float,
        price: float,
        term_days: int,
        start_day: int,
        end_day: int,
        capex_usd: float,
        debt_usd: float,
        tender_id: int,
        n_offers: int,
        removed_ths: float,
        deferred: bool,
        site: int,
    ) -> int:
        """Book a new contract (building until its start day); returns its index."""
        return self.book.add(
            tender_id=tender_id,
            firm_id=r,
            award_day=self.m.day,
            mw=mw,
            price_usd_per_mw_year=price,
            term_days=term_days,
            start_day=start_day,
            end_day=end_day,
            capex_usd=capex_usd,
            debt_usd=debt_usd,
            payment_usd_per_day=0.0,
            status=BUILDING,
            closed_day=-1,
            renewals=0,
            hashrate_removed_ths=removed_ths,
            income_usd=0.0,
            n_offers=n_offers,
            handover_deferred=deferred,
            site_id=site,
        )

    def _hand_over(self, c: int) -> None:
        """A deferred contract starts: its MW leave mining now (the firm is active: an estate
        sells its contracts before it exits)."""
        b, t = self.book, self.m.firms
        mw = float(b.mw[c])
        removed, ai_site, delivered = self._take_capacity(int(b.site_id[c]), mw)
        b.hashrate_removed_ths[c], b.site_id[c] = removed, ai_site
        short = mw - delivered
        if short > 1e-9:  # the tenant pays for the MW delivered (the capex is sunk)
            r = int(b.firm_id[c])
            b.mw[c] -= short
            t.ai_mw[r] -= short
            t.ai_mw_operating[r] -= short
            b.touch()

    def _pivot_done(self, r: int) -> None:
        """A pivot firm with less than a block left to convert leaves mining."""
        t = self.m.firms
        if t.active[r] and t.ai_strategy[r] == PIVOT and self._free_mw(r) < self.cfg.min_award_mw:
            self._leave_mining(r)

    def eligible_sites(self) -> np.ndarray:
        """Sites a tenant would take: the owner's own grid site, mining, not seasonal, reliable
        enough (after redundancy) and large enough for an award."""
        s, cfg = self.m.sites, self.cfg
        return (
            s.mining_or_care()
            & (s.host == s.owner)
            & ~s.seasonal
            & (s.outage_prob <= cfg.max_outage_prob_with_redundancy)
            & (s.capacity_mw >= cfg.min_award_mw)
        )

    def best_sites(self) -> np.ndarray:
        """Each firm's largest eligible site not yet promised to a tenant (-1 if none)."""
        s = self.m.sites
        free = np.where(self.eligible_sites(), s.capacity_mw - self._deferred_site_mw(), -np.inf)
        free = np.where(free >= self.cfg.min_award_mw, free, -np.inf)
        return behaviour.group_argmax(s.owner, free, self.m.firms.n)

    def _deferred_site_mw(self) -> np.ndarray:
        """MW per site under contract but still mined (deferred handover, building) [MW]."""
        b, n = self.book, self.m.sites.n
        if b.n == 0:
            return np.zeros(n)
        keep = b.handover_deferred & (b.status == BUILDING)
        return np.bincount(b.site_id[keep], weights=b.mw[keep], minlength=n)

    def _free_mw_all(self) -> np.ndarray:
        """Each firm's eligible mining capacity not promised to a tenant [MW]."""
        s = self.m.sites
        free = np.where(self.eligible_sites(), s.capacity_mw - self._deferred_site_mw(), 0.0)
        return s.by_firm(np.maximum(free, 0.0), self.m.firms.n)

    def _free_mw(self, r: int) -> float:
        """Firm r's eligible mining capacity not promised to a tenant [MW]."""
        return float(self._free_mw_all()[r])

    def equity_issuable_usd(self, rows: np.ndarray) -> np.ndarray:
        """New shares each firm could issue to fund a conversion [USD] (listed firms only)."""
        t = self.m.firms
        listed = (t.kind[rows] == LISTED) & (t.ultimate_owner[rows] == rows) & self.m.finance_on
        nav = np.maximum(self.m.nav_usd(rows), 0.0)
        return np.where(listed, self.cfg.listed_equity_share_of_nav * nav, 0.0)

    def _displace_rigs(self, site: int, capacity_mw: float) -> float:
        """Sell the rigs of `site` that no longer fit `capacity_mw`, least efficient first, at
        the secondary price; returns the hashrate removed [TH/s]."""
        s, g = self.m.sites, self.m.gens
        fleet = s.fleet_ths[site].copy()
        excess_mw = float(fleet @ g.power_mw_per_th) - capacity_mw
        if excess_mw <= 1e-12:
            return 0.0
        if capacity_mw <= 0:
            sold = fleet
        else:
            sold = np.zeros_like(fleet)
            for j in np.argsort(-g.efficiency_j_per_th, kind="stable"):
                if excess_mw <= 1e-12:
                    break
                sold[j] = min(fleet[j], excess_mw / g.power_mw_per_th[j])
                excess_mw -= sold[j] * g.power_mw_per_th[j]
            sold = np.where(fleet - sold <= 1e-9 * fleet, fleet, sold)  # no rounding residues
        self.m.books.sell_rigs(np.array([site]), sold[None, :])
        return float(sold.sum())

    def _leave_mining(self, r: int) -> None:
        """A pivot firm with nothing left to convert sells its mining, stranded and building
        sites with their rigs (hosted ones go back to their hosts), its queued MW and rigs, the
        facilities where it hosts others (to an outside operator) and its BTC, and repays its
        corporate debt; if it can, it leaves mining (exit cause pivot_ai)."""
        m, t, books = self.m, self.m.firms, self.m.books
        s = m.sites
        m.interconnection.cancel(r)
        mine = (s.owner == r) & (s.mining_or_care() | (s.status == STRANDED))
        books.sell_sites(np.flatnonzero(mine))
        books.sell_facilities(np.flatnonzero((s.host == r) & (s.owner != r) & (s.status != CLOSED)))
        if t.btc_held[r] > 0:
            books.sell_btc(np.array([r]), t.btc_held[[r]])
        books.repay(r, min(float(t.cash_usd[r]), float(t.debt_usd[r])))
        if t.debt_usd[r] <= 1e-6:
            t.debt_usd[r] = 0.0
            m.firm_agents[r].exit("pivot_ai")

    def _pivoted_books(self) -> None:
        """Firms that left mining for AI: owners cover any cash shortfall; once their last
        contract has closed, their cash goes to the owners and the firm is wound up."""
        t, books = self.m.firms, self.m.books
        rows = np.flatnonzero(~t.active & (t.cash_usd != 0))  # the only rows either rule moves
        if rows.size == 0:
            return
        gone = t.ai_mw[rows] > 1e-9
        short = rows[gone & (t.cash_usd[rows] < 0)]
        if short.size:
            books.receive(short, -t.cash_usd[short], "usd_new_capital")
        done = rows[~gone]
        if done.size:
            books.spend(done, t.cash_usd[done], "usd_to_owners")
            t.ai_mw[done] = 0.0

    # ----------------------------------------------------------------------------------------
    # valuation and sale with an estate
    def equity_value_usd(self, r: int) -> float:
        """What firm r's live contracts are worth to a buyer [USD]: the net operating income
        left on the term, discounted at the project rate over the remaining build and term,
        less the project debt (never negative: project debt is non-recourse)."""
        return float(sum(self._contract_values(r)[1])) if self.book.n else 0.0

    def _contract_values(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        b, cfg, d = self.book, self.cfg, self.m.day
        cs = np.flatnonzero(b.live() & (b.firm_id == r))
        if cs.size == 0:
            return cs, np.zeros(0)
        rate = cfg.project_rate
        noi = (b.price_usd_per_mw_year[cs] - cfg.opex_usd_per_mw_year) * b.mw[cs]
        years = (b.end_day[cs] - np.maximum(b.start_day[cs], d)) / 365.0
        wait = np.maximum(b.start_day[cs] - d, 0) / 365.0
        pv = noi / ai.capital_recovery_factor(np.full(cs.size, rate), np.maximum(years, 1e-9))
        return cs, np.maximum(pv / (1.0 + rate) ** wait - b.debt_usd[cs], 0.0)

    def on_liquidate(self, r: int) -> None:
        """Firm r's estate sells its contracts (with their project debt) at equity value."""
        if self.book.n == 0:
            return
        cs, values = self._contract_values(r)
        b, books = self.book, self.m.books
        for c, v in zip(cs, values, strict=True):
            books.post("usd_ai_debt_transferred", float(b.debt_usd[c]))
            b.debt_usd[c] = 0.0
            books.receive(r, v, "usd_ai_spv_sales")
            self._close(int(c), SOLD, self.m.day)

    def summary(self) -> dict[str, Any]:
        b = self.book
        return {
            "ai_tenders": int(self.tenders.day.size),
            "ai_tenders_decided": int(self._next_tender),
            "ai_tenders_unfilled": int(self.tenders_unfilled),
            "ai_contracts": b.n,
            "ai_contracts_defaulted": int((b.status == TENANT_DEFAULT).sum()),
            "ai_mw_awarded": float(b.mw[b.tender_id >= 0].sum()),
            "ai_mw_initial": self.initial_mw,
            "hashrate_to_ai_ehs": self.hashrate_removed_ths / 1e6,
        }
