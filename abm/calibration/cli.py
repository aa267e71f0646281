"""`abm calibrate SPEC.toml [--quick] [--out DIR] [--workers N] [--scheduler ADDRESS] [--force]`.

Prints the best point, the intervals of the uncertainty set and every target (fit and held
out) at the best point; exits 0 when it finishes, 2 on bad input found before the first run,
130 when interrupted (rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_INTERRUPTED = 130


def cmd_calibrate(args: argparse.Namespace) -> int:
    import signal

    from abm.calibration.calibrate import calibrate
    from abm.outputs import default_dir

    stem = Path(args.spec).stem + ("-quick" if args.quick else "")
    out = Path(args.out) if args.out else default_dir(stem)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        res = calibrate(
            args.spec,
            out,
            quick=args.quick,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=not args.quiet,
            force=args.force,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted; finished runs are kept in {out}/stages/: rerun to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    kind = "accepted points" if res.accepted else "best fraction (no point passes every fit)"
    print(f"best point ({len(res.points)} points, uncertainty set: {res.accepted} {kind}):")
    for p, v in res.best.items():
        lo, hi = res.intervals[p]
        print(f"  {p} = {v:g}   [{lo:g}, {hi:g}]")
    t = res.targets.copy()
    t["observed"] = [
        f"{a:g}" if a == b else f"{a:g}-{b:g}"
        for a, b in zip(t["observed_low"], t["observed_high"], strict=True)
    ]
    cols = ["check", "use", "fitted", "rule", "observed", "tolerance", "simulated", "z", "passed"]
    print("\n" + t[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for note in res.notes:
        print(f"note: {note}")
    print(
        f"\n{res.runs} runs ({res.ran_now} run now) in {res.wall_time_s:.1f} s; results in "
        f"{res.out_dir}/"
    )
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def register(sub: argparse._SubParsersAction) -> None:
    from abm.cli import _seed

    c = sub.add_parser("calibrate", help="fit parameters to observed targets (resumable)")
    c.add_argument("spec", help="calibration specification (TOML)")
    c.add_argument("--quick", action="store_true", help="the spec's [quick] smoke run")
    c.add_argument("--out", help="results directory (default: results/<spec file stem>)")
    c.add_argument("--workers", type=_seed, help="local processes (default: serial)")
    c.add_argument("--scheduler", help="'local' or a Dask scheduler address tcp://HOST:PORT")
    c.add_argument("--force", action="store_true", help="replace another calibration's results")
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    c.set_defaults(func=cmd_calibrate)
