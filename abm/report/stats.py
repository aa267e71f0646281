"""Intervals clipped to a quantity's physical range for display (the unclipped interval is kept
beside it); the intervals themselves come from :mod:`abm.stats`."""

from __future__ import annotations

import pandas as pd

__all__ = ["clip_band"]


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
