"""ASIC generations, the efficiency frontier over time, and what a rig is worth to a buyer.

A buyer values a rig at the present value of its expected margin at the buyer's own power
price and discount rate (:func:`rig_value_usd_per_th`); the markets for new and used rigs
(:mod:`abm.markets.asic`, :mod:`abm.markets.used`) clear these valuations into prices.
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
    """PV of one TH/s to an owner who runs it while it pays [USD/TH] (never negative).

    Revenue hp declines at `decline_per_year` (d), energy costs c; the rig runs until its margin
    reaches zero, T = min(L, ln(hp / c) / d) (L if d = 0 and hp > c, 0 if hp <= c), and is then
    switched off for good: hp x PV(r + d, T) - c x PV(r, T)."""
    hp = np.asarray(hashprice_usd_per_th_day, dtype=float)
    c = np.asarray(energy_cost_usd_per_th_day, dtype=float)
    pos = c > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pos, hp / np.where(pos, c, 1.0), np.inf)
        t_run = np.where(
            ratio > 1.0,
            np.minimum(np.log(ratio) / decline_per_year, life_years)
            if decline_per_year > 0
            else life_years,
            0.0,
        )
    r = np.asarray(discount_rate, dtype=float)
    return hp * _pv_annuity_days(r + decline_per_year, t_run) - c * _pv_annuity_days(r, t_run)


def halving_factor(
    years_to_halving: float,
    post_halving_revenue_share: float,
    discount_rate: float,
    decline_per_year: float,
    life_years: float,
) -> float:
    """What the coming halving does to the PV of a rig's revenue [0-1]: the ratio of the PV of
    hp exp(-d t), times k from the halving (after `years_to_halving` t_h) on, to the PV without
    the step, over `life_years` L at rate r: 1 - (1 - k) (e^{-a t_h} - e^{-a L}) / (1 - e^{-a L}),
    a = r + d (1 when the halving lies beyond L). Buyers value rigs at the expected hashprice
    times this factor, so they anticipate the halving they know the date of."""
    if years_to_halving >= life_years:
        return 1.0
    a = max(discount_rate + decline_per_year, 1e-9)
    after = (np.exp(-a * years_to_halving) - np.exp(-a * life_years)) / -np.expm1(-a * life_years)
    return float(1.0 - (1.0 - post_halving_revenue_share) * after)
