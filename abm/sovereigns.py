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

import numpy as np

from abm.events import sovereign_multiplier
from abm.firms import KINDS, Population
from abm.markets.energy import SOURCES
from abm.markets.hardware import GenerationTable
from abm.scenario import Scenario, SovereignSpec

SOVEREIGN = KINDS.index("sovereign")


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
    return SovereignPaths(cap, avail, sell)


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
        "size_class": np.full(n, 3, dtype=np.int8),  # outside the firm size classes
        "source": source,
        "region": np.array([list(sc.firms.region_mix).index(s.region) for s in specs], np.int8),
        "seasonal": np.array([bool(s.off_season_months) for s in specs]),
        "power_price_usd_per_mwh": np.array([s.power_cost_usd_per_mwh for s in specs]),
        "capacity_mw": capacity0_mw,
        "outage_prob": np.zeros(n),
        "hurdle_rate": np.array([s.hurdle_rate for s in specs]),
        "review_offset": np.zeros(n, dtype=np.int32),
        "btc_held": np.array([s.initial_btc for s in specs]),
        "hold_fraction": np.array([s.hold_fraction for s in specs]),
        "budget_usd": np.array([s.budget_usd for s in specs]) * sc.sovereign_scale,
        "initial_hashrate_ehs": fleet.sum(axis=1) / 1e6,
    }
    return Population([s.name for s in specs], fleet, cols)
