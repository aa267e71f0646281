"""Sweeps: the resumable store, failures, backends, Sobol indices, the CLI."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from abm.cli import main
from abm.outputs import ENTRIES
from abm.sweeps import SweepSpecError, sweep
from abm.sweeps.tasks import run_seed
from tests.test_sweeps_spec import write_spec

NOT_TIMED = ("wall_time_s",)


def test_store_columns_summary_and_determinism(tmp_path):
    res = sweep(write_spec(tmp_path), tmp_path / "out", progress=False)
    out = tmp_path / "out"
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 4 and res.done == 4 and res.failed == 0 and res.ran_now == 4
    assert runs["run_id"].tolist() == [0, 1, 2, 3]
    assert runs["seed"].tolist() == [run_seed(7, p, r) for p in (0, 1) for r in (0, 1)]
    assert set(runs["price.volatility_per_year"]) == {0.3, 0.6}
    for col in ("point_id", "replication", "status", "error", "wall_time_s", "hhi_firm_end"):
        assert col in runs
    assert (runs["status"] == "ok").all()
    assert {p.name for p in out.iterdir()} >= {
        "runs.parquet",
        "summary_by_point.csv",
        "spec.toml",
        "base_scenario.toml",
        "manifest.json",
        "parts",
    }
    assert {p.name for p in out.iterdir()} <= ENTRIES["sweep"]
    by_point = pd.read_csv(out / "summary_by_point.csv")
    assert len(by_point) == 2 and (by_point["n_ok"] == 2).all()
    for k in ("hhi_firm_end", "nakamoto_firm_end", "small_firm_survival"):
        assert (by_point[f"{k}_ci_low"] <= by_point[f"{k}_mean"]).all()
    # the same spec and root seed give the same table; a second call runs nothing
    again = sweep(write_spec(tmp_path), tmp_path / "out2", progress=False).runs
    cols = [c for c in runs.columns if c not in NOT_TIMED]
    pd.testing.assert_frame_equal(runs[cols], again[cols])
    assert sweep(write_spec(tmp_path), out, progress=False).ran_now == 0


def test_timeseries_are_kept_on_the_cadence(tmp_path):
    spec = write_spec(
        tmp_path,
        replications=1,
        outputs={"keep": "timeseries", "cadence_days": 5, "columns": ["hhi_firm"]},
    )
    sweep(spec, tmp_path / "out", progress=False)
    ts = pd.read_parquet(tmp_path / "out" / "timeseries" / "run-000001.parquet")
    assert list(ts.columns) == ["run_id", "date", "hhi_firm"]
    assert (ts["date"].diff().dropna() == pd.Timedelta(days=5)).all()


def test_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    # the runs of design point 1 (volatility 0.6) raise (serial runs: in this process)
    import abm.sweeps.tasks

    real_run = abm.sweeps.tasks.run

    def run(sc, seed):
        if sc.price.volatility_per_year == 0.6:
            raise FloatingPointError("diverged")
        return real_run(sc, seed=seed)

    monkeypatch.setattr(abm.sweeps.tasks, "run", run)
    spec = write_spec(tmp_path)
    res = sweep(spec, tmp_path / "out", progress=False)
    assert res.failed == 2 and res.done == 2
    bad = res.runs[res.runs["status"] == "failed"]
    assert bad["error"].str.contains("FloatingPointError: diverged").all()
    assert bad["hhi_firm_end"].isna().all()
    by_point = res.summary_by_point.set_index("point_id")
    assert by_point.loc[1, "n_failed"] == 2 and by_point.loc[0, "n_ok"] == 2
    # a resume keeps them; retry_failed runs (only) them again
    assert sweep(spec, tmp_path / "out", progress=False).ran_now == 0
    again = sweep(spec, tmp_path / "out", progress=False, retry_failed=True)
    assert again.ran_now == 2 and again.failed == 2 and len(again.runs) == 4


def test_resume_after_kill_runs_only_missing(tmp_path):
    spec = write_spec(tmp_path, replications=6, years=0.3)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "abm.cli", "sweep", spec, "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out / "parts"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("run-*.parquet"))) < 3:
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no clean-up at all
    proc.wait()
    finished = {f.name: f.stat().st_mtime_ns for f in parts.glob("run-*.parquet")}
    assert 3 <= len(finished) < 12, "the kill should interrupt the sweep part-way"
    with pytest.warns(UserWarning, match=rf"took over the lock of the sweep pid {proc.pid} on"):
        res = sweep(spec, out, progress=False)
    assert res.ran_now == 12 - len(finished)
    assert len(res.runs) == 12 and res.runs["run_id"].is_unique
    assert all((parts / n).stat().st_mtime_ns == t for n, t in finished.items())
    # the resumed table equals an uninterrupted sweep's
    full = sweep(spec, tmp_path / "full", progress=False).runs
    cols = [c for c in full.columns if c not in NOT_TIMED]
    pd.testing.assert_frame_equal(res.runs[cols], full[cols])


def test_serial_processes_and_dask_give_identical_tables(tmp_path):
    spec = write_spec(tmp_path, replications=3)
    serial = sweep(spec, tmp_path / "serial", progress=False).runs
    dask = sweep(spec, tmp_path / "dask", workers=2, scheduler="local", progress=False).runs
    procs = sweep(spec, tmp_path / "procs", workers=2, progress=False).runs
    cols = [c for c in serial.columns if c not in NOT_TIMED]
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
        outputs={"sensitivity": ["network_hashrate_ehs_end", "hhi_firm_end"]},
    )
    res = sweep(spec, tmp_path / "out", progress=False)
    assert len(res.runs) == 4 * (2 + 2)
    sob = pd.read_csv(tmp_path / "out" / "sobol_indices.csv")
    assert list(sob.columns) == ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert len(sob) == 4 and set(sob["parameter"]) == {
        "price.initial_usd",
        "energy.fixed_opex_usd_per_mw_day",
    }


def test_cli_bad_spec_exits_2_names_the_field_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[design]\nkind = "lhs"\n[parameters."price.volatility_per_year"]\nlow = 0.2\n')
    out = tmp_path / "out"
    assert main(["sweep", str(bad), "--out", str(out)]) == 2
    assert "parameters.price.volatility_per_year" in capsys.readouterr().err
    bad.write_text('[parameters."energy.dispersion_log"]\nlevels = [0.1, 9.0]\n')
    assert main(["sweep", str(bad), "--out", str(out)]) == 2
    assert "parameters.energy.dispersion_log.levels[1]" in capsys.readouterr().err
    assert not out.exists()


def test_cli_runs_and_refuses_another_spec_unless_forced(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", write_spec(tmp_path), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "4 runs done, 0 failed" in printed and "hhi_firm" in printed
    other = write_spec(tmp_path, root_seed=8)
    assert main(["sweep", other, "--out", str(out), "--quiet"]) == 2
    assert "other results than this sweep" in capsys.readouterr().err
    with pytest.raises(SweepSpecError):
        sweep(other, out, progress=False)
    res = sweep(other, out, progress=False, force=True)
    assert res.ran_now == 4 and len(res.runs) == 4


def _as_engine(monkeypatch, digest: str) -> None:
    """Make this process an engine with another code digest (serial runs: tasks too)."""
    import abm.runner
    import abm.sweeps.tasks

    monkeypatch.setattr(abm.runner, "code_digest", lambda: digest)
    monkeypatch.setattr(abm.sweeps.tasks, "code_digest", lambda: digest)


def test_one_directory_holds_one_engines_runs(tmp_path, monkeypatch, capsys):
    """Runs are added only by the engine that made the finished ones; --force runs them all
    again; a complete sweep can still be consolidated; a worker with another engine stops it."""
    spec, out = write_spec(tmp_path), tmp_path / "out"
    assert main(["sweep", spec, "--out", str(out), "--quiet"]) == 0
    parts = out / "parts"
    made = json.loads((out / "engine.json").read_text())
    assert set(made) == {"code_digest", "numpy", "python", "git_commit"}
    assert set(pd.read_parquet(out / "runs.parquet")["code_digest"]) == {made["code_digest"]}
    _as_engine(monkeypatch, "0123456789abcdef")
    # complete: nothing is added, so the other engine may re-consolidate it
    with pytest.warns(UserWarning, match="made by another engine"):
        assert sweep(spec, out, progress=False).ran_now == 0
    assert json.loads((out / "engine.json").read_text()) == made
    # a run missing (interrupted): adding it would mix engines
    (parts / "run-000001.parquet").unlink()
    before = {f.name: f.stat().st_mtime_ns for f in parts.glob("*.parquet")}
    assert main(["sweep", spec, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "3 finished runs were made by another engine" in err and "0123456789abcdef" in err
    with pytest.raises(SweepSpecError, match="another engine"):
        sweep(spec, out, progress=False, retry_failed=True)
    assert {f.name: f.stat().st_mtime_ns for f in parts.glob("*.parquet")} == before
    res = sweep(spec, out, progress=False, force=True)
    assert res.ran_now == 4 and set(res.runs["code_digest"]) == {"0123456789abcdef"}
    assert json.loads((out / "engine.json").read_text())["code_digest"] == "0123456789abcdef"
    # the same engine resumes; an unreadable record counts as another engine
    (parts / "run-000002.parquet").unlink()
    assert sweep(spec, out, progress=False).ran_now == 1
    (parts / "run-000002.parquet").unlink()
    (out / "engine.json").write_bytes(b"\xff null")
    with pytest.raises(SweepSpecError, match="code_digest not recorded"):
        sweep(spec, out, progress=False)


def test_a_worker_with_another_engine_stops_the_sweep(tmp_path, monkeypatch):
    import abm.sweeps.tasks

    monkeypatch.setattr(abm.sweeps.tasks, "code_digest", lambda: "feedfacefeedface")
    with pytest.raises(SweepSpecError, match="a worker ran another engine"):
        sweep(write_spec(tmp_path), tmp_path / "out", progress=False)
    assert not list((tmp_path / "out" / "parts").glob("*.parquet"))


def _blas_threads(_: int) -> str | None:
    import os

    return os.environ.get("OPENBLAS_NUM_THREADS")


def test_process_workers_get_one_blas_thread_unless_the_user_set_it(monkeypatch):
    import os

    from abm.sweeps.backends import execute

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert list(execute(_blas_threads, [0, 1, 2], workers=2)) == ["1", "1", "1"]
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # the parent's environment is restored
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert set(execute(_blas_threads, [0, 1], workers=2)) == {"3"}


def test_paired_effects_by_hand():
    from abm.sweeps.analysis import paired_effects, reference_point

    # two points sharing seeds 11, 12, 13; the run with seed 13 failed at point 1
    runs = pd.DataFrame(
        {
            "point_id": [0, 0, 0, 1, 1, 1],
            "seed": [11, 12, 13, 11, 12, 13],
            "x": [0.5, 0.5, 0.5, 1.0, 1.0, 1.0],
            "m": [10.0, 20.0, 30.0, 13.0, 21.0, 99.0],
            "status": ["ok", "ok", "ok", "ok", "ok", "failed"],
        }
    )
    # the base scenario has x = 1.0 -> point 1 is the reference; without x -> the first point
    assert reference_point(runs, ["x"], {"x": 1.0}) == 1
    assert reference_point(runs, ["x"], {}) == 0
    e = paired_effects(runs, ["x"], 0, ["m"])
    # pairs (13 - 10, 21 - 20) = (3, 1): mean 2, sd sqrt(2), t_{0.975, 1} = 12.706205
    half = 12.706205 * np.sqrt(2) / np.sqrt(2)
    assert len(e) == 1 and e["n_pairs"].iloc[0] == 2 and e["x"].iloc[0] == 1.0
    assert e["effect_mean"].iloc[0] == pytest.approx(2.0)
    assert e["effect_ci_low"].iloc[0] == pytest.approx(2.0 - half, rel=1e-6)
    assert e["effect_ci_high"].iloc[0] == pytest.approx(2.0 + half, rel=1e-6)
    assert e["reference_mean"].iloc[0] == pytest.approx(15.0)


def test_halving_steps_by_hand():
    from abm.sweeps.analysis import halving_steps

    # two runs of one point, daily 2027-04-18 .. 2029-04-16 around a halving on 2028-04-17:
    # run 0 is 1 before and 3 after (step 2), run 1 is 2 before and 6 after (step 4)
    h = pd.Timestamp("2028-04-17")
    dates = pd.date_range(h - pd.Timedelta(days=365), h + pd.Timedelta(days=364))
    after = (dates >= h).astype(float)
    series = pd.concat(
        [
            pd.DataFrame({"date": dates, "run_id": 0, "point_id": 7, "x": 1 + 2 * after}),
            pd.DataFrame({"date": dates, "run_id": 1, "point_id": 7, "x": 2 + 4 * after}),
        ]
    )
    s = halving_steps(series, "point_id", ["x"], [h, pd.Timestamp("2032-04-15")])
    # the 2032 halving has no data around it and is skipped
    assert len(s) == 1 and s["halving"].iloc[0] == "2028-04-17" and s["n_runs"].iloc[0] == 2
    # steps (2, 4): mean 3, sd sqrt(2), t_{0.975, 1} = 12.706205 -> 3 -+ 12.706205
    assert s["step_mean"].iloc[0] == pytest.approx(3.0)
    assert s["step_ci_low"].iloc[0] == pytest.approx(3.0 - 12.706205, rel=1e-6)
    assert s["before_mean"].iloc[0] == pytest.approx(1.5)
    assert s["after_mean"].iloc[0] == pytest.approx(4.5)


# ---------------------------------------------------------------------------------------------
# safety: corrupt parts, stale runs.parquet, one sweep at a time, the scheduler checked first
def test_a_corrupt_part_is_set_aside_and_its_run_done_again(tmp_path):
    spec, out = write_spec(tmp_path), tmp_path / "out"
    clean = sweep(spec, out, progress=False).runs
    part = out / "parts" / "run-000001.parquet"
    data = part.read_bytes()
    part.write_bytes(data[: len(data) // 2])  # truncated, as by a full disk
    with pytest.warns(UserWarning, match=r"run-000001\.parquet: unreadable part .*moved to"):
        res = sweep(spec, out, progress=False)
    assert res.ran_now == 1 and len(res.runs) == 4
    assert (out / "corrupt" / "run-000001.parquet").read_bytes() == data[: len(data) // 2]
    cols = [c for c in clean.columns if c not in NOT_TIMED]
    pd.testing.assert_frame_equal(res.runs[cols], clean[cols])
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet")[cols], clean[cols])
    # a part holding another run's row is not valid either
    (out / "parts" / "run-000002.parquet").write_bytes(
        (out / "parts" / "run-000003.parquet").read_bytes()
    )
    with pytest.warns(UserWarning, match=r"run-000002\.parquet: .*one row of run 2"):
        assert sweep(spec, out, progress=False).ran_now == 1
    assert sorted(p.name for p in (out / "corrupt").iterdir()) == [
        "run-000001.parquet",
        "run-000002.parquet",
    ]


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-10])


def _forget_record(out):
    info = json.loads((out / "manifest.json").read_text())
    del info["runs_parquet"]
    (out / "manifest.json").write_text(json.dumps(info))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda out: (out / "parts" / "run-000003.parquet").unlink(), r"\(4 parts then, 3 now\)"),
        (lambda out: _truncate(out / "parts" / "run-000003.parquet"), "parts/ changed since"),
        (lambda out: (out / "runs.parquet").write_bytes(b"x"), "runs.parquet changed since"),
        (_forget_record, "no record of the parts it was built from"),
    ],
    ids=["part-removed", "part-changed", "runs-changed", "no-record"],
)
def test_report_refuses_a_stale_runs_parquet(tmp_path, capsys, change, why):
    spec, out = write_spec(tmp_path), tmp_path / "out"
    sweep(spec, out, progress=False)
    record = json.loads((out / "manifest.json").read_text())["runs_parquet"]
    assert record["parts"] == 4 and len(record["parts_sha256"]) == 64
    report = ["report", str(out), "--formats", "none", "--quiet"]
    change(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(report) == 2
    err = capsys.readouterr().err
    assert re.search(why, err) and "runs.parquet is stale" in err, err
    assert "abm sweep SPEC.toml --out" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the truncated part is set aside with a warning)
        sweep(spec, out, progress=False)  # rebuilds runs.parquet from the valid parts
    assert main(report) == 0


def test_a_second_sweep_into_the_same_directory_is_refused(tmp_path, capsys):
    from abm.sweeps.lock import DirectoryLock

    spec, out = write_spec(tmp_path), tmp_path / "out"
    sweep(spec, out, progress=False)
    held = DirectoryLock(out)
    assert held.acquire() is None  # as a running sweep holds it
    try:
        before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        assert main(["sweep", spec, "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"another sweep is writing into this directory (pid {os.getpid()} on" in err
        assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    finally:
        held.release()
    assert main(["sweep", spec, "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().err.count("took over") == 0  # a released lock names no holder


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(proc.stdout)


@pytest.mark.parametrize(
    ("holder", "refused"),
    [("dead", False), ("alive", True), ("other-host", True)],
)
def test_without_flock_the_recorded_process_decides(tmp_path, monkeypatch, holder, refused):
    import abm.sweeps.lock as lock

    def no_flock(fd, op):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(lock.fcntl, "flock", no_flock)
    spec, out = write_spec(tmp_path), tmp_path / "out"
    sweep(spec, out, progress=False)
    pid = {"dead": _dead_pid(), "alive": os.getppid(), "other-host": 1}[holder]
    host = "elsewhere" if holder == "other-host" else socket.gethostname()
    (out / ".lock").write_text(json.dumps({"host": host, "pid": pid, "started_utc": "T"}))
    if refused:
        with pytest.raises(lock.LockError, match=f"pid {pid} on {host}"):
            sweep(spec, out, progress=False)
    else:
        with pytest.warns(UserWarning, match=f"took over the lock of the sweep pid {pid}"):
            sweep(spec, out, progress=False)
        assert (out / ".lock").read_text() == ""  # released


def test_the_scheduler_is_checked_before_any_directory_is_made(tmp_path, monkeypatch, capsys):
    import abm.sweeps.backends as backends
    from abm.sweeps.backends import SchedulerError, check_scheduler

    spec, out = write_spec(tmp_path), tmp_path / "out"
    asked = []

    def silent(address, timeout):  # a host that never answers
        asked.append((address, timeout))
        raise TimeoutError("timed out")

    monkeypatch.setattr(backends.socket, "create_connection", silent)
    assert main(["sweep", spec, "--out", str(out), "--scheduler", "tcp://node7:8786"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler tcp://node7:8786: no scheduler answers there within 3 s (timed out)" in err
    assert asked == [(("node7", 8786), 3.0)]
    monkeypatch.undo()
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "nonsense")
    assert main(["sweep", spec, "--out", str(out), "--quiet"]) == 2
    assert "DASK_SCHEDULER_ADDRESS 'nonsense': not 'local' nor" in capsys.readouterr().err
    with pytest.raises(SchedulerError, match="port 0 is not 1-65535"):
        check_scheduler("tcp://127.0.0.1:0")
    check_scheduler("local")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    check_scheduler(None)
    assert not out.exists()


def test_a_scheduler_that_answers_but_is_not_dask_is_an_error(monkeypatch):
    import dask.distributed

    from abm.sweeps.backends import SchedulerError, execute

    def refuse(address):
        raise OSError(f"Timed out trying to connect to {address} after 30 s")

    monkeypatch.setattr(dask.distributed, "Client", refuse)  # (what execute imports)
    with pytest.raises(SchedulerError, match="no Dask scheduler could be reached there"):
        list(execute(_blas_threads, [0], scheduler="tcp://127.0.0.1:8786"))


def test_a_corrupt_part_of_another_engines_sweep_is_not_redone_by_this_one(tmp_path, monkeypatch):
    spec, out = write_spec(tmp_path), tmp_path / "out"
    sweep(spec, out, progress=False)
    _as_engine(monkeypatch, "0123456789abcdef")
    _truncate(out / "parts" / "run-000000.parquet")
    with pytest.warns(UserWarning), pytest.raises(SweepSpecError, match="another engine"):
        sweep(spec, out, progress=False)
    assert not (out / "parts" / "run-000000.parquet").exists()  # set aside, not rerun
    assert (out / "corrupt" / "run-000000.parquet").exists()
