"""`abm sweep SPEC.toml --out DIR [--workers N] [--scheduler ADDRESS] [--force]`.

Prints the per-point table and, for Sobol designs, the indices; exits 0 when every run
succeeded, 1 when some runs are recorded as failed, 2 on bad input found before the first run
(a bad spec, a scheduler that is misnamed or does not answer, a directory that is not new,
empty or this sweep's, or one another sweep is writing into), 130 when interrupted (rerun the
same command to resume).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

EXIT_RUNS_FAILED = 1
EXIT_INTERRUPTED = 130


def cmd_sweep(args: argparse.Namespace) -> int:
    from abm.outputs import default_dir
    from abm.sweeps.analysis import halted_runs, points_table
    from abm.sweeps.sweep import sweep

    out = Path(args.out) if args.out else default_dir(Path(args.spec).stem)
    signal.signal(signal.SIGTERM, _interrupt)  # kill -TERM: stop cleanly, like Ctrl-C
    try:
        res = sweep(
            args.spec,
            out,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=not args.quiet,
            force=args.force,
            retry_failed=args.retry_failed,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted; finished runs are kept in {out}/parts/: rerun the same command "
            "to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(points_table(res.summary_by_point, res.params))
    print(
        "(headline metrics at the horizon: mean ± 95% t half-width across replications; "
        "concentration metrics over the runs whose chain did not halt)"
    )
    stopped = halted_runs(res.runs[res.runs["status"] == "ok"], ["point_id", *res.params])
    if len(stopped):
        share = len(stopped) / max(res.done, 1)
        print(f"\nhalted chains: {len(stopped)} of {res.done} runs ({share:.0%}):")
        print(stopped.to_string(index=False))
    if res.sobol is not None and not res.sobol.empty:
        print("\nSobol indices (conf = 95% confidence half-width):")
        print(res.sobol.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for note in res.notes:
        print(f"note: {note}")
    print(
        f"\n{res.done} runs done, {res.failed} failed ({res.ran_now} run now, in "
        f"{res.wall_time_s:.1f} s); results in {res.out_dir}/"
    )
    return EXIT_RUNS_FAILED if res.failed else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `sweep` subcommand to the `abm` parser."""
    from abm.cli import _seed

    s = sub.add_parser("sweep", help="run (or resume) a parameter sweep")
    s.add_argument("spec", help="sweep specification (TOML)")
    s.add_argument("--out", help="results directory (default: results/<spec file stem>)")
    s.add_argument(
        "--workers",
        type=_seed,
        help="local processes (default: serial), or LocalCluster workers (default: one per core)",
    )
    s.add_argument(
        "--scheduler",
        help="'local' (a Dask LocalCluster of --workers processes) or a Dask scheduler "
        "address tcp://HOST:PORT (default: $DASK_SCHEDULER_ADDRESS, else no Dask)",
    )
    s.add_argument(
        "--force",
        action="store_true",
        help="replace another sweep's results, or runs another engine made (only a sweep's own "
        "files are deleted)",
    )
    s.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_sweep)
