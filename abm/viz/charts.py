"""Plotly figures of a run: pure functions, DataFrames (or a model) in, ``go.Figure`` out.

The time-series charts take the daily frame of :meth:`abm.recorder.Recorder.timeseries`
(columns documented in :data:`abm.recorder.DAILY_COLUMNS`); the firm charts take
:func:`site_frame` and the acquisition table of :meth:`abm.ownership.Ownership.edges_frame`.
They are used by the interactive page (:mod:`abm.viz.app`) and work as well in a notebook.
Figures are assembled as one dict and validated once: several times faster than building
them with ``add_trace``/``update_layout``, which matters when they are redrawn every step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from abm import chain
from abm.firms import KINDS, SIZE_CLASSES
from abm.report.halvings import halving_dates, halving_marks
from abm.report.style import AXIS as _AXIS
from abm.report.style import CLASS_COLOURS, EDGE_COLOURS, KIND_COLOURS, TEMPLATE

if TYPE_CHECKING:
    from abm.model import MiningIndustry

__all__ = [
    "BREAKEVEN_CLASSES",
    "CHART_HEIGHT",
    "acquirers_figure",
    "ai_figure",
    "breakeven_by_class",
    "concentration_figure",
    "display_rows",
    "energy_cost_usd_per_ph_day",
    "events_figure",
    "halving_dates",
    "hashprice_figure",
    "hashrate_figure",
    "owner_columns",
    "ownership_network_figure",
    "price_figure",
    "share_figure",
    "site_frame",
    "site_scatter_figure",
    "survival_figure",
]

CHART_HEIGHT = 370  # px; fits one cell of Mesa's SolaraViz grid (10 rows of 30 px + margins)

BREAKEVEN_CLASSES: tuple[str, ...] = SIZE_CLASSES  # small, medium, large, sovereign
EMPTY_TEXT = "No days simulated yet: press Step or ▶"

_MWH_PER_PH_DAY_PER_J_PER_TH = 24e-6 * 1000  # (J/TH) x 1,000 TH/s x 24 h -> MWh per PH-day


# ---------------------------------------------------------------------------------------------
# data helpers (model in, arrays or frames out)
def energy_cost_usd_per_ph_day(
    power_price_usd_per_mwh: np.ndarray | float, efficiency_j_per_th: np.ndarray | float
) -> np.ndarray:
    """Energy cost of running one PH/s for a day [USD/PH/day]."""
    return (
        np.asarray(power_price_usd_per_mwh, dtype=float)
        * np.asarray(efficiency_j_per_th, dtype=float)
        * _MWH_PER_PH_DAY_PER_J_PER_TH
    )


def breakeven_by_class(model: MiningIndustry) -> np.ndarray:
    """Energy cost of the running fleet per PH-day by size class on the last simulated day
    [USD/PH/day], ordered as :data:`BREAKEVEN_CLASSES` (nan where a class ran nothing).

    It is the hashrate-weighted mean over the class's sites of the rate its owner pays there
    (power price, or hosting rate) x running fleet efficiency x 24e-6 x 1000, computed as the
    class's energy bill over its running PH/s.
    """
    t, s = model.firms, model.sites
    k = len(BREAKEVEN_CLASSES)
    if model.last_day is None:
        return np.full(k, np.nan)
    op = model.last_day.op
    n = op.running_ths.shape[0]
    mwh = op.running_ths @ model.gens.energy_mwh_per_th_day[op.live]
    cls = t.size_class[s.owner[:n]]
    cost = np.bincount(cls, weights=mwh * s.rate_usd_per_mwh[:n], minlength=k)[:k]
    ph = np.bincount(cls, weights=op.by_site_ths, minlength=k)[:k] / 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ph > 0, cost / ph, np.nan)


def site_frame(model: MiningIndustry) -> pd.DataFrame:
    """Sites today that are not closed: the recorder's site snapshot, plus the owner's
    ``name``, ``kind`` (as text) and ``independent`` (not owned by another firm), and
    ``hosted`` (on another firm's or an outside facility)."""
    df = pd.DataFrame(model.recorder.site_snapshot(model.day))
    t = model.firms
    return owner_columns(df, np.asarray(t.name, dtype=object), t.kind, t.ultimate_owner)


def owner_columns(
    sites: pd.DataFrame, names: np.ndarray, kind: np.ndarray, ultimate_owner: np.ndarray
) -> pd.DataFrame:
    """Add the owner's name, kind and independence and whether the site is hosted to a site
    frame (columns ``owner_id``, ``host_id``, ``site_id``); shared with the reports."""
    owner = sites["owner_id"].to_numpy()
    sites = sites.copy()
    sites["name"] = [f"{n} (site {i})" for n, i in zip(names[owner], sites["site_id"], strict=True)]
    sites["kind"] = np.asarray(KINDS, dtype=object)[kind[owner]]
    sites["independent"] = ultimate_owner[owner] == owner
    sites["hosted"] = sites["host_id"].to_numpy() != owner
    return sites


def display_rows(ts: pd.DataFrame, max_points: int = 1000) -> np.ndarray:
    """Rows of a daily frame to draw: every k-th day so that at most about `max_points` remain,
    plus the last day and every day on which the subsidy changed (halvings stay exact)."""
    n = len(ts)
    k = max(1, -(-n // max_points))
    idx = np.arange(n)
    keep = (idx % k == 0) | (idx == n - 1)
    if "subsidy_btc" in ts and n:
        keep |= np.r_[False, np.diff(ts["subsidy_btc"].to_numpy(dtype=float)) != 0]
    return np.flatnonzero(keep)


# ---------------------------------------------------------------------------------------------
# figure assembly
def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict update (b wins), returning a new dict."""
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _figure(
    traces: list[dict[str, Any]],
    title: str,
    x_title: str,
    y_title: str,
    *,
    hovermode: str | bool = "x unified",
    **layout: Any,
) -> go.Figure:
    # the legend sits in the top margin, under the title: one row per ~450 px of entries
    legend_px = sum(
        45 + 6.5 * len(str(t.get("name", ""))) for t in traces if t.get("showlegend", True)
    )
    rows = max(1, -(-int(legend_px) // 450))
    base = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "y": 0.975, "font": {"size": 15}},
        "template": TEMPLATE,
        "height": CHART_HEIGHT,
        "autosize": True,
        "margin": {"l": 10, "r": 15, "t": 44 + 20 * rows, "b": 10},
        "legend": {
            "orientation": "h",
            "x": 0.0,
            "xanchor": "left",
            "y": 1.0,
            "yanchor": "bottom",
            "font": {"size": 11},
        },
        "hovermode": hovermode,
        "uirevision": "keep",  # keep the user's zoom while the run advances
        "xaxis": {"title": {"text": x_title, "standoff": 4}},
        "yaxis": {"title": {"text": y_title, "standoff": 4}},
    }
    if not any(len(t.get("x", ())) for t in traces) and not layout.get("annotations"):
        layout = _merge(layout, _empty_note(EMPTY_TEXT))
        if "yaxis2" in layout:
            layout = _merge(layout, {"yaxis2": _empty_note("")["yaxis"]})
    return go.Figure({"data": traces, "layout": _merge(base, layout)})


def _x(x: Any) -> np.ndarray:
    """Plain array; dates as days (sent to the browser as 'YYYY-MM-DD', not full timestamps)."""
    a = np.asarray(x)
    return a.astype("datetime64[D]") if np.issubdtype(a.dtype, np.datetime64) else a


def _line(x: Any, y: Any, name: str, colour: str, **line: Any) -> dict[str, Any]:
    return {
        "type": "scatter",
        "x": _x(x),
        "y": np.asarray(y, dtype=float),
        "name": name,
        "mode": "lines",
        "line": {"color": colour, **line},
    }


def _right_axis(title: str) -> dict[str, Any]:
    return {
        "title": {"text": title, "standoff": 4},
        "overlaying": "y",
        "side": "right",
        "showgrid": False,
        "rangemode": "tozero",
        "tickmode": "auto",
        **{k: v for k, v in _AXIS.items() if k != "gridcolor"},
    }


def _empty_note(text: str) -> dict[str, Any]:
    return {
        "annotations": [
            {
                "text": text,
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
                "font": {"size": 13},
            }
        ],
        "xaxis": {"showticklabels": False, "showgrid": False, "zeroline": False, "ticks": ""},
        "yaxis": {"showticklabels": False, "showgrid": False, "zeroline": False, "ticks": ""},
    }


# ---------------------------------------------------------------------------------------------
# time-series charts
def price_figure(ts: pd.DataFrame) -> go.Figure:
    """BTC price and the USD value of the block rewards (security budget, 7-day mean)."""
    budget = ts["security_budget_usd"].rolling(7, min_periods=1).mean() / 1e6
    traces = [
        _line(ts["date"], ts["btc_price_usd"], "BTC price", "#f2a900", width=2),
        {
            **_line(ts["date"], budget, "security budget (right)", "#4c78a8", width=1.5),
            "yaxis": "y2",
        },
    ]
    return _figure(
        traces,
        "BTC price and security budget",
        "date",
        "BTC price [USD]",
        yaxis={"rangemode": "tozero"},
        yaxis2=_right_axis("security budget, 7-day mean [USD M/day]"),
        **halving_marks(ts),
    )


def hashrate_figure(ts: pd.DataFrame) -> go.Figure:
    """Running, installed and difficulty-implied network hashrate, halvings marked."""
    implied = chain.implied_hashrate_ehs(ts["difficulty"].to_numpy(dtype=float))
    traces = [
        _line(ts["date"], ts["installed_hashrate_ehs"], "installed", "#bab0ac", width=2),
        _line(ts["date"], ts["network_hashrate_ehs"], "running", "#4c78a8", width=2),
        _line(ts["date"], implied, "implied by difficulty", "#e45756", width=1.5, dash="dot"),
    ]
    return _figure(traces, "Network hashrate", "date", "hashrate [EH/s]", **halving_marks(ts))


def hashprice_figure(ts: pd.DataFrame, breakeven: pd.DataFrame | None = None) -> go.Figure:
    """Hashprice against the energy cost per PH-day of each size class's running fleet.

    Args:
        ts: daily frame (``date``, ``hashprice_usd_per_ph_day``, ``subsidy_btc``).
        breakeven: frame with ``date`` and one column per class of :data:`BREAKEVEN_CLASSES`
            [USD/PH/day] (see :func:`breakeven_by_class`), or None.
    """
    traces = [_line(ts["date"], ts["hashprice_usd_per_ph_day"], "hashprice", "#222", width=2)]
    if breakeven is not None and not breakeven.empty:
        for cls in BREAKEVEN_CLASSES:
            if cls in breakeven and breakeven[cls].notna().any():
                traces.append(
                    _line(
                        breakeven["date"],
                        breakeven[cls],
                        cls,
                        CLASS_COLOURS[cls],
                        width=1.5,
                        dash="dash",
                    )
                )
    return _figure(
        traces,
        "Hashprice vs energy breakeven (dashed) by size class",
        "date",
        "hashprice, energy cost [USD/PH/day]",
        yaxis={"rangemode": "tozero"},
        **halving_marks(ts),
    )


def share_figure(ts: pd.DataFrame) -> go.Figure:
    """Hashrate share by initial size class (plus sovereigns, later entrants and the rest of
    the world's miners), stacked."""
    parts = ("small", "medium", "large", "sovereign", "entrants", "world")
    x = _x(ts["date"])
    traces = [
        {
            "type": "scatter",
            "x": x,
            "y": ts[f"share_{name}"].to_numpy(dtype=float) * 100,
            "name": name,
            "mode": "lines",
            "stackgroup": "share",
            "line": {"width": 0.5, "color": CLASS_COLOURS[name]},
            "hovertemplate": "%{y:.1f}%",
        }
        for name in parts
        if f"share_{name}" in ts
    ]
    return _figure(
        traces,
        "Hashrate share by initial size class",
        "date",
        "share of hashrate [%]",
        yaxis={"range": [0, 100]},
        **halving_marks(ts),
    )


def concentration_figure(ts: pd.DataFrame) -> go.Figure:
    """HHI (left axis) and Nakamoto coefficient (right axis), by firm and by ultimate owner."""
    d = ts["date"]
    traces = [
        _line(d, ts["hhi_owner"], "HHI, owners", "#4c78a8", width=2),
        _line(d, ts["hhi_firm"], "HHI, firms", "#4c78a8", width=1, dash="dot"),
        {
            **_line(d, ts["nakamoto_owner"], "Nakamoto, owners (right axis)", "#e45756", width=2),
            "yaxis": "y2",
            "line_shape": "hv",
        },
        {
            **_line(d, ts["nakamoto_firm"], "Nakamoto, firms (right axis)", "#e45756", width=1),
            "yaxis": "y2",
            "line_shape": "hv",
            "line_dash": "dot",
        },
    ]
    return _figure(
        traces,
        "Concentration: HHI and Nakamoto coefficient",
        "date",
        "HHI [0-10,000]",
        yaxis={"rangemode": "tozero"},
        yaxis2=_right_axis("Nakamoto coefficient [entities]"),
        **halving_marks(ts),
    )


POOL_COLOURS = (
    "#4c78a8",
    "#e45756",
    "#f58518",
    "#54a24b",
    "#b279a2",
    "#ff9da6",
    "#72b7b2",
    "#9d755d",
    "#bab0ac",
    "#eeca3b",
)


def pools_figure(ts: pd.DataFrame, shares: pd.DataFrame) -> go.Figure:
    """Who builds the blocks: each pool's share of network hashrate, stacked (left axis), and
    the Nakamoto coefficients by firm, owner and pool (right axis). `shares` holds a date
    column and one column per pool (abm.pools.Pools.share_frame); with pools off (no pool
    columns) the chart says so."""
    if "nakamoto_pool" not in ts or shares.shape[1] <= 1:
        return _figure(
            [],
            "Who builds the blocks",
            "date",
            "share of hashrate [%]",
            **_empty_note("pools are off (pools.enabled = false)"),
        )
    d = ts["date"]
    at = shares.set_index("date").reindex(pd.DatetimeIndex(d)).fillna(0.0)
    traces = [
        {
            **_line(d, at[name] * 100, name, POOL_COLOURS[i % len(POOL_COLOURS)], width=0.5),
            "stackgroup": "pools",
        }
        for i, name in enumerate(at.columns)
    ]
    for col, name, dash in (
        ("nakamoto_pool", "Nakamoto, pools (right axis)", "solid"),
        ("nakamoto_owner", "Nakamoto, owners (right axis)", "dash"),
        ("nakamoto_firm", "Nakamoto, firms (right axis)", "dot"),
    ):
        traces.append(
            {
                **_line(d, ts[col], name, "#222222", width=2, dash=dash),
                "yaxis": "y2",
                "line_shape": "hv",
            }
        )
    return _figure(
        traces,
        "Who builds the blocks: pool shares and Nakamoto coefficients",
        "date",
        "share of hashrate [%]",
        yaxis={"range": [0, 100]},
        yaxis2=_right_axis("Nakamoto coefficient [entities]"),
        **halving_marks(ts),
    )


def survival_figure(ts: pd.DataFrame) -> go.Figure:
    """Share of each initial size class still operating independently."""
    traces = [
        _line(ts["date"], ts[f"surviving_{c}"] * 100, c, CLASS_COLOURS[c], width=2)
        for c in ("small", "medium", "large")
    ]
    return _figure(
        traces,
        "Surviving firms by initial size class",
        "date",
        "still independent [% of initial]",
        yaxis={"range": [0, 103]},
        **halving_marks(ts),
    )


def events_figure(ts: pd.DataFrame) -> go.Figure:
    """Cumulative exits, defaults, acquisitions, site purchases and entries."""
    series = [
        ("exits (all causes)", "exits_cum", "#222"),
        ("defaults", "defaults_cum", "#e45756"),
        ("acquisitions", "acquisitions_cum", "#4c78a8"),
        ("site purchases", "site_purchases_cum", "#72b7b2"),
        ("entries", "entries_cum", "#54a24b"),
    ]
    traces = [
        _line(ts["date"], ts[col], name, colour, width=2, shape="hv")
        for name, col, colour in series
    ]
    top = max((float(np.nanmax(ts[c])) for _, c, _ in series if len(ts)), default=0.0)
    return _figure(
        traces,
        "Exits, defaults, acquisitions, site purchases and entries",
        "date",
        "firms, cumulative [count]",
        yaxis={"rangemode": "tozero", **({"dtick": 1} if top < 8 else {})},
        **halving_marks(ts),
    )


# ---------------------------------------------------------------------------------------------
# firm-level charts
def site_scatter_figure(sites: pd.DataFrame, title_date: str | None = None) -> go.Figure:
    """Sites by the price their owner pays per MWh (power price, or hosting rate) and installed
    fleet efficiency; marker area ~ installed hashrate, colour = the owner's kind, open markers =
    hosted sites (colocation).

    Args:
        sites: :func:`site_frame` (columns ``rate_usd_per_mwh``, ``fleet_efficiency_j_per_th``,
            ``installed_hashrate_ehs``, ``hashrate_ehs``, ``kind``, ``hosted``, ``name``).
        title_date: date shown in the title.
    """
    df = sites[sites["fleet_efficiency_j_per_th"].notna()]
    hr = df["installed_hashrate_ehs"].to_numpy(dtype=float)
    max_hr = float(hr.max()) if hr.size and hr.max() > 0 else 1.0
    traces = []
    for kind in KINDS:
        for hosted in (False, True):
            sel = df[(df["kind"] == kind) & (df["hosted"] == hosted)]
            if sel.empty:
                continue
            installed = sel["installed_hashrate_ehs"].to_numpy(dtype=float)
            running = sel["hashrate_ehs"].to_numpy(dtype=float)
            traces.append(
                {
                    "type": "scatter",
                    "x": sel["rate_usd_per_mwh"].to_numpy(dtype=float),
                    "y": sel["fleet_efficiency_j_per_th"].to_numpy(dtype=float),
                    "mode": "markers",
                    "name": f"{kind}, hosted" if hosted else kind,
                    "marker": {
                        "size": 4 + 36 * np.sqrt(installed / max_hr),
                        "color": KIND_COLOURS[kind],
                        "symbol": "circle-open" if hosted else "circle",
                        "opacity": 0.7,
                        "line": {"width": 1.5 if hosted else 0.5, "color": "#333"},
                    },
                    "text": sel["name"].to_numpy(dtype=object),
                    "customdata": np.column_stack([installed, running]),
                    "hovertemplate": (
                        "%{text}<br>%{x:.1f} USD/MWh, %{y:.1f} J/TH<br>"
                        "%{customdata[0]:.2f} EH/s installed, %{customdata[1]:.2f} running"
                        "<extra></extra>"
                    ),
                }
            )
    when = f" on {title_date}" if title_date else ""
    extra = _empty_note("No sites with rigs") if df.empty else {}
    return _figure(
        traces,
        f"Sites{when}: price paid per MWh vs fleet efficiency (size = hashrate)",
        "power price or hosting rate [USD/MWh]",
        "installed fleet efficiency [J/TH]",
        hovermode="closest",
        legend={"itemsizing": "constant"},
        **extra,
    )


def acquirers_figure(edges: pd.DataFrame, names: Sequence[str], top: int = 12) -> go.Figure:
    """Top acquirers by the value of what they bought, stacked by kind: firms (acquisition),
    single sites (site_purchase), defaulted firms' estates (auction) and exiting firms' assets
    (exit_sale).

    Args:
        edges: :meth:`abm.ownership.Ownership.edges_frame` (acquirer, target, day, price_usd,
            kind).
        names: firm names indexed by firm id.
        top: number of acquirers shown.
    """
    if edges.empty:
        return _figure(
            [],
            "Acquirers: value bought",
            "paid [USD M]",
            "",
            hovermode="closest",
            **_empty_note("No acquisitions or auctions yet"),
        )
    total = edges.groupby("acquirer")["price_usd"].sum().sort_values(ascending=False)
    leaders = list(total.index[:top][::-1])  # largest at the top of a horizontal bar chart
    labels = [_short(names[int(a)]) for a in leaders]
    kinds = [k for k in EDGE_COLOURS if (edges["kind"] == k).any()]
    kinds += sorted(set(edges["kind"]) - set(kinds))
    traces = []
    for kind in kinds:
        sub = edges[edges["kind"] == kind].groupby("acquirer")["price_usd"].agg(["sum", "count"])
        sub = sub.reindex(leaders, fill_value=0)
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": labels,
                "x": sub["sum"].to_numpy(dtype=float) / 1e6,
                "name": kind,
                "marker": {"color": EDGE_COLOURS.get(kind, "#bab0ac")},
                "customdata": sub["count"].to_numpy(),
                "hovertemplate": f"{kind}: %{{customdata}} deals, %{{x:.1f}} USD M<extra></extra>",
            }
        )
    n = edges["kind"].value_counts()
    n_acq, n_sites = int(n.get("acquisition", 0)), int(n.get("site_purchase", 0))
    n_lots = int(n.get("auction", 0)) + int(n.get("exit_sale", 0))
    return _figure(
        traces,
        f"Top acquirers: value bought ({n_acq} firms, {n_sites} sites, {n_lots} estates)",
        "paid [USD M]",
        "",
        hovermode="closest",
        barmode="stack",
        yaxis={"tickfont": {"size": 10}},
    )


def _short(name: str, n: int = 22) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


# ---------------------------------------------------------------------------------------------
# AI/HPC hosting and the ownership network
def ai_figure(ts: pd.DataFrame) -> go.Figure:
    """MW under AI/HPC contracts (building and operating) and AI's share of industry revenue
    (30-day mean, right axis)."""
    d = ts["date"]
    share = ts["ai_revenue_share"].rolling(30, min_periods=1).mean() * 100
    traces = [
        _line(d, ts["ai_mw_contracted"], "MW contracted", "#72b7b2", width=2),
        _line(d, ts["ai_mw_operating"], "MW operating", "#4c78a8", width=2, dash="dot"),
        {**_line(d, share, "AI share of revenue (right)", "#e45756", width=1.5), "yaxis": "y2"},
    ]
    return _figure(
        traces,
        "AI/HPC hosting: capacity under contract and share of revenue",
        "date",
        "capacity [MW]",
        yaxis={"rangemode": "tozero"},
        yaxis2=_right_axis("AI share of revenue [%]"),
        **halving_marks(ts),
    )


NETWORK_MAX_EDGES = 150  # the most recent deals drawn in the ownership network


def ownership_network_figure(
    graph: Any, names: Sequence[str], hashrate_ehs: np.ndarray, active: np.ndarray
) -> go.Figure:
    """The acquisition graph (networkx): firms that bought or were bought, an edge from buyer to
    what it bought (colour = kind of deal) with a marker at its middle naming the sites and MW
    that changed control, node area ~ installed hashrate, open nodes = exited.

    Args:
        graph: :attr:`abm.ownership.Ownership.graph` (edges carry ``kind``, ``day``,
            ``price_usd``, ``sites`` and ``mw``).
        names: firm names by firm id; hashrate_ehs, active: per firm id.
    """
    import networkx as nx

    edges = sorted(graph.edges(data=True), key=lambda e: e[2].get("day", 0))[-NETWORK_MAX_EDGES:]
    if not edges:
        return _figure(
            [],
            "Ownership network (acquisitions and auctions)",
            "",
            "",
            hovermode="closest",
            **_empty_note("No acquisitions or auctions yet"),
        )
    sub = nx.DiGraph()
    sub.add_edges_from((a, b, d) for a, b, d in edges)
    pos = _group_layout(sub)
    traces = []
    for kind, colour in EDGE_COLOURS.items():
        xs: list[float | None] = []
        ys: list[float | None] = []
        for a, b, d in edges:
            if d.get("kind") == kind:
                xs += [pos[a][0], pos[b][0], None]
                ys += [pos[a][1], pos[b][1], None]
        if xs:
            traces.append(
                {
                    "type": "scatter",
                    "x": xs,
                    "y": ys,
                    "mode": "lines",
                    "name": kind,
                    "line": {"color": colour, "width": 1.2},
                    "hoverinfo": "skip",
                }
            )
    # each deal's midpoint: the sites and MW that changed control, the price and the day
    mids = [(a, b, d) for a, b, d in edges]
    traces.append(
        {
            "type": "scatter",
            "x": [(pos[a][0] + pos[b][0]) / 2 for a, b, _ in mids],
            "y": [(pos[a][1] + pos[b][1]) / 2 for a, b, _ in mids],
            "mode": "markers",
            "name": "site transfers",
            "showlegend": False,
            "marker": {
                "size": 5,
                "symbol": "diamond",
                "color": [EDGE_COLOURS.get(d.get("kind"), "#999") for _, _, d in mids],
            },
            "text": [
                f"{names[a]} → {names[b]} ({d.get('kind')}, day {d.get('day')})" for a, b, d in mids
            ],
            "customdata": np.array(
                [
                    [d.get("sites", 0), d.get("mw", 0.0), d.get("price_usd", 0.0) / 1e6]
                    for *_, d in mids
                ]
            ),
            "hovertemplate": (
                "%{text}<br>%{customdata[0]:.0f} sites, %{customdata[1]:,.0f} MW, "
                "%{customdata[2]:,.1f} M USD<extra></extra>"
            ),
        }
    )
    nodes = list(sub.nodes)
    hr = np.asarray(hashrate_ehs, dtype=float)[nodes]
    big = float(hr.max()) if hr.size and hr.max() > 0 else 1.0
    alive = np.asarray(active, dtype=bool)[nodes]
    buys = np.array([sub.out_degree(n) for n in nodes])
    traces.append(
        {
            "type": "scatter",
            "x": [pos[n][0] for n in nodes],
            "y": [pos[n][1] for n in nodes],
            "mode": "markers",
            "name": "firm (open: exited)",
            "marker": {
                "size": 6 + 30 * np.sqrt(hr / big),
                "color": np.where(alive, "#4c78a8", "#ffffff"),
                "line": {"color": "#333", "width": 1},
            },
            "text": [names[n] for n in nodes],
            "customdata": np.column_stack([hr, buys]),
            "hovertemplate": (
                "%{text}<br>%{customdata[0]:.2f} EH/s installed, %{customdata[1]} purchases"
                "<extra></extra>"
            ),
        }
    )
    hidden = {"showticklabels": False, "showgrid": False, "zeroline": False, "ticks": ""}
    return _figure(
        traces,
        f"Ownership network: last {len(edges)} deals (buyer → bought)",
        "",
        "",
        hovermode="closest",
        xaxis=hidden,
        yaxis=hidden,
    )


def _group_layout(g: Any) -> dict[int, tuple[float, float]]:
    """Positions for a forest of deals: each group (connected component: a buyer and what it
    bought) as a star in its own cell of a grid, the largest groups first."""
    import networkx as nx

    groups = sorted(nx.weakly_connected_components(g), key=len, reverse=True)
    cols = max(1, math.ceil(math.sqrt(len(groups) * 1.6)))
    pos: dict[int, tuple[float, float]] = {}
    for i, nodes in enumerate(groups):
        cx, cy = i % cols, -(i // cols)
        hub = max(nodes, key=lambda n: g.degree(n))
        others = [n for n in nodes if n != hub]
        pos[hub] = (cx, cy)
        for j, n in enumerate(others):
            angle = 2 * math.pi * j / len(others)
            pos[n] = (cx + 0.38 * math.cos(angle), cy + 0.38 * math.sin(angle))
    return pos
