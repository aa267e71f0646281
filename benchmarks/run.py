"""Benchmarks: wall time, CPU time and peak memory of the engine and of the idiomatic-Mesa
reference (issue 3).

    python benchmarks/run.py                       # full table (~10 min), writes results.json
    python benchmarks/run.py --quick --repeats 1   # small cases: a smoke run
    python benchmarks/run.py --only baseline --repeats 5 --out /tmp/b.json

Every repeat of a case runs in a fresh subprocess with one BLAS thread (one core per run), so
memory peaks are per case. Reported per
case: the median wall and CPU time of the repeats; the process's peak RSS (``ru_maxrss``,
including the ~190 MB of imported libraries) and its rise during the run (peak after the run
minus peak after imports and set-up); the tracemalloc peak of one extra, untimed run in the
first subprocess (tracemalloc slows the run ~2.5x, so it is never timed); and wall time per
firm-day (initial firms x simulated days) [ns].

Cases: (a) the 10-year baseline, ``abm.run()`` with data collection; (b) 1,000-30,000 firms for
10 years, the population scaled so per-firm sizes stay as in the baseline (hashrate
1,130 x n/600 EH/s, listed firms and sovereigns scaled alike, the private tail's cap
``firms.tail_max_ehs`` kept at 8 EH/s so the tail's size distribution is unchanged), plus 2.5
and 5 years at 3,000 firms for the scaling in days; (c) the reference (benchmarks/
reference_mesa.py) at 300 and 1,000 firms for 1 year, each next to the engine on the same
scenario in the same session, for a like-for-like speed-up; (d) the numpy floor: the baseline's
firms and days through a minimal vectorised day loop (operate or curtail each vintage by its
energy cost against the hashprice, block rewards pro rata to hashrate, cash accounting; see
:func:`numpy_floor_loop`), the least a pure-numpy engine of this design costs per day on this
machine. Targets are printed PASS/MISS; nothing here asserts a time (tests run only ``--quick``
as a smoke test).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # measure this checkout's abm (not another editable install)
BASE_FIRMS = 600  # firms in the baseline [-]
SEED = 42  # the baseline scenario's seed (abm.run() default)


@dataclass(frozen=True)
class Case:
    """One benchmark case: what runs (kind), on how many firms, for how long, in which scans."""

    name: str
    kind: str  # "baseline" | "engine" | "engine_ref_case" | "reference" | "numpy_floor"
    firms: int
    years: float
    scans: tuple[str, ...] = ()  # "firms" and/or "days": used in the scaling fits
    max_repeats: int | None = None  # cap on --repeats for very long cases
    trace: bool = True  # run the untimed tracemalloc rerun

    @property
    def days(self) -> int:
        return round(self.years * 365)


def plan(quick: bool) -> list[Case]:
    """The cases of a full or a quick run."""
    if quick:
        return [
            Case("baseline_1y", "baseline", 600, 1.0, ("days",)),
            Case("baseline_0.5y", "baseline", 600, 0.5, ("firms", "days")),
            Case("engine_300_0.5y", "engine", 300, 0.5, ("firms",)),
            Case("ref_case_engine_100_0.2y", "engine_ref_case", 100, 0.2),
            Case("ref_case_reference_100_0.2y", "reference", 100, 0.2),
            Case("numpy_floor_1y", "numpy_floor", 600, 1.0),
        ]
    return [
        Case("baseline_10y", "baseline", 600, 10.0, ("firms",)),
        Case("engine_1000_10y", "engine", 1000, 10.0, ("firms",)),
        Case("engine_3000_10y", "engine", 3000, 10.0, ("firms", "days")),
        Case("engine_10000_10y", "engine", 10000, 10.0, ("firms",)),
        Case("engine_30000_10y", "engine", 30000, 10.0, ("firms",), max_repeats=1, trace=False),
        Case("engine_3000_2.5y", "engine", 3000, 2.5, ("days",)),
        Case("engine_3000_5y", "engine", 3000, 5.0, ("days",)),
        Case("ref_case_engine_300_1y", "engine_ref_case", 300, 1.0),
        Case("ref_case_reference_300_1y", "reference", 300, 1.0),
        Case("ref_case_engine_1000_1y", "engine_ref_case", 1000, 1.0),
        Case("ref_case_reference_1000_1y", "reference", 1000, 1.0),
        Case("numpy_floor_10y", "numpy_floor", 600, 10.0),
    ]


# ----------------------------------------------------------------------------------------------
# one case, in a subprocess
def scaled_scenario(n_firms: int, years: float):
    """The baseline economy scaled by s = n_firms / 600, so each firm faces the baseline's
    sizes and economics.

    Firms, listed firms, installed hashrate (1,130 x s EH/s), sovereigns, and the arrival rates
    of entrants and acquisitions scale with s; the private tail's cap (tail_max_ehs, 8 EH/s)
    does not, so the tail's size distribution is the baseline's. The protocol's revenue must
    scale too: with s x the hashrate but the baseline's block reward, revenue per TH/s would be
    1/s of the baseline's and the industry would collapse within months (at 10,000 firms every
    non-sovereign firm defaults by day 300). Scaling the BTC price and the initial difficulty
    by s keeps revenue per TH/s, hashprice, rig prices and every USD amount per firm as in the
    baseline (BTC amounts per firm are 1/s of the baseline's).
    """
    from abm import Scenario

    base = Scenario()
    s = n_firms / BASE_FIRMS
    over: dict = {"run.years": years}
    if n_firms != BASE_FIRMS:
        c = base.consolidation
        over |= {
            "firms.n_firms": n_firms,
            "firms.n_large": max(4, round(base.firms.n_large * s)),
            "firms.initial_hashrate_ehs": base.firms.initial_hashrate_ehs * s,
            "firms.tail_max_ehs": base.firms.tail_max_ehs,
            "sovereign_scale": s,
            "price.initial_usd": base.price.initial_usd * s,
            "protocol.initial_difficulty": base.protocol.initial_difficulty * s,
            "consolidation.entry_rate_per_year": c.entry_rate_per_year * s,
            "consolidation.deal_rate_per_year": c.deal_rate_per_year * s,
        }
    return base.with_overrides(over)


def bench_reference_case(n_firms: int, years: float):
    """The reference case (tests/test_reference_mesa.py) with the baseline's price drift, so
    firms keep mining and investing for the whole run instead of leaving."""
    sys.path.insert(0, str(HERE))
    from reference_mesa import reference_case

    return reference_case(n_firms, years).with_overrides({"price.drift_per_year": 0.15})


def numpy_floor_loop(
    fleet_ths: np.ndarray,
    cost_usd_per_th_day: np.ndarray,
    energy_mwh_per_th_day: np.ndarray,
    power_price_usd_per_mwh: np.ndarray,
    fixed_usd_per_day: np.ndarray,
    price_usd: np.ndarray,
    reward_btc_per_day: np.ndarray,
) -> np.ndarray:
    """The essential day of the engine, vectorised over firms x vintages, for each day of
    `price_usd`: each vintage runs when the hashprice (yesterday's reward per TH/s of network
    hashrate) beats its energy cost, else it is curtailed; the day's reward is paid pro rata to
    hashrate; cash takes the revenue less energy and fixed costs. Returns the final cash [USD]."""
    cash = np.zeros(fleet_ths.shape[0])
    ones = np.ones(fleet_ths.shape[1])
    total = float(fleet_ths.sum())
    for d in range(price_usd.size):
        hashprice = reward_btc_per_day[d] * price_usd[d] / total  # USD per TH/s-day
        running = np.where(cost_usd_per_th_day < hashprice, fleet_ths, 0.0)
        run_f = running @ ones
        total = max(float(run_f.sum()), 1.0)
        btc_f = run_f * (reward_btc_per_day[d] / total)
        energy_f = (running @ energy_mwh_per_th_day) * power_price_usd_per_mwh
        cash += btc_f * price_usd[d] - energy_f - fixed_usd_per_day
    return cash


def _numpy_floor(years: float):
    """The numpy floor on the baseline's initial firms, live vintages, price path and block
    rewards (set up here, untimed)."""
    import abm
    from abm import chain

    m = abm.MiningIndustry(abm.Scenario().with_overrides({"run.years": years}), seed=SEED)
    s, live = m.sites, m.live_columns  # one row per site, the unit of operation
    heights = m.params.protocol.start_height + np.arange(m.n_days) * chain.BLOCKS_PER_DAY
    subsidy = np.array([chain.subsidy_btc(int(h)) for h in heights])
    args = (
        np.ascontiguousarray(s.fleet_ths[:, live]),
        np.ascontiguousarray(m.cost_usd_per_th_day[:, live]),
        m.gens.energy_mwh_per_th_day[live].copy(),
        s.rate_usd_per_mwh.copy(),
        s.capacity_mw * m.params.energy.fixed_opex_usd_per_mw_day,
        m.price_usd[: m.n_days].copy(),
        (subsidy + m.fee_btc_per_block) * chain.BLOCKS_PER_DAY,
    )
    return lambda: numpy_floor_loop(*args)


def _runner(kind: str, n_firms: int, years: float):
    """A zero-argument callable that runs the case once (imports and scenario done here)."""
    import abm

    if kind == "baseline":
        if n_firms != BASE_FIRMS:
            raise ValueError("the baseline has 600 firms")
        if years == 10.0:
            return lambda: abm.run()
        return lambda: abm.run(years=years)
    if kind == "engine":
        sc = scaled_scenario(n_firms, years)
        return lambda: abm.run(sc, seed=SEED)
    if kind == "numpy_floor":
        if n_firms != BASE_FIRMS:
            raise ValueError("the numpy floor runs the baseline's 600 firms")
        return _numpy_floor(years)
    if kind in ("engine_ref_case", "reference"):
        sc = bench_reference_case(n_firms, years)
        if kind == "engine_ref_case":
            return lambda: abm.run(sc, seed=SEED)
        from reference_mesa import run_reference

        return lambda: run_reference(sc, seed=SEED)
    raise ValueError(f"unknown case kind {kind!r}")


# one core per run (issue 3): one BLAS thread per case, as abm.sweeps.backends.ONE_BLAS_THREAD
# gives sweep workers. The outputs do not depend on it (tests/test_metrics.py), only the timing
# would: 10,000 firms used ~1.1 cores with OpenBLAS's default threads. Not imported from abm:
# the driver must stay small, because a child's ru_maxrss starts at its parent's peak.
ONE_CORE = {
    **os.environ,
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_case(kind: str, n_firms: int, years: float, trace: bool) -> dict:
    """Run one case in this process: timings and memory (and a traced, untimed rerun)."""
    go = _runner(kind, n_firms, years)
    gc.collect()
    rss0 = _maxrss_mb()
    c0, t0 = time.process_time(), time.perf_counter()
    result = go()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": _maxrss_mb(), "rss_before_mb": rss0}
    out["rss_delta_mb"] = out["peak_rss_mb"] - rss0
    if trace:
        del result
        gc.collect()
        tracemalloc.start()
        go()
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


# ----------------------------------------------------------------------------------------------
# driver
def measure(case: Case, repeats: int, trace: bool, i: int, n: int) -> dict:
    """Run a case `repeats` times, each in a fresh subprocess; medians and peaks."""
    repeats = min(repeats, case.max_repeats or repeats)
    trace = trace and case.trace
    runs = []
    load = os.getloadavg()[0]
    for k in range(repeats):
        print(f"[{i}/{n}] {case.name}: run {k + 1}/{repeats}", file=sys.stderr, flush=True)
        cmd = [sys.executable, __file__, "--case", case.kind, str(case.firms), str(case.years)]
        if trace and k == 0:
            cmd.append("--trace")
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=ONE_CORE)
        if out.returncode:
            raise RuntimeError(f"{case.name} failed:\n{out.stderr}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    wall = statistics.median(r["wall_s"] for r in runs)
    res = {
        "case": case.name,
        "kind": case.kind,
        "firms": case.firms,
        "years": case.years,
        "days": case.days,
        "scans": list(case.scans),
        "seed": SEED,
        "repeats": repeats,
        "wall_s": wall,
        "wall_all_s": [r["wall_s"] for r in runs],
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "rss_delta_mb": max(r["rss_delta_mb"] for r in runs),
        "tracemalloc_peak_mb": runs[0].get("tracemalloc_peak_mb"),
        "ns_per_firm_day": wall / (case.firms * case.days) * 1e9,
        "load_avg_1m": load,
    }
    print(
        f"[{i}/{n}] {case.name}: {wall:.3f} s (cpu {res['cpu_s']:.3f} s), "
        f"{res['ns_per_firm_day']:,.0f} ns/firm-day, peak {res['peak_rss_mb']:.0f} MB",
        file=sys.stderr,
        flush=True,
    )
    return res


def _exponent(xs: list[float], ys: list[float]) -> float:
    """Slope of log y on log x (nan with fewer than two points)."""
    if len(xs) < 2:
        return float("nan")
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def _scan(rows: list[dict], scan: str, x: str) -> tuple[float, float, list]:
    """(fitted exponent over the scan, exponent between its two largest points, points)."""
    pts = sorted((r[x], r["wall_s"]) for r in rows if scan in r["scans"])
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return _exponent(xs, ys), _exponent(xs[-2:], ys[-2:]), pts


def analyse(rows: list[dict]) -> dict:
    """Scaling exponents, engine/reference speed-ups and the issue-3 targets."""
    by = {r["case"]: r for r in rows}
    f_fit, f_top, f_pts = _scan(rows, "firms", "firms")
    d_fit, d_top, d_pts = _scan(rows, "days", "days")
    speedups, cpu_speedups = {}, {}
    for r in rows:
        if r["kind"] == "reference":
            e = by.get(r["case"].replace("_reference_", "_engine_"))
            if e:
                speedups[r["firms"]] = r["wall_s"] / e["wall_s"]
                cpu_speedups[r["firms"]] = r["cpu_s"] / e["cpu_s"]
    targets: list[tuple[str, bool, str]] = []
    if base := by.get("baseline_10y"):
        w, mem = base["wall_s"], base["peak_rss_mb"]
        targets.append(("baseline 10 y <= 1 s", w <= 1.0, f"{w:.2f} s"))
        targets.append(("baseline peak RSS <= 300 MB", mem <= 300, f"{mem:.0f} MB"))
    if big := by.get("engine_10000_10y"):
        targets.append(
            ("10,000 firms 10 y <= 10 s", big["wall_s"] <= 10.0, f"{big['wall_s']:.1f} s")
        )
    if np.isfinite(f_top):
        targets.append(
            (
                "exponent in firms <= 1.1 (largest two)",
                f_top <= 1.1,
                f"{f_top:.2f} (fit {f_fit:.2f})",
            )
        )
    if np.isfinite(d_top):
        targets.append(
            (
                "exponent in days <= 1.1 (largest two)",
                d_top <= 1.1,
                f"{d_top:.2f} (fit {d_fit:.2f})",
            )
        )
    if 1000 in speedups:
        s = speedups[1000]
        targets.append(("engine >= 50x reference at 1,000 firms", s >= 50, f"{s:.1f}x"))
    return {
        "firms_exponent": f_fit,
        "firms_exponent_top": f_top,
        "firms_points": f_pts,
        "days_exponent": d_fit,
        "days_exponent_top": d_top,
        "days_points": d_pts,
        "speedups": speedups,
        "cpu_speedups": cpu_speedups,
        "targets": [{"target": t, "pass": bool(p), "measured": m} for t, p, m in targets],
    }


def _mb(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"


def table(rows: list[dict], summary: dict) -> str:
    """The results as a plain-text table with the targets."""
    head = (
        f"{'case':<28} {'firms':>6} {'years':>5} {'runs':>4} {'wall s':>8} {'cpu s':>8} "
        f"{'ns/firm-day':>11} {'peak RSS MB':>11} {'dRSS MB':>7} {'tracemalloc MB':>14}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['case']:<28} {r['firms']:>6} {r['years']:>5g} {r['repeats']:>4} "
            f"{r['wall_s']:>8.3f} {r['cpu_s']:>8.3f} {r['ns_per_firm_day']:>11,.0f} "
            f"{r['peak_rss_mb']:>11.0f} "
            f"{r['rss_delta_mb']:>7.0f} {_mb(r['tracemalloc_peak_mb']):>14}"
        )
    lines.append("")
    s = summary
    lines.append(
        f"scaling exponent in firms: fit {s['firms_exponent']:.2f}, largest two "
        f"{s['firms_exponent_top']:.2f}; in days: fit {s['days_exponent']:.2f}, largest two "
        f"{s['days_exponent_top']:.2f}"
    )
    for n, x in s["speedups"].items():
        lines.append(
            f"engine / reference speed-up at {n} firms: {x:.1f}x wall, "
            f"{s['cpu_speedups'][n]:.1f}x cpu"
        )
    for t in s["targets"]:
        lines.append(f"{'PASS' if t['pass'] else 'MISS'}  {t['target']:<42} {t['measured']}")
    return "\n".join(lines)


def machine() -> dict:
    """Versions, hardware and the git state of what was measured."""
    import mesa

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], capture_output=True, text=True, cwd=ROOT, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpus": os.cpu_count(),
        "blas_threads_per_run": 1,
        "ram_gib": round(mem_kb / 2**20, 1),
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "abm_modified": bool(git("status", "--porcelain", "--", "abm")),
        "load_avg_start": os.getloadavg()[0],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--case", nargs=3, metavar=("KIND", "FIRMS", "YEARS"), help=argparse.SUPPRESS)
    p.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help="small cases only (a smoke run)")
    p.add_argument("--repeats", type=int, default=3, help="runs per case; the median is shown")
    p.add_argument("--only", metavar="NAME", help="only the cases whose name contains NAME")
    p.add_argument("--no-tracemalloc", action="store_true", help="skip the traced reruns")
    p.add_argument("--out", default=str(HERE / "results.json"), help="JSON output path")
    a = p.parse_args()
    if a.case:
        print(json.dumps(run_case(a.case[0], int(a.case[1]), float(a.case[2]), a.trace)))
        return
    cases = [c for c in plan(a.quick) if not a.only or a.only in c.name]
    if not cases:
        p.error(f"no case matches --only {a.only!r}")
    meta = machine()
    rows = [
        measure(c, a.repeats, not a.no_tracemalloc, i + 1, len(cases)) for i, c in enumerate(cases)
    ]
    meta["load_avg_end"] = os.getloadavg()[0]
    summary = analyse(rows)
    print(table(rows, summary))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "cases": rows, **summary}, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
