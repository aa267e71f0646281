"""Intervals across replications, shared by comparisons, sweeps, reports and studies: the t
interval of a mean (one sample, or vectorised over groups) and Welch's interval of a difference
of two means. One formula for all: mean ± t_{n-1, (1+level)/2} · sd / sqrt(n).

Runs whose chain halted (summary ``chain_halted``, :func:`abm.metrics.chain_halted`) are shown
apart: statistics of concentration metrics (:func:`abm.metrics.is_concentration_metric`) are
taken over the other runs (:func:`for_metric`), and the halted runs are counted and listed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from abm.metrics import is_concentration_metric

__all__ = [
    "HALTED",
    "LEVEL",
    "for_metric",
    "halted",
    "t_half_width",
    "t_interval",
    "t_summary",
    "welch_interval",
]

LEVEL = 0.95  # confidence level of every interval the package reports
HALTED = "chain_halted"  # the summary flag of a run whose chain halted


def halted(runs: pd.DataFrame) -> np.ndarray:
    """Per run (row), whether its chain halted; False where the flag is missing (a failed run,
    or results written before the flag existed)."""
    if HALTED not in runs:
        return np.zeros(len(runs), dtype=bool)
    return runs[HALTED].astype(float).fillna(0.0).to_numpy() > 0


def for_metric(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The runs a statistic of `metric` is taken over: all of them, or for a concentration
    metric those whose chain did not halt."""
    return runs[~halted(runs)] if is_concentration_metric(metric) else runs


def t_half_width(sd: ArrayLike, n: ArrayLike, level: float = LEVEL) -> np.ndarray:
    """Half-width t_{n-1, (1+level)/2} · sd / sqrt(n) of the interval of a mean; NaN for n < 2."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = stats.t.ppf(0.5 + level / 2, np.where(n > 1, n - 1, np.nan))
        return q * np.asarray(sd, dtype=float) / np.sqrt(n)


def t_interval(x: ArrayLike, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, low, high) of the finite values of `x`: NaN throughout if there are none, NaN
    bounds if there is one."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, np.nan, np.nan
    half = float(t_half_width(x.std(ddof=1), x.size, level))
    return mean, mean - half, mean + half


def welch_interval(a: ArrayLike, b: ArrayLike, level: float = LEVEL) -> tuple[float, float]:
    """Welch's interval of mean(b) - mean(a) for independent samples (NaN if either has fewer
    than two values)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        return np.nan, np.nan
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = np.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)) if se > 0 else 1.0
    half = stats.t.ppf(0.5 + level / 2, dof) * se
    d = b.mean() - a.mean()
    return float(d - half), float(d + half)


def t_summary(
    frame: pd.DataFrame, by: str | Sequence[str], value: str, level: float = LEVEL
) -> pd.DataFrame:
    """Per group of `by`: n, mean, sd and the t interval of the mean of `value` (columns n,
    mean, sd, ci_low, ci_high); NaN values are left out, and the bounds are NaN for groups of
    fewer than two values."""
    keys = [by] if isinstance(by, str) else list(by)
    g = frame[[*keys, value]].dropna(subset=[value]).groupby(keys, sort=True)[value]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    half = t_half_width(out["sd"].to_numpy(float), out["n"].to_numpy(float), level)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out
