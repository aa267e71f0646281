"""Where runs execute: serially, in local processes, or on a Dask cluster.

Every backend calls the same pure function (task -> result) and yields results as they
finish, so the same spec and root seed give identical tables on every backend.

Dask: ``scheduler="local"`` starts a LocalCluster with `workers` single-threaded worker
processes; an address (``tcp://host:8786``) or the environment variable
``DASK_SCHEDULER_ADDRESS`` connects to an existing cluster. On Slurm or PBS, start the cluster
with dask-jobqueue and pass its address, e.g.::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=1, memory="2GB", walltime="02:00:00")
    cluster.scale(jobs=50)
    abm.sweep("spec.toml", "out/", scheduler=cluster.scheduler_address)

(the workers need the same environment: ``pip install -e .`` of this repository).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any


def execute(
    fn: Callable[[Any], Any],
    tasks: list[Any],
    workers: int | None = None,
    scheduler: str | None = None,
) -> Iterator[Any]:
    """Yield fn(task) for every task, in completion order."""
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if scheduler:
        yield from _dask(fn, tasks, workers or 2, scheduler)
    elif workers and workers > 1:
        # spawn: forking a process that may hold threads (Dask, BLAS) can deadlock
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(fn, t) for t in tasks]
            for f in as_completed(futures):
                yield f.result()
    else:
        yield from map(fn, tasks)


def _dask(fn: Callable[[Any], Any], tasks: Iterable[Any], workers: int, scheduler: str):
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = client.map(fn, list(tasks), pure=False)
        for f in dask_completed(futures):
            yield f.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
