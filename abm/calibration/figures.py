"""Figures of a calibration (plotly, written as HTML): the targets' fit at the best point, the
parameters' marginals over the uncertainty set, and pairwise scatter of the top parameters."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from abm.calibration.spec import CalibrationSpec
from abm.report.style import COLORWAY, TEMPLATE

__all__ = ["figures", "write_figures"]

MAX_PAIRS = 4  # parameters in the pairwise figure (the first ones of the spec)


def target_fit(table: pd.DataFrame) -> go.Figure:
    """Standardised error z of each target at the best point (|z| <= 1 passes)."""
    t = table[table["covered"]]
    fig = go.Figure()
    for i, use in enumerate(("fit", "holdout")):
        s = t[t["use"] == use]
        fig.add_bar(x=s["z"], y=s["check"], orientation="h", name=use, marker_color=COLORWAY[i])
    for x in (-1, 1):
        fig.add_vline(x=x, line_dash="dot", line_color="grey")
    fig.update_layout(
        template=TEMPLATE,
        title="Targets at the best point: standardised error z (|z| <= 1 passes)",
        xaxis_title="z = (simulated - observed) / tolerance",
        height=max(300, 28 * len(t) + 120),
    )
    return fig


def marginals(
    points: pd.DataFrame, params: list[str], best: dict, spec: CalibrationSpec
) -> go.Figure:
    """Each parameter: every point (grey) and the uncertainty set (colour), best marked."""
    fig = make_subplots(rows=1, cols=len(params), subplot_titles=params)
    acc = points[points["accepted"]]
    for j, p in enumerate(params, start=1):
        fig.add_histogram(
            x=points[p], name="all points", marker_color="#bab0ac", row=1, col=j, showlegend=j == 1
        )
        fig.add_histogram(
            x=acc[p], name="accepted", marker_color=COLORWAY[0], row=1, col=j, showlegend=j == 1
        )
        fig.add_vline(x=best[p], line_color=COLORWAY[1], row=1, col=j)
        r = spec.parameters[p]
        fig.update_xaxes(range=[r.low, r.high], row=1, col=j)
    fig.update_layout(template=TEMPLATE, barmode="overlay", title="Parameter marginals (red: best)")
    fig.update_traces(opacity=0.75, selector={"type": "histogram"})
    return fig


def pairs(points: pd.DataFrame, params: list[str]) -> go.Figure:
    """Pairwise scatter of the first parameters, coloured by distance (log scale)."""
    top = params[:MAX_PAIRS]
    colour = points["distance"].map(lambda d: math.log10(d) if 0 < d < math.inf else float("nan"))
    fig = go.Figure(
        go.Splom(
            dimensions=[{"label": p, "values": points[p]} for p in top],
            marker={
                "color": colour,
                "colorscale": "Viridis_r",
                "showscale": True,
                "colorbar": {"title": "log10 distance"},
                "size": 6,
            },
            text=[
                f"stage {s}, point {i}"
                for s, i in zip(points["stage"], points["point_id"], strict=True)
            ],
            diagonal_visible=len(top) > 1,
        )
    )
    fig.update_layout(template=TEMPLATE, title="Points of every stage, by distance to the targets")
    return fig


def figures(points, table, params, best, spec) -> dict[str, go.Figure]:
    return {
        "target_fit": target_fit(table),
        "marginals": marginals(points, params, best, spec),
        "pairs": pairs(points, params),
    }


def write_figures(figdir: Path, points, table, params, best, spec) -> None:
    figdir.mkdir(exist_ok=True)
    for name, fig in figures(points, table, params, best, spec).items():
        tmp = figdir / f".{name}.html.tmp"
        fig.write_html(tmp, include_plotlyjs="cdn")
        tmp.replace(figdir / f"{name}.html")
