"""benchmarks/run.py --quick runs end to end and writes its JSON (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--repeats", "1"]
    proc = subprocess.run(
        [*cmd, "--out", str(out)], check=True, capture_output=True, text=True, cwd=ROOT
    )
    assert "ns/firm-day" in proc.stdout  # the table
    data = json.loads(out.read_text())
    assert {
        "meta",
        "cases",
        "targets",
        "speedups",
        "cpu_speedups",
        "firms_exponent",
        "firms_exponent_top",
        "days_exponent",
        "days_exponent_top",
    } <= set(data)
    assert {"python", "numpy", "mesa", "processor", "cpus", "git_commit"} <= set(data["meta"])
    names = {c["case"] for c in data["cases"]}
    assert {"baseline_1y", "ref_case_engine_100_0.2y", "ref_case_reference_100_0.2y"} <= names
    keys = {"wall_s", "cpu_s", "peak_rss_mb", "rss_delta_mb", "tracemalloc_peak_mb"}
    for case in data["cases"]:
        assert keys | {"ns_per_firm_day", "firms", "days", "repeats"} <= set(case)
    assert "100" in data["speedups"]  # engine and reference ran on the same case
    assert all({"target", "pass", "measured"} <= set(t) for t in data["targets"])
