"""Columnar firm state and the Mesa agents that view it.

All numeric state of all firms lives in one :class:`FirmTable` (one row per firm, ever; a row
is never reused): balance sheets, strategies, ownership. Their rigs and power are on sites
(:mod:`abm.sites`). A :class:`MiningFirm` agent is a thin view that knows its row: Mesa users
can inspect ``model.agents`` and select or aggregate them, while the daily economics run as
array operations over all rows at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from abm.markets.energy import (
    HYDRO,
    SOURCES,
    outage_probabilities,
    sample_power_prices,
    sample_sources,
)
from abm.markets.hardware import DAYS_PER_YEAR, GenerationTable
from abm.operation import survival
from abm.scenario import FirmsConfig, Scenario
from abm.sites import (
    MINING_OR_CARE,
    SitePlan,
    assign_hosting,
    one_site_each,
    sites_per_firm,
    split_into_sites,
)
from abm.table import ColumnTable

if TYPE_CHECKING:
    from abm.model import MiningIndustry

KINDS: tuple[str, ...] = ("private", "listed", "sovereign")
PRIVATE, LISTED, SOVEREIGN = range(3)  # codes of KINDS
SIZE_CLASSES: tuple[str, ...] = ("small", "medium", "large", "sovereign")
SMALL, MEDIUM, LARGE, SOVEREIGN_CLASS = range(4)  # codes of SIZE_CLASSES
EXIT_CAUSES: tuple[str, ...] = ("", "insolvent", "acquired", "voluntary", "pivot_ai")
ACTIVE, INSOLVENT, ACQUIRED, VOLUNTARY, PIVOT_AI = range(5)  # codes of EXIT_CAUSES
UNLIMITED_MW = 1e12  # capacity of the contest limit's sites (no capacity constraint)

# column name -> (dtype, fill value for new rows)
COLUMNS: dict[str, tuple[Any, Any]] = {
    "active": (bool, True),
    "kind": (np.int8, PRIVATE),
    "size_class": (np.int8, SMALL),
    "source": (np.int8, 0),  # home source: of the first site, and of sites it builds
    "region": (np.int8, 0),  # home region (scenario.firms.region_mix): where it builds
    "hurdle_rate": (float, 0.0),
    "review_offset": (np.int32, 0),
    "cash_usd": (float, 0.0),
    "btc_held": (float, 0.0),
    "initial_hashrate_ehs": (float, 0.0),
    "initial_power_price_usd_per_mwh": (float, 0.0),  # capacity-weighted, at entry
    "hosts": (bool, False),  # offers hosting (colocation) on its sites
    "entry_day": (np.int32, 0),
    "exit_day": (np.int32, -1),
    "exit_cause": (np.int8, ACTIVE),
    "dev_site": (np.int32, -1),  # the site under build-out, taking new MW (abm.sites)
    # today's flows (overwritten daily)
    "running_ths": (float, 0.0),
    "revenue_usd": (float, 0.0),
    "site_cost_usd": (float, 0.0),  # energy and fixed costs of the sites it holds (as host)
    "hosting_fees_usd": (float, 0.0),  # paid to hosts for its rigs on their sites
    "hosting_income_usd": (float, 0.0),  # received from the firms it hosts
    # cumulative flows since entry
    "cum_btc_mined": (float, 0.0),
    "cum_revenue_usd": (float, 0.0),
    "cum_operating_cost_usd": (float, 0.0),  # site costs + hosting fees paid - received
    "cum_capex_usd": (float, 0.0),
    "cum_asset_sales_usd": (float, 0.0),
    # balance sheet and financing
    "debt_usd": (float, 0.0),
    "debt_rate": (float, 0.0),
    "debt_maturity_day": (np.int32, 0),
    "ltv_limit": (float, 0.0),
    "hold_fraction": (float, 0.0),
    "budget_usd": (float, 0.0),  # sovereigns' remaining hardware budget
    "cum_interest_usd": (float, 0.0),
    # ownership and status
    "ultimate_owner": (np.int32, -1),
    "acquired_day": (np.int32, -1),
    "idle_days": (np.int32, 0),
    # AI/HPC hosting (abm.contracts)
    "ai_strategy": (np.int8, 0),  # index into abm.markets.ai.STRATEGIES
    "ai_build_days": (np.int32, 0),  # conversion lead time [days]
    "ai_mw": (float, 0.0),  # MW under contract (building or operating)
    "ai_mw_operating": (float, 0.0),  # MW hosting a tenant
    "ai_income_usd": (float, 0.0),  # today's contract income
    "cum_ai_income_usd": (float, 0.0),
    # capabilities (abm.capabilities)
    "energy_access": (float, 0.0),  # 1 = wins cheaper, faster new power [0-1]
    "risk_managed": (bool, False),  # hedges BTC, caps leverage, sells all mined BTC
    "hedge_btc_per_day": (float, 0.0),  # BTC sold forward for each day of the tenor [BTC/day]
    "hedge_strike_usd": (float, 0.0),  # forward price of the current hedge [USD/BTC]
    "flexible": (bool, False),  # runs each vintage only in the hours it pays
    # equity market (abm.equity; listed firms)
    "shares": (float, 0.0),  # shares outstanding ($1 each on the first market value) [-]
    "mnav": (float, 0.0),  # premium of market value to NAV [-]
}


class FirmTable(ColumnTable):
    """Columnar state of every firm that ever existed (rows): balance sheets, strategies and
    ownership; its rigs and power are on its sites (:class:`abm.sites.SiteTable`).

    Attributes are numpy arrays of length ``n`` named as in :data:`COLUMNS`, plus ``name``
    (list of str)."""

    COLUMNS = COLUMNS

    def __init__(self) -> None:
        super().__init__(0)
        self.name: list[str] = []

    def append(self, names: list[str], **cols: np.ndarray) -> np.ndarray:
        """Add rows (initial population and entry); returns the new row indices."""
        rows = self.append_rows(len(names), **cols)
        self.name.extend(names)
        self.ultimate_owner[rows] = rows  # a new firm owns itself
        return rows


class MiningFirm(mesa.Agent):
    """A mining firm: a view on row ``row`` of ``model.firms``.

    The per-firm logic lives here only for rare discrete events (exit); the daily economics are
    vectorised in :mod:`abm.behaviour` and orchestrated by the model.
    """

    def __init__(self, model: MiningIndustry, row: int) -> None:
        super().__init__(model)
        self.row = row

    def _get(self, col: str) -> Any:
        return getattr(self.model.firms, col)[self.row]

    @property
    def name(self) -> str:
        return self.model.firms.name[self.row]

    @property
    def kind(self) -> str:
        return KINDS[self._get("kind")]

    @property
    def size_class(self) -> str:
        return SIZE_CLASSES[self._get("size_class")]

    @property
    def source(self) -> str:
        return SOURCES[self._get("source")]

    @property
    def active(self) -> bool:
        return bool(self._get("active"))

    @property
    def hashrate_ehs(self) -> float:
        """Hashrate running today [EH/s]."""
        return float(self._get("running_ths")) / 1e6

    @property
    def installed_hashrate_ehs(self) -> float:
        s = self.model.sites
        return float(s.fleet_ths[self.site_rows].sum()) / 1e6

    @property
    def cash_usd(self) -> float:
        return float(self._get("cash_usd"))

    @property
    def site_rows(self) -> np.ndarray:
        """Rows of the sites where the firm's rigs run (own or hosted; mining or in care and
        maintenance) in ``model.sites``."""
        return self.model.sites.of_firm(self.row, MINING_OR_CARE)

    @property
    def power_price_usd_per_mwh(self) -> float:
        """Capacity-weighted price it pays per MWh across its mining sites (an output: each
        site runs at its own price) [USD/MWh]."""
        s, rows = self.model.sites, self.site_rows
        cap = s.capacity_mw[rows]
        return float(s.rate_usd_per_mwh[rows] @ cap / cap.sum()) if cap.sum() > 0 else np.nan

    @property
    def capacity_mw(self) -> float:
        """Power capacity of its mining sites [MW]."""
        return float(self.model.sites.capacity_mw[self.site_rows].sum())

    @property
    def debt_usd(self) -> float:
        return float(self._get("debt_usd"))

    @property
    def btc_held(self) -> float:
        return float(self._get("btc_held"))

    @property
    def owner(self) -> MiningFirm:
        """The ultimate owner of this firm (itself when independent)."""
        return self.model.firm_agents[int(self._get("ultimate_owner"))]

    @property
    def independent(self) -> bool:
        return int(self._get("ultimate_owner")) == self.row

    @property
    def fleet_efficiency_j_per_th(self) -> float:
        f = self.model.sites.fleet_ths[self.site_rows].sum(axis=0)
        total = f.sum()
        return float(f @ self.model.gens.efficiency_j_per_th / total) if total > 0 else np.nan

    def exit(self, cause: str) -> None:
        """Leave the industry: record the day and cause, drop out of ``model.agents`` (the model
        closes the sites it still holds)."""
        t = self.model.firms
        t.active[self.row] = False
        t.exit_day[self.row] = self.model.day
        t.exit_cause[self.row] = EXIT_CAUSES.index(cause)
        self.model.on_exit(self.row)
        self.remove()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.kind}, {self.hashrate_ehs:.2f} EH/s)"


class SovereignMiner(MiningFirm):
    """A state participant: capacity set by policy, energy at its opportunity cost, seasonal
    availability, a hardware budget instead of credit, never defaults (see abm.sovereigns)."""

    @property
    def budget_usd(self) -> float:
        """Hardware budget left [USD]."""
        return float(self._get("budget_usd"))


# --------------------------------------------------------------------------------------------
# Initial population
# --------------------------------------------------------------------------------------------


@dataclass
class Population:
    """Column values for new firms, ready for :meth:`FirmTable.append`, and their sites."""

    names: list[str]
    cols: dict[str, np.ndarray]
    sites: SitePlan


def review_offsets(rng: np.random.Generator, n: int, sc: Scenario) -> np.ndarray:
    """Day offsets of each firm's review within the cadence, in steps of the stagger."""
    b = sc.behaviour
    return (
        rng.integers(0, b.review_cadence_days, n) // b.review_stagger_days * b.review_stagger_days
    )


def size_classes(hashrate_ehs: np.ndarray, cfg: FirmsConfig) -> np.ndarray:
    """0 small (< small_max_ehs), 1 medium, 2 large (>= large_min_ehs)."""
    return np.where(
        hashrate_ehs < cfg.small_max_ehs,
        SMALL,
        np.where(hashrate_ehs >= cfg.large_min_ehs, LARGE, MEDIUM),
    ).astype(np.int8)


def _tail_sizes(rng: np.random.Generator, n: int, total: float, cfg: FirmsConfig) -> np.ndarray:
    """Pareto sizes capped at tail_max_ehs and scaled (by bisection on the scale) to `total`."""
    raw = (1.0 - rng.random(n)) ** (-1.0 / cfg.tail_pareto_alpha)
    cap = cfg.tail_max_ehs
    if n * cap < total:
        raise ValueError(
            f"firms: {n} private firms of at most tail_max_ehs={cap} cannot hold {total:.1f} EH/s"
        )
    lo, hi = 0.0, total
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.minimum(raw * mid, cap).sum() < total else (lo, mid)
    return np.minimum(raw * 0.5 * (lo + hi), cap)


def fleet_by_vintage(
    rng: np.random.Generator,
    hashrate_ehs: np.ndarray,
    mean_age_years: np.ndarray,
    gens: GenerationTable,
    survival_share: np.ndarray,
) -> np.ndarray:
    """Spread each firm's hashrate over generations released before the start [TH/s].

    Weights fall off exponentially (1-year scale) with the distance between a generation's age
    and the firm's fleet age, drawn as mean x U(0.5, 1.5), times the share of the generation's
    rigs still working at its age on day 0 (`survival_share`, per generation: old rigs have
    mostly failed; abm.operation)."""
    age_years = -gens.release_day / DAYS_PER_YEAR  # age on day 0
    usable = age_years >= 0
    if not usable.any():
        usable = gens.release_day <= 0
        usable[gens.newest_released(0)] = True
    target = mean_age_years * rng.uniform(0.5, 1.5, size=hashrate_ehs.shape)
    w = np.exp(-np.abs(age_years[None, :] - target[:, None])) * (usable * survival_share)[None, :]
    w /= w.sum(axis=1, keepdims=True)
    return w * (hashrate_ehs * 1e6)[:, None]


def calibrated_population(
    rng: np.random.Generator,
    site_rng: np.random.Generator,
    sc: Scenario,
    gens: GenerationTable,
    network_revenue_usd_day: float,
) -> Population:
    """The baseline population: large listed firms (top four share fixed) and a Pareto tail
    holding what the large firms and the rest of the world (``world.initial_share``) leave,
    each on its sites (several for listed firms, one or two for private ones, a share of the
    small firms hosted at listed hosts' facilities; :mod:`abm.sites`)."""
    cfg = sc.firms
    h = cfg.initial_hashrate_ehs
    top4 = cfg.top4_share * h * rng.dirichlet(np.full(4, 20.0))
    rest_large = (
        (cfg.large_share - cfg.top4_share) * h * rng.dirichlet(np.full(cfg.n_large - 4, 5.0))
    )
    contest = sc.behaviour.investment_rule == "best_response"
    world = sc.world.initial_share if sc.world.enabled and not contest else 0.0  # (abm.world)
    tail = _tail_sizes(rng, cfg.n_firms - cfg.n_large, (1 - cfg.large_share - world) * h, cfg)
    sizes = np.concatenate([np.sort(top4)[::-1], np.sort(rest_large)[::-1], np.sort(tail)[::-1]])
    n = sizes.size
    large = np.arange(n) < cfg.n_large
    n_listed = cfg.n_large if cfg.n_listed is None else cfg.n_listed
    listed = np.zeros(n, dtype=bool)
    listed[np.argsort(sizes[: cfg.n_large], kind="stable")[:n_listed]] = True  # the smallest
    kind = np.where(listed, LISTED, PRIVATE).astype(np.int8)
    source = sample_sources(rng, n, sc.energy)
    price = sample_power_prices(rng, sizes, sc.energy)
    age = np.where(large, cfg.fleet_age_years_large, cfg.fleet_age_years_small)
    alive = survival(-gens.release_day / DAYS_PER_YEAR, sc.operation)
    fleet = fleet_by_vintage(rng, sizes, age, gens, alive)
    power = fleet @ gens.power_mw_per_th
    capacity = power * (1 + rng.uniform(0, cfg.capacity_headroom_max, n))
    share = sizes / sizes.sum()
    cash_days = np.where(listed, cfg.cash_days_listed, cfg.cash_days_private)
    names = [f"Listed-{i + 1:02d}" if listed[i] else f"Private-{i + 1:04d}" for i in range(n)]
    seasonal = (source == HYDRO) & (rng.random(n) < sc.energy.seasonal_share_of_hydro)
    size_class = size_classes(sizes, cfg)
    cols = {
        "kind": kind,
        "size_class": size_class,
        "source": source,
        "hurdle_rate": np.where(listed, cfg.hurdle_rate_listed, cfg.hurdle_rate_private),
        "review_offset": review_offsets(rng, n, sc),
        "cash_usd": share * network_revenue_usd_day * cash_days,
        "initial_hashrate_ehs": sizes,
    }
    plan = split_into_sites(
        site_rng,
        sc,
        sites_per_firm(sizes, large, sc),
        capacity,
        price,
        source,
        seasonal,
        fleet,
    )
    plan = assign_hosting(site_rng, sc, plan, size_class == SMALL, large)
    return Population(names, cols, plan)


def explicit_population(sc: Scenario, gens: GenerationTable, unlimited: bool) -> Population:
    """Firms listed one by one in the scenario (contest limit, hand-built studies), one site
    each."""
    specs = sc.firms.explicit
    n = len(specs)
    fleet = np.zeros((n, gens.n))
    newest = gens.newest_released(0)
    for i, f in enumerate(specs):
        fleet[i, gens.index_of(f.generation) if f.generation else newest] = f.hashrate_ehs * 1e6
    power = fleet @ gens.power_mw_per_th
    headroom = 1 + sc.firms.capacity_headroom_max / 2
    capacity = np.array(
        [
            UNLIMITED_MW if unlimited else (f.capacity_mw if f.capacity_mw else power[i] * headroom)
            for i, f in enumerate(specs)
        ]
    )
    source = np.array([SOURCES.index(f.source) for f in specs], dtype=np.int8)
    sizes = np.array([f.hashrate_ehs for f in specs])
    kind = np.array([KINDS.index(f.kind) for f in specs], dtype=np.int8)
    cols = {
        "kind": kind,
        "size_class": size_classes(sizes, sc.firms),
        "source": source,
        "hurdle_rate": np.where(
            kind == LISTED, sc.firms.hurdle_rate_listed, sc.firms.hurdle_rate_private
        ),
        "review_offset": np.arange(n) % sc.behaviour.review_cadence_days,
        "cash_usd": np.array([f.cash_usd for f in specs]),
        "initial_hashrate_ehs": sizes,
    }
    plan = one_site_each(
        capacity,
        np.array([f.power_price_usd_per_mwh for f in specs]),
        source,
        source == HYDRO,
        outage_probabilities(source, sc.energy),
        fleet,
    )
    return Population([f.name for f in specs], cols, plan)
