"""Means and 95% t intervals across replications, vectorised over groups, and their clipping
to a quantity's physical range for display (the unclipped interval is kept beside it)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["LEVEL", "clip_band", "t_summary"]

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


def clip_band(
    summary: pd.DataFrame,
    bounds: tuple[float, float],
    low: str = "ci_low",
    high: str = "ci_high",
    what: str = "band",
) -> tuple[pd.DataFrame, str]:
    """A copy of `summary` whose interval columns `low` and `high` are clipped to `bounds` (the
    physical range of the quantity, e.g. (0, 1) for a share), with the unclipped t interval kept
    in ``<low>_raw`` and ``<high>_raw``; and a note for the figure or table, '`what` clipped at
    0' (or 'at 1', 'at 0 and 1'), '' if the interval stays within `bounds`.

    The statistics are not changed: a t interval of a mean near a bound can leave the range,
    and the clipped edges only stop a figure or table from showing impossible values. NaN stays
    NaN."""
    out = summary.copy()
    out[f"{low}_raw"], out[f"{high}_raw"] = out[low], out[high]
    out[low] = out[low].clip(*bounds)
    out[high] = out[high].clip(*bounds)
    hit = [
        b
        for b, outside in (
            (bounds[0], out[f"{low}_raw"] < bounds[0]),
            (bounds[1], out[f"{high}_raw"] > bounds[1]),
        )
        if outside.any()
    ]
    note = f"{what} clipped at {' and '.join(f'{b:,g}' for b in hit)}" if hit else ""
    return out, note
