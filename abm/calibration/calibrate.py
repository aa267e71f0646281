"""Calibration by simulated moments, in stages of Latin-hypercube sweeps.

Method. Stage 1 is a Latin hypercube of ``design.n`` points over the parameters' bounds; each
point runs ``replications`` times (common seeds within a stage: points are paired comparisons),
through the sweep engine (:func:`abm.sweeps.sweep.sweep`: serial, processes or Dask; resumable).
Each run's daily series gives the value of every target it covers
(:func:`abm.validation.replay.target_value`); a point's value of a target is the mean over its
replications, its error the standardised error ``z`` (:meth:`abm.validation.targets.Target.z`:
a target passes exactly when ``|z| <= 1``) and its distance ``sqrt(mean z^2)`` over the fitted
targets. Stage k+1 is a Latin hypercube over the box of the best ``keep`` fraction of all
points so far, widened by one stratum of stage k's and clipped to the bounds (successive
narrowing). The best point has the least distance; the uncertainty set is every point, of any
stage, at which every fitted target passes (a rejection-ABC acceptance rule with the targets'
tolerances as its kernel); if no point passes, the best ``keep`` fraction stands in for it and
``summary.json`` says so. Held-out targets are reported at the best point, never fitted.

Results directory::

    calibration.toml     the resolved specification
    stages/stage-K/      stage K's sweep (abm.sweeps layout: runs.parquet, timeseries/, ...)
    points.csv           one row per point: stage, point_id, parameters, each target's
                         simulated value (mean over replications), its z, distance, accepted
    targets.csv          each target at the best point: use, rule, observed low/high,
                         tolerance, unit, simulated, z, passed, covered
    best.toml            the best point as scenario overrides (dotted paths)
    summary.json         best point, parameter intervals of the uncertainty set, counts, timing
    figures/             target_fit.html, marginals.html, pairs.html (plotly)
    manifest.json        kind "calibrate": versions, spec digest, runs, wall time

Rerunning the same command resumes: every stage's sweep keeps its finished runs, and the
bounds of each stage follow from the earlier stages' runs alone, so they are the same again.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w

from abm.calibration.spec import CalibrationSpec, CalibrationSpecError, load_calibration_spec
from abm.jsonio import json_text
from abm.outputs import check
from abm.recorder import SERIES_DOCS
from abm.runner import manifest
from abm.sweeps.backends import check_scheduler, describe
from abm.sweeps.spec import spec_from_dict as sweep_spec_from_dict
from abm.sweeps.store import write_atomic
from abm.sweeps.sweep import sweep
from abm.validation.replay import FRAME_COLUMNS, computable, frame_of, target_value
from abm.validation.targets import Target

__all__ = ["CalibrationResult", "calibrate", "narrow", "score_points"]

OUTPUTS = ("points.csv", "targets.csv", "best.toml", "summary.json", "calibration.toml")


@dataclass
class CalibrationResult:
    out_dir: Path
    spec: CalibrationSpec
    points: pd.DataFrame  # points.csv
    targets: pd.DataFrame  # targets.csv
    best: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    accepted: int  # points in the uncertainty set (0: the best fraction stands in)
    runs: int
    ran_now: int
    wall_time_s: float
    notes: list[str] = field(default_factory=list)


def calibrate(
    spec: CalibrationSpec | str | Path,
    out_dir: str | Path,
    quick: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    force: bool = False,
) -> CalibrationResult:
    """Run (or resume) a calibration and write its results directory (module docstring).

    Everything is checked before the first run: the spec, its targets (each measurable, the
    fitted ones covered by the horizon), the scheduler and the directory (new, empty, or this
    calibration's; another calibration's only with `force`, which deletes its files).

    Raises:
        CalibrationSpecError: invalid spec, or `out_dir` holds another calibration.
        SchedulerError, OutputError: as for sweeps.
    """
    if not isinstance(spec, CalibrationSpec):
        spec = load_calibration_spec(spec)
    if quick:
        spec = spec.with_quick()
    t0 = time.perf_counter()
    base = spec.resolved_base()
    targets, fit, notes = _targets(spec, base)
    check_scheduler(scheduler)
    out = check(out_dir, "calibrate")
    digest = spec.digest()
    _open(out, spec, digest, force)
    columns = _columns(targets)
    params = list(spec.parameters)
    bounds = {k: (float(r.low), float(r.high)) for k, r in spec.parameters.items()}
    scored, runs, ran_now = [], 0, 0
    for k in range(spec.design.stages):
        res = sweep(
            _stage_spec(spec, base, k, bounds, columns),
            out / "stages" / f"stage-{k + 1}",
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
        runs += len(res.runs)
        ran_now += res.ran_now
        pts = score_points(res.out_dir, res.runs, params, targets, fit)
        pts.insert(0, "stage", k + 1)
        scored.append(pts)
        bounds = narrow(pd.concat(scored), spec, bounds, params)
    points = pd.concat(scored, ignore_index=True)
    zcols = [f"z:{t}" for t in fit]
    points["accepted"] = points[zcols].abs().le(1.0).all(axis=1)
    best_row = points.loc[points["distance"].idxmin()]
    best = {p: _value(best_row[p], spec.parameters[p].integer) for p in params}
    pool = points[points["accepted"]]
    accepted = len(pool)
    if not accepted:
        pool = _best_fraction(points, spec.design.keep)
        notes.append(
            f"no point passes every fitted target: the best {spec.design.keep:.0%} of the "
            "points stand in for the uncertainty set"
        )
    intervals = {
        p: (
            _value(pool[p].min(), spec.parameters[p].integer),
            _value(pool[p].max(), spec.parameters[p].integer),
        )
        for p in params
    }
    table = target_table(best_row, targets, fit)
    wall = time.perf_counter() - t0
    summary = {
        "name": spec.name,
        "quick": quick,
        "parameters": params,
        "best": best,
        "best_distance": float(best_row["distance"]),
        "intervals": {p: list(v) for p, v in intervals.items()},
        "prior_bounds": {k: [r.low, r.high] for k, r in spec.parameters.items()},
        "uncertainty_set": "accepted" if accepted else "best_fraction",
        "points": len(points),
        "points_accepted": accepted,
        "fit": fit,
        "holdout": [t for t, tg in targets.items() if tg.use == "holdout"],
        "fit_passed": int((table["fitted"] & (table["passed"] == True)).sum()),  # noqa: E712
        "holdout_passed": int(((table["use"] == "holdout") & (table["passed"] == True)).sum()),  # noqa: E712
        "holdout_covered": int(((table["use"] == "holdout") & table["covered"]).sum()),
        "runs": runs,
        "runs_this_session": ran_now,
        "wall_time_s": round(wall, 2),
        "notes": notes,
    }
    write_atomic(points, out / "points.csv")
    write_atomic(table, out / "targets.csv")
    write_atomic(_best_toml(spec, best, intervals, best_row), out / "best.toml")
    write_atomic(json_text(summary), out / "summary.json")
    from abm.calibration.figures import write_figures

    write_figures(out / "figures", points, table, params, best, spec)
    record = manifest(
        spec.root_seed,
        wall,
        kind="calibrate",
        calibration=spec.name,
        spec_digest=digest,
        status="done",
        runs_total=runs,
        runs_this_session=ran_now,
        backend=describe(workers, scheduler),
    )
    write_atomic(json_text(record), out / "manifest.json")
    return CalibrationResult(
        out, spec, points, table, best, intervals, accepted, runs, ran_now, wall, notes
    )


def _targets(spec: CalibrationSpec, base) -> tuple[dict[str, Target], list[str], list[str]]:
    """Every measurable target, the fitted ones covered by the horizon, and notes."""
    targets, fit = spec.fit_targets()
    head = f"{spec.name}: invalid calibration specification\n  "
    for t in targets.values():
        if not computable(t):
            raise CalibrationSpecError(
                f"{head}targets: {t.check!r} names no replay quantity; give it a column and a stat"
            )
        if t.column is not None and t.column not in SERIES_DOCS and t.column != "deals_cum":
            raise CalibrationSpecError(
                f"{head}targets: {t.check!r}: unknown daily column {t.column!r} (abm.recorder)"
            )
    start = base.run.start_date
    last = start + dt.timedelta(days=round(base.run.years * 365) - 1)
    covered = {k for k, t in targets.items() if t.first >= start and t.last <= last}
    notes = []
    dropped = [f for f in fit if f not in covered]
    if dropped:
        notes.append(f"fitted targets beyond the horizon (ends {last}), not fitted: {dropped}")
    fit = [f for f in fit if f in covered]
    if not fit:
        raise CalibrationSpecError(
            f"{head}fit: no fitted target lies within the runs ({start} .. {last})"
        )
    return targets, fit, notes


def _columns(targets: dict[str, Target]) -> list[str]:
    extra = [t.column for t in targets.values() if t.column and t.column != "deals_cum"]
    return list(dict.fromkeys([*FRAME_COLUMNS, *extra]))


def _open(out: Path, spec: CalibrationSpec, digest: str, force: bool) -> None:
    """Make `out` this calibration's: refuse another's unless `force` (its files deleted)."""
    import json
    import shutil

    mf = out / "manifest.json"
    if mf.exists():
        then = json.loads(mf.read_text()).get("spec_digest")
        if then != digest:
            if not force:
                raise CalibrationSpecError(
                    f"{out}: holds another calibration (spec digest {then}, this one {digest}); "
                    "use another directory, or --force to replace it"
                )
            shutil.rmtree(out / "stages", ignore_errors=True)
            shutil.rmtree(out / "figures", ignore_errors=True)
            for name in OUTPUTS:
                (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    if not mf.exists() or force:
        record = manifest(spec.root_seed, 0.0, kind="calibrate", spec_digest=digest)
        write_atomic(json_text({**record, "status": "running"}), mf)
    write_atomic(spec.to_toml(), out / "calibration.toml")


def _stage_spec(spec: CalibrationSpec, base, k: int, bounds: dict, columns: list[str]):
    """Stage k's sweep (0-based): LHS over `bounds`, daily series of `columns` kept."""
    data = {
        "name": f"{spec.name}-stage-{k + 1}",
        **spec.sweep_dict(base),
        "root_seed": spec.root_seed,
        "common_seeds": True,
        "design": {"kind": "lhs", "n": spec.design.n, "seed": spec.root_seed + k},
        "parameters": {
            p: {"low": lo, "high": hi, "integer": spec.parameters[p].integer}
            for p, (lo, hi) in bounds.items()
        },
        "outputs": {"keep": "timeseries", "cadence_days": 1, "columns": columns},
    }
    return sweep_spec_from_dict(data, spec.base_dir, f"{spec.name} stage {k + 1}")


def score_points(
    stage_dir: Path,
    runs: pd.DataFrame,
    params: list[str],
    targets: dict[str, Target],
    fit: list[str],
) -> pd.DataFrame:
    """One row per design point: parameters, runs ok, each target's value (mean over the ok
    replications; nan if not covered), its z, and the distance over the fitted targets (inf
    if a fitted value is missing, e.g. every replication failed)."""
    columns = tuple(_columns(targets))
    rows = []
    for pid, grp in runs.groupby("point_id", sort=True):
        values: dict[str, list[float]] = {t: [] for t in targets}
        ok = grp[grp["status"] == "ok"]
        for rid in ok["run_id"]:
            frame = frame_of(
                pd.read_parquet(stage_dir / "timeseries" / f"run-{int(rid):06d}.parquet"), columns
            )
            for t, tg in targets.items():
                values[t].append(target_value(frame, tg))
        row = {"point_id": int(pid), **{p: grp[p].iloc[0] for p in params}, "runs_ok": len(ok)}
        for t, tg in targets.items():
            v = (
                float(np.nanmean(values[t]))
                if values[t] and not np.isnan(values[t]).all()
                else np.nan
            )
            row[t] = v
            row[f"z:{t}"] = tg.z(v)
        zs = np.array([row[f"z:{t}"] for t in fit], dtype=float)
        row["distance"] = float(np.sqrt(np.mean(zs**2))) if np.isfinite(zs).all() else math.inf
        rows.append(row)
    return pd.DataFrame(rows)


def narrow(
    points: pd.DataFrame, spec: CalibrationSpec, bounds: dict, params: list[str]
) -> dict[str, tuple[float, float]]:
    """The next stage's box: the best `keep` fraction of `points`, widened by one stratum of
    the current `bounds` (width / n) each side and clipped to the spec's bounds."""
    top = _best_fraction(points, spec.design.keep)
    out = {}
    for p in params:
        lo0, hi0 = float(spec.parameters[p].low), float(spec.parameters[p].high)
        step = (bounds[p][1] - bounds[p][0]) / spec.design.n
        if spec.parameters[p].integer:
            step = max(step, 1.0)
        lo, hi = max(lo0, float(top[p].min()) - step), min(hi0, float(top[p].max()) + step)
        if hi <= lo:  # (one value: a stratum each side, within the bounds)
            lo, hi = max(lo0, lo - step), min(hi0, hi + step)
        out[p] = (lo, hi)
    return out


def _best_fraction(points: pd.DataFrame, keep: float) -> pd.DataFrame:
    n = max(1, math.ceil(keep * len(points)))
    return points.sort_values(["distance", "stage", "point_id"], kind="stable").head(n)


def target_table(best: pd.Series, targets: dict[str, Target], fit: list[str]) -> pd.DataFrame:
    """Each target at the best point: observed, simulated, z, passed (targets.csv)."""
    rows = []
    for t, tg in targets.items():
        v = float(best[t])
        z = float(best[f"z:{t}"])
        rows.append(
            {
                "check": t,
                "use": tg.use,
                "fitted": t in fit,
                "rule": tg.rule,
                "observed_low": tg.low,
                "observed_high": tg.high,
                "tolerance": tg.tolerance,
                "unit": tg.unit,
                "first": tg.first.isoformat(),
                "last": tg.last.isoformat(),
                "simulated": v,
                "z": z,
                "covered": not math.isnan(v),
                "passed": bool(abs(z) <= 1.0) if not math.isnan(z) else None,
                "source": tg.source,
            }
        )
    return pd.DataFrame(rows)


def _best_toml(spec: CalibrationSpec, best: dict, intervals: dict, row: pd.Series) -> str:
    lines = [
        f"# Best point of calibration {spec.name!r} (distance {row['distance']:.3f}, stage "
        f"{int(row['stage'])}, point {int(row['point_id'])}); intervals of the uncertainty set:",
        *(f"#   {p}: {lo:g} .. {hi:g}" for p, (lo, hi) in intervals.items()),
        "",
    ]
    return "\n".join(lines) + tomli_w.dumps({"overrides": best})


def _value(v, integer: bool | None) -> float | int:
    """A numpy scalar as a Python int (an integer parameter) or float, for JSON and TOML."""
    return round(float(v)) if integer else float(v)
