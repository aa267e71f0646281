"""Run a sweep: design points x replications, written run by run, resumable.

Results directory (see :mod:`abm.sweeps.store` for the layout of the runs)::

    runs.parquet          one row per run: run_id, point_id, replication, seed, every varied
                          parameter (column named by its dotted path), every numeric summary
                          metric of the run, status ("ok"/"failed"), error, wall_time_s,
                          code_digest (of the engine that made the run)
    summary_by_point.csv  mean and 95% t interval across replications of the headline metrics
    sobol_indices.csv     first-order and total Sobol indices (Sobol designs)
    engine.json           the engine that made the runs (abm.runner.engine_identity)
    spec.toml, base_scenario.toml, manifest.json, parts/, timeseries/, corrupt/, .lock

An interrupted sweep resumes with the same call: finished runs are read from parts/ and only
the missing ones run. A run that raises is recorded as failed with its error. Runs are added
only by the engine that made the finished ones (same code digest and numpy), so a directory
never mixes two engines: after a change to the engine, run the sweep again with ``force``. A
worker running another engine (a Dask cluster with another installation) stops the sweep. A
part found unreadable is moved to ``corrupt/`` and its run done again (:mod:`abm.sweeps.store`);
a second sweep into a directory being written is refused (:mod:`abm.sweeps.lock`).
"""

from __future__ import annotations

import functools
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from abm.jsonio import json_text
from abm.plausibility import warn as warn_scenario
from abm.runner import engine_identity, manifest
from abm.sweeps.analysis import sobol_indices, summarise_points
from abm.sweeps.backends import check_scheduler, describe, execute
from abm.sweeps.spec import SweepSpec, SweepSpecError, load_spec, spec_from_dict
from abm.sweeps.store import Store, write_atomic
from abm.sweeps.tasks import execute_task, tasks_of

__all__ = ["SweepResult", "sweep"]

PASSES = 3  # runs whose part is found unreadable are done again, at most this many times


@dataclass
class SweepResult:
    """The consolidated tables of a sweep."""

    out_dir: Path
    spec: SweepSpec
    runs: pd.DataFrame
    summary_by_point: pd.DataFrame
    sobol: pd.DataFrame | None
    done: int  # runs that finished ok
    failed: int  # runs recorded as failed
    ran_now: int  # runs executed by this call (the rest were on disk)
    wall_time_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def params(self) -> list[str]:
        return list(self.spec.parameters)


def sweep(
    spec: SweepSpec | str | Path,
    out_dir: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    force: bool = False,
    retry_failed: bool = False,
) -> SweepResult:
    """Run (or resume) a sweep and write its results directory.

    Everything is checked before the first run: the spec, the scheduler (parses and answers),
    and the directory (new, empty or this tool's sweep, and no other sweep writing into it).

    Args:
        spec: a SweepSpec or the path of a sweep TOML.
        out_dir: the results directory (created; must be new, empty or hold this same sweep).
        workers: local processes (None or 1: serial), or LocalCluster workers with
            ``scheduler="local"``.
        scheduler: "local" (a Dask LocalCluster), a Dask scheduler address ``tcp://...``, or
            None (``DASK_SCHEDULER_ADDRESS`` if set, else local).
        progress: show a progress bar (runs done, failed, time left) on stderr.
        force: replace the results of another spec held in `out_dir`, or of another engine.
        retry_failed: run again the runs recorded as failed (e.g. after running out of memory;
            after a fix to the engine, use `force`: one directory holds one engine's runs).

    Raises:
        SweepSpecError: invalid spec; `out_dir` holds another sweep, or runs another engine
            made while some are left to run (without `force`); a worker runs another engine.
        SchedulerError: the scheduler address is malformed or does not answer.
        OutputError: `out_dir` may not be written (abm.outputs), or another sweep writes there.
    """
    if isinstance(spec, SweepSpec):  # built in Python: validate it like a file
        spec = spec_from_dict(spec.model_dump(mode="json"), spec.base_dir, "spec")
    else:
        spec = load_spec(spec)
    check_scheduler(scheduler)  # before any directory is made
    warn_scenario(spec.base_scenario())
    t0 = time.perf_counter()
    store = Store(out_dir)
    info = functools.partial(
        manifest, spec.root_seed, kind="sweep", sweep=spec.name, spec_digest=spec.digest()
    )
    store.open(spec, info(0.0, status="running"), force=force)
    try:
        return _sweep(spec, store, t0, info, workers, scheduler, progress, force, retry_failed)
    finally:
        store.close()


def _sweep(
    spec: SweepSpec,
    store: Store,
    t0: float,
    info: Callable[..., dict],
    workers: int | None,
    scheduler: str | None,
    progress: bool,
    force: bool,
    retry_failed: bool,
) -> SweepResult:
    tasks = tasks_of(spec)
    engine = engine_identity()
    retry = store.failed_ids() if retry_failed else set()
    kept, made_by = store.done_ids() - retry, store.made_by()
    other = bool(kept) and _other_engine(made_by, engine)  # the kept runs are another engine's
    if other:
        if force:
            store.clear()
            kept, retry, other = set(), set(), False
        elif len(kept) < len(tasks):
            raise SweepSpecError(_mixing_message(store, len(kept), made_by, engine))
        else:  # complete: nothing is added; the tables are re-made from the other engine's runs
            warnings.warn(
                f"{store.dir}: complete, made by another engine; its tables are re-made from "
                "those runs (--force / force=True runs them again with this engine)",
                stacklevel=3,
            )
    store.forget(retry)
    bar = _Bar(spec.name, len(tasks), len(store.done_ids())) if progress else None
    ran_now = 0
    try:
        # a part found unreadable when consolidating is set aside and its run done again
        for _ in range(PASSES):
            done = store.done_ids()
            todo = [t for t in tasks if t.run_id not in done]
            if todo and other:  # a part of the other engine's was unreadable
                raise SweepSpecError(_mixing_message(store, len(done), made_by, engine))
            if todo:  # (a complete sweep keeps the record of the engine that made it)
                store.record_engine(engine)
            for res in execute(execute_task, todo, workers=workers, scheduler=scheduler):
                if res["row"]["code_digest"] != engine["code_digest"]:
                    raise SweepSpecError(
                        f"a worker ran another engine (code digest {res['row']['code_digest']}) "
                        f"than this process ({engine['code_digest']}): install the same abm on "
                        "every worker"
                    )
                store.write_run(res["row"], res["series"])
                if bar is not None:
                    bar.update(res["row"]["status"] != "ok")
            ran_now += len(todo)
            runs = store.consolidate()
            if len(runs) == len(tasks):
                break
    finally:
        if bar is not None:
            bar.close()
    params = list(spec.parameters)
    by_point = summarise_points(runs, params)
    write_atomic(by_point, store.dir / "summary_by_point.csv")
    sob, notes = None, []
    if spec.design.kind == "sobol":
        sob, notes = sobol_indices(spec, runs)
        write_atomic(sob, store.dir / "sobol_indices.csv")
    if len(runs) < len(tasks):
        notes.append(f"{len(tasks) - len(runs)} runs have no valid part: rerun the sweep")
    failed = int((runs["status"] != "ok").sum()) if len(runs) else 0
    wall = time.perf_counter() - t0
    record = info(
        wall,
        runs_total=len(tasks),
        runs_ok=len(runs) - failed,
        runs_failed=failed,
        runs_this_session=ran_now,
        backend=describe(workers, scheduler),
        runs_parquet=store.record(),
    )
    write_atomic(json_text(record), store.dir / "manifest.json")
    return SweepResult(
        store.dir, spec, runs, by_point, sob, len(runs) - failed, failed, ran_now, wall, notes
    )


def _other_engine(made_by: dict, engine: dict) -> bool:
    return any(made_by.get(k) != engine[k] for k in ("code_digest", "numpy"))


def _mixing_message(store: Store, n_kept: int, made_by: dict, engine: dict) -> str:
    def name(e: dict) -> str:
        return ", ".join(f"{k} {e.get(k, 'not recorded')}" for k in ("code_digest", "numpy"))

    return (
        f"{store.dir}: its {n_kept} finished runs were made by another engine ({name(made_by)}, "
        f"git commit {made_by.get('git_commit', 'not recorded')}) than this one ({name(engine)}, "
        f"git commit {engine['git_commit']}); adding runs would mix their results (use another "
        "directory, or --force / force=True to run them all again)"
    )


class _Bar:
    """Progress bar of the runs (done, failed, time left), made when the first run finishes."""

    def __init__(self, name: str, total: int, initial: int) -> None:
        self.args, self.bar, self.failed = (name, total, initial), None, 0

    def update(self, failed: bool) -> None:
        if self.bar is None:
            from tqdm.auto import tqdm

            name, total, initial = self.args
            self.bar = tqdm(total=total, initial=initial, unit="run", desc=name, file=sys.stderr)
        self.failed += failed
        self.bar.update(1)
        self.bar.set_postfix(failed=self.failed, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
