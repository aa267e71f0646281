"""Where the engine's time goes: a per-phase breakdown of ``MiningIndustry.step`` and a cProfile
table (see benchmarks/PROFILE.md).

    python benchmarks/profile_engine.py                      # baseline, 10 years
    python benchmarks/profile_engine.py --firms 10000 --top 30
    python benchmarks/profile_engine.py --cprofile-out /tmp/base.prof   # for snakeviz etc.

The phase breakdown wraps the phase functions ``step`` calls (without changing them) with
wall-clock timers; "step, the rest" is what remains (expectations and the step's own lines).
For a sampling profile use py-spy (no instrumentation overhead):

    py-spy record -r 200 --format raw -o base.txt -- python -c "import abm; abm.run()"
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # profile this checkout's abm (not another editable install)


def _timed(fn: Callable, key: str, acc: dict[str, float], counts: dict[str, int]) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            acc[key] = acc.get(key, 0.0) + time.perf_counter() - t0
            counts[key] = counts.get(key, 0) + 1

    return wrapper


def phase_breakdown(sc) -> tuple[dict[str, float], dict[str, int], float, int]:
    """Wall time [s] and calls by phase of one run; (times, counts, total step time, days)."""
    from abm import consolidation, day, entry, model, review
    from abm.contracts import AIMarket
    from abm.recorder import Recorder

    acc: dict[str, float] = {}
    counts: dict[str, int] = {}
    patches = [  # the phases of a day (ARCHITECTURE.md)
        (day, "environment", "environment (day.environment)"),
        (model.MiningIndustry, "run_hooks", "components' hooks (all phases)"),
        (day, "operate", "operate (day.operate)"),
        (day, "mine", "mine (day.mine)"),
        (day, "account", "account (day.account)"),
        (AIMarket, "run_day", "ai (AIMarket.run_day)"),
        (review, "review_due", "decide (review.review_due)"),
        (consolidation, "resolve_distress", "distress (consolidation.resolve_distress)"),
        (consolidation, "deals", "deals (consolidation.deals)"),
        (entry.Entry, "daily", "entry (Entry.daily)"),
        (model.MiningIndustry, "update_live_columns", "live-generation window"),
        (Recorder, "record_day", "record (Recorder.record_day)"),
        (model.MiningIndustry, "step", "step, total"),
    ]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    try:
        for obj, name, key in patches:
            setattr(obj, name, _timed(getattr(obj, name), key, acc, counts))
        t0 = time.perf_counter()
        m = model.MiningIndustry(sc)
        setup = time.perf_counter() - t0
        m.run_model()
        m.recorder.timeseries()  # the DataFrames run() builds at the end
        wall = time.perf_counter() - t0
    finally:
        for obj, name, fn in saved:
            setattr(obj, name, fn)
    total = acc.pop("step, total")
    counts.pop("step, total")
    # the hooks' time includes that of the components' own phases timed above
    inner = sum(acc.get(k, 0.0) for k in acc if k.startswith(("ai ", "distress", "deals", "entry")))
    acc["components' hooks (all phases)"] = acc.get("components' hooks (all phases)", 0.0) - inner
    acc["step, the rest (expectations, small steps)"] = total - sum(acc.values())
    acc["set-up (MiningIndustry.__init__)"] = setup
    acc["Mesa step wrapper, loop, output tables"] = wall - total - setup
    return acc, counts, wall, m.n_days


def cprofile_table(sc, top: int, sort: str, out: str | None) -> str:
    """cProfile of one run, the `top` functions by `sort` ('tottime' or 'cumulative')."""
    from abm.model import MiningIndustry

    prof = cProfile.Profile()
    prof.enable()
    m = MiningIndustry(sc)
    m.run_model()
    m.recorder.timeseries()
    prof.disable()
    if out:
        prof.dump_stats(out)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(sort).print_stats(top)
    return buf.getvalue()


def main() -> None:
    from run import scaled_scenario

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--firms", type=int, default=600, help="firms (600 = the baseline)")
    p.add_argument("--years", type=float, default=10.0, help="horizon [years]")
    p.add_argument("--top", type=int, default=25, help="rows of the cProfile tables")
    p.add_argument("--cprofile-out", help="also write the raw cProfile stats here")
    p.add_argument("--no-cprofile", action="store_true", help="phase breakdown only")
    a = p.parse_args()
    sc = scaled_scenario(a.firms, a.years).with_overrides({"run.seed": 42})

    acc, counts, wall, days = phase_breakdown(sc)
    print(f"{a.firms} firms, {a.years:g} years: {wall:.2f} s, {wall / days * 1e3:.3f} ms/day")
    print(f"{'phase':<46} {'s':>7} {'%':>6} {'ms/day':>7} {'calls':>7}")
    for k, v in sorted(acc.items(), key=lambda kv: -kv[1]):
        print(
            f"{k:<46} {v:>7.3f} {100 * v / wall:>6.1f} {v / days * 1e3:>7.3f} "
            f"{counts.get(k, ''):>7}"
        )
    if not a.no_cprofile:
        for sort in ("tottime", "cumulative"):
            print(f"\ncProfile, by {sort} (cProfile inflates small calls ~2x):")
            print(cprofile_table(sc, a.top, sort, a.cprofile_out))


if __name__ == "__main__":
    main()
