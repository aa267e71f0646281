"""benchmarks/run.py --quick runs and writes its JSON (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--repeats",
            "1",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(out.read_text())
    assert {"meta", "cases", "targets", "speedups", "firms_exponent"} <= set(data)
    assert {c["case"] for c in data["cases"]} >= {"baseline_1y", "ref_case_reference_100_0.2y"}
    assert all(c["wall_s"] > 0 and c["peak_rss_mb"] > 0 for c in data["cases"])
