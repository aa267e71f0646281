"""`abm validate [--quick] [--out DIR] [--details]`: run the validation suite, print the table.

Exit status 0 when every check passes, 1 when any fails, 2 when --out may not be written
(:mod:`abm.outputs`; checked before the suite runs).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from abm.outputs import check
from abm.validation.core import Tolerances

EXIT_FAILED = 1


def validate(
    quick: bool = False,
    out: str | Path | None = None,
    tolerances: Tolerances | None = None,
    details: bool = False,
) -> int:
    """Run the suite, print its table, write it to `out` if given; 1 if any check fails."""
    from abm.validation import format_table, run_suite

    if out is not None:
        check(out, "validate")  # before the suite runs
    suite = run_suite(quick=quick, tolerances=tolerances)
    print(format_table(suite.checks, details=details))
    n_fail = sum(c.passed is False for c in suite.checks)
    n_pass = sum(c.passed is True for c in suite.checks)
    mode = "quick" if quick else "full"
    print(f"\n{n_pass} passed, {n_fail} failed ({mode} suite, {suite.wall_time_s:.1f} s)")
    if out is not None:
        print(f"wrote {suite.save(out)}/ (validation.csv, validation.json, replay.csv)")
    return EXIT_FAILED if n_fail else 0


def cmd_validate(args: argparse.Namespace) -> int:
    return validate(quick=args.quick, out=args.out, details=args.details)


def register(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser("validate", help="run the validation suite (exit 1 if a check fails)")
    v.add_argument(
        "--quick",
        action="store_true",
        help="shorter runs (~15 s): replay to 2023, seeds 1-3 (no structure checks)",
    )
    v.add_argument(
        "--out",
        help="write validation.csv, validation.json and replay.csv here (a new or empty directory, "
        "or an earlier validation's)",
    )
    v.add_argument(
        "--details", action="store_true", help="print how each number was measured under its row"
    )
    v.set_defaults(func=cmd_validate)
