"""The figures and tables of scenario discovery (:mod:`abm.discovery`), for ``abm discover``'s
folder and for ``abm report`` of the same sweep.

``abm discover`` writes a report folder (default ``SWEEP_DIR/discovery/``): ``report.md``,
``index.html``, ``discovery.json`` (the query), ``figures/prim_trajectory.*`` (PRIM's peeling
trajectory, coverage against density) and ``figures/feature_scores.*`` (a heat map), and
``tables/prim_box.*`` (the chosen box's limits with quasi-p-values), ``tables/prim_stats.*``
(its coverage, density, mass and runs), ``tables/prim_trajectory.*`` and
``tables/feature_scores.*`` (CSV, Markdown, LaTeX). ``abm report SWEEP_DIR`` adds the same
figures and tables when that folder exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from abm.discovery import QUERY_FILE, Discovery, query_facts
from abm.report import figures as rf
from abm.report.builder import FigureItem, Report, _provenance, write_report
from abm.report.export import FORMATS
from abm.report.inputs import Source
from abm.report.tables import Table, metric_label, parameter_unit

__all__ = ["DISCOVERY_DIR", "add_to_report", "items", "write"]

DISCOVERY_DIR = "discovery"  # default folder of abm discover inside the sweep folder


def items(d: Discovery) -> tuple[list[FigureItem], list[Table]]:
    """Figures and tables of a discovery."""
    q, s = d.query, d.stats
    label = f"{metric_label(q.outcome)[0]} {'<' if q.rule == 'below' else '>'} {q.threshold:g}"
    figures = [
        FigureItem(
            "prim_trajectory",
            rf.prim_trajectory_figure(d.trajectory, f"PRIM peeling trajectory: {label}"),
            f"PRIM's peeling trajectory for the runs with {q.describe()} ({q.n_cases} of "
            f"{q.n_runs} runs): coverage and density of every box; ringed, the chosen box "
            f"(box {q.chosen}: the densest box restricting a parameter with coverage >= "
            f"{q.min_coverage:g}, else the restricting box of most coverage).",
        ),
        FigureItem(
            "feature_scores",
            rf.feature_scores_figure(d.scores),
            "Extra-trees feature scores of each headline metric on the varied parameters "
            "(regression; each metric's scores sum to 1).",
        ),
    ]
    stats = pd.DataFrame(
        [
            {
                "box": q.chosen,
                "coverage": float(s["coverage"]),
                "density": float(s["density"]),
                "mass": float(s["mass"]),
                "runs_in_box": int(s["n"]),
                "cases_in_box": int(s["k"]),
                "cases": q.n_cases,
                "runs": q.n_runs,
                "restricted": int(s["res_dim"]),
            }
        ]
    )
    box = d.box.copy()
    box.insert(1, "unit", [parameter_unit(p) for p in box["parameter"]])
    tables = [
        Table(
            "prim_box",
            f"PRIM box {q.chosen} for {q.describe()}: coverage {s['coverage']:.3f}, density "
            f"{s['density']:.3f}; limits of each restricted parameter and its quasi-p-values "
            "(one-sided binomial test of removing that limit; n/a: side not restricted)",
            box,
            {
                "parameter": "parameter",
                "low": "box low",
                "high": "box high",
                "qp_low": "quasi-p low",
                "qp_high": "quasi-p high",
                "range_low": "sampled low",
                "range_high": "sampled high",
            },
        ),
        Table(
            "prim_stats",
            f"PRIM box {q.chosen} for {q.describe()}: coverage (share of the cases of interest "
            "in the box), density (share of the box's runs that are cases), mass (share of all "
            "runs in the box)",
            stats,
            {
                "runs_in_box": "runs in box",
                "cases_in_box": "cases in box",
                "cases": "cases [all]",
                "runs": "runs [all]",
                "restricted": "restricted parameters",
            },
        ),
        Table(
            "prim_trajectory",
            f"PRIM peeling trajectory for {q.describe()}: every box's coverage, density, mass, "
            "runs (n), cases (k) and restricted parameters",
            d.trajectory,
        ),
        Table(
            "feature_scores",
            "Extra-trees feature scores of the headline metrics (columns) on the varied "
            "parameters (rows)",
            d.scores,
            {c: metric_label(c)[0] for c in d.scores.columns if c != "parameter"},
        ),
    ]
    return figures, tables


def write(
    d: Discovery,
    src: Source,
    out: str | Path | None = None,
    formats: Sequence[str] = FORMATS,
    progress: bool = True,
) -> Path:
    """Write the discovery folder (default ``SWEEP_DIR/discovery``)."""
    rep = Report(
        src,
        f"scenario discovery on sweep `{src.manifest.get('sweep', src.path.name)}`: "
        f"{d.query.describe()}",
        [*query_facts(d.query), *_provenance(src)],
    )
    rep.figures, rep.tables = items(d)
    rep.files[QUERY_FILE] = d.query_json()
    return write_report(rep, Path(out) if out else src.path / DISCOVERY_DIR, formats, progress)


def add_to_report(src: Source, rep: Report) -> None:
    """Add the figures and tables of ``SWEEP_DIR/discovery/`` to a sweep's report, if there."""
    folder = src.file(DISCOVERY_DIR)
    if not (folder / QUERY_FILE).exists():
        return
    figures, tables = items(Discovery.read(folder))
    rep.figures += [FigureItem(f"discovery_{f.name}", f.figure, f.caption) for f in figures]
    for t in tables:
        t.name = f"discovery_{t.name}"
    rep.tables += tables
