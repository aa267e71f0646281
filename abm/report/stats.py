"""Means and 95% t intervals across replications, vectorised over groups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["LEVEL", "t_summary"]

LEVEL = 0.95


def t_summary(
    frame: pd.DataFrame, by: str | Sequence[str], value: str, level: float = LEVEL
) -> pd.DataFrame:
    """Per group of `by`: n, mean, sd and the t interval of the mean of `value`
    (mean ± t_{n-1, (1+level)/2} sd / sqrt(n)); NaN values are left out, and the bounds are NaN
    for groups of fewer than two values."""
    keys = [by] if isinstance(by, str) else list(by)
    g = frame[[*keys, value]].dropna(subset=[value]).groupby(keys, sort=True)[value]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    n = out["n"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = stats.t.ppf(0.5 + level / 2, np.where(n > 1, n - 1, np.nan))
        half = q * out["sd"].to_numpy(float) / np.sqrt(n)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out
