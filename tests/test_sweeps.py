"""Sweeps: designs, the resumable store, failures, backends, Sobol indices, the CLI."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import tomli_w

from abm.cli import main
from abm.sweeps import load_spec, sweep
from abm.sweeps.designs import grid, latin_hypercube, points
from abm.sweeps.spec import SweepSpecError

TINY = {
    "firms.n_firms": 20,
    "firms.n_large": 5,
    "firms.tail_max_ehs": 1130.0,
    "sovereigns": [],
}


def write_spec(tmp_path, **kw) -> str:
    data = {
        "name": "t",
        "years": 0.05,
        "overrides": TINY,
        "replications": 2,
        "root_seed": 7,
        "design": {"kind": "grid"},
        "parameters": {"price.volatility_per_year": {"levels": [0.3, 0.6]}},
    }
    data.update(kw)
    p = tmp_path / "spec.toml"
    p.write_text(tomli_w.dumps(data))
    return str(p)


def test_grid_count_is_the_product_of_levels():
    pts = grid({"a": [1, 2, 3], "b": [10, 20], "c": ["x", "y"]})
    assert len(pts) == 3 * 2 * 2
    assert {(p["a"], p["b"], p["c"]) for p in pts} == {
        (a, b, c) for a in (1, 2, 3) for b in (10, 20) for c in ("x", "y")
    }


def test_lhs_one_point_per_stratum():
    n = 17
    x = latin_hypercube({"a": (0.0, 1.0), "b": (10.0, 30.0)}, n, seed=3)
    for j, (lo, hi) in enumerate([(0.0, 1.0), (10.0, 30.0)]):
        strata = np.floor((x[:, j] - lo) / (hi - lo) * n).astype(int)
        assert sorted(strata) == list(range(n))


@pytest.mark.parametrize(("second", "expected"), [(True, 8 * (2 * 3 + 2)), (False, 8 * (3 + 2))])
def test_saltelli_sample_size(tmp_path, second, expected):
    spec = load_spec(
        write_spec(
            tmp_path,
            design={"kind": "sobol", "n": 8, "second_order": second},
            parameters={
                "price.volatility_per_year": {"low": 0.2, "high": 0.8},
                "energy.median_price_usd_per_mwh": {"low": 35, "high": 55},
                "firms.hurdle_rate_private": {"low": 0.12, "high": 0.25},
            },
        )
    )
    assert len(points(spec)) == expected


def test_spec_errors_name_the_field(tmp_path):
    with pytest.raises(SweepSpecError, match="price.nope"):
        load_spec(write_spec(tmp_path, parameters={"price.nope": {"levels": [1]}}))
    with pytest.raises(SweepSpecError, match=r"design\.kind"):
        load_spec(write_spec(tmp_path, design={"kind": "random"}))
    with pytest.raises(SweepSpecError, match="needs low and high"):
        load_spec(write_spec(tmp_path, design={"kind": "lhs", "n": 4}))


def test_sweep_store_and_summary(tmp_path):
    res = sweep(write_spec(tmp_path), tmp_path / "out", progress=False)
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert len(runs) == 4 and res.done == 4 and res.failed == 0
    assert runs["run_id"].tolist() == [0, 1, 2, 3]
    assert runs["seed"].nunique() == 4
    assert set(runs["param:price.volatility_per_year"]) == {0.3, 0.6}
    by_point = pd.read_csv(tmp_path / "out" / "summary_by_point.csv")
    assert len(by_point) == 2 and "hhi_owner_end_ci_low" in by_point
    # the same spec and root seed give the same results (wall time aside)
    again = sweep(write_spec(tmp_path), tmp_path / "out2", progress=False).runs
    cols = [c for c in runs.columns if c not in ("wall_time_s", "wall_time_s_summary")]
    pd.testing.assert_frame_equal(runs[cols], again[cols])


def test_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    # a replayed price series that ends before the horizon makes one design point fail
    spec = write_spec(
        tmp_path,
        parameters={"run.start_date": {"levels": ["2020-01-01", "2026-02-10"]}},
        overrides={**TINY, "price.model": "replay"},
    )
    res = sweep(spec, tmp_path / "out", progress=False)
    assert res.failed == 2 and res.done == 2
    bad = res.runs[res.runs["status"] == "failed"]
    assert bad["error"].str.contains("DataFileError").all()
    # a resume keeps them; retry_failed runs them again (they fail again here)
    again = sweep(spec, tmp_path / "out", progress=False, retry_failed=True)
    assert again.failed == 2 and len(again.runs) == 4


def test_resume_after_kill_runs_only_missing(tmp_path):
    spec = write_spec(tmp_path, replications=6, years=0.3)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "abm.cli", "sweep", spec, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out / "parts"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("run-*.parquet"))) < 3:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    finished = {f.name for f in parts.glob("run-*.parquet")}
    assert 3 <= len(finished) < 12, "the kill should interrupt the sweep part-way"
    mtimes = {f.name: f.stat().st_mtime_ns for f in parts.glob("run-*.parquet")}
    res = sweep(spec, out, progress=False)
    assert len(res.runs) == 12 and res.runs["run_id"].is_unique
    # finished runs were not run again
    assert all((parts / n).stat().st_mtime_ns == mtimes[n] for n in finished)


def test_serial_and_dask_give_identical_tables(tmp_path):
    spec = write_spec(tmp_path)
    serial = sweep(spec, tmp_path / "serial", progress=False).runs
    dask = sweep(spec, tmp_path / "dask", workers=2, scheduler="local", progress=False).runs
    procs = sweep(spec, tmp_path / "procs", workers=2, progress=False).runs
    cols = [c for c in serial.columns if not c.startswith("wall_time")]
    pd.testing.assert_frame_equal(serial[cols], dask[cols])
    pd.testing.assert_frame_equal(serial[cols], procs[cols])


def test_sobol_indices_table(tmp_path):
    spec = write_spec(
        tmp_path,
        replications=1,
        design={"kind": "sobol", "n": 4},
        parameters={
            "price.initial_usd": {"low": 40_000, "high": 140_000},
            "energy.fixed_opex_usd_per_mw_day": {"low": 100, "high": 400},
        },
        outputs={"sensitivity": ["network_hashrate_ehs_end"]},
    )
    res = sweep(spec, tmp_path / "out", progress=False)
    sob = pd.read_csv(tmp_path / "out" / "sobol_indices.csv")
    assert list(sob.columns) == ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert len(sob) == 2 and res.sobol is not None


def test_cli_bad_spec_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[parameters."price.volatility_per_year"]\nlow = 2\nhigh = 1\n')
    out = tmp_path / "out"
    assert main(["sweep", str(bad), "--out", str(out)]) == 2
    assert "low (2.0) must be below high (1.0)" in capsys.readouterr().err
    assert not out.exists()


def test_other_spec_in_directory_is_refused(tmp_path):
    out = tmp_path / "out"
    sweep(write_spec(tmp_path), out, progress=False)
    other = write_spec(tmp_path, root_seed=8)
    with pytest.raises(SweepSpecError, match="different sweep specification"):
        sweep(other, out, progress=False)
