"""Build the report of a results folder (run, paired comparison or sweep).

Report folder (default ``RESULTS_DIR/report``; by the rule of :mod:`abm.outputs`: a new or
empty folder or an earlier report, written to a staging folder and renamed into place, so a
failure leaves no half-written report and the earlier report intact)::

    report.md                 provenance, every figure and table, notes
    manifest.json             kind "report", the results folder, versions
    index.html                every figure on one interactive page (plotly.js included once)
    figures/NAME.html         one interactive figure per file (sharing figures/plotly.min.js)
    figures/NAME.png|svg|pdf  static figures (Kaleido; --formats)
    tables/NAME.csv|md|tex    every table as CSV (full precision), Markdown and LaTeX
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from abm.jsonio import write_json
from abm.outputs import check, replacing
from abm.report import figures as rf
from abm.report.export import FORMATS, export_static
from abm.report.halvings import halving_days
from abm.report.inputs import ReportError, Source, detect
from abm.report.stats import clip_band
from abm.report.style import STATIC_HEIGHT
from abm.report.tables import (
    SUMMARY_ROWS,
    Table,
    format_number,
    metric_label,
    parameter_label,
    value_bounds,
)
from abm.runner import git_commit, manifest
from abm.stats import for_metric, halted, t_summary
from abm.viz import charts

__all__ = ["FigureItem", "Report", "assemble", "build", "check_out", "make_report", "write_report"]

MAX_SERIES_POINTS = 10  # sweeps: series bands are drawn for at most this many design points
MAX_INLINE_ROWS = 40  # report.md shows tables up to this many rows (longer: linked only)
RAW = ("ci_low_raw", "ci_high_raw")  # unclipped t interval: CSV columns of the interval tables
CLIP_NOTE = (
    "Intervals and bands of quantities that cannot be negative (hashrate, prices, counts, HHI, "
    "shares, survival, ...) are clipped at 0, and those of shares and survival at 1, in the "
    "figures and in the columns 95% CI low/high of the tables; the figure or table says so where "
    'a clip happened ("band clipped at 0"). The statistics are unchanged: the unclipped t '
    "interval is in the CSV columns ci_low_raw and ci_high_raw (METRIC_ci_low_raw, "
    "METRIC_ci_high_raw by design point)."
)


@dataclass
class FigureItem:
    name: str  # file stem
    figure: go.Figure
    caption: str


@dataclass
class Report:
    """Everything a report folder holds, before it is written."""

    source: Source
    title: str
    facts: list[tuple[str, str]]
    figures: list[FigureItem] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # other text files: name -> content


# ---------------------------------------------------------------------------------------------
# provenance
def _provenance(src: Source) -> list[tuple[str, str]]:
    m = src.manifest
    return [
        ("results folder", str(src.path)),
        ("package version", f"{m.get('package', 'abm-mining')} {m.get('version', 'unknown')}"),
        ("git commit", str(m.get("git_commit", "unknown"))),
        ("created (UTC)", str(m.get("created_utc", "unknown"))),
        ("Python", str(m.get("python", "unknown"))),
        ("command", str(m.get("command", "unknown"))),
        ("wall time [s]", format_number(m.get("wall_time_s", np.nan))),
        ("report made with", f"abm-mining {_version()}, git commit {git_commit()}"),
    ]


def _version() -> str:
    try:
        return metadata.version("abm-mining")
    except metadata.PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------------------------
# one run
def build_run(src: Source) -> Report:
    """Figures and tables of one run (``abm run``)."""
    ts = src.parquet("timeseries.parquet")
    summary = src.json("summary.json")
    survival = src.parquet("survival.parquet")
    scenario = summary.get("scenario", src.manifest.get("scenario", "?"))
    seed = summary.get("seed", src.manifest.get("seed"))
    rep = Report(
        src,
        f"run of scenario `{scenario}`, seed {seed}",
        [
            ("kind", "run (abm run)"),
            ("scenario", str(scenario)),
            ("seed", str(seed)),
            ("period", f"{summary.get('start_date')} to {summary.get('end_date')}"),
            ("days", str(summary.get("days", len(ts)))),
            *_halted_fact(summary),
            *_provenance(src),
        ],
    )
    sites = src.parquet("sites.parquet") if src.file("sites.parquet").exists() else None
    if sites is not None and (sites.empty or not src.file("firm_outcomes.parquet").exists()):
        sites = None
    outcomes = src.parquet("firm_outcomes.parquet") if sites is not None else None
    breakeven = rf.panel_breakeven(sites, outcomes) if sites is not None else None
    for name, fig, caption in (
        ("price", charts.price_figure(ts), "BTC price and the USD value of block rewards."),
        ("hashrate", charts.hashrate_figure(ts), "Running, installed and implied hashrate."),
        (
            "hashprice",
            charts.hashprice_figure(ts, breakeven),
            "Hashprice (expected revenue per PH-day) and, on the panel dates, each size "
            "class's energy cost per PH-day (the price paid per MWh at each site x its installed "
            "fleet efficiency, weighted by running hashrate).",
        ),
        ("share", charts.share_figure(ts), "Hashrate share by initial size class."),
        ("concentration", charts.concentration_figure(ts), "HHI and Nakamoto coefficient."),
        ("survival", charts.survival_figure(ts), "Initial firms still operating independently."),
        ("events", charts.events_figure(ts), "Cumulative exits, defaults, acquisitions, entries."),
    ):
        rep.figures.append(FigureItem(name, fig, caption))
    if "ai_mw_contracted" in ts.columns:  # outputs written before the AI market have none
        caption = "AI/HPC hosting: MW under contract and operating; AI share of industry revenue."
        rep.figures.append(FigureItem("ai", charts.ai_figure(ts), caption))
    rep.figures.append(
        FigureItem(
            "km_survival",
            rf.km_survival_figure(survival),
            "Kaplan-Meier survival of independent operation with 95% bands (log-log Greenwood).",
        )
    )
    if sites is not None:
        date = str(pd.Timestamp(sites["date"].max()).date())
        rep.figures.append(
            FigureItem(
                "sites",
                charts.site_scatter_figure(rf.panel_site_frame(sites, outcomes), date),
                "Sites in the last panel snapshot: the price the owner pays per MWh vs fleet "
                "efficiency (size = hashrate, colour = owner's kind, open = hosted).",
            )
        )
    if src.file("acquisitions.parquet").exists() and src.file("firm_outcomes.parquet").exists():
        names = src.parquet("firm_outcomes.parquet").sort_values("firm_id")["name"].tolist()
        rep.figures.append(
            FigureItem(
                "acquirers",
                charts.acquirers_figure(src.parquet("acquisitions.parquet"), names),
                "Top acquirers by value bought (firms, sites, auctions, exit sales).",
            )
        )
    rep.tables += [_run_summary_table(summary), _survival_table(survival), _events_table(summary)]
    return rep


def _halted_fact(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The run's chain_halted flag as a fact (none for outputs written before it existed)."""
    if "chain_halted" not in summary:
        return []
    fewest = format_number(summary.get("min_blocks_90d", np.nan))
    flag = "yes" if summary["chain_halted"] else "no"
    return [("chain halted", f"{flag} (fewest blocks in 90 days: {fewest}; halted below 6,480)")]


def _halted_facts(runs: pd.DataFrame, by: str) -> list[tuple[str, str]]:
    """How many runs halted, per group of `by` (or overall for None)."""
    groups = runs.groupby(by, sort=True) if by else [("runs", runs)]
    text = "; ".join(
        f"{name}: {int(stop.sum())} of {len(g)} ({stop.mean() if len(g) else 0:.0%})"
        for name, g in groups
        for stop in [halted(g)]
    )
    return [("halted chains", text + " (left out of the concentration statistics)")]


def _halted_table(runs: pd.DataFrame, by: list[str], rep: Report) -> None:
    """The runs whose chain halted, listed (none: no table)."""
    from abm.sweeps.analysis import halted_runs

    stopped = halted_runs(runs, by)
    if stopped.empty:
        return
    rep.tables.append(
        Table(
            "halted_runs",
            f"Runs whose chain halted ({len(stopped)} of {len(runs)}): some 90-day window found "
            "fewer than half the blocks expected; they are left out of the concentration "
            "statistics",
            stopped,
            {
                "min_blocks_90d": "fewest blocks in 90 days",
                "point_id": "point",
                **{p: parameter_label(p) for p in by if "." in p},  # varied parameters
            },
        )
    )


def _run_summary_table(summary: dict[str, Any]) -> Table:
    rows = [
        {"metric": label, "unit": unit, "start": summary[f"{k}_start"], "end": summary[f"{k}_end"]}
        for k, label, unit in SUMMARY_ROWS
        if f"{k}_start" in summary
    ]
    return Table(
        "summary",
        "Headline figures on the first day and at the horizon",
        pd.DataFrame(rows, columns=["metric", "unit", "start", "end"]).astype(
            {"start": float, "end": float}
        ),
        {
            "start": f"start ({summary.get('start_date')})",
            "end": f"end ({summary.get('end_date')})",
        },
    )


def _survival_table(survival: pd.DataFrame) -> Table:
    rows = []
    for cls, g in survival.groupby("size_class", sort=False, observed=True):
        g = g.sort_values("time")
        last = g.iloc[-1]
        rows.append(
            {
                "size_class": str(cls),
                "initial_firms": int(g["at_risk"].iloc[0]),
                "events": int(g["events"].sum()),
                "horizon_day": float(last["time"]),
                "survival": float(last["survival"]),
                "ci_low": float(last["ci_low"]),
                "ci_high": float(last["ci_high"]),
            }
        )
    return Table(
        "survival",
        "Kaplan-Meier survival of independent operation at the horizon, by initial size class "
        "(95% band)",
        pd.DataFrame(rows),
        {
            "size_class": "initial size class",
            "initial_firms": "firms [-]",
            "events": "exits and acquisitions [-]",
            "horizon_day": "horizon [day]",
            "survival": "survival [0-1]",
            "ci_low": "95% CI low",
            "ci_high": "95% CI high",
        },
    )


def _events_table(summary: dict[str, Any]) -> Table:
    labels = {
        "exits": "Exits (default, voluntary)",
        "defaults": "Defaults",
        "entries": "Entries",
        "transfers_acquisition": "Sites changing hands: acquisitions of firms",
        "transfers_site_purchase": "Sites changing hands: site purchases",
        "transfers_auction": "Sites changing hands: auctions of defaulted estates",
        "transfers_exit_sale": "Sites changing hands: sales by exiting firms",
    }
    rows = [
        {
            "event": label,
            "count": int(summary[k]),
            "sites": str(int(summary.get(k.replace("transfers_", "sites_transferred_"), 0)))
            if k.startswith("transfers_")
            else "",
        }
        for k, label in labels.items()
        if k in summary
    ]
    return Table(
        "events",
        "Events over the run [firms] and transfers of sites [deals, sites]",
        pd.DataFrame(rows),
    )


# ---------------------------------------------------------------------------------------------
# paired comparison
def build_compare(src: Source) -> Report:
    """Figures and tables of a paired comparison (``abm compare``)."""
    runs = src.parquet("runs.parquet")
    effects = pd.read_csv(src.file("effects.csv"))
    summary = src.json("summary.json")
    a, b = str(summary.get("scenario_a", "A")), str(summary.get("scenario_b", "B"))
    seeds = summary.get("seeds", src.manifest.get("seed", []))
    rep = Report(
        src,
        f"paired comparison B = `{b}` vs A = `{a}`",
        [
            ("kind", "paired comparison (abm compare), common random numbers"),
            ("scenario A", a),
            ("scenario B", b),
            ("seeds", f"{len(seeds)}: {_seed_list(seeds)}"),
            *_halted_facts(runs, "scenario"),
            *_provenance(src),
        ],
    )
    names = {"A": f"A: {a}", "B": f"B: {b}"}
    metrics = [m for m in effects["metric"] if m in runs]
    rep.figures += [
        FigureItem(
            "effects",
            rf.effects_figure(effects),
            "Paired effects B - A per metric with 95% t intervals; the unpaired (Welch) "
            "interval of the same difference for contrast.",
        ),
        FigureItem(
            "arms",
            rf.arms_figure(runs, metrics, names),
            "Each seed's outcome under A and B (pairs joined) and each scenario's mean with its "
            "95% t interval across seeds.",
        ),
    ]
    eff = effects.copy()
    eff.insert(1, "unit", [metric_label(m)[1] for m in eff["metric"]])
    eff["metric"] = [metric_label(m)[0] for m in eff["metric"]]
    rep.tables.append(
        Table(
            "effects",
            f"Paired effects B - A over {len(seeds)} seeds, 95% t intervals (B = {b}, A = {a})",
            eff,
            {
                "mean_a": "mean A",
                "mean_b": "mean B",
                "diff_b_minus_a": "B - A",
                "ci_low": "paired CI low",
                "ci_high": "paired CI high",
                "unpaired_ci_low": "unpaired CI low",
                "unpaired_ci_high": "unpaired CI high",
                "n_pairs": "pairs",
            },
        )
    )
    frames, notes = [], []
    for m in metrics:
        arms = t_summary(for_metric(runs, m), "scenario", m)
        s, note = clip_band(arms, value_bounds(m), what="interval")
        if note:
            notes.append(f"{metric_label(m)[0]}: {note}")
        s.insert(0, "metric", metric_label(m)[0])
        s.insert(1, "unit", metric_label(m)[1])
        s["scenario"] = s["scenario"].map(names)
        frames.append(s)
    rep.tables.append(
        Table(
            "arms",
            "Outcomes by scenario across seeds: mean, standard deviation and 95% t interval"
            + "".join(f"; {n}" for n in notes),
            pd.concat(frames, ignore_index=True),
            {"n": "seeds", "sd": "sd", "ci_low": "95% CI low", "ci_high": "95% CI high"},
            csv_only=RAW,
        )
    )
    _halted_table(runs, ["scenario"], rep)
    rep.notes.append(CLIP_NOTE)
    if src.file("series.parquet").exists():
        _series_figures(rep, src.parquet("series.parquet"), "scenario", names, "scenario")
    else:
        rep.notes.append(
            "This comparison has no series.parquet (written by abm compare since the report "
            "command exists), so the report shows outcomes at the horizon, not bands over time."
        )
    return rep


def _seed_list(seeds: Sequence[int], shown: int = 12) -> str:
    seeds = list(seeds)
    text = ", ".join(str(s) for s in seeds[:shown])
    return text + (f", ... ({len(seeds) - shown} more)" if len(seeds) > shown else "")


# ---------------------------------------------------------------------------------------------
# sweep
def build_sweep(src: Source) -> Report:
    """Figures and tables of a sweep (``abm sweep``)."""
    from abm.sweeps.analysis import HEADLINE

    spec = src.toml("spec.toml")
    params = list(spec.get("parameters", {}))
    design = spec.get("design", {})
    kind = str(design.get("kind", "grid"))
    runs = src.parquet("runs.parquet")
    by_point = pd.read_csv(src.file("summary_by_point.csv"))
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    base = (
        src.toml("base_scenario.toml").get("name", "?")
        if src.file("base_scenario.toml").exists()
        else "?"
    )
    rep = Report(
        src,
        f"sweep `{spec.get('name', src.manifest.get('sweep', '?'))}`",
        [
            ("kind", f"sweep (abm sweep), {kind} design"),
            ("base scenario", str(base)),
            ("varied parameters", ", ".join(params)),
            ("design points", str(len(by_point))),
            ("replications per point", str(spec.get("replications", "?"))),
            ("runs", f"{len(runs)} ({len(ok)} ok, {len(runs) - len(ok)} failed)"),
            *_halted_facts(ok, None),
            (
                "root seed",
                f"{spec.get('root_seed', src.manifest.get('seed'))} (run seeds in runs.parquet)",
            ),
            *_provenance(src),
        ],
    )
    metrics = [m for m in HEADLINE if f"{m}_mean" in by_point]
    one_grid_param = kind == "grid" and len(params) == 1
    for m in metrics:
        label = metric_label(m)[0]
        rep.figures.append(
            FigureItem(
                f"points_{m}",
                rf.points_figure(by_point, params, m, lines=one_grid_param),
                f"{label}: mean and 95% t interval across replications at each design point.",
            )
        )
        cols = ["point_id", *params, "n_ok", "n_failed", f"{m}_mean", f"{m}_ci_low", f"{m}_ci_high"]
        unit = metric_label(m)[1]
        edges = {"low": f"{m}_ci_low", "high": f"{m}_ci_high"}
        clipped, note = clip_band(by_point[cols], value_bounds(m), **edges, what="interval")
        rep.tables.append(
            Table(
                f"points_{m}",
                f"{label} [{unit}] by design point: mean and 95% t interval across replications"
                + (f"; {note}" if note else ""),
                clipped,
                {
                    "point_id": "point",
                    **{p: parameter_label(p) for p in params},
                    "n_ok": "runs ok",
                    "n_failed": "failed",
                    f"{m}_mean": "mean",
                    f"{m}_ci_low": "95% CI low",
                    f"{m}_ci_high": "95% CI high",
                },
                csv_only=(f"{m}_ci_low_raw", f"{m}_ci_high_raw"),
            )
        )
    _halted_table(ok, ["point_id", *params], rep)
    if spec.get("common_seeds"):
        _paired_table(src, ok, params, metrics, rep)
    if src.file("sobol_indices.csv").exists():
        sobol = pd.read_csv(src.file("sobol_indices.csv"))
        if not sobol.empty:
            rep.figures.append(
                FigureItem(
                    "sobol",
                    rf.sobol_figure(sobol),
                    "First-order and total Sobol indices with 95% confidence intervals.",
                )
            )
            rep.tables.append(
                Table(
                    "sobol",
                    "Sobol indices: first order (S1) and total (ST), with 95% confidence "
                    "half-widths",
                    sobol,
                    {"S1_conf": "S1 ±95%", "ST_conf": "ST ±95%"},
                )
            )
    rep.notes.append(CLIP_NOTE)
    _sweep_series(src, runs, by_point, params, rep)
    from abm.report.discovery import add_to_report

    add_to_report(src, rep)  # abm discover's box and feature scores, if it ran
    return rep


PAIRED_EXTRA = ("share_sovereign_end", "share_small_end")  # reported when the sweep moves them


def _paired_table(
    src: Source, ok: pd.DataFrame, params: list[str], metrics: list[str], rep: Report
) -> None:
    """Paired effects of every design point against the reference point (the base scenario's
    parameters, else the first point) over common seeds."""
    from abm.sweeps.analysis import paired_effects, reference_point
    from abm.sweeps.spec import lookup

    base_toml = src.toml("base_scenario.toml") if src.file("base_scenario.toml").exists() else {}
    base = {p: v for p in params if (v := lookup(base_toml, p)) is not None}
    ref = reference_point(ok, params, base)
    extra = [m for m in PAIRED_EXTRA if m in ok and ok[m].nunique(dropna=True) > 1]
    effects = paired_effects(ok, params, ref, [*metrics, *extra])
    if effects.empty:
        return
    ref_row = ok[ok["point_id"] == ref].iloc[0]
    where = ", ".join(f"{parameter_label(p)} = {ref_row[p]:g}" for p in params)
    effects.insert(len(params) + 1, "metric_label", [metric_label(m)[0] for m in effects["metric"]])
    rep.tables.append(
        Table(
            "paired_effects",
            f"Paired effects against the reference point {ref} ({where}): mean difference "
            "point - reference over replications with the same seed, with 95% t intervals "
            "(not clipped: a difference can be negative)",
            effects.drop(columns="metric"),
            {
                "point_id": "point",
                **{p: parameter_label(p) for p in params},
                "metric_label": "metric",
                "n_pairs": "pairs",
                "effect_mean": "effect",
                "effect_ci_low": "95% CI low",
                "effect_ci_high": "95% CI high",
                "reference_mean": "reference mean",
            },
        )
    )


def _sweep_series(
    src: Source, runs: pd.DataFrame, by_point: pd.DataFrame, params: list[str], rep: Report
) -> None:
    """Bands over time of the kept series (``timeseries/``), if few enough design points."""
    files = sorted(src.file("timeseries").glob("run-*.parquet"))
    if not files:
        return
    if len(by_point) > MAX_SERIES_POINTS:
        rep.notes.append(
            f"The sweep kept time series, but it has {len(by_point)} design points (more than "
            f"{MAX_SERIES_POINTS}): no bands over time are drawn."
        )
        return
    series = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    series = series.merge(runs[["run_id", "point_id"]], on="run_id")
    groups = {
        int(r["point_id"]): ", ".join(f"{p.rsplit('.', 1)[-1]}={r[p]:.4g}" for p in params)
        for _, r in by_point.iterrows()
    }
    _series_figures(rep, series.drop(columns="run_id"), "point_id", groups, "design point")
    _halving_table(rep, series, by_point, params)


def _halving_table(
    rep: Report, series: pd.DataFrame, by_point: pd.DataFrame, params: list[str]
) -> None:
    """Change of each kept series across each halving (year after minus year before, per
    run), by design point."""
    from abm.sweeps.analysis import halving_steps

    columns = [c for c in series.columns if c not in ("run_id", "point_id", "seed", "date")]
    steps = halving_steps(series, "point_id", columns, halving_days(series))
    if steps.empty:
        return
    steps = by_point[["point_id", *params]].merge(steps, on="point_id")
    steps.insert(len(params) + 2, "series_label", [metric_label(c)[0] for c in steps.pop("series")])
    rep.tables.append(
        Table(
            "halving_steps",
            "Across each halving: the mean over the 365 days after it minus the mean over the "
            "365 days before, per run, then the mean and 95% t interval across the design "
            "point's runs (the step includes any trend over the two years)",
            steps,
            {
                "point_id": "point",
                **{p: parameter_label(p) for p in params},
                "halving": "halving",
                "series_label": "series",
                "n_runs": "runs",
                "before_mean": "year before",
                "after_mean": "year after",
                "step_mean": "step",
                "step_ci_low": "95% CI low",
                "step_ci_high": "95% CI high",
            },
        )
    )


def _series_figures(
    rep: Report, series: pd.DataFrame, by: str, groups: dict[Any, str], what: str
) -> None:
    """One figure per kept daily column: mean and 95% band across runs per group of `by`."""
    from abm.recorder import SERIES_DOCS

    for col in series.columns:
        if col in (by, "seed", "date"):
            continue
        label, unit = metric_label(col)
        if label == col:  # not a headline metric: the recorder's unit
            unit = SERIES_DOCS.get(col, "[-]").rpartition("[")[2].rstrip("]")
        rep.figures.append(
            FigureItem(
                f"series_{col}",
                rf.series_band_figure(series, col, f"{label} [{unit}]", groups, by=by),
                f"{label}: mean and 95% t band across runs, per {what}.",
            )
        )


BUILDERS: dict[str, Callable[[Source], Report]] = {
    "run": build_run,
    "compare": build_compare,
    "sweep": build_sweep,
}


def build(path: str | Path) -> Report:
    """Recognise the results folder at `path` and assemble its report (nothing written)."""
    return assemble(detect(path))


def assemble(src: Source) -> Report:
    """The report of a recognised results folder (nothing written)."""
    try:
        return BUILDERS[src.kind](src)
    except (KeyError, AttributeError, ValueError, OSError) as err:
        raise ReportError(f"{src.path}: cannot read this {src.kind} folder ({err})") from err


# ---------------------------------------------------------------------------------------------
# writing
def write_report(
    report: Report, out: str | Path, formats: Sequence[str] = FORMATS, progress: bool = True
) -> Path:
    """Write `report` to the folder `out` (by the rule of :mod:`abm.outputs`: a new or empty
    folder, or an earlier report, replaced atomically)."""
    t0 = time.perf_counter()
    check_out(out, report.source.path, formats)
    with replacing(out, "report") as staging:
        figdir, tabdir = staging / "figures", staging / "tables"
        figdir.mkdir()
        tabdir.mkdir()
        for item in report.figures:
            if not item.figure.layout.height or item.figure.layout.height < STATIC_HEIGHT:
                item.figure.update_layout(height=STATIC_HEIGHT)
            item.figure.write_html(figdir / f"{item.name}.html", include_plotlyjs="directory")
        (staging / "index.html").write_text(_index_html(report))
        for t in report.tables:
            t.write(tabdir)
        jobs = [(i.figure, figdir / f"{i.name}.{f}") for f in formats for i in report.figures]
        if progress:
            print(
                f"report: {len(report.figures)} figures, {len(report.tables)} tables; "
                f"{len(jobs)} static images ({', '.join(formats) or 'none'})",
                file=sys.stderr,
                flush=True,
            )
        seconds = export_static(jobs, progress=progress)
        if jobs and progress:
            print(f"report: static images exported in {seconds:.1f} s", file=sys.stderr)
        (staging / "report.md").write_text(_markdown(report, formats))
        for name, text in report.files.items():
            (staging / name).write_text(text)
        info = manifest(
            report.source.manifest.get("seed"),
            time.perf_counter() - t0,
            kind="report",
            source=str(report.source.path),
            source_kind=report.source.kind,
        )
        write_json(staging / "manifest.json", info)
    return Path(out)


def check_out(out: str | Path, results: str | Path, formats: Sequence[str] = FORMATS) -> None:
    """Refuse a report folder that may not be written (before any work): the results folder
    itself or one containing it, a folder :func:`abm.outputs.check` refuses, unknown formats."""
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ReportError(f"unknown static format(s) {bad}: choose from {', '.join(FORMATS)}")
    o, r = Path(out).resolve(), Path(results).resolve()
    if o == r or o in r.parents:
        raise ReportError(f"--out {out}: would replace the results folder itself")
    check(out, "report")


def make_report(
    results_dir: str | Path,
    out: str | Path | None = None,
    formats: Sequence[str] = FORMATS,
    progress: bool = True,
) -> Path:
    """Build and write the report of `results_dir` (default folder: ``results_dir/report``)."""
    out = Path(out) if out else Path(results_dir) / "report"
    src = detect(results_dir)  # a bad results folder is named first
    check_out(out, results_dir, formats)  # then a bad --out, before any figure is made
    return write_report(assemble(src), out, formats, progress)


def _markdown(report: Report, formats: Sequence[str]) -> str:
    lines = [f"# Report: {report.title}", "", "## Provenance", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in report.facts]
    lines += ["", "Interactive figures: [index.html](index.html) (all on one page).", ""]
    lines += ["## Figures", ""]
    for n, item in enumerate(report.figures, 1):
        title = item.figure.layout.title.text or item.name
        lines += [f"### Figure {n}: {title}", "", item.caption, ""]
        if "png" in formats:
            lines += [f"![{title}](figures/{item.name}.png)", ""]
        links = [f"[interactive](figures/{item.name}.html)"]
        links += [f"[{f.upper()}](figures/{item.name}.{f})" for f in formats if f != "png"]
        lines += ["Files: " + " · ".join(links), ""]
    lines += ["## Tables", ""]
    for n, t in enumerate(report.tables, 1):
        lines += [f"### Table {n}: {t.caption}", ""]
        if len(t.data) <= MAX_INLINE_ROWS:
            lines += [t.to_markdown(), ""]
        else:
            lines += [f"({len(t.data)} rows: see the files.)", ""]
        links = [f"[{e}](tables/{t.name}.{e})" for e in ("csv", "md", "tex")]
        lines += ["Files: " + " · ".join(links), ""]
    if report.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in report.notes), ""]
    return "\n".join(lines)


def _index_html(report: Report) -> str:
    facts = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in report.facts
    )
    figs = "".join(
        f"<section><p>{html.escape(i.caption)}</p>"
        + i.figure.to_html(full_html=False, include_plotlyjs=False)
        + "</section>"
        for i in report.figures
    )
    title = html.escape(f"Report: {report.title}".replace("`", ""))
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{title}</title>"
        '<script src="figures/plotly.min.js"></script>'
        "<style>body{font-family:Arial,sans-serif;max-width:1000px;margin:auto;color:#2a3f5f}"
        "th{text-align:left;padding-right:1em}section{margin:2em 0}</style>"
        f"</head><body><h1>{title}</h1><table>{facts}</table>{figs}</body></html>\n"
    )
