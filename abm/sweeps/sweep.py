"""Run a sweep: design points x replications, written run by run, resumable.

Results directory::

    spec.toml            the resolved specification (a directory belongs to one spec)
    parts/run-000042.parquet   one row per finished run, written atomically as it finishes
    timeseries/run-000042.parquet   optional per-run series on the spec's cadence
    runs.parquet         all runs (consolidated from parts/ at the end and on resume)
    summary_by_point.csv mean and 95% interval of headline metrics per design point
    sobol_indices.csv    first-order and total Sobol indices (Sobol designs)
    manifest.json        versions, git commit, root seed, timings, counts

An interrupted sweep resumes with the same command: finished runs are read from parts/ and
only the missing ones run. A run that raises is recorded as failed with its error.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from abm.runner import manifest, run
from abm.scenario import Scenario
from abm.sweeps import designs
from abm.sweeps.backends import execute
from abm.sweeps.spec import SweepSpec, SweepSpecError, load_spec

HEADLINE = (
    "hhi_owner_end",
    "nakamoto_owner_end",
    "small_firm_survival",
    "network_hashrate_ehs_end",
    "hashprice_usd_per_ph_day_end",
)


@dataclass(frozen=True)
class Task:
    run_id: int
    point_id: int
    replication: int
    seed: int
    params: dict[str, Any]
    scenario: Scenario
    keep_series: tuple[int, tuple[str, ...]] | None  # (cadence_days, columns) or None


@dataclass
class SweepResult:
    """The consolidated tables of a sweep."""

    out_dir: Path
    runs: pd.DataFrame
    summary_by_point: pd.DataFrame
    sobol: pd.DataFrame | None
    done: int
    failed: int


def run_seed(root_seed: int, point_id: int, replication: int) -> int:
    """The seed of run (point, replication): spawned from the root SeedSequence."""
    ss = np.random.SeedSequence(root_seed, spawn_key=(point_id, replication))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def tasks_of(spec: SweepSpec) -> list[Task]:
    base = spec.base_scenario()
    pts = designs.points(spec)
    keep = (
        (spec.outputs.cadence_days, tuple(spec.outputs.columns))
        if spec.outputs.timeseries
        else None
    )
    out = []
    for p, params in enumerate(pts):
        sc = base.with_overrides(params)
        for rep in range(spec.replications):
            rid = p * spec.replications + rep
            seed = run_seed(spec.root_seed, 0 if spec.common_seeds else p, rep)
            out.append(Task(rid, p, rep, seed, params, sc, keep))
    return out


def execute_task(task: Task) -> dict[str, Any]:
    """One run (a pure function of the task): its summary row, and optionally its series."""
    t0 = time.perf_counter()
    row: dict[str, Any] = {
        "run_id": task.run_id,
        "point_id": task.point_id,
        "replication": task.replication,
        "seed": task.seed,
        **{f"param:{k}": v for k, v in task.params.items()},
    }
    series = None
    try:
        r = run(task.scenario, seed=task.seed)
        row.update(
            {
                k: float(v)
                for k, v in r.summary.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and k != "seed"
            }
        )
        row["status"], row["error"] = "ok", ""
        if task.keep_series:
            cadence, cols = task.keep_series
            ts = r.timeseries.iloc[::cadence]
            series = ts[["date", *[c for c in cols if c in ts.columns]]].reset_index(drop=True)
    except Exception as err:  # a failing run is recorded, the sweep goes on
        row["status"] = "failed"
        row["error"] = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"
    row["wall_time_s"] = time.perf_counter() - t0
    return {"row": row, "series": series}


def _write_atomic(df: pd.DataFrame, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _read_parts(parts: Path) -> pd.DataFrame:
    files = sorted(parts.glob("run-*.parquet"))
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def _prepare(spec: SweepSpec, out: Path, force: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    spec_file = out / "spec.toml"
    text = spec.to_toml()
    if spec_file.exists() and spec_file.read_text() != text:
        if not force:
            raise SweepSpecError(
                f"{out}: holds results of a different sweep specification "
                "(use another directory, or force=True / --force to start over)"
            )
        for sub in ("parts", "timeseries"):
            for f in (out / sub).glob("*.parquet"):
                f.unlink()
    spec_file.write_text(text)
    (out / "parts").mkdir(exist_ok=True)
    if spec.outputs.timeseries:
        (out / "timeseries").mkdir(exist_ok=True)


def summarise_points(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean and t interval across replications of the headline metrics, per design point."""
    ok = runs[runs["status"] == "ok"]
    params = [c for c in runs.columns if c.startswith("param:")]
    rows = []
    for pid, g in ok.groupby("point_id"):
        row: dict[str, Any] = {"point_id": pid, "n": len(g), **g.iloc[0][params].to_dict()}
        for k in HEADLINE:
            if k not in g:
                continue
            x = g[k].to_numpy(float)
            mean = x.mean()
            half = (
                stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
                if x.size > 1
                else np.nan
            )
            row[f"{k}_mean"], row[f"{k}_ci_low"], row[f"{k}_ci_high"] = (
                mean,
                mean - half,
                mean + half,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def sobol_indices(spec: SweepSpec, runs: pd.DataFrame) -> pd.DataFrame:
    """First-order and total Sobol indices with confidence intervals (SALib), per output, from
    the mean over replications at each Saltelli point."""
    from SALib.analyze import sobol

    bounds = {k: (r.low, r.high) for k, r in spec.parameters.items()}
    prob = designs.problem(bounds)
    n_points = len(designs.points(spec))
    rows = []
    for out in spec.outputs.sensitivity:
        means = runs[runs["status"] == "ok"].groupby("point_id")[out].mean()
        y = means.reindex(range(n_points)).to_numpy(float)
        if np.isnan(y).any():
            continue  # a point without a successful run: indices undefined
        res = sobol.analyze(
            prob, y, calc_second_order=spec.design.second_order, seed=spec.root_seed
        )
        for i, name in enumerate(prob["names"]):
            rows.append(
                {
                    "output": out,
                    "parameter": name,
                    "S1": res["S1"][i],
                    "S1_conf": res["S1_conf"][i],
                    "ST": res["ST"][i],
                    "ST_conf": res["ST_conf"][i],
                }
            )
    return pd.DataFrame(rows, columns=["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"])


def sweep(
    spec: SweepSpec | str | Path,
    out_dir: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    force: bool = False,
    retry_failed: bool = False,
) -> SweepResult:
    """Run (or resume) a sweep and write its results store; see the module docstring.

    Args:
        spec: a SweepSpec or the path of a sweep TOML.
        out_dir: the results directory.
        workers: local processes (None or 1: serial), or Dask workers with `scheduler`.
        scheduler: "local" (a Dask LocalCluster), a Dask scheduler address, or None
            (``DASK_SCHEDULER_ADDRESS`` if set).
        progress: show a progress bar with done, failed and time left.
        force: overwrite a directory that holds another spec's results.
        retry_failed: run again the runs recorded as failed (e.g. after a fix).
    """
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    out = Path(out_dir)
    _prepare(spec, out, force)
    t0 = time.perf_counter()
    tasks = tasks_of(spec)
    parts = out / "parts"
    if retry_failed:
        for f in parts.glob("run-*.parquet"):
            if (pd.read_parquet(f, columns=["status"])["status"] != "ok").any():
                f.unlink()
    done_ids = {int(f.stem.split("-")[1]) for f in parts.glob("run-*.parquet")}
    todo = [t for t in tasks if t.run_id not in done_ids]
    failed_now = 0
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(tasks), initial=len(done_ids), unit="run", desc=spec.name, file=sys.stderr
        )
    for res in execute(execute_task, todo, workers=workers, scheduler=scheduler):
        row = res["row"]
        if res["series"] is not None:
            _write_atomic(res["series"], out / "timeseries" / f"run-{row['run_id']:06d}.parquet")
        _write_atomic(pd.DataFrame([row]), parts / f"run-{row['run_id']:06d}.parquet")
        failed_now += row["status"] != "ok"
        if bar is not None:
            bar.update(1)
            bar.set_postfix(failed=failed_now)
    if bar is not None:
        bar.close()
    runs = _read_parts(parts).sort_values("run_id").reset_index(drop=True)
    _write_atomic(runs, out / "runs.parquet")
    by_point = summarise_points(runs)
    by_point.to_csv(out / "summary_by_point.csv", index=False)
    sob = None
    if spec.design.kind == "sobol" and (runs["status"] == "ok").any():
        sob = sobol_indices(spec, runs)
        sob.to_csv(out / "sobol_indices.csv", index=False)
    n_failed = int((runs["status"] != "ok").sum())
    info = manifest(
        spec.root_seed,
        time.perf_counter() - t0,
        kind="sweep",
        spec_digest=spec.digest(),
        runs_total=len(tasks),
        runs_done=len(runs) - n_failed,
        runs_failed=n_failed,
        runs_this_session=len(todo),
        backend=scheduler or (f"processes:{workers}" if workers and workers > 1 else "serial"),
    )
    (out / "manifest.json").write_text(json.dumps(info, indent=2) + "\n")
    return SweepResult(out, runs, by_point, sob, len(runs) - n_failed, n_failed)
