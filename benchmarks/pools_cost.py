"""CPU cost of pools (issue 20): the 10-year baseline (seed 42) with pools on and off,
interleaved pairs in fresh subprocesses, CPU seconds of ``run_model`` (one BLAS thread).

    python benchmarks/pools_cost.py [PAIRS]      # default 3; prints a Markdown table
"""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import time
from abm import MiningIndustry
from abm.scenario import Scenario
sc = Scenario().with_overrides({"pools.enabled": %s})
m = MiningIndustry(sc, seed=42)
t0 = time.process_time()
m.run_model()
print(time.process_time() - t0)
"""


def cpu(enabled: bool) -> float:
    """CPU seconds of one run in a fresh interpreter."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    code = CHILD % ("True" if enabled else "False")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    off, on = [], []
    for _ in range(pairs):
        off.append(cpu(False))
        on.append(cpu(True))
    ratio = [b / a for a, b in zip(off, on, strict=True)]
    med = lambda x: sorted(x)[len(x) // 2]  # noqa: E731
    cells = lambda x, f: " | ".join(f.format(v) for v in x)  # noqa: E731
    print("| | " + " | ".join(f"run {i + 1}" for i in range(pairs)) + " | median |")
    print("|---|" + "---:|" * (pairs + 1))
    print(f"| pools off [s] | {cells(off, '{:.3f}')} | {med(off):.3f} |")
    print(f"| pools on [s] | {cells(on, '{:.3f}')} | {med(on):.3f} |")
    print(f"| ratio (pair) | {cells(ratio, '{:.3f}')} | {med(ratio):.3f} |")
    print(f"\nmin/min {min(on) / min(off):.3f}")


if __name__ == "__main__":
    main()
