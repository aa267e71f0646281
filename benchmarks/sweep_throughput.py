"""Sweep throughput: runs per minute on 1 and 2 workers (local processes and Dask), and the
parallel efficiency T1 / (2 T2). Prints a table and writes sweep_throughput.json.

    python benchmarks/sweep_throughput.py [--runs 40] [--years 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import tomli_w

from abm.sweeps import sweep

HERE = Path(__file__).resolve().parent


def spec_file(tmp: Path, runs: int, years: float) -> Path:
    p = tmp / "throughput.toml"
    p.write_text(
        tomli_w.dumps(
            {
                "name": "throughput",
                "years": years,
                "replications": runs // 2,
                "root_seed": 1,
                "design": {"kind": "grid"},
                "parameters": {"price.volatility_per_year": {"levels": [0.4, 0.6]}},
            }
        )
    )
    return p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--out", default=str(HERE / "sweep_throughput.json"))
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    spec = spec_file(tmp, a.runs, a.years)
    rows = []
    for label, workers, scheduler in [
        ("serial", 1, None),
        ("processes x2", 2, None),
        ("dask local x2", 2, "local"),
    ]:
        out = tmp / label.replace(" ", "_")
        t0 = time.perf_counter()
        res = sweep(spec, out, workers=workers, scheduler=scheduler, progress=False)
        wall = time.perf_counter() - t0
        rows.append(
            {
                "backend": label,
                "workers": workers,
                "runs": len(res.runs),
                "wall_s": wall,
                "runs_per_min": len(res.runs) / wall * 60,
            }
        )
    t1 = rows[0]["wall_s"]
    for r in rows:
        r["parallel_efficiency"] = t1 / (r["workers"] * r["wall_s"])
    print(f"{'backend':<16} {'runs':>5} {'wall s':>8} {'runs/min':>9} {'efficiency':>10}")
    for r in rows:
        print(
            f"{r['backend']:<16} {r['runs']:>5} {r['wall_s']:>8.1f} {r['runs_per_min']:>9.1f} "
            f"{r['parallel_efficiency']:>10.2f}"
        )
    Path(a.out).write_text(json.dumps({"runs": a.runs, "years": a.years, "rows": rows}, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
