"""Where runs execute: serially, in local processes, or on a Dask cluster.

Every backend calls the same pure function (task -> result) and yields results as they
finish, so the same spec and root seed give identical tables on every backend. At most a
window of tasks is in flight (a few per worker), so memory stays bounded and an interrupted
sweep leaves no queue behind.

Dask: ``scheduler="local"`` starts a LocalCluster with `workers` single-threaded worker
processes; an address (``tcp://host:8786``) or the environment variable
``DASK_SCHEDULER_ADDRESS`` connects to an existing cluster. On Slurm or PBS, start the cluster
with dask-jobqueue and pass its address, e.g.::

    from dask_jobqueue import SLURMCluster      # or PBSCluster
    cluster = SLURMCluster(cores=1, processes=1, memory="2GB", walltime="02:00:00")
    cluster.scale(jobs=50)                      # 50 single-core workers
    abm.sweep("spec.toml", "out/", scheduler=cluster.scheduler_address)

or run ``dask scheduler`` on a login node and ``dask worker tcp://HOST:8786 --nthreads 1`` in
batch jobs, then ``abm sweep SPEC.toml --out DIR --scheduler tcp://HOST:8786``. Workers need
the same environment (``pip install -e .`` of this repository); results are written by the
submitting process, so workers need no shared file system.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import re
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ONE_BLAS_THREAD",
    "SchedulerError",
    "check_scheduler",
    "describe",
    "execute",
    "one_blas_thread_per_process",
]

CONNECT_TIMEOUT_S = 3.0  # a scheduler must accept a TCP connection within this time
_ADDRESS = re.compile(
    r"(?P<scheme>tcp|tls)://(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+):(?P<port>\d+)/?"
)

TASKS_PER_WORKER = 4  # tasks in flight per worker: enough to keep it busy between results
# one core per run: worker processes get one BLAS/OpenMP thread each, as Dask's nanny gives its
# workers; outputs do not depend on the thread count (tests/test_metrics.py), only the load does
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextmanager
def one_blas_thread_per_process() -> Iterator[None]:
    """Processes started inside this block get :data:`ONE_BLAS_THREAD` in their environment
    (values the user set are kept); the parent's environment is restored afterwards."""
    saved = {k: os.environ.get(k) for k in ONE_BLAS_THREAD}
    for k, v in ONE_BLAS_THREAD.items():
        os.environ.setdefault(k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class SchedulerError(ValueError):
    """The Dask scheduler is misnamed, unreachable, or Dask is not installed."""


def check_scheduler(scheduler: str | None) -> None:
    """Refuse (SchedulerError) a scheduler that `execute` could not use, before any work:
    "local" needs Dask; an address must read ``tcp://HOST:PORT`` (or ``tls://``) and accept a
    TCP connection within :data:`CONNECT_TIMEOUT_S`. None: ``DASK_SCHEDULER_ADDRESS``, if set."""
    what = "--scheduler" if scheduler else "DASK_SCHEDULER_ADDRESS"
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if not address:
        return
    m = None if address == "local" else _ADDRESS.fullmatch(address)
    if address != "local" and m is None:
        raise SchedulerError(
            f"{what} {address!r}: not 'local' nor a Dask scheduler address tcp://HOST:PORT"
        )
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise SchedulerError(
            f"{what} {address}: Dask is not installed (pip install -e '.[sweep]')"
        ) from None
    if m is None:
        return
    host, port = m["host"].strip("[]"), int(m["port"])
    if not 0 < port < 65536:
        raise SchedulerError(f"{what} {address}: port {port} is not 1-65535")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise SchedulerError(
            f"{what} {address}: no scheduler answers there within {CONNECT_TIMEOUT_S:g} s "
            f"({err.strerror or err}); start it (`dask scheduler`) or give another address"
        ) from None


def describe(workers: int | None, scheduler: str | None) -> str:
    """The backend that `execute` uses for these arguments, e.g. 'processes:2'."""
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if scheduler == "local":
        return f"dask-local:{workers or os.cpu_count()}"
    if scheduler:
        return f"dask:{scheduler}"
    return f"processes:{workers}" if workers and workers > 1 else "serial"


def execute(
    fn: Callable[[Any], Any],
    tasks: list[Any],
    workers: int | None = None,
    scheduler: str | None = None,
) -> Iterator[Any]:
    """Yield fn(task) for every task, in completion order.

    Args:
        fn: a picklable, importable function (a pure function of its task).
        tasks: picklable task objects.
        workers: local processes (None or 1: serial in this process), or LocalCluster workers
            (default: one per core).
        scheduler: "local", a Dask scheduler address, or None (``DASK_SCHEDULER_ADDRESS``).
    """
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if scheduler:
        yield from _dask(fn, tasks, workers or os.cpu_count() or 1, scheduler)
    elif workers and workers > 1:
        yield from _processes(fn, tasks, workers)
    else:
        yield from map(fn, tasks)


def _processes(fn: Callable[[Any], Any], tasks: list[Any], workers: int) -> Iterator[Any]:
    # spawn: forking a process that may hold threads (tqdm, Arrow, BLAS) can deadlock
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    queue = iter(tasks)
    try:
        with one_blas_thread_per_process():  # workers are spawned on the first submissions
            pending = {pool.submit(fn, t) for t in _take(queue, workers * TASKS_PER_WORKER)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            pending |= {pool.submit(fn, t) for t in _take(queue, len(done))}
            for f in done:
                yield f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(
    fn: Callable[[Any], Any], tasks: list[Any], workers: int, scheduler: str
) -> Iterator[Any]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler)
        except Exception as err:  # refused, timed out, or not a Dask scheduler at all
            raise SchedulerError(
                f"scheduler {scheduler}: no Dask scheduler could be reached there "
                f"({type(err).__name__}: {err})"
            ) from None
    try:
        threads = sum(client.nthreads().values()) or workers
        # an adaptive cluster may start with few workers: keep a generous window there
        window = threads * TASKS_PER_WORKER if cluster else max(threads * TASKS_PER_WORKER, 64)
        queue = iter(tasks)
        running = as_completed([client.submit(fn, t, pure=False) for t in _take(queue, window)])
        for f in running:
            for t in _take(queue, 1):
                running.add(client.submit(fn, t, pure=False))
            yield f.result()
            f.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _take(queue: Iterator[Any], n: int) -> list[Any]:
    """The next n tasks (fewer at the end)."""
    return list(itertools.islice(queue, n))
