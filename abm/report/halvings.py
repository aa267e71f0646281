"""Halving marks on date axes: a dotted vertical line with a small "halving" note at each
Bitcoin halving inside the plotted dates. One helper for the interactive page
(:mod:`abm.viz.charts`) and the reports (:mod:`abm.report.figures`).

Where the plotted frame has the block subsidy (``subsidy_btc``), the marks sit where the runs'
own data say the subsidy halved (the simulated block rate decides the day); otherwise at the
calendar dates of :func:`abm.chain.halving_date` (observed to 2024-04-20, later ones projected
at 144 blocks a day: 2028-04-17, 2032-04-15, ...)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from abm import chain

__all__ = ["calendar_halvings", "halving_dates", "halving_days", "halving_marks"]

_MAX_HALVINGS = 64  # no subsidy left after the 64th


def halving_dates(frame: pd.DataFrame) -> list[pd.Timestamp]:
    """Dates on which the block subsidy dropped (a halving happened since the previous row's
    date), from ``date`` and ``subsidy_btc``. Several runs' rows on the same dates count by their
    median subsidy (the lower middle value): the first date by which half the runs had halved."""
    if frame.empty:
        return []
    level = frame.groupby("date", sort=True)["subsidy_btc"].quantile(0.5, interpolation="lower")
    return list(pd.to_datetime(level.index[(level.diff() < 0).to_numpy()]))


def calendar_halvings(start: Any, end: Any) -> list[pd.Timestamp]:
    """Calendar dates of the halvings from `start` to `end` (both included)."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    days = (pd.Timestamp(chain.halving_date(n)) for n in range(1, _MAX_HALVINGS + 1))
    return [d for d in days if lo <= d <= hi]


def halving_days(frame: pd.DataFrame) -> list[pd.Timestamp]:
    """The halvings to mark on a figure of `frame` (``date``): the simulated ones if it has
    ``subsidy_btc``, else the calendar ones within its dates."""
    if "subsidy_btc" in frame:
        return halving_dates(frame)
    if frame.empty:
        return []
    return calendar_halvings(frame["date"].min(), frame["date"].max())


def halving_marks(frame: pd.DataFrame) -> dict[str, Any]:
    """Layout ``shapes`` and ``annotations`` marking each halving of :func:`halving_days`."""
    days = [d.strftime("%Y-%m-%d") for d in halving_days(frame)]
    shapes = [
        {
            "type": "line",
            "x0": d,
            "x1": d,
            "y0": 0,
            "y1": 1,
            "xref": "x",
            "yref": "paper",
            "line": {"color": "#555", "width": 1.5, "dash": "dot"},
        }
        for d in days
    ]
    notes = [
        {
            "x": d,
            "y": 0.98,
            "xref": "x",
            "yref": "paper",
            "text": "halving",
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "top",
            "xshift": 3,
            "font": {"size": 11, "color": "#555"},
        }
        for d in days
    ]
    return {"shapes": shapes, "annotations": notes}
