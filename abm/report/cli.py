"""`abm report RESULTS_DIR [--out DIR] [--formats png,svg,pdf] [--quiet]`.

Exits 0 when the report is written, 2 on bad input (no such folder, a folder of no known kind,
a bad --out or format), 1 when static export fails (no browser); nothing is written then.
"""

from __future__ import annotations

import argparse
import sys
import time

from abm.report.export import FORMATS

EXIT_BAD_INPUT = 2
EXIT_EXPORT_FAILED = 1


def _formats(text: str) -> tuple[str, ...]:
    if text.strip().lower() in ("", "none"):
        return ()
    out = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    bad = [f for f in out if f not in FORMATS]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown format(s) {', '.join(bad)}: choose from {','.join(FORMATS)} or none"
        )
    return out


def cmd_report(args: argparse.Namespace) -> int:
    from abm.report.builder import make_report
    from abm.report.export import ExportError
    from abm.report.inputs import ReportError

    t0 = time.perf_counter()
    try:
        path = make_report(args.results, args.out, args.formats, progress=not args.quiet)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ExportError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_EXPORT_FAILED
    print(
        f"wrote {path}/ (report.md, index.html, figures/, tables/) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `report` subcommand to the `abm` parser."""
    r = sub.add_parser(
        "report", help="figures, tables and report.md from a run, comparison or sweep folder"
    )
    r.add_argument("results", help="results folder of abm run, abm compare or abm sweep")
    r.add_argument("--out", help="report folder (default: RESULTS/report)")
    r.add_argument(
        "--formats",
        type=_formats,
        default=FORMATS,
        help=f"static figure formats, comma-separated, or none (default: {','.join(FORMATS)})",
    )
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.set_defaults(func=cmd_report)
