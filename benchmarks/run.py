"""Benchmarks: wall time and peak memory of the engine and of the idiomatic-Mesa reference.

    python benchmarks/run.py                 # full table (several minutes), writes results.json
    python benchmarks/run.py --quick         # small cases, a smoke run
    python benchmarks/run.py --only baseline --repeats 5

Every case runs in a fresh subprocess (so peak memory is per case), ``--repeats`` times; the
table shows the median. Time per firm-day is wall time / (firms x days). The engine/reference
speed-up is measured on the same scenario in the same session. Targets (issue 3) are printed
with PASS/MISS; nothing here asserts a time (tests only run --quick as a smoke test).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BASE_FIRMS, BASE_EHS = 600, 1130.0


def _scenario(n_firms: int, years: float):
    from abm import Scenario

    scale = n_firms / BASE_FIRMS
    over = {"run.years": years}
    if n_firms != BASE_FIRMS:
        over |= {
            "firms.n_firms": n_firms,
            "firms.n_large": max(4, round(14 * scale)),
            "firms.initial_hashrate_ehs": BASE_EHS * scale,
            "firms.tail_max_ehs": 8.0 * max(scale, 1.0) ** 0.5,
            "sovereign_scale": scale,
        }
    return Scenario().with_overrides(over)


def run_case(kind: str, n_firms: int, years: float) -> dict:
    """Run one case in this process; returns wall time and peak RSS."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if kind == "engine":
        from abm import run

        sc = _scenario(n_firms, years)
        t0 = time.perf_counter()
        run(sc, seed=1)
    elif kind in ("engine_ref_case", "reference"):
        sys.path.insert(0, str(HERE))
        from reference_mesa import reference_case, run_reference

        sc = reference_case(n_firms, years).with_overrides(
            {"price.drift_per_year": 0.15, "price.volatility_per_year": 0.0}
        )
        t0 = time.perf_counter()
        if kind == "reference":
            run_reference(sc, seed=1)
        else:
            from abm import run

            run(sc, seed=1)
    else:
        raise ValueError(kind)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"wall_s": wall, "peak_rss_mb": rss / 1024, "start_rss_mb": rss0 / 1024}


def measure(name: str, kind: str, n_firms: int, years: float, repeats: int) -> dict:
    walls, rss = [], []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, __file__, "--case", kind, str(n_firms), str(years)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        walls.append(r["wall_s"])
        rss.append(r["peak_rss_mb"])
    wall = statistics.median(walls)
    days = round(years * 365)
    res = {
        "case": name,
        "kind": kind,
        "firms": n_firms,
        "years": years,
        "repeats": repeats,
        "wall_s": wall,
        "wall_all_s": walls,
        "peak_rss_mb": max(rss),
        "ns_per_firm_day": wall / (n_firms * days) * 1e9,
    }
    print(f"  {name:<28} {wall:8.3f} s  {max(rss):7.0f} MB", file=sys.stderr)
    return res


def plan(quick: bool) -> list[tuple[str, str, int, float]]:
    if quick:
        return [
            ("baseline_1y", "engine", 600, 1.0),
            ("engine_300_1y", "engine", 300, 1.0),
            ("engine_1000_1y", "engine", 1000, 1.0),
            ("ref_case_engine_100_0.2y", "engine_ref_case", 100, 0.2),
            ("ref_case_reference_100_0.2y", "reference", 100, 0.2),
        ]
    return [
        ("baseline_10y", "engine", 600, 10.0),
        ("engine_1000_10y", "engine", 1000, 10.0),
        ("engine_3000_10y", "engine", 3000, 10.0),
        ("engine_10000_10y", "engine", 10000, 10.0),
        ("engine_30000_10y", "engine", 30000, 10.0),
        ("engine_3000_2.5y", "engine", 3000, 2.5),
        ("engine_3000_5y", "engine", 3000, 5.0),
        ("ref_case_engine_300_1y", "engine_ref_case", 300, 1.0),
        ("ref_case_reference_300_1y", "reference", 300, 1.0),
        ("ref_case_engine_1000_1y", "engine_ref_case", 1000, 1.0),
        ("ref_case_reference_1000_1y", "reference", 1000, 1.0),
    ]


def _exponent(xs: list[float], ys: list[float]) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0]) if len(xs) > 1 else float("nan")


def analyse(rows: list[dict]) -> dict:
    by = {r["case"]: r for r in rows}
    eng10 = [r for r in rows if r["kind"] == "engine" and r["years"] == 10.0]
    eng10.sort(key=lambda r: r["firms"])
    firms_exp = _exponent([r["firms"] for r in eng10], [r["wall_s"] for r in eng10])
    days_rows = sorted(
        (r for r in rows if r["kind"] == "engine" and r["firms"] == 3000), key=lambda r: r["years"]
    )
    days_exp = _exponent([r["years"] for r in days_rows], [r["wall_s"] for r in days_rows])
    speedups = {}
    for n in (100, 300, 1000):
        for y in ("0.2y", "1y"):
            e, ref = by.get(f"ref_case_engine_{n}_{y}"), by.get(f"ref_case_reference_{n}_{y}")
            if e and ref:
                speedups[n] = ref["wall_s"] / e["wall_s"]
    base = by.get("baseline_10y")
    targets = []
    if base:
        targets.append(("baseline 10 y <= 1 s", base["wall_s"] <= 1.0, f"{base['wall_s']:.2f} s"))
        targets.append(
            (
                "baseline peak memory <= 300 MB",
                base["peak_rss_mb"] <= 300,
                f"{base['peak_rss_mb']:.0f} MB",
            )
        )
    if "engine_10000_10y" in by:
        w = by["engine_10000_10y"]["wall_s"]
        targets.append(("10,000 firms 10 y <= 10 s", w <= 10.0, f"{w:.1f} s"))
    if np.isfinite(firms_exp):
        targets.append(("cost ~linear in firms (exp <= 1.1)", firms_exp <= 1.1, f"{firms_exp:.2f}"))
    if np.isfinite(days_exp):
        targets.append(("cost ~linear in days (exp <= 1.1)", days_exp <= 1.1, f"{days_exp:.2f}"))
    if 1000 in speedups:
        targets.append(
            (
                "engine >= 50x reference at 1,000 firms",
                speedups[1000] >= 50,
                f"{speedups[1000]:.1f}x",
            )
        )
    return {
        "firms_exponent": firms_exp,
        "days_exponent": days_exp,
        "speedups": speedups,
        "targets": [{"target": t, "pass": bool(p), "measured": m} for t, p, m in targets],
    }


def table(rows: list[dict], summary: dict) -> str:
    lines = [
        f"{'case':<30} {'firms':>6} {'years':>5} {'wall s':>9} {'peak MB':>8} {'ns/firm-day':>12}"
    ]
    for r in rows:
        lines.append(
            f"{r['case']:<30} {r['firms']:>6} {r['years']:>5} {r['wall_s']:>9.3f} "
            f"{r['peak_rss_mb']:>8.0f} {r['ns_per_firm_day']:>12.0f}"
        )
    lines.append("")
    lines.append(
        f"scaling exponent in firms: {summary['firms_exponent']:.2f}; "
        f"in days: {summary['days_exponent']:.2f}"
    )
    for n, s in summary["speedups"].items():
        lines.append(f"engine / reference speed-up at {n} firms: {s:.1f}x")
    for t in summary["targets"]:
        lines.append(f"{'PASS' if t['pass'] else 'MISS'}  {t['target']:<42} {t['measured']}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--case", nargs=3, metavar=("KIND", "FIRMS", "YEARS"), help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help="small cases only (smoke run)")
    p.add_argument("--repeats", type=int, default=3, help="runs per case (median reported)")
    p.add_argument("--only", help="run only cases whose name contains this text")
    p.add_argument("--out", default=str(HERE / "results.json"), help="JSON output path")
    a = p.parse_args()
    if a.case:
        print(json.dumps(run_case(a.case[0], int(a.case[1]), float(a.case[2]))))
        return
    cases = [c for c in plan(a.quick) if not a.only or a.only in c[0]]
    rows = [measure(*c, repeats=a.repeats) for c in cases]
    summary = analyse(rows)
    print(table(rows, summary))
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "processor": _cpu_model(),
    }
    Path(a.out).write_text(json.dumps({"meta": meta, "cases": rows, **summary}, indent=2) + "\n")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
