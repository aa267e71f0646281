"""Entry by NPV: potential entrants arrive, and each builds its project only if it pays.

Each day a Poisson number of potential entrants arrives (``consolidation.entry_rate_per_year``).
Each draws, from the run's "entry" stream, a project: a site size in MW (a Pareto law truncated
to ``[entrant_min_mw, entrant_max_mw]``, small operators to 5-20 EH/s builders), a power price
(the distribution the sites of the initial population are drawn from,
:func:`abm.markets.energy.sample_power_prices`, at the site's hashrate on the frontier
generation; every price there carries ``energy.price_multiplier``), a primary source, and its
financing: builders of ``entrant_listed_min_mw`` or more raise public or institutional capital
with probability ``entrant_listed_share`` (kind listed, ``firms.hurdle_rate_listed``), the
others and every smaller one private capital
(``firms.hurdle_rate_private``). Every draw is made whether or not the entrant builds, so paired
scenarios see the same potential entrants (common random numbers).

An entrant builds when buying rigs at today's new-rig price (``MiningIndustry.rig_prices``)
for the whole site and building the site (``energy.capex_usd_per_mw``) has a positive NPV at
its own cost of capital, by the same rule a firm's review applies to new MW
(:func:`abm.behaviour.npv_per_th` and :func:`abm.behaviour.best_new_site`): the generation with
the best NPV per dollar of rigs and site, if its NPV less the site build is positive. A project
that is worth building at all is built whole: its NPV per TH does not depend on its size.

An entrant's capital is its rigs, its site and working cash (``behaviour.cash_reserve_days`` of
energy and fixed costs at full load); lenders fund the kind's initial leverage
(``finance.initial_leverage_*``) of the rigs and site at market value, cut by today's credit
factor, and its investors the rest as equity (equity is available for every project with a
positive NPV at the entrant's hurdle rate: that rate is the price of the capital). The money
moves through :meth:`abm.books.Books.fund_entrants`; the day's record (:class:`EntryDay`) and
the run summary report the capital that entered.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from abm import behaviour
from abm.components import BaseComponent
from abm.firms import HYDRO, LISTED, PRIVATE, size_classes
from abm.markets.energy import outage_probabilities, sample_power_prices, sample_sources
from abm.sites import ENTRANT, one_site_each

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry
    from abm.scenario import Scenario


@dataclass(frozen=True)
class Candidates:
    """The day's potential entrants and their projects (one row each)."""

    mw: np.ndarray  # site size [MW]
    power_price_usd_per_mwh: np.ndarray  # the site's delivered power price [USD/MWh]
    kind: np.ndarray  # PRIVATE or LISTED (firms.KINDS)
    hurdle_rate: np.ndarray  # cost of capital [1/year]
    source: np.ndarray  # primary energy source (markets.energy.SOURCES)
    seasonal: np.ndarray  # a seasonal (run-of-river) hydro site

    @property
    def n(self) -> int:
        return self.mw.size


@dataclass(slots=True)
class EntryDay:
    """The entry phase's record: potential entrants, entrants and what they brought."""

    candidates: int  # potential entrants that arrived [-]
    entrants: int  # of them, those that built [-]
    capital_usd: float  # rigs, sites and working cash of the entrants [USD]
    mw: float  # their sites [MW]


def truncated_pareto(u: np.ndarray, low: float, high: float, alpha: float) -> np.ndarray:
    """Inverse CDF of a Pareto law of index `alpha` truncated to [low, high] at uniforms `u`:
    low x (1 - u (1 - (low / high)^alpha))^(-1 / alpha)."""
    return low * (1.0 - u * (1.0 - (low / high) ** alpha)) ** (-1.0 / alpha)


def draw_candidates(
    rng: np.random.Generator, n: int, sc: Scenario, frontier_mw_per_th: float
) -> Candidates:
    """`n` potential entrants' projects (sizes, power prices, financing, sources), drawn in a
    fixed order from `rng`; a site's power price is drawn at its hashrate on rigs drawing
    `frontier_mw_per_th` (the size the energy distribution's size discount reads)."""
    cfg = sc.consolidation
    mw = truncated_pareto(
        rng.random(n), cfg.entrant_min_mw, cfg.entrant_max_mw, cfg.entrant_size_alpha
    )
    source = sample_sources(rng, n, sc.energy)
    price = sample_power_prices(rng, mw / frontier_mw_per_th / 1e6, sc.energy)
    seasonal = (source == HYDRO) & (rng.random(n) < sc.energy.seasonal_share_of_hydro)
    listed = mw >= cfg.entrant_listed_min_mw
    if cfg.entrant_listed_share < 1.0:  # drawn for every candidate (common random numbers)
        listed &= rng.random(n) < cfg.entrant_listed_share
    return Candidates(
        mw,
        price,
        np.where(listed, LISTED, PRIVATE).astype(np.int8),
        np.where(listed, sc.firms.hurdle_rate_listed, sc.firms.hurdle_rate_private),
        source,
        seasonal,
    )


@dataclass(frozen=True)
class Projects:
    """Each candidate's best project at today's prices."""

    generation: np.ndarray  # generation bought for the site [-]
    npv_usd: np.ndarray  # NPV of rigs and site at the candidate's cost of capital [USD]
    ths: np.ndarray  # hashrate bought to fill the site [TH/s]
    rigs_usd: np.ndarray  # [USD]
    infra_usd: np.ndarray  # [USD]

    @property
    def builds(self) -> np.ndarray:
        return self.npv_usd > 0


def evaluate(
    c: Candidates,
    expected_hashprice_usd_per_th_day: float,
    new_price_usd_per_th: np.ndarray,
    energy_mwh_per_th_day: np.ndarray,
    power_mw_per_th: np.ndarray,
    capex_usd_per_mw: float,
    fixed_opex_usd_per_mw_day: float,
    decline_per_year: float,
    life_years: float,
) -> Projects:
    """Each candidate's project: the generation with the best NPV per dollar of rigs and site
    at its own power price and cost of capital (the review's rule for new MW), the rigs that
    fill the site, and the project's NPV (-inf when nothing is on sale)."""
    # a new site's running cost per TH-day: energy at its price and the site's fixed opex
    cost = np.multiply.outer(c.power_price_usd_per_mwh, energy_mwh_per_th_day) + (
        fixed_opex_usd_per_mw_day * power_mw_per_th
    )
    npv = behaviour.npv_per_th(
        expected_hashprice_usd_per_th_day,
        cost,
        c.hurdle_rate,
        new_price_usd_per_th,
        decline_per_year,
        life_years,
    )
    capex = np.full(c.n, capex_usd_per_mw)
    g, gain, _ = behaviour.best_new_site(npv, new_price_usd_per_th, power_mw_per_th, capex)
    ths = c.mw / power_mw_per_th[g]
    price = new_price_usd_per_th[g]
    with np.errstate(invalid="ignore"):  # not on sale: -inf gain, inf price
        npv_usd = np.where(np.isfinite(price), ths * gain, -np.inf)
    return Projects(g, npv_usd, ths, ths * price, c.mw * capex_usd_per_mw)


class Entry(BaseComponent):
    """The entry phase: today's potential entrants, and the firms of those whose project pays;
    it keeps the capital that entered for the run summary."""

    phases: ClassVar[tuple[str, ...]] = ("entry",)

    def __init__(self, m: MiningIndustry) -> None:
        super().__init__(m)
        self.candidates = 0
        self.entrants = 0
        self.mw = 0.0
        self.capital_usd_by_year: dict[int, float] = defaultdict(float)

    def daily(self, phase: str, today: Today) -> None:
        m = self.m
        cfg = m.params.consolidation
        if not cfg.entry or cfg.entry_rate_per_year <= 0:
            return
        rng = m.streams["entry"]
        n = int(rng.poisson(cfg.entry_rate_per_year / 365.0))
        if n == 0:
            return
        g_front = m.gens.newest_released(m.day)
        c = draw_candidates(rng, n, m.params, float(m.gens.power_mw_per_th[g_front]))
        today.entry = self.enter(c)

    def enter(self, c: Candidates) -> EntryDay:
        """Evaluate the candidates at today's prices and add a firm, with its site and rigs, for
        each one whose project has a positive NPV."""
        m, sc = self.m, self.m.params
        new_price, _ = m.rig_prices(m.day)
        p = evaluate(
            c,
            m.expected_hashprice_usd_per_th_day,
            new_price,
            m.gens.energy_mwh_per_th_day,
            m.gens.power_mw_per_th,
            sc.energy.capex_usd_per_mw,
            sc.energy.fixed_opex_usd_per_mw_day,
            sc.behaviour.expected_hashprice_decline_per_year,
            sc.hardware.economic_life_years,
        )
        go = np.flatnonzero(p.builds)
        self.candidates += c.n
        if go.size == 0:
            return EntryDay(c.n, 0, 0.0, 0.0)
        rows, capital = self._add(c, p, go)
        self.entrants += rows.size
        self.mw += float(c.mw[go].sum())
        self.capital_usd_by_year[(m.date).year] += capital
        return EntryDay(c.n, rows.size, capital, float(c.mw[go].sum()))

    def _add(self, c: Candidates, p: Projects, go: np.ndarray) -> tuple[np.ndarray, float]:
        """The entrants' firms, sites and rigs, funded by lenders and investors; returns their
        rows and the capital they brought [USD]."""
        m, sc = self.m, self.m.params
        g, ths, mw, price = p.generation[go], p.ths[go], c.mw[go], c.power_price_usd_per_mwh[go]
        fleet = np.zeros((go.size, m.gens.n))
        fleet[np.arange(go.size), g] = ths
        src = c.source[go]
        plan = one_site_each(
            mw,
            price,
            src,
            c.seasonal[go],
            outage_probabilities(src, sc.energy),
            fleet,
            origin=ENTRANT,
        )
        plan.rig_book_usd, plan.site_book_usd = p.rigs_usd[go], p.infra_usd[go]
        working = sc.behaviour.cash_reserve_days * (
            ths * m.gens.energy_mwh_per_th_day[g] * price + mw * sc.energy.fixed_opex_usd_per_mw_day
        )
        cols = new_firm_cols(m, c.kind[go], ths / 1e6, src, np.zeros(go.size))
        first = m.firms.n
        names = [f"Entrant-{first + i + 1:04d}" for i in range(go.size)]
        rows = m.add_firms(names, cols, plan)
        debt = np.zeros(rows.size)
        if m.finance_on:
            fin = sc.finance
            lev = np.where(
                c.kind[go] == LISTED, fin.initial_leverage_listed, fin.initial_leverage_private
            )
            if m.capabilities.on:
                lev = lev * m.capabilities.leverage_factor()[rows]
            debt = lev * m.credit_factor() * m.collateral_usd(rows)
        m.books.fund_entrants(rows, p.rigs_usd[go], p.infra_usd[go], working, debt)
        return rows, float((p.rigs_usd[go] + p.infra_usd[go] + working).sum())

    def summary(self) -> dict[str, Any]:
        years = sorted(self.capital_usd_by_year)
        return {
            "entry_candidates": self.candidates,
            "entrants": self.entrants,
            "entry_mw": self.mw,
            "entry_capital_usd": float(sum(self.capital_usd_by_year.values())),
            "entry_capital_usd_by_year": {str(y): self.capital_usd_by_year[y] for y in years},
        }


def new_firm_cols(
    m: MiningIndustry,
    kind: np.ndarray,
    hashrate_ehs: np.ndarray,
    source: np.ndarray,
    cash_usd: np.ndarray,
) -> dict[str, np.ndarray]:
    """Firm columns of new firms funded from outside (entrants, buyers of auctioned lots): each
    kind's hurdle rate, the size class of its hashrate, reviews on the stagger grid."""
    f = m.params.firms
    return {
        "kind": kind.astype(np.int8),
        "size_class": size_classes(np.maximum(hashrate_ehs, 1e-9), f),
        "source": source.astype(np.int8),
        "hurdle_rate": np.where(kind == LISTED, f.hurdle_rate_listed, f.hurdle_rate_private),
        "review_offset": np.zeros(kind.size, dtype=np.int32),  # reviews stay batched
        "cash_usd": cash_usd.astype(float),
        "initial_hashrate_ehs": hashrate_ehs.astype(float),
    }
