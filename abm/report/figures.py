"""Report figures that the interactive page does not have: Kaplan-Meier survival with bands,
paired effects of a comparison, sweep responses with intervals, Sobol indices, and time series
with 95% bands across replications. Pure functions (frames in, ``go.Figure`` out) in the
style of :mod:`abm.viz.charts`, whose run figures the reports reuse.

Intervals of quantities with a physical range (:func:`abm.report.tables.value_bounds`: no
negative hashrate, shares within [0, 1]) are drawn clipped to it, and the title or panel title
says so ("band clipped at 0"); :func:`abm.report.stats.clip_band` keeps the raw t interval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from abm.firms import KINDS
from abm.report.halvings import halving_marks
from abm.report.stats import clip_band
from abm.report.style import ARM_COLOURS, CLASS_COLOURS, COLORWAY, STATIC_HEIGHT
from abm.report.tables import (
    format_number,
    metric_label,
    parameter_label,
    parameter_unit,
    value_bounds,
    with_unit,
)
from abm.stats import LEVEL, for_metric, t_summary
from abm.viz.charts import _figure, _line, _x, energy_cost_usd_per_ph_day, owner_columns

__all__ = [
    "arms_figure",
    "effects_figure",
    "feature_scores_figure",
    "km_survival_figure",
    "panel_breakeven",
    "panel_site_frame",
    "points_figure",
    "prim_trajectory_figure",
    "series_band_figure",
    "sobol_figure",
]

PCT = round(LEVEL * 100)


def _band(
    x: Any, low: Any, high: Any, colour: str, group: str, **extra: Any
) -> list[dict[str, Any]]:
    """Two traces filling the area between `low` and `high` (no legend entries)."""
    edge = {"type": "scatter", "x": _x(x), "mode": "lines", "line": {"width": 0, **extra}}
    common = {"legendgroup": group, "showlegend": False, "hoverinfo": "skip"}
    return [
        {**edge, **common, "y": np.asarray(high, dtype=float)},
        {
            **edge,
            **common,
            "y": np.asarray(low, dtype=float),
            "fill": "tonexty",
            "fillcolor": _rgba(colour, 0.2),
        },
    ]


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _subplots(
    traces_by_panel: list[list[dict[str, Any]]],
    titles: Sequence[str],
    title: str,
    cols: int,
    x_titles: Sequence[str],
    y_titles: Sequence[str],
    panel_height: int = 260,
    **kwargs: Any,
) -> go.Figure:
    """A grid of panels in the report style (one panel per entry of `traces_by_panel`); the
    legend sits between the figure title and the panel titles."""
    rows = -(-len(traces_by_panel) // cols)
    sp = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles), **kwargs)
    for i, traces in enumerate(traces_by_panel):
        for t in traces:
            sp.add_trace(t, row=i // cols + 1, col=i % cols + 1)
    for i, (xt, yt) in enumerate(zip(x_titles, y_titles, strict=True)):
        sp.update_xaxes(title_text=xt, title_standoff=4, row=i // cols + 1, col=i % cols + 1)
        sp.update_yaxes(title_text=yt, title_standoff=4, row=i // cols + 1, col=i % cols + 1)
    layout = sp.layout.to_plotly_json()
    layout.pop("template", None)
    for a in layout.get("annotations", []):
        a["font"] = {"size": 12}
    height = max(STATIC_HEIGHT, 90 + panel_height * rows)
    traces = [t.to_plotly_json() for t in sp.data]
    fig = _figure(traces, title, "", "", hovermode="closest", **layout, height=height)
    top = fig.layout.margin.t + (22 if any(titles) else 0)
    fig.update_layout(
        margin_t=top, legend_y=1 + (22 if any(titles) else 0) / (height - top - fig.layout.margin.b)
    )
    return fig


def _zero_lines(fig: go.Figure, n: int, axis: str = "x") -> None:
    """A dotted line at 0 across each of the first `n` panels (x = 0, or y = 0)."""
    other = "y" if axis == "x" else "x"
    for i in range(n):
        k = "" if i == 0 else str(i + 1)
        fig.add_shape(
            type="line",
            **{f"{axis}0": 0, f"{axis}1": 0, f"{other}0": 0, f"{other}1": 1},
            xref=f"x{k}" if axis == "x" else f"x{k} domain",
            yref=f"y{k} domain" if axis == "x" else f"y{k}",
            line={"color": "#555", "width": 1, "dash": "dot"},
        )


# ---------------------------------------------------------------------------------------------
# one run
def km_survival_figure(survival: pd.DataFrame) -> go.Figure:
    """Kaplan-Meier survival of independent operation by initial size class, with the 95%
    band (``survival.parquet``: size_class, time, survival, ci_low, ci_high)."""
    traces: list[dict[str, Any]] = []
    for cls, g in survival.groupby("size_class", sort=False, observed=True):
        colour = CLASS_COLOURS.get(str(cls), "#888")
        traces += _band(
            g["time"], g["ci_low"] * 100, g["ci_high"] * 100, colour, str(cls), shape="hv"
        )
        traces.append(
            {
                **_line(g["time"], g["survival"] * 100, str(cls), colour, width=2, shape="hv"),
                "legendgroup": str(cls),
            }
        )
    return _figure(
        traces,
        f"Kaplan-Meier survival by initial size class ({PCT}% band)",
        "days since the start [day]",
        "still independent [% of initial]",
        yaxis={"range": [0, 103]},
    )


def panel_site_frame(sites: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The last snapshot of a site panel (``sites.parquet``) in the form of
    :func:`abm.viz.charts.site_frame`, the owners read from ``firm_outcomes.parquet``."""
    last = sites[sites["day"] == sites["day"].max()]
    o = outcomes.sort_values("firm_id")
    kind = pd.Categorical(o["kind"], categories=KINDS).codes
    return owner_columns(
        last,
        o["name"].to_numpy(dtype=object),
        np.asarray(kind),
        o["owner_id"].to_numpy(),
    )


def panel_breakeven(sites: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Energy cost per PH-day of each size class on each panel date [USD/PH/day], in the form
    :func:`abm.viz.charts.hashprice_figure` takes: the running-hashrate-weighted mean over the
    class's sites of the rate the owner pays there x the site's installed fleet efficiency
    (the panel does not record the efficiency of the running part of a fleet, so this is an
    upper estimate when old rigs are curtailed). The class is the owner's initial size
    class."""
    df = sites[(sites["hashrate_ehs"] > 0) & sites["fleet_efficiency_j_per_th"].notna()]
    cls = outcomes.set_index("firm_id")["size_class"].astype(str)
    cost = energy_cost_usd_per_ph_day(
        df["rate_usd_per_mwh"].to_numpy(float),
        df["fleet_efficiency_j_per_th"].to_numpy(float),
    )
    w = df["hashrate_ehs"].to_numpy(float)
    parts = pd.DataFrame(
        {
            "date": df["date"].to_numpy(),
            "cls": cls.reindex(df["owner_id"]).to_numpy(),
            "cw": cost * w,
            "w": w,
        }
    )
    g = parts.groupby(["date", "cls"], sort=True)[["cw", "w"]].sum()
    out = (g["cw"] / g["w"]).unstack("cls").reset_index()
    out.columns.name = None
    return out


# ---------------------------------------------------------------------------------------------
# paired comparison
def effects_figure(effects: pd.DataFrame) -> go.Figure:
    """Forest plot of the paired effects B - A (``effects.csv``): one panel per metric in its
    own unit, the paired 95% interval (thick) and the unpaired one (thin) for contrast."""
    panels, titles, xs = [], [], []
    for r in effects.itertuples():
        label, unit = metric_label(str(r.metric))
        d = float(r.diff_b_minus_a)
        panels.append(
            [
                {
                    "type": "scatter",
                    "x": [d],
                    "y": ["unpaired"],
                    "mode": "markers",
                    "marker": {"color": "#888", "size": 7},
                    "error_x": _err(d, r.unpaired_ci_low, r.unpaired_ci_high, "#888", 1.5),
                    "name": f"unpaired (Welch) {PCT}% CI",
                    "legendgroup": "unpaired",
                    "showlegend": not titles,
                },
                {
                    "type": "scatter",
                    "x": [d],
                    "y": ["paired"],
                    "mode": "markers",
                    "marker": {"color": ARM_COLOURS["B"], "size": 9},
                    "error_x": _err(d, r.ci_low, r.ci_high, ARM_COLOURS["B"], 3),
                    "name": f"paired B - A, {PCT}% CI",
                    "legendgroup": "paired",
                    "showlegend": not titles,
                },
            ]
        )
        titles.append(label)
        xs.append(with_unit("B - A", unit))
    fig = _subplots(
        panels,
        titles,
        f"Paired effects B - A with {PCT}% intervals (common random numbers)",
        cols=2,
        x_titles=xs,
        y_titles=[""] * len(panels),
        panel_height=170,
        vertical_spacing=0.14,
        horizontal_spacing=0.12,
    )
    _zero_lines(fig, len(panels))
    return fig


def _err(centre: float, low: float, high: float, colour: str, width: float) -> dict[str, Any]:
    return {
        "type": "data",
        "symmetric": False,
        "array": [float(high) - centre],
        "arrayminus": [centre - float(low)],
        "color": colour,
        "thickness": width,
        "width": 6,
    }


def arms_figure(runs: pd.DataFrame, metrics: Sequence[str], names: dict[str, str]) -> go.Figure:
    """Per metric: each seed's value under A and B (grey lines join the pairs), and each
    arm's mean with its 95% t interval across seeds (``runs.parquet`` of a comparison; for a
    concentration metric, across the seeds whose chain did not halt)."""
    panels, titles, ys = [], [], []
    for i, m in enumerate(metrics):
        label, unit = metric_label(m)
        wide = runs.pivot(index="seed", columns="scenario", values=m)
        pairs_x: list[Any] = []
        pairs_y: list[Any] = []
        for a, b in zip(wide.get("A", []), wide.get("B", []), strict=False):
            pairs_x += [names["A"], names["B"], None]
            pairs_y += [a, b, None]
        traces: list[dict[str, Any]] = [
            {
                "type": "scatter",
                "x": pairs_x,
                "y": pairs_y,
                "mode": "lines+markers",
                "line": {"color": "#ccc", "width": 1},
                "marker": {"color": "#aaa", "size": 5},
                "name": "one seed (A and B)",
                "legendgroup": "seeds",
                "showlegend": i == 0,
            }
        ]
        bounds = value_bounds(m)
        summary, note = clip_band(t_summary(for_metric(runs, m), "scenario", m), bounds, what="CI")
        for s in summary.itertuples():
            colour = ARM_COLOURS.get(str(s.scenario), "#333")
            traces.append(
                {
                    "type": "scatter",
                    "x": [names.get(str(s.scenario), s.scenario)],
                    "y": [s.mean],
                    "mode": "markers",
                    "marker": {"color": colour, "size": 11, "symbol": "diamond"},
                    "error_y": _err(s.mean, s.ci_low, s.ci_high, colour, 2.5),
                    "name": f"mean and {PCT}% CI",
                    "legendgroup": "mean",
                    "showlegend": i == 0 and s.scenario == "A",
                }
            )
        panels.append(traces)
        titles.append(f"{label} ({note})" if note else label)
        ys.append(f"[{unit}]")
    return _subplots(
        panels,
        titles,
        f"Outcomes by scenario across seeds: mean and {PCT}% interval",
        cols=3,
        x_titles=[""] * len(panels),
        y_titles=ys,
        vertical_spacing=0.16,
        horizontal_spacing=0.1,
    )


# ---------------------------------------------------------------------------------------------
# sweeps
def points_figure(
    by_point: pd.DataFrame, params: Sequence[str], metric: str, lines: bool = False
) -> go.Figure:
    """A headline metric against each varied parameter: per design point the mean across
    replications with its 95% t interval (``summary_by_point.csv``); one panel per parameter.
    `lines` joins the points (a one-parameter grid)."""
    label, unit = metric_label(metric)
    bounds = value_bounds(metric)
    cols = {"low": f"{metric}_ci_low", "high": f"{metric}_ci_high"}
    clipped, note = clip_band(by_point, bounds, **cols, what="CI")
    mean = by_point[f"{metric}_mean"].to_numpy(float)
    lo = clipped[cols["low"]].to_numpy(float)
    hi = clipped[cols["high"]].to_numpy(float)
    panels = []
    for p in params:
        order = np.argsort(by_point[p].to_numpy(), kind="stable")
        x = by_point[p].to_numpy()[order]
        panels.append(
            [
                {
                    "type": "scatter",
                    "x": x,
                    "y": mean[order],
                    "mode": "lines+markers" if lines else "markers",
                    "marker": {"color": COLORWAY[0], "size": 7},
                    "line": {"color": COLORWAY[0], "width": 1.5},
                    "error_y": {
                        "type": "data",
                        "symmetric": False,
                        "array": (hi - mean)[order],
                        "arrayminus": (mean - lo)[order],
                        "color": COLORWAY[0],
                        "thickness": 1.2,
                        "width": 3,
                    },
                    "customdata": by_point["point_id"].to_numpy()[order],
                    "hovertemplate": "point %{customdata}: %{y:.4g}<extra></extra>",
                    "name": f"design point: mean, {PCT}% CI",
                    "showlegend": p == params[0],
                }
            ]
        )
    many = len(params) > 1  # several panels: the parameter over each, its unit below
    cols = min(len(params), 2)
    return _subplots(
        panels,
        list(params) if many else [""],
        f"{label} by design point (mean and {PCT}% interval across replications)"
        + (f"; {note}" if note else ""),
        cols=cols,
        x_titles=[f"[{parameter_unit(p)}]" if many else parameter_label(p) for p in params],
        y_titles=[with_unit(label, unit) if i % cols == 0 else "" for i in range(len(params))],
        horizontal_spacing=0.1,
        vertical_spacing=0.3 / max(1, -(-len(params) // cols)),
    )


def sobol_figure(sobol: pd.DataFrame) -> go.Figure:
    """First-order (S1) and total (ST) Sobol indices per parameter with their 95% confidence
    half-widths (``sobol_indices.csv``): horizontal bars, one panel per output."""
    outputs = list(dict.fromkeys(sobol["output"]))
    params = list(dict.fromkeys(sobol["parameter"]))[::-1]  # first parameter on top
    panels = []
    for i, out in enumerate(outputs):
        g = sobol[sobol["output"] == out].set_index("parameter").reindex(params)
        panels.append(
            [
                {
                    "type": "bar",
                    "orientation": "h",
                    "y": params,
                    "x": g[col].to_numpy(float),
                    "error_x": {
                        "type": "data",
                        "array": g[f"{col}_conf"].to_numpy(float),
                        "color": "#333",
                        "thickness": 1.2,
                    },
                    "marker": {"color": colour},
                    "name": name,
                    "legendgroup": col,
                    "showlegend": i == 0,
                }
                for col, name, colour in (
                    ("ST", "total ST", COLORWAY[1]),
                    ("S1", "first order S1", COLORWAY[0]),
                )
            ]
        )
    fig = _subplots(
        panels,
        [metric_label(o)[0] for o in outputs],
        f"Sobol sensitivity indices ({PCT}% confidence intervals)",
        cols=1,
        x_titles=["index [-]"] * len(outputs),
        y_titles=[""] * len(outputs),
        panel_height=max(180, 60 + 40 * len(params)),
        vertical_spacing=0.3 / len(outputs),
    )
    fig.update_layout(barmode="group")
    return fig


def series_band_figure(
    series: pd.DataFrame,
    column: str,
    label: str,
    groups: dict[Any, str],
    by: str = "point_id",
    bounds: tuple[float, float] | None = None,
) -> go.Figure:
    """Mean and 95% band across runs of a kept time series, one line per group (a sweep's
    design point, a comparison's scenario); halvings marked (:mod:`abm.report.halvings`: where
    the runs' ``subsidy_btc`` dropped if the series has it, else the calendar dates).

    Args:
        series: the runs' series (`by`, ``date`` and `column`).
        column: the series to draw.
        label: y-axis title with its unit.
        groups: legend name of each value of `by`.
        by: the grouping column.
        bounds: physical range the band is clipped to (default: :func:`value_bounds`).
    """
    bounds = value_bounds(column) if bounds is None else bounds
    s, note = clip_band(t_summary(series, [by, "date"], column), bounds)
    traces: list[dict[str, Any]] = []
    for i, (key, g) in enumerate(s.groupby(by, sort=True)):
        colour = COLORWAY[i % len(COLORWAY)]
        name = groups.get(key, f"{by} {key}")
        traces += _band(g["date"], g["ci_low"], g["ci_high"], colour, name)
        traces.append({**_line(g["date"], g["mean"], name, colour, width=2), "legendgroup": name})
    return _figure(
        traces,
        f"{label.split(' [')[0]}: mean and {PCT}% band across runs"
        + (f" ({note})" if note else ""),
        "date",
        label,
        **halving_marks(series),
    )


# ---------------------------------------------------------------------------------------------
# scenario discovery (abm.discovery)
def prim_trajectory_figure(trajectory: pd.DataFrame, title: str) -> go.Figure:
    """PRIM's peeling trajectory: density against coverage of every box, coloured by the
    number of restricted parameters, the chosen box ringed (``tables/prim_trajectory.csv``)."""
    traj = trajectory.sort_values("id")
    pct = {"coverage": traj["coverage"] * 100, "density": traj["density"] * 100}
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": pct["coverage"].to_numpy(float),
            "y": pct["density"].to_numpy(float),
            "mode": "lines+markers",
            "line": {"color": "#bbb", "width": 1},
            "marker": {
                "size": 8,
                "color": traj["res_dim"].to_numpy(int),
                "colorscale": "Viridis",
                "colorbar": {"title": {"text": "restricted<br>parameters"}, "thickness": 12},
            },
            "customdata": np.stack([traj["id"], traj["mass"] * 100, traj["res_dim"]], axis=1),
            "hovertemplate": "box %{customdata[0]}: coverage %{x:.1f}%, density %{y:.1f}%, "
            "mass %{customdata[1]:.1f}%, %{customdata[2]} restricted<extra></extra>",
            "name": "boxes on the peeling trajectory",
        }
    ]
    chosen = traj[traj["chosen"].astype(bool)]
    traces.append(
        {
            "type": "scatter",
            "x": (chosen["coverage"] * 100).to_numpy(float),
            "y": (chosen["density"] * 100).to_numpy(float),
            "mode": "markers",
            "marker": {
                "size": 16,
                "color": "rgba(0,0,0,0)",
                "line": {"color": "#d62728", "width": 2.5},
            },
            "name": "chosen box",
            "hoverinfo": "skip",
        }
    )
    return _figure(
        traces,
        title,
        "coverage: cases of interest inside the box [% of all cases of interest]",
        "density: cases of interest [% of the runs in the box]",
        hovermode="closest",
        xaxis={"range": [0, 103]},
        yaxis={"range": [0, 103]},
    )


def feature_scores_figure(scores: pd.DataFrame) -> go.Figure:
    """Heat map of extra-trees feature scores: parameters (rows) x metrics (columns), each
    metric's scores summing to 1 (``tables/feature_scores.csv``)."""
    metrics = [c for c in scores.columns if c != "parameter"]
    z = scores[metrics].to_numpy(float)
    trace = {
        "type": "heatmap",
        "z": z,
        "x": [metric_label(m)[0] for m in metrics],
        "y": [parameter_label(p) for p in scores["parameter"]],
        "zmin": 0.0,
        "zmax": 1.0,
        "colorscale": "Blues",
        "colorbar": {"title": {"text": "score"}, "thickness": 12},
        "text": [[format_number(v) for v in row] for row in np.round(z, 2)],
        "texttemplate": "%{text}",
        "hovertemplate": "%{y}<br>%{x}: %{z:.3f}<extra></extra>",
        "showlegend": False,
    }
    return _figure(
        [trace],
        "Feature scores (extra trees) of the headline metrics on the varied parameters",
        "",
        "",
        hovermode="closest",
        height=max(STATIC_HEIGHT, 200 + 60 * len(scores)),
        xaxis={"tickangle": -25, "automargin": True},
        yaxis={"automargin": True},
    )
