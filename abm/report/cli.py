"""`abm report RESULTS_DIR [--out DIR] [--formats png,svg,pdf] [--quiet]` and
`abm discover SWEEP_DIR --outcome METRIC (--below X | --above X) [--min-coverage C]
[--out DIR] [--formats ...] [--quiet]`.

Both exit 0 when their folder is written, 2 on bad input (no such folder, a folder of no known
kind, a bad --out or format; for discover also an unknown outcome or a selection of no run or
of every run), 1 when static export fails (no browser); nothing is written then.
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


def cmd_discover(args: argparse.Namespace) -> int:
    from abm.discovery import DiscoveryError, discover
    from abm.report import discovery
    from abm.report.export import ExportError
    from abm.report.inputs import ReportError
    from abm.report.tables import parameter_unit

    t0 = time.perf_counter()
    try:
        d, src = discover(args.sweep, args.outcome, args.below, args.above, args.min_coverage)
        path = discovery.write(d, src, args.out, args.formats, progress=not args.quiet)
    except (DiscoveryError, ReportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ExportError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_EXPORT_FAILED
    q, s = d.query, d.stats
    print(
        f"PRIM on {q.n_runs} runs of {src.path}: {q.n_cases} with {q.describe()}\n"
        f"box {q.chosen}: coverage {s['coverage']:.3f}, density {s['density']:.3f}, "
        f"mass {s['mass']:.3f} ({int(s['n'])} runs, {int(s['k'])} of them cases)"
    )
    for r in d.box.itertuples():
        qp = "  ".join(
            f"quasi-p {side} {v:.2g}"
            for side, v in (("low", r.qp_low), ("high", r.qp_high))
            if v == v
        )
        print(
            f"  {r.parameter} in [{r.low:.4g}, {r.high:.4g}] {parameter_unit(r.parameter)} "
            f"(sampled {r.range_low:.4g} .. {r.range_high:.4g}); {qp}"
        )
    if d.box.empty:
        print("  (the box restricts no parameter)")
    scores = d.scores.set_index("parameter")
    print("feature scores (extra trees; each metric's column sums to 1):")
    print(scores.to_string(float_format=lambda v: f"{v:.2f}"))
    print(f"wrote {path}/ in {time.perf_counter() - t0:.1f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `report` subcommand to the `abm` parser."""
    r = sub.add_parser(
        "report", help="figures, tables and report.md from a run, comparison or sweep folder"
    )
    r.add_argument("results", help="results folder of abm run, abm compare or abm sweep")
    _output_arguments(r, "report folder (default: RESULTS/report)")
    r.set_defaults(func=cmd_report)

    from abm.discovery import MIN_COVERAGE

    d = sub.add_parser(
        "discover",
        help="scenario discovery on a sweep: PRIM box of a condition, feature scores",
    )
    d.add_argument("sweep", help="results folder of abm sweep")
    d.add_argument("--outcome", required=True, help="numeric run metric, e.g. small_firm_survival")
    side = d.add_mutually_exclusive_group(required=True)
    side.add_argument("--below", type=float, help="cases of interest: outcome below this")
    side.add_argument("--above", type=float, help="cases of interest: outcome above this")
    d.add_argument(
        "--min-coverage",
        type=float,
        default=MIN_COVERAGE,
        help=f"choose the densest box with at least this coverage (default {MIN_COVERAGE})",
    )
    _output_arguments(d, "output folder (default: SWEEP/discovery)")
    d.set_defaults(func=cmd_discover)


def _output_arguments(p: argparse.ArgumentParser, out_help: str) -> None:
    """--out, --formats and --quiet of a command that writes a report folder."""
    p.add_argument("--out", help=out_help)
    p.add_argument(
        "--formats",
        type=_formats,
        default=FORMATS,
        help=f"static figure formats, comma-separated, or none (default: {','.join(FORMATS)})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
