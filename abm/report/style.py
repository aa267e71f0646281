"""The one figure style of the project: a Plotly template and palette shared by the interactive
page (:mod:`abm.viz.charts`) and the reports (:mod:`abm.report.figures`), plus the size of
static (paper) exports."""

from __future__ import annotations

import plotly.graph_objects as go

__all__ = [
    "ARM_COLOURS",
    "AXIS",
    "CLASS_COLOURS",
    "COLORWAY",
    "EDGE_COLOURS",
    "KIND_COLOURS",
    "STATIC_HEIGHT",
    "STATIC_SCALE",
    "STATIC_WIDTH",
    "TEMPLATE",
]

# Tableau 10: distinguishable in colour and in greyscale print
COLORWAY: tuple[str, ...] = (
    "#4c78a8",
    "#e45756",
    "#54a24b",
    "#f58518",
    "#b279a2",
    "#72b7b2",
    "#eeca3b",
    "#9d755d",
    "#ff9da6",
    "#bab0ac",
)
CLASS_COLOURS: dict[str, str] = {
    "small": "#e45756",
    "medium": "#f58518",
    "large": "#4c78a8",
    "sovereign": "#54a24b",
    "entrants": "#b279a2",
    "world": "#bab0ac",
}
KIND_COLOURS: dict[str, str] = {"private": "#f58518", "listed": "#4c78a8", "sovereign": "#54a24b"}
EDGE_COLOURS: dict[str, str] = {
    "acquisition": "#4c78a8",
    "site_purchase": "#72b7b2",
    "auction": "#e45756",
    "exit_sale": "#9d755d",
}
ARM_COLOURS: dict[str, str] = {"A": "#4c78a8", "B": "#e45756"}  # scenarios of a comparison

AXIS: dict[str, object] = {
    "gridcolor": "#e8e8e8",
    "linecolor": "#888",
    "zerolinecolor": "#ccc",
    "ticks": "outside",
    "automargin": True,
}
# A small white template: much cheaper to build and to send to the browser than "plotly_white".
TEMPLATE = go.layout.Template(
    layout={
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"family": "Arial, sans-serif", "size": 12, "color": "#2a3f5f"},
        "colorway": list(COLORWAY),
        "xaxis": AXIS,
        "yaxis": AXIS,
        "hoverlabel": {"align": "left"},
    }
)

STATIC_WIDTH = 800  # px of a static figure (about a text width at 2x scale)
STATIC_HEIGHT = 450  # px of a one-panel static figure
STATIC_SCALE = 2.0  # PNG pixel density (1600 x 900 px for one panel)
