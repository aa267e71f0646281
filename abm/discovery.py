"""Scenario discovery on a sweep: PRIM boxes of the conditions under which an outcome is below
(or above) a threshold, and extra-trees feature scores of the headline metrics, both on the
sweep's varied parameters (the EMA workbench's implementations).

    d = discover("results/study_small_miners", "small_firm_survival", below=0.2)
    d.box          # the chosen box: each restricted parameter's limits and quasi-p-values
    d.trajectory   # PRIM's peeling trajectory: coverage, density, mass, ... of every box

Each successful run is one case (replications are cases, as EMA treats them); a case is of
interest when its outcome is below (above) the threshold. The chosen box is the densest box
on the peeling trajectory that restricts a parameter and covers at least `min_coverage` of the
cases of interest, else the restricting box with the most coverage (:func:`choose_box`).
``abm discover`` writes it as a report folder (:mod:`abm.report.discovery`).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.report.inputs import ReportError, Source, detect
from abm.sweeps.analysis import HEADLINE

__all__ = [
    "Discovery",
    "DiscoveryError",
    "cases_of_interest",
    "choose_box",
    "discover",
    "feature_scores",
    "prim_box",
    "sweep_runs",
]

MIN_COVERAGE = 0.8
QUERY_FILE = "discovery.json"
TABLES = ("prim_box", "prim_trajectory", "feature_scores")  # tables/NAME.csv of the folder


class DiscoveryError(ReportError):
    """Scenario discovery cannot run on this input; the message says why."""


@dataclass
class Query:
    """What was asked, and how many runs answered."""

    outcome: str
    rule: str  # "below" or "above"
    threshold: float
    min_coverage: float
    n_runs: int
    n_cases: int
    chosen: int  # id of the chosen box on the peeling trajectory
    parameters: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.outcome} {'<' if self.rule == 'below' else '>'} {self.threshold:g}"


@dataclass
class Discovery:
    """A PRIM box with its peeling trajectory, and the feature scores of the same sweep."""

    query: Query
    trajectory: pd.DataFrame  # one row per box: id, coverage, density, mass, n, k, res_dim
    box: pd.DataFrame  # the chosen box: parameter, low, high, qp_low, qp_high, range_low/high
    scores: pd.DataFrame  # parameter x headline metric: extra-trees feature scores

    @property
    def stats(self) -> pd.Series:
        return self.trajectory.set_index("id").loc[self.query.chosen]

    def query_json(self) -> str:
        """The query as the JSON of ``discovery.json``."""
        return json.dumps(asdict(self.query), indent=2) + "\n"

    @classmethod
    def read(cls, folder: str | Path) -> Discovery:
        """Read what :mod:`abm.report.discovery` wrote (``discovery.json`` and the tables)."""
        folder = Path(folder)
        query = Query(**json.loads((folder / QUERY_FILE).read_text()))
        t = {n: pd.read_csv(folder / "tables" / f"{n}.csv") for n in TABLES}
        box = t["prim_box"].drop(columns="unit", errors="ignore")
        return cls(query, t["prim_trajectory"], box, t["feature_scores"])


def _analysis() -> tuple[Any, Any]:
    """EMA's prim and feature_scoring modules (imported through :mod:`abm.ema`, which
    silences the workbench's warning about the optional ipyparallel)."""
    import abm.ema  # noqa: F401, I001 (first: it imports the workbench quietly)
    from ema_workbench.analysis import feature_scoring, prim

    return prim, feature_scoring


def sweep_runs(sweep_dir: str | Path) -> tuple[pd.DataFrame, list[str], Source]:
    """The successful runs of a sweep folder, its varied parameters, and the folder.

    Raises:
        DiscoveryError: not a finished sweep folder, or no successful run.
    """
    try:
        src = detect(sweep_dir)
    except ReportError as err:
        raise DiscoveryError(str(err)) from None
    if src.kind != "sweep":
        raise DiscoveryError(f"{src.path}: a {src.kind} folder, not a sweep (abm sweep)")
    params = list(src.toml("spec.toml").get("parameters", {}))
    runs = src.parquet("runs.parquet")
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    if ok.empty:
        raise DiscoveryError(f"{src.path}: no successful run")
    return ok.reset_index(drop=True), params, src


def cases_of_interest(
    runs: pd.DataFrame, outcome: str, below: float | None = None, above: float | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """(y, runs kept): y is True where `outcome` is below (or above) the threshold; runs
    whose outcome is not finite are left out.

    Raises:
        DiscoveryError: unknown or non-numeric outcome, no threshold or both, or a selection
            that is empty or holds every run (nothing to discover).
    """
    if (below is None) == (above is None):
        raise DiscoveryError("give one of --below or --above")
    numeric = [c for c in runs.columns if pd.api.types.is_numeric_dtype(runs[c])]
    if outcome not in numeric:
        close = [c for c in numeric if outcome.split("_")[0] in c][:8] or numeric[:8]
        raise DiscoveryError(
            f"{outcome!r} is not a numeric outcome of these runs (e.g. {', '.join(close)})"
        )
    runs = runs[np.isfinite(runs[outcome].to_numpy(float))]
    v = runs[outcome].to_numpy(float)
    y = v < below if below is not None else v > above
    rule = f"{outcome} {'<' if below is not None else '>'} {below if below is not None else above}"
    if not y.any() or y.all():
        which = "no" if not y.any() else "every"
        raise DiscoveryError(
            f"{which} run has {rule} ({len(v)} runs, {outcome} from {v.min():.4g} to "
            f"{v.max():.4g}): nothing to discover; choose another threshold"
        )
    return y, runs


def prim_box(
    x: pd.DataFrame,
    y: np.ndarray,
    min_coverage: float = MIN_COVERAGE,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """PRIM (``ema_workbench.analysis.prim``) on cases `x` with cases of interest `y`.

    Returns:
        (trajectory: id, coverage, density, mass, n, k, res_dim per box, and ``chosen``;
        box: parameter, low, high, qp_low, qp_high, range_low, range_high of each parameter
        the chosen box restricts; the chosen box's id).
    """
    prim, _ = _analysis()
    x = x.reset_index(drop=True)
    with warnings.catch_warnings():  # the workbench's own use of pandas' deprecated API
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        alg = prim.Prim(x, np.asarray(y, dtype=int), peel_alpha=peel_alpha, mass_min=mass_min)
        found = alg.find_box()
    traj = found.peeling_trajectory[["id", "coverage", "density", "mass", "n", "k", "res_dim"]]
    traj = traj.astype({"id": int, "n": int, "k": int, "res_dim": int}).reset_index(drop=True)
    best = choose_box(traj, min_coverage)
    chosen = int(best["id"])
    traj["chosen"] = traj["id"] == chosen
    lims, init = found.box_lims[chosen], alg.box_init
    rows = []
    for p in x.columns:
        lo, hi = float(lims.loc[0, p]), float(lims.loc[1, p])
        r_lo, r_hi = float(init.loc[0, p]), float(init.loc[1, p])
        if lo == r_lo and hi == r_hi:
            continue
        qp = found.p_values[chosen].get(p, [-1.0, -1.0])
        rows.append(
            {
                "parameter": p,
                "low": lo,
                "high": hi,
                "qp_low": qp[0] if qp[0] >= 0 else np.nan,
                "qp_high": qp[1] if qp[1] >= 0 else np.nan,
                "range_low": r_lo,
                "range_high": r_hi,
            }
        )
    cols = ["parameter", "low", "high", "qp_low", "qp_high", "range_low", "range_high"]
    return traj, pd.DataFrame(rows, columns=cols), chosen


def choose_box(trajectory: pd.DataFrame, min_coverage: float = MIN_COVERAGE) -> pd.Series:
    """The box to report: among the boxes that restrict a parameter (the first box, all the
    sampled space, only if none does), the densest whose coverage is at least `min_coverage`
    (ties: more coverage); if none reaches it, the one with the most coverage (ties: denser)."""
    restricted = trajectory[trajectory["res_dim"] > 0]
    candidates = restricted if not restricted.empty else trajectory
    eligible = candidates[candidates["coverage"] >= min_coverage - 1e-12]
    if eligible.empty:
        return candidates.sort_values(["coverage", "density"], ascending=False).iloc[0]
    return eligible.sort_values(["density", "coverage"], ascending=False).iloc[0]


def feature_scores(
    x: pd.DataFrame, runs: pd.DataFrame, metrics: tuple[str, ...] = HEADLINE, seed: int = 0
) -> pd.DataFrame:
    """Extra-trees feature scores (``ema_workbench.analysis.feature_scoring``, regression) of
    each metric on the parameters `x`: one row per parameter, one column per metric (each
    column sums to 1). Metrics absent from the runs are left out; runs where a metric is not
    finite are left out of its fit."""
    _, feature_scoring = _analysis()
    out = {}
    for m in metrics:
        if m not in runs:
            continue
        v = runs[m].to_numpy(float)
        keep = np.isfinite(v)
        if keep.sum() < 2 or np.ptp(v[keep]) == 0:
            out[m] = pd.Series(np.nan, index=x.columns)
            continue
        scores, _ = feature_scoring.get_ex_feature_scores(
            x[keep].reset_index(drop=True),
            v[keep],
            mode=feature_scoring.RuleInductionType.REGRESSION,
            max_features=max(1, round(x.shape[1] / 3)),
            random_state=seed,
        )
        out[m] = scores[1]
    frame = pd.DataFrame(out).reindex(x.columns)
    frame.index.name = "parameter"
    return frame.reset_index()


def discover(
    sweep_dir: str | Path,
    outcome: str,
    below: float | None = None,
    above: float | None = None,
    min_coverage: float = MIN_COVERAGE,
) -> tuple[Discovery, Source]:
    """PRIM and feature scores on a sweep's runs (see the module docstring)."""
    runs, params, src = sweep_runs(sweep_dir)
    if not params:
        raise DiscoveryError(f"{src.path}: the sweep varies no parameter")
    y, kept = cases_of_interest(runs, outcome, below, above)
    x = kept[params].astype(float)
    traj, box, chosen = prim_box(x, y, min_coverage)
    query = Query(
        outcome,
        "below" if below is not None else "above",
        float(below if below is not None else above),  # type: ignore[arg-type]
        float(min_coverage),
        len(kept),
        int(y.sum()),
        chosen,
        params,
    )
    scores = feature_scores(runs[params].astype(float), runs)
    return Discovery(query, traj, box, scores), src


def query_facts(q: Query) -> list[tuple[str, Any]]:
    """The query as (label, value) pairs for a report's provenance table."""
    return [
        ("cases of interest", f"{q.describe()}: {q.n_cases} of {q.n_runs} runs"),
        ("varied parameters", ", ".join(q.parameters)),
        (
            "box chosen",
            f"box {q.chosen}: the densest restricting box with coverage >= {q.min_coverage:g} "
            "(else the restricting box of most coverage)",
        ),
    ]
