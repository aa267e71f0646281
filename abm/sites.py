"""Sites: the unit of operation. Firms own sites; each site has its own power, region and fleet.

A site row is a place where one firm's rigs run under one power contract. Its ``owner`` owns
the rigs and decides what runs; its ``host`` holds the facility and the power contract and pays
the energy and the site's fixed costs. On an own site the two are the same firm and the owner
pays the site's ``power_price_usd_per_mwh``. On a hosted site (colocation) the owner pays the
host an all-in ``rate_usd_per_mwh`` for the energy its rigs draw, and the host keeps the
margin over its power price and fixed costs; ``host = -1`` is a provider outside the model.

Rows are never reused (a closed site keeps its row with no capacity and no rigs). The fleet is
a sites x generations matrix [TH/s]. Everything a firm has on sites is the sum over the rows it
owns (:meth:`SiteTable.by_firm`); nothing averages power prices across sites.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from abm.components import BaseComponent
from abm.markets.energy import HYDRO, outage_probabilities, sample_sources
from abm.table import ColumnTable

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry
    from abm.scenario import Scenario

STATUSES: tuple[str, ...] = ("building", "mining", "stranded", "ai", "closed", "care")
BUILDING, MINING, STRANDED, AI, CLOSED, CARE = range(6)  # codes of STATUSES
# statuses of sites that hold mining capacity: mining, or idle in care and maintenance
# (abm.operation: back to mining when a vintage there would switch on again)
MINING_OR_CARE: tuple[int, ...] = (MINING, CARE)
ORIGINS: tuple[str, ...] = ("initial", "built", "entrant", "relocated", "moved", "ai_split")
INITIAL, BUILT, ENTRANT, RELOCATED, MOVED, AI_SPLIT = range(6)  # codes of ORIGINS
OUTSIDE = -1  # host of a site run by a provider outside the model

# column -> (dtype, fill value for new rows); documented in SITE_PANEL_COLUMNS (recorder)
SITE_COLUMNS: dict[str, tuple[Any, Any]] = {
    "owner": (np.int32, -1),  # firm whose rigs run here
    "host": (np.int32, -1),  # firm holding the facility and power contract (OUTSIDE: none)
    "status": (np.int8, MINING),
    "origin": (np.int8, INITIAL),
    "region": (np.int8, 0),  # index into scenario.firms.region_mix
    "source": (np.int8, 0),  # index into abm.markets.energy.SOURCES
    "seasonal": (bool, False),  # run-of-river hydro: reduced in the dry season
    "outage_prob": (float, 0.0),  # probability the site is down for a day [1/day]
    "power_price_usd_per_mwh": (float, 0.0),  # the host's delivered power price
    "rate_usd_per_mwh": (float, 0.0),  # what the owner pays per MWh its rigs draw
    "capacity_mw": (float, 0.0),
    "open_day": (np.int32, 0),
    "closed_day": (np.int32, -1),
    "stranded_until": (np.int32, -1),  # a stranded site's rigs must move on this day
    "running_ths": (float, 0.0),  # hashrate run today (TH-days per day)
    "off_days": (np.int32, 0),  # days in a row none of its rigs was switched on (abm.operation)
    "rig_book_usd": (float, 0.0),  # book value of the rigs there (the owner's) [USD]
    "site_book_usd": (float, 0.0),  # book value of the facility (the host's) [USD]
    # key of the site's outage draws: its first owner and the how-manieth site that firm
    # opened (stable when other sites are added: common random numbers)
    "draw_key": (np.int64, -1),
}
DRAW_KEY_SITES_PER_FIRM = 1 << 20  # draw_key = first owner x this + k-th site it opened


class SiteTable(ColumnTable):
    """Columnar state of every site that ever existed and its fleet by generation (``fleet_ths``,
    sites x generations [TH/s])."""

    COLUMNS: ClassVar[dict[str, tuple[Any, Any]]] = SITE_COLUMNS
    MATRICES: ClassVar[dict[str, tuple[Any, Any]]] = {
        "fleet_ths": (float, 0.0),
        # operation with hysteresis (abm.operation): each vintage's on/off state at the site and
        # the days in a row it has not covered its energy cost
        "vintage_on": (bool, False),
        "loss_days": (np.int32, 0),
        "start_days": (np.int32, 0),  # days in a row an idle vintage could have started
    }

    def __init__(self, width: int) -> None:
        super().__init__(width)
        object.__setattr__(self, "_opened", np.zeros(0, dtype=np.int64))  # sites per owner

    def append(self, **cols: Any) -> np.ndarray:
        """Add sites (columns as in :data:`SITE_COLUMNS`, plus ``fleet_ths``); each new site
        gets the next draw key of its owner unless one is given (a part split off a site
        keeps its parent's: same place, same outages)."""
        owner = np.atleast_1d(np.asarray(cols["owner"], dtype=np.int64))
        if "draw_key" not in cols:
            cols["draw_key"] = self._next_keys(owner)
        return self.append_rows(owner.size, **cols)

    def _next_keys(self, owner: np.ndarray) -> np.ndarray:
        """The next draw keys of `owner` (repeats allowed, in order)."""
        if owner.size == 0:
            return owner
        top = int(owner.max()) + 1
        if self._opened.size < top:
            grown = np.zeros(top + top // 2 + 16, dtype=np.int64)
            grown[: self._opened.size] = self._opened
            object.__setattr__(self, "_opened", grown)
        order = np.argsort(owner, kind="stable")
        sorted_owner = owner[order]
        first = np.searchsorted(sorted_owner, sorted_owner, side="left")
        rank = np.empty_like(owner)
        rank[order] = np.arange(owner.size) - first
        k = self._opened[owner] + rank
        np.add.at(self._opened, owner, 1)
        return owner * DRAW_KEY_SITES_PER_FIRM + k

    def by_firm(self, values: np.ndarray, n_firms: int) -> np.ndarray:
        """Sum of a per-site quantity over each firm's own rows (by owner) [same unit]."""
        return np.bincount(self.owner, weights=values, minlength=n_firms)

    def by_host(self, values: np.ndarray, n_firms: int) -> np.ndarray:
        """Sum of a per-site quantity over the rows each firm hosts (outside hosts dropped)."""
        # OUTSIDE (-1) goes to bin 0, which is dropped
        return np.bincount(self.host + 1, weights=values, minlength=n_firms + 1)[1:]

    def mining_or_care(self) -> np.ndarray:
        """True where a site holds mining capacity: mining, or in care and maintenance."""
        status = self.status
        return (status == MINING) | (status == CARE)

    def mining_capacity_mw(self) -> np.ndarray:
        """Capacity of each site available to mining (0 unless mining or in care and
        maintenance) [MW]."""
        return np.where(self.mining_or_care(), self.capacity_mw, 0.0)

    def firm_fleet_ths(self, n_firms: int, rows: np.ndarray | None = None) -> np.ndarray:
        """Each firm's rigs on all its sites, by generation (firms x generations) [TH/s]; only
        the firms in `rows` (in that order) if given."""
        out = np.zeros((n_firms, self.width))
        np.add.at(out, self.owner, self.fleet_ths)
        return out if rows is None else out[rows]

    def of_firm(self, r: int, status: int | tuple[int, ...] | None = MINING) -> np.ndarray:
        """Rows firm r owns (with the given status or one of the given statuses; None: any
        status but closed)."""
        mine = self.owner == r
        mine &= np.isin(self.status, status) if status is not None else (self.status != CLOSED)
        return np.flatnonzero(mine)

    def hosted(self) -> np.ndarray:
        """True where the owner's rigs run at another firm's (or an outside) facility."""
        return self.host != self.owner


@dataclass
class SitePlan:
    """Sites for a batch of new firms, before they have rows: ``firm`` indexes the batch;
    ``host`` indexes the batch too (the firm itself for own sites) or is OUTSIDE; ``region`` -1
    takes the owner's home region, ``host_site`` >= 0 takes the region of that site of the
    batch (a hosted site sits in its host's facility)."""

    firm: np.ndarray
    host: np.ndarray
    capacity_mw: np.ndarray
    power_price_usd_per_mwh: np.ndarray
    rate_usd_per_mwh: np.ndarray
    source: np.ndarray
    seasonal: np.ndarray
    outage_prob: np.ndarray
    fleet_ths: np.ndarray  # sites x generations
    host_site: np.ndarray  # index into this plan, -1 for own sites
    origin: np.ndarray
    hosts: np.ndarray | None = None  # per firm of the batch: offers hosting (default none)
    rig_book_usd: np.ndarray | None = None  # default: the rigs at today's secondary price
    site_book_usd: np.ndarray | None = None  # default: the capacity at the build cost

    @property
    def n(self) -> int:
        return int(self.firm.size)

    def take(self, keep: np.ndarray) -> SitePlan:
        """The plan restricted to sites `keep` (indices or mask); host_site is re-indexed."""
        idx = np.flatnonzero(keep) if keep.dtype == bool else np.asarray(keep)
        new_index = np.full(self.n, -1)
        new_index[idx] = np.arange(idx.size)
        hs = self.host_site[idx]
        return SitePlan(
            self.firm[idx],
            self.host[idx],
            self.capacity_mw[idx],
            self.power_price_usd_per_mwh[idx],
            self.rate_usd_per_mwh[idx],
            self.source[idx],
            self.seasonal[idx],
            self.outage_prob[idx],
            self.fleet_ths[idx],
            np.where(hs >= 0, new_index[np.maximum(hs, 0)], -1),
            self.origin[idx],
            self.hosts,
            None if self.rig_book_usd is None else self.rig_book_usd[idx],
            None if self.site_book_usd is None else self.site_book_usd[idx],
        )


def one_site_each(
    capacity_mw: np.ndarray,
    power_price_usd_per_mwh: np.ndarray,
    source: np.ndarray,
    seasonal: np.ndarray,
    outage_prob: np.ndarray,
    fleet_ths: np.ndarray,
    origin: int = INITIAL,
) -> SitePlan:
    """One own site per firm of the batch (explicit populations, sovereigns, entrants)."""
    n = capacity_mw.size
    firm = np.arange(n)
    return SitePlan(
        firm,
        firm.copy(),
        np.asarray(capacity_mw, dtype=float),
        np.array(power_price_usd_per_mwh, dtype=float),
        np.array(power_price_usd_per_mwh, dtype=float),  # its own array (the owner's rate)
        np.asarray(source, dtype=np.int8),
        np.asarray(seasonal, dtype=bool),
        np.asarray(outage_prob, dtype=float),
        np.asarray(fleet_ths, dtype=float),
        np.full(n, -1),
        np.full(n, origin, dtype=np.int8),
    )


def sites_per_firm(hashrate_ehs: np.ndarray, listed: np.ndarray, sc: Scenario) -> np.ndarray:
    """How many sites each firm of the initial population runs: listed firms about size /
    ``sites.site_size_ehs_listed`` (2 to ``sites.max_sites_per_firm``), private firms one, two
    from ``sites.two_sites_min_ehs`` [-]."""
    cfg = sc.sites
    big = np.clip(np.round(hashrate_ehs / cfg.site_size_ehs_listed), 2, cfg.max_sites_per_firm)
    private = np.where(hashrate_ehs >= cfg.two_sites_min_ehs, 2, 1)
    return np.where(listed, big, private).astype(np.int64)


def split_into_sites(
    rng: np.random.Generator,
    sc: Scenario,
    n_sites: np.ndarray,
    capacity_mw: np.ndarray,
    power_price_usd_per_mwh: np.ndarray,
    source: np.ndarray,
    seasonal: np.ndarray,
    fleet_ths: np.ndarray,
) -> SitePlan:
    """Spread each firm's capacity and fleet over its sites (Dirichlet shares, the same vintage
    mix on each), with power prices scattered around the firm's price (lognormal, sd
    ``sites.within_firm_dispersion_log``, rescaled so the capacity-weighted mean is the firm's
    price; clipped to the energy section's range). The first site keeps the firm's source; the
    others draw theirs from the source mix."""
    cfg, ecfg = sc.sites, sc.energy
    firm = np.repeat(np.arange(n_sites.size), n_sites)
    first = np.r_[0, np.cumsum(n_sites)[:-1]]
    k = firm.size
    raw = rng.gamma(cfg.site_share_concentration, size=k)
    share = raw / np.bincount(firm, weights=raw)[firm]
    cap = capacity_mw[firm] * share
    z = np.exp(cfg.within_firm_dispersion_log * rng.standard_normal(k))
    scale = np.bincount(firm, weights=z * share)[firm]
    price = np.clip(
        power_price_usd_per_mwh[firm] * z / scale,
        ecfg.min_price_usd_per_mwh,
        ecfg.max_price_usd_per_mwh,
    )
    src = sample_sources(rng, k, ecfg)
    src[first] = source
    seas = (src == HYDRO) & (rng.random(k) < ecfg.seasonal_share_of_hydro)
    seas[first] = seasonal
    return SitePlan(
        firm,
        firm.copy(),
        cap,
        price,
        price.copy(),
        src,
        seas,
        outage_probabilities(src, ecfg),
        fleet_ths[firm] * share[:, None],
        np.full(k, -1),
        np.full(k, INITIAL, dtype=np.int8),
    )


def assign_hosting(
    rng: np.random.Generator,
    sc: Scenario,
    plan: SitePlan,
    small: np.ndarray,
    large: np.ndarray,
) -> SitePlan:
    """Put a share of the small firms' sites in hosts' facilities: each small firm is hosted
    with probability ``sites.hosted_share_small`` (its one site moves into a host's facility
    and pays an all-in rate drawn from the scenario's hosting-rate range); hosts are the large
    firms with probability ``sites.host_share_listed``, each client choosing a host's site with
    probability proportional to its capacity. The host's power price and location apply."""
    cfg = sc.sites
    is_host = large & (rng.random(large.size) < cfg.host_share_listed)
    plan.hosts = is_host
    host_sites = np.flatnonzero(is_host[plan.firm] & (plan.host == plan.firm))
    hosted_firm = small & (rng.random(small.size) < cfg.hosted_share_small) & ~is_host
    clients = np.flatnonzero(hosted_firm[plan.firm] & (plan.host == plan.firm))
    if host_sites.size == 0 or clients.size == 0:
        return plan
    w = plan.capacity_mw[host_sites]
    at = host_sites[rng.choice(host_sites.size, size=clients.size, p=w / w.sum())]
    plan.host[clients] = plan.firm[at]
    plan.host_site[clients] = at
    plan.power_price_usd_per_mwh[clients] = plan.power_price_usd_per_mwh[at]
    plan.rate_usd_per_mwh[clients] = hosting_rates(rng, sc, plan.power_price_usd_per_mwh[at])
    for col in ("source", "seasonal", "outage_prob"):
        getattr(plan, col)[clients] = getattr(plan, col)[at]
    return plan


def hosting_rates(
    rng: np.random.Generator, sc: Scenario, host_price_usd_per_mwh: np.ndarray
) -> np.ndarray:
    """All-in hosting rates for new hosted sites [USD/MWh]: drawn from the scenario's range,
    never below what the host pays at full load (its power price and fixed site cost per MWh)
    plus ``sites.min_host_margin_usd_per_mwh``."""
    cfg = sc.sites
    price = np.asarray(host_price_usd_per_mwh, dtype=float)
    drawn = rng.uniform(
        cfg.hosting_rate_min_usd_per_mwh, cfg.hosting_rate_max_usd_per_mwh, price.size
    )
    floor = price + sc.energy.fixed_opex_usd_per_mw_day / 24.0 + cfg.min_host_margin_usd_per_mwh
    return np.maximum(drawn, floor)


# --------------------------------------------------------------------------------------------
# Building sites: the interconnection queue
# --------------------------------------------------------------------------------------------


@dataclass
class PendingSites:
    """New MW and the rigs bought for them, online on `day` at site `site` (vectorised over
    the firms `rows`), with what they cost for the sites' books."""

    day: int
    rows: np.ndarray  # firms
    site: np.ndarray  # the site each batch joins
    mw: np.ndarray  # [MW]
    fleet_ths: np.ndarray  # rows x generations [TH/s]
    rig_book_usd: np.ndarray  # [USD]
    site_book_usd: np.ndarray  # [USD]

    def drop(self, keep: np.ndarray) -> PendingSites:
        """The batch restricted to the rows `keep` (a mask)."""
        return PendingSites(
            self.day,
            self.rows[keep],
            self.site[keep],
            self.mw[keep],
            self.fleet_ths[keep],
            self.rig_book_usd[keep],
            self.site_book_usd[keep],
        )


class Interconnection(BaseComponent):
    """New capacity: a firm's new MW join its site under build-out (``FirmTable.dev_site``) at
    that site's contract price while it is young and small enough (``sites.buildout_years``,
    ``sites.max_site_mw``), else a new site opens at today's price of a new contract in the
    firm's home region. The MW and the rigs bought for them come online after the
    interconnection lead time (capabilities: 0 without energy access); if their site can no
    longer take them by then (sold, closed by a ban, converted to AI), they open a new site at
    the price of a new contract in the firm's home region."""

    phases: ClassVar[tuple[str, ...]] = ("decide",)

    def __init__(self, m: MiningIndustry) -> None:
        super().__init__(m)
        self.pending: list[PendingSites] = []
        self.pending_ths = 0.0  # rigs waiting for their sites [TH/s]
        self._pending_mw = np.zeros(0)  # per site [MW]

    def daily(self, phase: str, today: Today) -> None:
        if self.pending:
            self.connect(today.day)

    def _takes(self, rows: np.ndarray, sites: np.ndarray) -> np.ndarray:
        """Whether each site is still its firm's own site, building or mining."""
        s = self.m.sites
        status = s.status[sites]
        return (
            ((status == BUILDING) | (status == MINING) | (status == CARE))
            & (s.owner[sites] == rows)
            & (s.host[sites] == rows)
        )

    def _joinable(self, rows: np.ndarray) -> np.ndarray:
        """Whether each firm's site under build-out can take more MW today."""
        m, cfg = self.m, self.m.params.sites
        s = m.sites
        dev = m.firms.dev_site[rows]
        d = np.maximum(dev, 0)
        pending = self._pending_of(d)
        return (
            (dev >= 0)
            & self._takes(rows, d)
            & (s.capacity_mw[d] + pending < cfg.max_site_mw)
            & (m.day - s.open_day[d] <= cfg.buildout_years * 365)
        )

    def _pending_of(self, sites: np.ndarray) -> np.ndarray:
        """MW queued for each of `sites` [MW] (the per-site array grows with the table)."""
        n = self.m.sites.n
        if self._pending_mw.size < n:
            grown = np.zeros(n + n // 2 + 16)
            grown[: self._pending_mw.size] = self._pending_mw
            self._pending_mw = grown
        return self._pending_mw[sites]

    def new_mw_price_usd_per_mwh(self, rows: np.ndarray) -> np.ndarray:
        """Price of power for each firm's next MW [USD/MWh]: its site under build-out's, or a
        new contract's (capabilities: energy access)."""
        price = self.m.capabilities.new_mw_price_usd_per_mwh(rows)
        dev = self.m.firms.dev_site[rows]
        join = self._joinable(rows)
        return np.where(join, self.m.sites.power_price_usd_per_mwh[np.maximum(dev, 0)], price)

    def queue(
        self,
        rows: np.ndarray,
        mw: np.ndarray,
        fleet_ths: np.ndarray,
        price: np.ndarray,
        rigs_usd: np.ndarray,
        infra_usd: np.ndarray,
    ) -> None:
        """Contract new MW (and their rigs) for `rows`: at the site under build-out, or at a
        new site (status building, in the firm's home region) that becomes the firm's site
        under build-out; online after each firm's lead time, when what they cost (`rigs_usd`,
        `infra_usd`) joins the site's books."""
        m = self.m
        t = m.firms
        join = self._joinable(rows)
        site = t.dev_site[rows].copy()
        new = ~join
        if new.any():
            site[new] = self._new_sites(rows[new], price[new], BUILDING)
        self._pending_of(site)  # grow the per-site array
        np.add.at(self._pending_mw, site, mw)
        # the MW's lead time, and at least the new rigs' delivery (abm.markets.asic)
        lead = np.maximum(m.capabilities.lead_days(rows), m.asic.reserve(fleet_ths))
        for lag in np.unique(lead):
            k = lead == lag
            self.pending.append(
                PendingSites(
                    m.day + int(lag),
                    rows[k],
                    site[k],
                    mw[k],
                    fleet_ths[k],
                    rigs_usd[k],
                    infra_usd[k],
                )
            )
            self.pending_ths += float(fleet_ths[k].sum())

    def _new_sites(self, rows: np.ndarray, price: np.ndarray, status: int) -> np.ndarray:
        """Empty own sites (origin built) for `rows` in their home regions at `price`; they
        become the firms' sites under build-out. Returns the site rows."""
        m = self.m
        k = rows.size
        src = m.firms.source[rows]
        plan = SitePlan(
            np.arange(k),
            np.arange(k),
            np.zeros(k),
            price.copy(),
            price.copy(),
            src,
            np.zeros(k, dtype=bool),
            outage_probabilities(src, m.params.energy),
            np.zeros((k, m.gens.n)),
            np.full(k, -1),
            np.full(k, BUILT, dtype=np.int8),
        )
        site = m.add_sites(plan, rows, status=status)
        m.firms.dev_site[rows] = site
        m.refresh_costs()
        return site

    def connect(self, day: int) -> None:
        """Bring the batches due by `day` online: capacity, rigs and their books join their
        site, which starts mining; a batch whose site can no longer take it opens a new site
        (the price of a new contract, the home region). Rigs of firms that exited meanwhile
        are sold for their former owners."""
        due = [p for p in self.pending if p.day <= day]
        if not due:
            return
        self.pending = [p for p in self.pending if p.day > day]
        m = self.m
        s, t = m.sites, m.firms
        for p in due:
            self.pending_ths -= float(p.fleet_ths.sum())
            np.subtract.at(self._pending_mw, p.site, p.mw)
            alive = t.active[p.rows]
            m.books.sell_rigs_of_gone_firms(p.fleet_ths[~alive])
            p = p.drop(alive)
            lost = ~self._takes(p.rows, p.site)
            if lost.any():
                rows = p.rows[lost]
                p.site[lost] = self._new_sites(
                    rows, m.capabilities.new_mw_price_usd_per_mwh(rows), MINING
                )
            np.add.at(s.capacity_mw, p.site, p.mw)
            np.add.at(s.fleet_ths, p.site, p.fleet_ths)
            np.add.at(s.rig_book_usd, p.site, p.rig_book_usd)
            np.add.at(s.site_book_usd, p.site, p.site_book_usd)
            s.status[p.site] = MINING
        m.refresh_costs()
        m.update_live_columns(day)

    def cancel(self, r: int) -> None:
        """Firm r leaves mining: its queued rigs are sold to the used-rig dealer for it,
        its queued MW are given up (the interconnection deposit is lost), and its sites under
        build-out close."""
        m = self.m
        s = m.sites
        kept = []
        for p in self.pending:
            mine = p.rows == r
            if mine.any():
                self.pending_ths -= float(p.fleet_ths[mine].sum())
                np.subtract.at(self._pending_mw, p.site[mine], p.mw[mine])
                m.books.sell_queued_rigs(r, p.fleet_ths[mine])
                p = p.drop(~mine)
            if p.rows.size:
                kept.append(p)
        self.pending = kept
        m.close_sites(s.of_firm(r, BUILDING))

    def open_sites(
        self,
        rows: np.ndarray,
        mw: np.ndarray,
        fleet_ths: np.ndarray,
        price: np.ndarray,
        region: np.ndarray,
        origin: int,
        rig_book_usd: np.ndarray,
    ) -> np.ndarray:
        """Sites that open today with their capacity and rigs (relocated rigs after a ban, with
        their book value) for the firms still active in `rows`, at `price` in `region` (per
        row); the rigs of firms that exited meanwhile are sold for their former owners. Returns
        the new site rows."""
        m = self.m
        alive = m.firms.active[rows]
        m.books.sell_rigs_of_gone_firms(fleet_ths[~alive])
        rows, k = rows[alive], int(alive.sum())
        if k == 0:
            return np.zeros(0, dtype=np.intp)
        src = m.firms.source[rows]
        plan = SitePlan(
            np.arange(k),
            np.arange(k),
            mw[alive],
            price[alive],
            price[alive].copy(),
            src,
            np.zeros(k, dtype=bool),
            outage_probabilities(src, m.params.energy),
            fleet_ths[alive],
            np.full(k, -1),
            np.full(k, origin, dtype=np.int8),
            rig_book_usd=rig_book_usd[alive],
        )
        new = m.add_sites(plan, rows)
        m.sites.region[new] = np.broadcast_to(region, alive.shape)[alive]
        m.refresh_costs()
        m.update_live_columns(m.day)
        return new


# --------------------------------------------------------------------------------------------
# Colocation: clients of a failed host move
# --------------------------------------------------------------------------------------------


class Colocation(BaseComponent):
    """Hosted clients whose host defaulted: their rigs stop until the recovery period ends
    (status stranded), then move, paying ``sites.move_cost_usd_per_th``, to the first of: spare
    capacity on the owner's own sites (the cheapest first), a host in the model with room (a
    new hosted site carved from its roomiest site, at a new hosting rate), or a provider
    outside the model in the same region (``host = OUTSIDE``). The capacity they leave goes to
    whoever holds the facility now (an empty own site of the estate's buyer) or closes."""

    phases: ClassVar[tuple[str, ...]] = ("decide",)

    def daily(self, phase: str, today: Today) -> None:
        s = self.m.sites
        due = (s.status == STRANDED) & (s.stranded_until <= today.day)
        if due.any():
            for site in np.flatnonzero(due):
                self._move(int(site))
            self.m.refresh_costs()

    def _move(self, site: int) -> None:
        m, cfg = self.m, self.m.params.sites
        s, t, g = m.sites, m.firms, m.gens
        owner = int(s.owner[site])
        fleet = s.fleet_ths[site].copy()
        need_mw = float(fleet @ g.power_mw_per_th)
        dst = -1
        if t.active[owner] and need_mw > 0:
            dst = self._own_room(owner, need_mw)
            if dst < 0:
                dst = self._host_room(owner, site, need_mw)
            if dst < 0:
                dst = self._outside(owner, site, need_mw)
        if dst >= 0:
            s.fleet_ths[site] = 0.0
            s.fleet_ths[dst] += fleet
            s.rig_book_usd[dst] += s.rig_book_usd[site]
            m.books.spend(owner, float(fleet.sum()) * cfg.move_cost_usd_per_th, "usd_relocation")
        elif fleet.any():  # the owner has left: its rigs are sold for its former owners
            m.books.sell_rigs_of_gone_firms(fleet[None, :])
            s.fleet_ths[site] = 0.0
        m.books.release_to_hosts(np.array([site]))

    def _own_room(self, owner: int, need_mw: float) -> int:
        """The owner's cheapest own mining site with room for `need_mw`, or -1."""
        s, g = self.m.sites, self.m.gens
        own = np.flatnonzero((s.owner == owner) & (s.host == owner) & s.mining_or_care())
        room = s.capacity_mw[own] - s.fleet_ths[own] @ g.power_mw_per_th
        ok = own[room >= need_mw]
        return int(ok[np.argmin(s.rate_usd_per_mwh[ok])]) if ok.size else -1

    def _host_room(self, owner: int, site: int, need_mw: float) -> int:
        """A new hosted site for the owner at the roomiest site of an active host, or -1."""
        m = self.m
        s, t, g = m.sites, m.firms, m.gens
        hosts = t.hosts & t.active
        cand = np.flatnonzero(hosts[s.owner] & (s.host == s.owner) & s.mining_or_care())
        cand = cand[s.owner[cand] != owner]
        if cand.size == 0:
            return -1
        room = s.capacity_mw[cand] - s.fleet_ths[cand] @ g.power_mw_per_th
        best = int(np.argmax(room))
        if room[best] < need_mw:
            return -1
        at = int(cand[best])
        book = s.site_book_usd[at] * need_mw / s.capacity_mw[at]
        s.site_book_usd[at] -= book
        s.capacity_mw[at] -= need_mw
        row = self._new_hosted(owner, int(s.owner[at]), at, need_mw)
        s.site_book_usd[row] = book
        return row

    def _outside(self, owner: int, site: int, need_mw: float) -> int:
        """A new site for the owner at a provider outside the model, in the stranded site's
        region (a full ban closes the stranded sites in its region)."""
        return self._new_hosted(owner, OUTSIDE, site, need_mw)

    def _new_hosted(self, owner: int, host: int, like: int, mw: float) -> int:
        """A hosted site for `owner` at `host` with the power and place of site `like`."""
        m = self.m
        s = m.sites
        (rate,) = hosting_rates(m.streams["hosting"], m.params, s.power_price_usd_per_mwh[[like]])
        (row,) = s.append(
            owner=np.array([owner]),
            host=np.array([host]),
            status=np.array([MINING], dtype=np.int8),
            origin=np.array([MOVED], dtype=np.int8),
            region=s.region[[like]],
            source=s.source[[like]],
            seasonal=s.seasonal[[like]],
            outage_prob=s.outage_prob[[like]],
            power_price_usd_per_mwh=s.power_price_usd_per_mwh[[like]],
            rate_usd_per_mwh=np.array([rate]),
            capacity_mw=np.array([mw]),
            open_day=np.array([m.day], dtype=np.int32),
        )
        return int(row)
