"""Bad input through every command: exit status 2, an `error:` line naming the problem, no
traceback, and every file that was there before untouched (a snapshot of the whole working
directory before and after); the output rule on the commands' own results.

Runs in a working directory of its own (module fixture) holding tiny scenarios, a spec, a
user's files, and real results of `abm run` (default path) and `abm compare`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from abm.cli import main
from abm.outputs import ENTRIES
from tests.conftest import ROOT, small_scenario

TINY = {"n_firms": 20, "years": 7 / 365}
SPEC = {
    "name": "tiny",
    "base": "s.toml",
    "replications": 1,
    "design": {"kind": "grid"},
    "parameters": {"price.volatility_per_year": {"levels": [0.3, 0.6]}},
}


def _toml(path: Path, data: dict) -> str:
    path.write_text(tomli_w.dumps(data))
    return path.name


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A working directory with scenarios, specs, user files and real results."""
    d = tmp_path_factory.mktemp("work")
    cwd = Path.cwd()
    os.chdir(d)
    try:
        sc = small_scenario(n_firms=TINY["n_firms"], years=TINY["years"]).with_overrides(
            {"name": "tiny"}
        )
        sc.save(d / "s.toml")
        sc.with_overrides({"name": "tiny2", "price.volatility_per_year": 0.8}).save(d / "s2.toml")
        (d / "empty.toml").write_text("")
        (d / "unnamed.toml").write_text("[price]\nvolatility_per_year = 0.7\n")
        named = {"name": "bad"}
        _toml(d / "inf_price.toml", {**named, "price": {"initial_usd": float("inf")}})
        _toml(
            d / "inf_difficulty.toml", {**named, "protocol": {"initial_difficulty": float("inf")}}
        )
        mix = dict(sc.energy.source_mix, hydro=float("nan"))
        _toml(d / "nan_mix.toml", {**named, "energy": {"source_mix": mix}})
        _toml(d / "huge.toml", {**named, "price": {"initial_usd": 1e300}})
        big = {"name": "big", "capacity_path": [{"date": sc.run.start_date, "mw": 1e6}]}
        _toml(d / "sovereign.toml", {**named, "sovereigns": [big]})
        _toml(d / "start2200.toml", {**named, "run": {"start_date": "2200-01-01"}})
        _toml(d / "replay.toml", {**named, "price": {"model": "replay"}})
        _toml(d / "spec.toml", SPEC)
        _toml(
            d / "spec_nan.toml",
            {
                **SPEC,
                "parameters": {"price.volatility_per_year": {"low": float("nan"), "high": 0.9}},
                "design": {"kind": "lhs", "n": 2},
            },
        )
        _toml(d / "spec_years.toml", {**SPEC, "years": float("inf")})
        _toml(d / "spec_day.toml", {**SPEC, "years": 0.001})
        _toml(
            d / "spec_huge.toml", {**SPEC, "parameters": {"price.initial_usd": {"levels": [1e300]}}}
        )
        _toml(d / "spec_empty_base.toml", {**SPEC, "base": "empty.toml"})
        _toml(
            d / "spec_sovereign.toml",
            {**SPEC, "parameters": {"sovereign_scale": {"levels": [1.0, 40.0]}}},
        )
        (d / "file.txt").write_text("a user's file")
        (d / "user").mkdir()
        (d / "user" / "thesis.txt").write_text("a user's thesis")
        (d / "foreign").mkdir()
        (d / "foreign" / "manifest.json").write_text('{"package": "abm-mining", "kind": "compare"}')
        assert main(["run", "s.toml", "--quiet"]) == 0  # -> results/tiny/seed-42
        assert main(["compare", "s.toml", "s2.toml", "--seeds", "2", "--out", "cmp"]) == 0
        yield d
    finally:
        os.chdir(cwd)


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under `root`: file bytes, None for a directory."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in root.rglob("*")
    }


RUN_DIR = "results/tiny/seed-42"
BAD = [
    # abm run
    (["run", "empty.toml"], "empty scenario: give at least `name"),
    (["run", "unnamed.toml"], "no `name`"),
    (["run", "missing.toml"], "scenario file not found"),
    (["run", "inf_price.toml"], "price.initial_usd: Input should be a finite number (got inf)"),
    (["run", "inf_difficulty.toml"], "protocol.initial_difficulty: Input should be a finite"),
    (["run", "nan_mix.toml"], "energy.source_mix.hydro: Input should be a finite number"),
    (["run", "huge.toml"], "price.initial_usd: is beyond +-1e+18"),
    (["run", "sovereign.toml"], "sovereigns: together they reach 1,000,000 MW"),
    (["run", "start2200.toml"], "2200-01-01 is more than 10 years after"),
    (["run", "replay.toml"], "outside the packaged BTC prices 2015-01-01 .. 2026-02-13"),
    (["run", "s.toml", "--years", "0.001"], "with --years 0.001: run.years: horizon shorter"),
    (["run", "s.toml", "--years", "inf"], "--years: must be a finite number"),
    (["run", "s.toml", "--years", "nan"], "--years: must be a finite number"),
    (["run", "s.toml", "--out", "file.txt"], "file.txt: is a file, not a directory"),
    (["run", "s.toml", "--out", "file.txt/sub"], "which is a file, not a directory"),
    (["run", "s.toml", "--out", "/proc/abm-x"], "cannot create a directory in /proc"),
    (["run", "s.toml", "--out", "user"], "user: holds files abm did not write (thesis.txt)"),
    (["run", "s.toml", "--out", "."], ".: is the current directory"),
    (["run", "s.toml", "--out", "results"], "results: holds files abm did not write (tiny)"),
    (["run", "s.toml", "--out", "cmp"], "holds the result of `abm compare`, not of `abm run`"),
    (["run", "s.toml", "--out", "foreign"], "holds the result of `abm compare`"),
    # abm compare
    (["compare", "empty.toml", "s.toml"], "empty scenario"),
    (["compare", "s.toml", "inf_price.toml"], "price.initial_usd: Input should be a finite"),
    (["compare", "s.toml", "s2.toml", "--years", "0.001"], "horizon shorter than one day"),
    (["compare", "s.toml", "s2.toml", "--seeds", "1"], "at least 2 seeds"),
    (["compare", "s.toml", "s2.toml", "--out", "user"], "holds files abm did not write"),
    (["compare", "s.toml", "s2.toml", "--out", RUN_DIR], "holds the result of `abm run`"),
    (["compare", "s.toml", "s2.toml", "--out", "/proc/abm-x"], "cannot create a directory"),
    # abm sweep
    (["sweep", "spec_nan.toml"], "low: Input should be a finite number"),
    (["sweep", "spec_years.toml"], "years: Input should be a finite number"),
    (["sweep", "spec_day.toml"], "years: run.years: horizon shorter than one day"),
    (
        ["sweep", "spec_huge.toml"],
        "parameters.price.initial_usd.levels: entry [0] = 1e+300 is beyond",
    ),
    (["sweep", "spec_empty_base.toml"], "base: empty.toml: empty scenario"),
    (
        ["sweep", "spec_sovereign.toml"],
        "parameters.sovereign_scale.levels[1]: scenario: sovereigns",
    ),
    (["sweep", "missing.toml"], "sweep specification not found"),
    (["sweep", "spec.toml", "--scheduler", "bogus"], "--scheduler 'bogus': not 'local' nor"),
    (["sweep", "spec.toml", "--scheduler", "tcp://127.0.0.1"], "not 'local' nor"),
    (["sweep", "spec.toml", "--scheduler", "tcp://127.0.0.1:PORT"], "no scheduler answers"),
    (["sweep", "spec.toml", "--out", "user"], "holds files abm did not write"),
    (["sweep", "spec.toml", "--out", "user", "--force"], "holds files abm did not write"),
    (["sweep", "spec.toml", "--out", "file.txt"], "is a file, not a directory"),
    (["sweep", "spec.toml", "--out", "."], "is the current directory"),
    (["sweep", "spec.toml", "--out", RUN_DIR], "holds the result of `abm run`, not of `abm sweep`"),
    (["sweep", "spec.toml", "--out", "/proc/abm-x"], "cannot create a directory in /proc"),
    # abm report
    (["report", "nope"], "nope: no such directory"),
    (["report", "user"], "not a results folder"),
    (["report", "file.txt"], "not a directory"),
    (["report", RUN_DIR, "--out", "user", "--formats", "none"], "holds files abm did not write"),
    (["report", RUN_DIR, "--out", "file.txt", "--formats", "none"], "is a file"),
    (["report", RUN_DIR, "--out", RUN_DIR, "--formats", "none"], "results folder itself"),
    (["report", RUN_DIR, "--out", "cmp", "--formats", "none"], "holds the result of `abm compare`"),
    (["report", RUN_DIR, "--out", "/proc/abm-x", "--formats", "none"], "cannot create"),
    # abm validate, abm viz
    (["validate", "--quick", "--out", "user"], "holds files abm did not write"),
    (["validate", "--quick", "--out", RUN_DIR], "holds the result of `abm run`"),
    (["viz", "empty.toml"], "empty scenario"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_refused_before_any_work(work, monkeypatch, capsys, argv, expected):
    monkeypatch.chdir(work)
    argv = [a.replace("PORT", str(_closed_port())) for a in argv]
    before = _snapshot(work)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refuses an argument's value itself
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "error:" in err and expected in err, err
    assert "Traceback" not in err
    assert _snapshot(work) == before  # nothing changed, nothing made
    assert not Path("/proc/abm-x").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "s.toml", "--years", "0.001"],
        ["run", "inf_difficulty.toml"],
        ["sweep", "spec.toml", "--scheduler", "bogus"],
        ["report", "nope"],
    ],
    ids=lambda a: " ".join(a),
)
def test_no_traceback_reaches_the_user(work, argv):
    before = _snapshot(work)
    proc = subprocess.run(
        [sys.executable, "-m", "abm.cli", *argv],
        cwd=work,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(work) == before


def test_results_hold_only_what_their_writers_make(work):
    for folder, kind in ((RUN_DIR, "run"), ("cmp", "compare")):
        names = {p.name for p in (work / folder).iterdir()}
        assert names <= ENTRIES[kind] and "manifest.json" in names, (kind, names)


def test_rerunning_replaces_only_abms_result(work, monkeypatch):
    """The default path of `abm run` holds abm's run: replaced (and its report with it); a
    user's files next to it, and every other result, are untouched."""
    monkeypatch.chdir(work)
    assert main(["report", RUN_DIR, "--formats", "none", "--quiet"]) == 0
    report = work / RUN_DIR / "report"
    assert {p.name for p in report.iterdir()} <= ENTRIES["report"]
    (work / "results" / "notes.txt").write_text("next to the results")
    before = _snapshot(work)
    old_summary = (work / RUN_DIR / "summary.json").read_bytes()
    assert main(["run", "s.toml", "--quiet", "--seed", "42"]) == 0
    after = _snapshot(work)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed and all(k.startswith(RUN_DIR) for k in changed), sorted(changed)
    assert not report.exists()  # the earlier run's report went with it
    assert (work / RUN_DIR / "summary.json").read_bytes() != old_summary  # (new wall time)
    # a user's file inside the result now: refused, kept
    (work / RUN_DIR / "mine.txt").write_text("mine")
    assert main(["run", "s.toml", "--quiet"]) == 2
    assert (work / RUN_DIR / "mine.txt").read_text() == "mine"
    (work / RUN_DIR / "mine.txt").unlink()


def test_a_scenario_name_cannot_lead_the_default_path_out_of_results(work, monkeypatch):
    monkeypatch.chdir(work)
    small_scenario(n_firms=20, years=TINY["years"]).with_overrides({"name": "../../x"}).save(
        work / "evil.toml"
    )
    before = _snapshot(work)
    assert main(["run", "evil.toml", "--quiet", "--seed", "1"]) == 0
    made = {k for k in _snapshot(work).keys() - before.keys()}
    assert made and all(k.startswith("results/x") for k in made), sorted(made)
    assert (work / "results" / "x" / "seed-1" / "summary.json").exists()
