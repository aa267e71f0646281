"""The abm command: outputs written, bad input rejected with a message and nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from abm.cli import main
from abm.outputs import ENTRIES
from tests.conftest import small_scenario


def test_run_writes_all_outputs(tmp_path, capsys):
    sc = small_scenario(years=0.2, **{"pools.enabled": True})  # pools.parquet too
    scen = tmp_path / "s.toml"
    sc.save(scen)
    out = tmp_path / "out"
    assert main(["run", str(scen), "--seed", "3", "--out", str(out), "--quiet"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == ENTRIES["run"]  # every file abm.outputs counts as a run's, and no other
    assert "contracts.parquet" in names and "summary.json" in names
    assert "sites.parquet" in names
    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert summary["seed"] == 3 and manifest["seed"] == 3
    assert {"git_commit", "python", "packages", "wall_time_s", "version"} <= set(manifest)
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 73  # 0.2 years x 365 days
    assert "HHI" in capsys.readouterr().out


def test_bad_scenario_exits_nonzero_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[price]\nvolatility_per_year = -1\n")
    out = tmp_path / "out"
    assert main(["run", str(bad), "--out", str(out)]) == 2
    assert "price.volatility_per_year" in capsys.readouterr().err
    assert not out.exists()
    assert not any(tmp_path.glob(".out.*"))


def test_bad_argument_exits_nonzero():
    proc = subprocess.run(
        [sys.executable, "-m", "abm.cli", "run", "--years", "abc"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "--years" in proc.stderr


def test_scenario_show_round_trips(capsys, tmp_path):
    assert main(["scenario", "show"]) == 0
    text = capsys.readouterr().out
    p = tmp_path / "b.toml"
    p.write_text(text)
    from abm import Scenario, load_scenario

    assert load_scenario(p) == Scenario()


def test_scenario_doc_lists_parameters(capsys):
    assert main(["scenario", "doc"]) == 0
    out = capsys.readouterr().out
    assert "`price.volatility_per_year`" in out and "`energy.median_price_usd_per_mwh`" in out
