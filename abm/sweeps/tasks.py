"""Runs of a sweep: one task per (design point, replication), each a pure function of its
scenario and seed."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from abm.runner import code_digest, run
from abm.scenario import Scenario
from abm.sweeps import designs
from abm.sweeps.spec import SweepSpec

__all__ = ["Task", "execute_task", "run_seed", "tasks_of"]


@dataclass(frozen=True)
class Task:
    run_id: int
    point_id: int
    replication: int
    seed: int
    params: dict[str, Any]  # {dotted path: value} of the design point
    scenario: Scenario  # the base with the point's values applied
    keep_series: tuple[int, tuple[str, ...]] | None  # (cadence [days], columns), or None


def run_seed(root_seed: int, point_id: int, replication: int) -> int:
    """The seed of run (point, replication), spawned from the root SeedSequence [uint32]."""
    ss = np.random.SeedSequence(root_seed, spawn_key=(point_id, replication))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def tasks_of(spec: SweepSpec) -> list[Task]:
    """Every run of the sweep, run_id = point_id x replications + replication."""
    base = spec.base_scenario()
    out = spec.outputs
    keep = (out.cadence_days, tuple(out.columns)) if out.keep == "timeseries" else None
    tasks = []
    for p, params in enumerate(designs.points(spec)):
        sc = base.with_overrides(params)
        for rep in range(spec.replications):
            seed = run_seed(spec.root_seed, 0 if spec.common_seeds else p, rep)
            tasks.append(Task(p * spec.replications + rep, p, rep, seed, params, sc, keep))
    return tasks


def execute_task(task: Task) -> dict[str, Any]:
    """One run: {"row": its summary row, "series": its thinned time series or None}.

    A run that raises gives a row with status "failed" and the error; it does not raise.
    """
    t0 = time.perf_counter()
    row: dict[str, Any] = {
        "run_id": task.run_id,
        "point_id": task.point_id,
        "replication": task.replication,
        "seed": task.seed,
        **task.params,
        "code_digest": code_digest(),
    }
    series = None
    try:
        r = run(task.scenario, seed=task.seed)
        # every numeric summary figure as a float (flags such as chain_halted as 1.0 / 0.0)
        row.update(
            {
                k: float(v)
                for k, v in r.summary.items()
                if isinstance(v, int | float) and k != "seed"
            }
        )
        row["status"], row["error"] = "ok", ""
        if task.keep_series:
            cadence, cols = task.keep_series
            ts = r.timeseries.iloc[::cadence]
            series = ts[["date", *(c for c in cols if c != "date")]].reset_index(drop=True)
            series.insert(0, "run_id", task.run_id)
    except Exception as err:  # a failing run is recorded, the sweep goes on
        row["status"] = "failed"
        row["error"] = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=-3)}"
    row["wall_time_s"] = time.perf_counter() - t0
    return {"row": row, "series": series}
