"""Interactive page: Mesa's SolaraViz on the mining model, with Plotly charts.

Start it with ``abm viz [SCENARIO.toml]`` (see :mod:`abm.viz.cli`), or directly with
``ABM_VIZ_SCENARIO=path.toml solara run abm.viz.app``. The scenario file (default: the
calibrated baseline) is the starting point; the sliders override the parameters listed in
:data:`CONTROLS` and Mesa's Reset button rebuilds the model with their current values.
"""

from __future__ import annotations

import html
import inspect
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from abm.model import MiningIndustry
from abm.scenario import Scenario, load_scenario
from abm.viz import SCENARIO_ENV, charts

__all__ = [
    "CHARTS",
    "CHART_COMPONENTS",
    "CONTROLS",
    "SCENARIO_ENV",
    "Control",
    "Page",
    "PlotlyChart",
    "VizModel",
    "min_firms",
    "model_params",
]

RENDER_INTERVAL = 7  # days simulated per chart update, initially (Mesa's slider changes it)
PLAY_INTERVAL_MS = 1  # pause between updates when playing
MAX_POINTS = 1000  # days drawn per series at most (longer runs are drawn every k-th day)


@dataclass(frozen=True)
class Control:
    """A slider that overrides one scenario parameter (``path``, dotted)."""

    path: str
    label: str
    min: float
    max: float
    step: float
    integer: bool = False

    def value(self, sc: Scenario) -> float | int:
        """The parameter's value in `sc`."""
        node: Any = sc
        for key in self.path.split("."):
            node = getattr(node, key)
        return int(node) if self.integer else float(node)


# The one table of controls: keyword of VizModel -> scenario parameter and slider.
CONTROLS: dict[str, Control] = {
    "btc_drift": Control("price.drift_per_year", "BTC price drift [1/yr]", -0.5, 1.0, 0.05),
    "btc_volatility": Control(
        "price.volatility_per_year", "BTC price volatility [1/√yr]", 0.0, 1.5, 0.05
    ),
    "energy_spread": Control(
        "energy.dispersion_log", "Energy price spread (sd of log price)", 0.0, 1.0, 0.05
    ),
    "n_firms": Control("firms.n_firms", "Number of firms", 20, 2000, 10, integer=True),
    "hurdle_private": Control(
        "firms.hurdle_rate_private", "Hurdle rate, private firms [1/yr]", 0.04, 0.5, 0.01
    ),
    "reinvest_fraction": Control(
        "behaviour.reinvest_fraction", "Share of spare cash reinvested", 0.0, 1.0, 0.05
    ),
    "debt_rate_private": Control(
        "finance.rate_private", "Cost of debt, private firms [1/yr]", 0.0, 0.4, 0.01
    ),
    "ltv_private": Control(
        "finance.ltv_limit_private", "Loan-to-value limit, private firms", 0.0, 1.0, 0.05
    ),
    "ai_demand_growth": Control(
        "ai.demand_growth_per_year", "AI demand growth [1/yr]", -0.5, 2.0, 0.05
    ),
    "sovereign_scale": Control(
        "sovereign_scale", "Sovereign capacity (x default paths)", 0.0, 10.0, 0.25
    ),
    "pools": Control("pools.enabled", "Mining pools (1 on, 0 off)", 0, 1, 1, integer=True),
}
SEED_MAX = 999


class VizModel(MiningIndustry):
    """MiningIndustry built from flat keyword controls, as SolaraViz passes them.

    Keywords: ``base`` (starting Scenario, default baseline), ``seed`` and one keyword per entry
    of :data:`CONTROLS` (None keeps the base scenario's value). Also records, each day, the
    energy breakeven of every size class for :func:`abm.viz.charts.hashprice_figure`.
    """

    def __init__(self, **kwargs: Any) -> None:
        unknown = set(kwargs) - {"base", "seed", *CONTROLS}
        if unknown:
            raise TypeError(f"VizModel got unknown keyword(s): {sorted(unknown)}")
        base: Scenario = kwargs.get("base") or Scenario()
        overrides = {}
        for key, ctl in CONTROLS.items():
            value = kwargs.get(key)
            if value is not None:
                overrides[ctl.path] = int(value) if ctl.integer else round(float(value), 6)
        sc = base.with_overrides(overrides) if overrides else base
        seed = kwargs.get("seed")
        super().__init__(sc, seed=None if seed is None else int(seed))
        self._breakeven = np.full((self.n_days, len(charts.BREAKEVEN_CLASSES)), np.nan)
        self._frames: tuple[int, pd.DataFrame, pd.DataFrame] | None = None

    def step(self) -> None:
        day = self.day
        super().step()
        if self.day > day:
            self._breakeven[day] = charts.breakeven_by_class(self)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(daily timeseries, daily breakeven by class) up to today as drawn (thinned to at
        most ~:data:`MAX_POINTS` days, see :func:`abm.viz.charts.display_rows`), cached per
        step."""
        if self._frames is None or self._frames[0] != self.day:
            ts = self.recorder.timeseries()
            be = pd.DataFrame(self._breakeven[: self.day], columns=list(charts.BREAKEVEN_CLASSES))
            be.insert(0, "date", ts["date"])
            rows = charts.display_rows(ts, MAX_POINTS)
            self._frames = (self.day, ts.iloc[rows], be.iloc[rows])
        return self._frames[1], self._frames[2]


def _signature() -> inspect.Signature:
    """VizModel's keyword-only signature, built from CONTROLS (Mesa inspects it)."""
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("base", kw, default=None, annotation="Scenario | None"),
        inspect.Parameter("seed", kw, default=None, annotation="int | None"),
    ]
    for key, ctl in CONTROLS.items():
        ann = "int | None" if ctl.integer else "float | None"
        params.append(inspect.Parameter(key, kw, default=None, annotation=ann))
    return inspect.Signature(params, return_annotation=None)


VizModel.__init__.__signature__ = _signature()  # type: ignore[attr-defined]


def model_params(base: Scenario) -> dict[str, Any]:
    """SolaraViz ``model_params``: the base scenario (fixed), the seed and one slider per
    control, each starting at the base scenario's value."""
    params: dict[str, Any] = {
        "base": base,
        "seed": {
            "type": "SliderInt",
            "label": "Seed",
            "value": base.run.seed,
            "min": 0,
            "max": max(SEED_MAX, base.run.seed),
            "step": 1,
        },
    }
    for key, ctl in CONTROLS.items():
        value = ctl.value(base)
        params[key] = {
            "type": "SliderInt" if ctl.integer else "SliderFloat",
            "label": ctl.label,
            "value": value,
            "min": min(ctl.min, value),
            "max": max(ctl.max, value),
            "step": ctl.step,
        }
    if base.firms.population == "calibrated":
        slider = params["n_firms"]
        slider["min"] = min(max(slider["min"], min_firms(base)), slider["value"])
    return params


def min_firms(sc: Scenario) -> int:
    """Fewest firms a calibrated population can have: more than the large firms, and enough
    private firms of at most ``tail_max_ehs`` to hold the private share of hashrate (rounded
    up to the slider's step)."""
    f = sc.firms
    private = math.ceil((1.0 - f.large_share) * f.initial_hashrate_ehs / f.tail_max_ehs)
    step = int(CONTROLS["n_firms"].step)
    return math.ceil((f.n_large + max(private, 1)) / step) * step


# ---------------------------------------------------------------------------------------------
# charts: name -> builder (model -> figure)
def _frames(model: MiningIndustry) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if isinstance(model, VizModel):
        return model.frames()
    return model.recorder.timeseries(), None


CHARTS: dict[str, Callable[[MiningIndustry], go.Figure]] = {
    "price": lambda m: charts.price_figure(_frames(m)[0]),
    "hashrate": lambda m: charts.hashrate_figure(_frames(m)[0]),
    "hashprice": lambda m: charts.hashprice_figure(*_frames(m)),
    "share": lambda m: charts.share_figure(_frames(m)[0]),
    "concentration": lambda m: charts.concentration_figure(_frames(m)[0]),
    "pools": lambda m: charts.pools_figure(_frames(m)[0], m.pools.share_frame()),
    "survival": lambda m: charts.survival_figure(_frames(m)[0]),
    "sites": lambda m: charts.site_scatter_figure(charts.site_frame(m), m.date.isoformat()),
    "acquirers": lambda m: charts.acquirers_figure(m.ownership.edges_frame(), m.firms.name),
    "network": lambda m: charts.ownership_network_figure(
        m.ownership.graph, m.firms.name, m.firm_installed_ths() / 1e6, m.firms.active
    ),
    "ai": lambda m: charts.ai_figure(_frames(m)[0]),
    "events": lambda m: charts.events_figure(_frames(m)[0]),
}


PLOTLY_JS = Path(go.__file__).resolve().parents[1] / "package_data" / "plotly.min.js"


@solara.component_vue("plotly_chart.vue")
def PlotlyChart(figure_json: str, height: int, script: str) -> None:
    """A Plotly figure drawn in the browser with ``Plotly.react``: one JSON message and one
    redraw per update, and it follows its container's width. (``solara.FigurePlotly`` sends
    three messages and redraws three times per update, and keeps its first width.)

    ``figure_json`` is ``{"revision": int, "figure": <plotly JSON>}``; the browser marks the
    chart's element with the revision it drew (``data-revision``)."""


def _serve_plotly_js() -> None:
    """Let the Solara server serve the plotly.js bundled with the plotly package (offline)."""
    from solara.server import settings

    folder = str(PLOTLY_JS.parent)
    if folder not in settings.assets.extra_locations:
        settings.assets.extra_locations.append(folder)


_serve_plotly_js()


def _chart_component(key: str, build: Callable[[MiningIndustry], go.Figure]) -> Any:
    """A Solara component drawing one chart; rebuilt when the model steps or is replaced."""

    @solara.component
    def Chart(model: MiningIndustry) -> None:
        update_counter.get()  # Mesa bumps this after every step
        figure_json = solara.use_memo(
            lambda: f'{{"revision": {model.steps}, "figure": {build(model).to_json()}}}',
            [model, model.steps],
        )
        with solara.Div(classes=[f"abm-chart-{key}"], style={"width": "100%"}):
            PlotlyChart(figure_json=figure_json, height=charts.CHART_HEIGHT, script=PLOTLY_JS.name)

    Chart.__name__ = f"Chart_{key}"
    return Chart


CHART_COMPONENTS = [(_chart_component(k, b), 0) for k, b in CHARTS.items()]

# Mesa's sliders show their value only while dragged: print it under the thumb.
SLIDER_CSS = """
.v-slider__thumb-container::after {
    content: attr(aria-valuenow);
    position: absolute; top: 9px; left: 50%; transform: translateX(-50%);
    font-size: 11px; line-height: 1; color: #444; white-space: nowrap;
}
.v-input__slider { margin-bottom: 4px; }
"""


@solara.component
def Summary(model: MiningIndustry) -> None:
    """State of the run in the sidebar (day, firms, price, hashrate, concentration)."""
    update_counter.get()
    sc = model.params
    last = model.day - 1
    daily = model.recorder.daily
    lines = [
        f"Scenario: <b>{html.escape(sc.name)}</b>, seed {model.seed}",
        f"Day <b>{model.day}</b> of {model.n_days} ({model.date.isoformat()})",
        f"Firms on day one: <b>{sc.firms.n_firms}</b>; active now: "
        f"<b>{int(model.firms.active.sum())}</b>",
        f"Sites with rigs: <b>{int(model.sites.fleet_ths.any(axis=1).sum())}</b>",
        "Sites changing hands: "
        + ", ".join(
            f"{c['deals']} {kind.replace('_', ' ')}{'s' if c['deals'] != 1 else ''} "
            f"({c['sites']} sites)"
            for kind, c in model.ownership.counts_by_kind().items()
        ),
    ]
    if last >= 0:
        lines += [
            f"BTC price: {daily['btc_price_usd'][last]:,.0f} USD",
            f"Hashrate: {daily['network_hashrate_ehs'][last]:,.0f} EH/s",
            f"Hashprice: {daily['hashprice_usd_per_ph_day'][last]:,.1f} USD/PH/day",
            f"HHI (owners): {daily['hhi_owner'][last]:,.0f}; "
            f"Nakamoto: {daily['nakamoto_owner'][last]:.0f}",
        ]
        pools = model.pools.daily_columns(model.day)  # none when pools are off
        if pools:
            lines.append(
                f"HHI (pools): {pools['hhi_pool'][last]:,.0f}; "
                f"Nakamoto: {pools['nakamoto_pool'][last]:.0f}"
            )
    with solara.Card("Run", classes=["abm-summary"]):
        solara.HTML(tag="div", unsafe_innerHTML="<br>".join(lines))


def _base_scenario() -> Scenario:
    """The page's starting scenario: the file in $ABM_VIZ_SCENARIO, else the baseline with
    mining pools on (the page shows who builds the blocks; its slider turns them off)."""
    path = os.environ.get(SCENARIO_ENV)
    return load_scenario(path) if path else Scenario().with_overrides({"pools.enabled": True})


@solara.component
def Page() -> None:
    """The page: one model per browser session, Mesa's controls, the charts and a summary."""
    base = solara.use_memo(_base_scenario, [])
    model = solara.use_reactive(solara.use_memo(lambda: VizModel(base=base), []))
    solara.Style(SLIDER_CSS)
    SolaraViz(
        model,
        components=CHART_COMPONENTS,
        model_params=model_params(base),
        name=f"Bitcoin mining industry: {base.name}",
        play_interval=PLAY_INTERVAL_MS,
        render_interval=RENDER_INTERVAL,
    )
    with solara.Sidebar():
        Summary(model.value)
