"""ASIC generations, the efficiency frontier over time, and rig prices that follow hashprice.

Rig prices are value-based: the marginal buyer (reference power price, discount rate, economic
life) pays the present value of a rig's expected margin, and the manufacturer never sells new
rigs below a floor price. So rig prices fall 80-90% when hashprice falls (as in 2022) and the
floor stops the network growing without bound when hashprice is low.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from abm.scenario import HardwareConfig

DAYS_PER_YEAR = 365.0


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class GenerationTable:
    """Generations available over a run, in release order (efficiency strictly improving)."""

    names: tuple[str, ...]
    release_day: np.ndarray  # day index relative to the run start (negative = before) [day]
    efficiency_j_per_th: np.ndarray  # [J/TH]

    @property
    def n(self) -> int:
        return len(self.names)

    @cached_property
    def energy_mwh_per_th_day(self) -> np.ndarray:
        """Energy drawn by 1 TH/s running for a day [MWh/(TH/s)/day] = e J/TH x 24 h / 1e6
        (computed once, read-only)."""
        return _read_only(self.efficiency_j_per_th * 24.0 / 1e6)

    @cached_property
    def power_mw_per_th(self) -> np.ndarray:
        """Power drawn by 1 TH/s [MW/(TH/s)] = e W / 1e6 (computed once, read-only)."""
        return _read_only(self.efficiency_j_per_th / 1e6)

    def index_of(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown generation {name!r}; known: {list(self.names)}") from None

    def released_count(self, n_days: int) -> np.ndarray:
        """Number of generations released on or before each day 0..n_days-1 [-]."""
        return np.searchsorted(self.release_day, np.arange(n_days), side="right")

    def newest_released(self, day: int) -> int:
        """Index of the newest generation released on or before `day`."""
        released = np.flatnonzero(self.release_day <= day)
        return int(released[-1]) if released.size else 0


def build_generations(hw: HardwareConfig, start: dt.date, n_days: int) -> GenerationTable:
    """Listed generations plus synthetic ones, every `new_generation_interval_years` after the
    last listed one, each `frontier_improvement_per_year` more efficient per year, up to the end
    of the run."""
    names = [g.name for g in hw.generations]
    release = [(g.release_date - start).days for g in hw.generations]
    eff = [g.efficiency_j_per_th for g in hw.generations]
    step_days = hw.new_generation_interval_years * DAYS_PER_YEAR
    k = 1
    while release[-1] + step_days <= n_days:
        release.append(round(release[-1] + step_days))
        eff.append(
            eff[-1] * (1.0 - hw.frontier_improvement_per_year) ** hw.new_generation_interval_years
        )
        names.append(f"Gen+{k}")
        k += 1
    return GenerationTable(tuple(names), np.asarray(release, dtype=np.int64), np.asarray(eff))


def pv_annuity_days(rate_per_year: np.ndarray | float, years: float) -> np.ndarray | float:
    """Present value of 1 USD/day paid continuously for `years` at `rate_per_year` [days].

    (1 - exp(-r L)) / r x 365, tending to 365 L as r -> 0."""
    if isinstance(rate_per_year, float):  # rig pricing: the same two rates every day
        return _pv_annuity_days_scalar(rate_per_year, years)
    return _pv_annuity_days(rate_per_year, years)


def _pv_annuity_days(rate_per_year: np.ndarray | float, years: float) -> np.ndarray | float:
    r = np.maximum(np.asarray(rate_per_year, dtype=float), 1e-9)
    return (1.0 - np.exp(-r * years)) / r * DAYS_PER_YEAR


_pv_annuity_days_scalar = lru_cache(maxsize=64)(_pv_annuity_days)  # the same arithmetic


def rig_value_usd_per_th(
    hashprice_usd_per_th_day: float | np.ndarray,
    energy_cost_usd_per_th_day: np.ndarray,
    discount_rate: float | np.ndarray,
    decline_per_year: float,
    life_years: float,
) -> np.ndarray:
    """PV of one TH/s over its life: revenue declining at `decline_per_year` minus energy [USD/TH].

    hp x PV(r + decline, L) - cost x PV(r, L). (Ignores the option to switch off, so it is
    conservative for rigs near breakeven.)"""
    return hashprice_usd_per_th_day * pv_annuity_days(
        discount_rate + decline_per_year, life_years
    ) - energy_cost_usd_per_th_day * pv_annuity_days(discount_rate, life_years)


def on_sale(table: GenerationTable, day: int, on_sale_years: float) -> np.ndarray:
    """Generations sold new on `day`: released, and not more than `on_sale_years` ago."""
    age = day - table.release_day
    return (age >= 0) & (age <= on_sale_years * DAYS_PER_YEAR)


def rig_prices_usd_per_th(
    table: GenerationTable,
    day: int,
    hashprice_usd_per_th_day: float,
    hw: HardwareConfig,
    decline_per_year: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(new, secondary) prices per generation [USD/TH].

    new: max(floor per W x J/TH, marginal buyer's value) for generations on sale, +inf for
    the others; secondary: max(0, marginal buyer's value) for every generation (sales of
    used rigs).
    """
    cost = table.energy_mwh_per_th_day * hw.reference_power_price_usd_per_mwh
    value = rig_value_usd_per_th(
        hashprice_usd_per_th_day,
        cost,
        hw.pricing_discount_rate,
        decline_per_year,
        hw.economic_life_years,
    )
    secondary = np.maximum(value, 0.0)
    new = np.where(
        on_sale(table, day, hw.on_sale_years),
        np.maximum(value, hw.floor_price_usd_per_w * table.efficiency_j_per_th),
        np.inf,
    )
    return new, secondary
