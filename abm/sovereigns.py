"""Sovereign participants: states mining with surplus energy.

A sovereign is a row of the firm table (kind "sovereign") viewed by a
:class:`~abm.firms.SovereignMiner` agent. Its capacity follows a policy path, its energy costs
its opportunity cost, its availability is seasonal, it buys rigs at market prices out of a
hardware budget (no debt, no equity, no default: the state covers any cash shortfall), and it
holds or sells down its BTC. The paths are precomputed as (sovereigns x days) arrays, so the
daily update is two fancy assignments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from abm.components import BaseComponent
from abm.events import sovereign_multiplier
from abm.firms import SOVEREIGN, SOVEREIGN_CLASS, Population
from abm.markets.energy import SOURCES
from abm.markets.hardware import GenerationTable
from abm.scenario import Scenario, SovereignSpec
from abm.sites import CLOSED, one_site_each

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry


def capacity_path_mw(spec: SovereignSpec, start: dt.date, n_days: int) -> np.ndarray:
    """Capacity on each day [MW]: linear between the policy points, 0 before the first point,
    flat after the last."""
    days = np.array([(p.date - start).days for p in spec.capacity_path], dtype=float)
    mw = np.array([p.mw for p in spec.capacity_path])
    t = np.arange(n_days, dtype=float)
    path = np.interp(t, days, mw)
    path[t < days[0]] = 0.0
    return path


def capacity_mw(sc: Scenario, spec: SovereignSpec, start: dt.date, n_days: int) -> np.ndarray:
    """Capacity of sovereign `spec` on each day: its policy path x ``sovereign_scale`` x its
    programme events [MW]."""
    return (
        capacity_path_mw(spec, start, n_days)
        * sc.sovereign_scale
        * sovereign_multiplier(sc, spec.name, start, n_days)
    )


def availability_path(spec: SovereignSpec, months: np.ndarray) -> np.ndarray:
    """Share of capacity available on each day (off-season months at the off-season share)."""
    off = np.isin(months, spec.off_season_months)
    return np.where(off, spec.off_season_availability, 1.0)


@dataclass(frozen=True)
class SovereignPaths:
    """Per-day policy arrays of the enabled sovereigns (rows in scenario order)."""

    capacity_mw: np.ndarray  # sovereigns x days
    availability: np.ndarray  # sovereigns x days
    sell_rate_per_day: np.ndarray  # sovereigns
    reinvest: np.ndarray  # sovereigns: pay for rigs by selling held BTC once the budget is spent
    yearly_budget_usd: np.ndarray  # sovereigns: added to the budget at each anniversary


def enabled(sc: Scenario) -> list[SovereignSpec]:
    return [s for s in sc.sovereigns if s.enabled]


def paths(sc: Scenario, start: dt.date, n_days: int, months: np.ndarray) -> SovereignPaths:
    specs = enabled(sc)
    cap = np.zeros((len(specs), n_days))
    avail = np.ones((len(specs), n_days))
    for i, s in enumerate(specs):
        cap[i] = capacity_mw(sc, s, start, n_days)
        avail[i] = availability_path(s, months)
    sell = np.array([s.sell_down_per_year / 365.0 for s in specs])
    reinvest = np.array([s.funding == "reinvest" for s in specs], dtype=bool)
    yearly = np.array([s.yearly_budget_usd for s in specs]) * sc.sovereign_scale
    return SovereignPaths(cap, avail, sell, reinvest, yearly)


def population(sc: Scenario, gens: GenerationTable, capacity0_mw: np.ndarray) -> Population:
    """Sovereign rows: day-one capacity already filled with the newest generation (procured
    before the run), BTC held on the start date, and the hardware budget still to spend."""
    specs = enabled(sc)
    n = len(specs)
    g = gens.newest_released(0)
    fleet = np.zeros((n, gens.n))
    fleet[:, g] = capacity0_mw / gens.power_mw_per_th[g]
    source = np.array([SOURCES.index(s.source) for s in specs], dtype=np.int8)
    cols = {
        "kind": np.full(n, SOVEREIGN, dtype=np.int8),
        "size_class": np.full(n, SOVEREIGN_CLASS, dtype=np.int8),  # outside the firm classes
        "source": source,
        "region": np.array([list(sc.firms.region_mix).index(s.region) for s in specs], np.int8),
        "hurdle_rate": np.array([s.hurdle_rate for s in specs]),
        "review_offset": np.zeros(n, dtype=np.int32),
        "btc_held": np.array([s.initial_btc for s in specs]),
        "hold_fraction": np.array([s.hold_fraction for s in specs]),
        "budget_usd": np.array([s.budget_usd for s in specs]) * sc.sovereign_scale,
        "initial_hashrate_ehs": fleet.sum(axis=1) / 1e6,
    }
    plan = one_site_each(
        capacity0_mw,
        np.array([s.power_cost_usd_per_mwh for s in specs]),
        source,
        np.array([bool(s.off_season_months) for s in specs]),
        np.zeros(n),
        fleet,
    )
    return Population([s.name for s in specs], cols, plan)


class Sovereigns(BaseComponent):
    """The sovereigns of a run: policy paths, their rows in the firm table, and their daily
    rules (capacity and availability by policy, selling down BTC, states covering
    shortfalls)."""

    phases: ClassVar[tuple[str, ...]] = ("environment", "account", "distress")

    def __init__(self, m: MiningIndustry) -> None:
        super().__init__(m)
        self.paths = paths(m.params, m.start_date, m.n_days, m.months)
        self.rows = np.zeros(0, dtype=np.intp)  # firm rows
        self.site_rows = np.zeros(0, dtype=np.intp)  # their sites, in the same order

    def add_population(self) -> None:
        """Add the enabled sovereigns to the firm table, one site each (capacity filled on
        day one)."""
        if self.paths.capacity_mw.shape[0]:
            m = self.m
            spop = population(m.params, m.gens, self.paths.capacity_mw[:, 0])
            self.rows = m.add_firms(spop.names, spop.cols, spop.sites)
            self.site_rows = np.flatnonzero(np.isin(m.sites.owner, self.rows))

    def planned_capacity_mw(self, sites: np.ndarray, capacity_mw: np.ndarray) -> np.ndarray:
        """The capacity each of `sites` buys rigs for [MW]: a reinvesting programme's site
        plans for its policy path on the day rigs ordered today arrive (``asic.lead_time_days``
        ahead) where that is more than today's; every other site for `capacity_mw`."""
        if not self.paths.reinvest.any():
            return capacity_mw
        m = self.m
        ahead = min(m.day + m.params.asic.lead_time_days, m.n_days - 1)
        out = np.array(capacity_mw, dtype=float)
        for i in np.flatnonzero(self.paths.reinvest):  # a handful of programmes
            site = self.site_rows[i]
            hit = (sites == site) & (m.sites.status[site] != CLOSED)
            out[hit] = np.maximum(out[hit], self.paths.capacity_mw[i, ahead])
        return out

    def reinvestable_usd(self, rows: np.ndarray) -> np.ndarray:
        """What each firm in `rows` may raise for rigs by selling the BTC it holds at today's
        price: the holdings of reinvesting sovereigns, 0 for everyone else [USD]."""
        m = self.m
        out = np.zeros(rows.size)
        if self.rows.size == 0:
            return out
        pos = np.searchsorted(self.rows, rows)
        pos = np.minimum(pos, self.rows.size - 1)
        mine = (self.rows[pos] == rows) & self.paths.reinvest[pos]
        out[mine] = m.firms.btc_held[rows[mine]] * m.price_usd[m.day]
        return out

    def daily(self, phase: str, today: Today) -> None:
        if self.rows.size == 0:
            return
        t, d, rows = self.m.firms, today.day, self.rows
        if phase == "environment":  # capacity and availability follow the policy paths
            if d > 0 and d % 365 == 0:  # the year's budget
                t.budget_usd[rows] += self.paths.yearly_budget_usd
            s = self.m.sites
            open_ = s.status[self.site_rows] != CLOSED  # a full ban closes a sovereign's site
            sites = self.site_rows[open_]
            s.capacity_mw[sites] = self.paths.capacity_mw[open_, d]
            today.env.availability[sites] = self.paths.availability[open_, d]
        elif phase == "account":
            if self.paths.sell_rate_per_day.any():
                self.m.books.sell_btc(rows, t.btc_held[rows] * self.paths.sell_rate_per_day)
        elif phase == "distress":  # states cover their miners' shortfalls: no default
            gap = -np.minimum(t.cash_usd[rows], 0.0)
            self.m.books.receive(rows, gap, "usd_state_support", distinct=True)
