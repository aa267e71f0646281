"""The ``abm`` command: run scenarios and inspect them.

    abm run [SCENARIO.toml] [--seed N] [--years Y] [--out DIR]
    abm scenario show [SCENARIO.toml]      print the resolved scenario as TOML
    abm scenario doc                        print every parameter with default, unit and source
    abm validate [--quick] [--out DIR]      run the validation suite (exit 1 if a check fails)
    abm calibrate SPEC.toml [--quick]       fit parameters to observed targets (resumable)
    abm report RESULTS_DIR [--out DIR]      figures, tables and report.md of a results folder
    abm discover SWEEP_DIR --outcome M --below X   PRIM box and feature scores of a sweep

Bad input (a scenario file, an argument, a data file, an output directory that may not be
written, an unreachable scheduler) prints ``error: ...`` naming the problem and exits with
status 2, before any simulation and writing nothing. Output directories follow one rule
(:mod:`abm.outputs`): new, empty, or an earlier result of the same command, replaced
atomically; files abm did not write are never deleted. Doubtful scenarios print ``warning:``
lines (:mod:`abm.plausibility`).
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from abm import plausibility
from abm.data_io import DataFileError
from abm.outputs import OutputError, check, default_dir
from abm.scenario import MAX_MAGNITUDE, Scenario, ScenarioError, load_scenario, parameter_table
from abm.sweeps.backends import SchedulerError
from abm.sweeps.spec import SweepSpecError

EXIT_BAD_INPUT = 2
# the errors that bad input raises: each becomes an `error:` line and exit status 2
BAD_INPUT = (ScenarioError, DataFileError, SweepSpecError, OutputError, SchedulerError)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return v


def _with_years(sc: Scenario, years: float | None, origin: str) -> Scenario:
    """`sc` over the --years horizon (validated: at least a day, plausible)."""
    if years is None:
        return sc
    try:
        return sc.with_overrides({"run.years": years})
    except ScenarioError as err:
        detail = str(err).split("\n", 1)[-1].strip()
        raise ScenarioError(f"{origin} with --years {years:g}: {detail}") from None


def cmd_run(args: argparse.Namespace) -> int:
    from abm.report.tables import summary_table
    from abm.runner import run

    sc = _with_years(load_scenario(args.scenario), args.years, args.scenario or "baseline")
    seed = args.seed if args.seed is not None else sc.run.seed
    out = Path(args.out) if args.out else default_dir(sc.name, f"seed-{seed}")
    check(out, "run")
    plausibility.warn(sc)
    result = run(sc, seed=seed, progress=not args.quiet)
    path = result.save(out)
    print(summary_table(result.summary))
    files = ", ".join(sorted(p.name for p in path.iterdir()))
    print(f"\nwrote {path}/ ({files}) in {result.wall_time_s:.2f} s")
    return 0


def cmd_scenario_show(args: argparse.Namespace) -> int:
    sys.stdout.write(load_scenario(args.scenario).to_toml())
    return 0


def cmd_scenario_doc(args: argparse.Namespace) -> int:
    rows = parameter_table()
    print("| parameter | default | meaning [unit]; source |")
    print("|---|---|---|")
    for r in rows:
        print(f"| `{r['parameter']}` | {r['default']} | {r['description']} |")
    rules = inspect.cleandoc(plausibility.__doc__ or "").split("\n", 1)[1].strip()
    print("\n## Checks before a run\n")
    print(
        f"Every number (a field, a mix table's entry, a list's item) must be finite and at most "
        f"{MAX_MAGNITUDE:g} in magnitude; a scenario file must give its `name`. Besides the "
        "ranges above, these rules of `abm/plausibility.py` apply.\n"
    )
    print(rules)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from abm.compare import compare, effects_table, halted_lines

    if args.seeds < 2:
        raise ScenarioError("--seeds: at least 2 seeds are needed for confidence intervals")
    sa, sb = (_with_years(load_scenario(p), args.years, p) for p in (args.a, args.b))
    out = Path(args.out) if args.out else default_dir(f"compare-{sa.name}-vs-{sb.name}")
    check(out, "compare")
    plausibility.warn(sa)
    plausibility.warn(sb)
    result = compare(sa, sb, seeds=args.seeds, workers=args.workers, progress=True)
    path = result.save(out)
    print(
        f"B - A paired over {args.seeds} seeds (common random numbers); B = {args.b}, A = {args.a}"
    )
    print(effects_table(result.effects))
    print(halted_lines(result.runs))
    print("(concentration metrics over the seeds where neither chain halted)")
    print(f"\nwrote {path}/ in {result.wall_time_s:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="abm", description="Agent-based model of Bitcoin-mining industry consolidation."
    )
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run one scenario and write its outputs")
    r.add_argument("scenario", nargs="?", help="scenario TOML (default: calibrated baseline)")
    r.add_argument("--seed", type=_seed, help="root seed (default: the scenario's run.seed)")
    r.add_argument("--years", type=_positive_float, help="horizon in years (default: scenario's)")
    r.add_argument("--out", help="output directory (default: results/<scenario>/seed-<seed>)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="paired counterfactual: B - A on the same seeds")
    c.add_argument("a", help="scenario A (baseline of the comparison), TOML")
    c.add_argument("b", help="scenario B, TOML")
    c.add_argument("--seeds", type=_seed, default=30, help="number of paired seeds (default 30)")
    c.add_argument("--years", type=_positive_float, help="horizon in years (default: scenarios')")
    c.add_argument("--workers", type=_seed, default=1, help="parallel processes (default 1)")
    c.add_argument("--out", help="output directory (default: results/compare-A-vs-B)")
    c.set_defaults(func=cmd_compare)

    from abm.sweeps.cli import register as register_sweep

    register_sweep(sub)

    from abm.viz.cli import register as register_viz

    register_viz(sub)

    from abm.validation.cli import register as register_validate

    register_validate(sub)

    from abm.calibration.cli import register as register_calibrate

    register_calibrate(sub)

    from abm.report.cli import register as register_report

    register_report(sub)

    s = sub.add_parser("scenario", help="inspect scenarios")
    ssub = s.add_subparsers(dest="action", required=True)
    show = ssub.add_parser("show", help="print the resolved scenario as TOML")
    show.add_argument("scenario", nargs="?", help="scenario TOML (default: baseline)")
    show.set_defaults(func=cmd_scenario_show)
    doc = ssub.add_parser("doc", help="print the parameter table (Markdown)")
    doc.set_defaults(func=cmd_scenario_doc)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    with warnings.catch_warnings():
        warnings.filterwarnings("always", module=r"abm(\.|$)")  # every one of abm's, each time
        warnings.showwarning = _show_warning  # as `warning:` lines
        try:
            return func(args)
        except BAD_INPUT as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
