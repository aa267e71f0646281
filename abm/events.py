"""Scheduled events: shocks placed at known dates by the scenario (``[[events]]``), not by code.

Events that change an exogenous path are folded into it when the model is built: price shocks
into the BTC price path, sovereign programmes into the sovereigns' capacity paths, AI demand
shocks into the tender arrival rate. Events that act on sites run on their day through
:class:`EventSchedule`: regional bans (a share of each site in the region stops; part of the
rigs relocates and runs again later on new sites, the rest is sold), grid emergencies (a region
is curtailed for some days, with demand-response credits) and tariff changes (power prices and
levies by region). Sites carry a region (``SiteTable.region``, an index into
``scenario.firms.region_mix``); every money movement goes through the books.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from abm.components import BaseComponent
from abm.scenario import (
    AIDemandShock,
    GridEmergency,
    PriceShockEvent,
    RegionalBan,
    Scenario,
    SovereignProgramme,
    TariffChange,
)
from abm.sites import AI, BUILDING, CARE, MINING, RELOCATED, STRANDED

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry


def price_shocks(sc: Scenario) -> list[tuple[dt.date, float, int]]:
    """(date, change, days) of every price shock: [[price.shocks]] and price_shock events."""
    shocks = [(x.date, x.change, x.days) for x in sc.price.shocks]
    events = [e for e in sc.events if isinstance(e, PriceShockEvent)]
    return shocks + [(e.date, e.change, e.days) for e in events]


def step_path(
    changes: list[tuple[dt.date, float]], start: dt.date, n_days: int, compound: bool
) -> np.ndarray:
    """A daily multiplier that changes on given dates: each change multiplies the path from its
    date on (compound) or sets it (not compound); 1 before the first change [-]."""
    out = np.ones(n_days)
    for date, value in sorted(changes):
        day = max((date - start).days, 0)
        if day < n_days:
            out[day:] = out[day:] * value if compound else value
    return out


def sovereign_multiplier(sc: Scenario, name: str, start: dt.date, n_days: int) -> np.ndarray:
    """Multiplier on sovereign `name`'s capacity path from its programme events [-]."""
    changes = [
        (e.date, e.scale) for e in sc.events if isinstance(e, SovereignProgramme) and e.name == name
    ]
    return step_path(changes, start, n_days, compound=False)


def ai_demand_multiplier(sc: Scenario, start: dt.date, n_days: int) -> np.ndarray:
    """Multiplier on the AI tender arrival rate from AI demand shocks (compounding) [-]."""
    changes = [(e.date, e.multiplier) for e in sc.events if isinstance(e, AIDemandShock)]
    return step_path(changes, start, n_days, compound=True)


@dataclass
class Relocation:
    """Rigs and MW in transit after a ban, back in service on `day`."""

    day: int
    rows: np.ndarray
    fleet_ths: np.ndarray  # rows x generations
    mw: np.ndarray
    to_region: int
    price_usd_per_mwh: float  # power price at the new sites
    rig_book_usd: np.ndarray  # book value of the rigs in transit, per row


class EventSchedule(BaseComponent):
    """The day-by-day events of one run (bans, grid emergencies, tariffs) and relocations."""

    phases: ClassVar[tuple[str, ...]] = ("events", "environment")

    def __init__(self, m: MiningIndustry) -> None:
        super().__init__(m)
        sc = m.params
        self.regions: list[str] = list(sc.firms.region_mix)
        self.on_day: dict[int, list[RegionalBan | TariffChange]] = {}
        self.emergencies: list[tuple[int, int, GridEmergency]] = []
        for e in sc.events:
            day = (e.date - m.start_date).days
            if isinstance(e, RegionalBan | TariffChange):
                self.on_day.setdefault(day, []).append(e)
            elif isinstance(e, GridEmergency):
                self.emergencies.append((day, day + e.days, e))
        self.transit: list[Relocation] = []
        self.in_transit_ths = 0.0
        self.banned = np.zeros(len(self.regions), dtype=bool)  # regions under a full ban

    def region_index(self, name: str) -> int:
        return self.regions.index(name)

    # ----------------------------------------------------------------------------------------
    def daily(self, phase: str, today: Today) -> None:
        """Phase events: relocated rigs return, bans and tariffs take effect; phase
        environment: grid emergencies curtail today's availability (in place) and pay
        demand-response credits."""
        d = today.day
        if phase == "events":
            if self.transit:
                self._returns(d)
            for e in self.on_day.get(d, ()):
                if isinstance(e, RegionalBan):
                    self.ban(e, d)
                else:
                    self.tariff(e)
        else:
            for first, end, e in self.emergencies:
                if first <= d < end:
                    self._curtail(e, today.env.availability)

    def _in_region(self, region: str, statuses: tuple[int, ...] = (MINING,)) -> np.ndarray:
        """Rows of the sites in the region ("all": everywhere) with one of `statuses`."""
        s = self.m.sites
        on = np.isin(s.status, statuses)
        if region == "all":
            return np.flatnonzero(on)
        return np.flatnonzero(on & (s.region == self.region_index(region)))

    def _regions(self, region: str) -> np.ndarray:
        """Indices of the regions an event names ("all": every region)."""
        if region == "all":
            return np.arange(len(self.regions))
        return np.array([self.region_index(region)])

    def tariff(self, e: TariffChange) -> None:
        """Power prices in the region change from today, at every site there that is not
        closed (mining, in care, building or stranded; queued MW come online at the new
        price); owners of own sites pay the new price, hosted clients keep their contracted
        rates (their hosts bear the change)."""
        rows = self._in_region(e.region, (MINING, CARE, BUILDING, STRANDED, AI))
        s = self.m.sites
        s.power_price_usd_per_mwh[rows] = np.maximum(
            s.power_price_usd_per_mwh[rows] * (1.0 + e.price_change) + e.levy_usd_per_mwh, 0.0
        )
        own = rows[~s.hosted()[rows]]
        s.rate_usd_per_mwh[own] = s.power_price_usd_per_mwh[own]
        self.m.prices_changed()

    def _curtail(self, e: GridEmergency, avail: np.ndarray) -> None:
        """A region runs at (1 - curtailed share) of its capacity today; the sites' hosts are
        paid the credit for each MWh of capacity released."""
        rows = self._in_region(e.region)
        avail[rows] *= 1.0 - e.curtailed_share
        s = self.m.sites
        rows = rows[s.host[rows] >= 0]
        if e.credit_usd_per_mwh > 0 and rows.size:
            credit = e.credit_usd_per_mwh * 24.0 * e.curtailed_share * s.capacity_mw[rows]
            self.m.books.receive(s.host[rows], credit, "usd_demand_response")

    def ban(self, e: RegionalBan, d: int) -> None:
        """A share of every site in the region (mining, in care, building or stranded) stops
        today; the relocated part of the rigs is paid for and returns after the relocation, on
        one new site per owner, the rest is sold at the secondary price; the banned share of
        the sites is lost. A full ban (share 1) closes the region for good: its sites close,
        firms at home there move their home to the event's `to_region` at once (their queued MW
        come online there), and no new capacity or entrant goes there again."""
        m, s = self.m, self.m.sites
        if e.share == 0:
            return
        sites = self._in_region(e.region, (MINING, CARE, BUILDING, STRANDED))
        if e.share >= 1.0:
            self._close_region(e)
        if sites.size == 0:
            return
        stopped = s.fleet_ths[sites] * e.share
        moved = stopped * e.relocate_share
        sold = stopped - moved
        mw_moved = s.capacity_mw[sites] * e.share * e.relocate_share
        cost = mw_moved * e.relocation_cost_usd_per_mw
        book = m.books.stop_in_ban(sites, e.share, sold, moved, cost)
        if e.share >= 1.0:
            m.close_sites(sites)
        if moved.sum() > 0:
            owners, at = np.unique(s.owner[sites], return_inverse=True)
            fleet = np.zeros((owners.size, m.gens.n))
            np.add.at(fleet, at, moved)
            mw = np.bincount(at, weights=mw_moved, minlength=owners.size)
            book = np.bincount(at, weights=book, minlength=owners.size)
            self.transit.append(
                Relocation(
                    d + e.relocation_days,
                    owners,
                    fleet,
                    mw,
                    self.region_index(e.to_region),
                    m.params.energy.expansion_price_usd_per_mwh
                    if e.relocated_price_usd_per_mwh is None
                    else e.relocated_price_usd_per_mwh,
                    book,
                )
            )
            self.in_transit_ths += float(moved.sum())

    def _close_region(self, e: RegionalBan) -> None:
        """Mark the region banned and move the home of the firms there to `to_region`."""
        regions = self._regions(e.region)
        self.banned[regions] = True
        t = self.m.firms
        t.region[np.isin(t.region, regions)] = self.region_index(e.to_region)

    def _returns(self, d: int) -> None:
        """Relocated rigs run again in their new region, on new sites at the event's power price
        (default: the market price of new power); rigs of firms that exited meanwhile are sold
        for their former owners."""
        m = self.m
        due = [r for r in self.transit if r.day <= d]
        if not due:
            return
        self.transit = [r for r in self.transit if r.day > d]
        for r in due:
            self.in_transit_ths -= float(r.fleet_ths.sum())
            price = np.full(r.rows.size, r.price_usd_per_mwh)
            m.interconnection.open_sites(
                r.rows, r.mw, r.fleet_ths, price, r.to_region, RELOCATED, r.rig_book_usd
            )
