"""`abm calibrate`: recovery of known parameters, resumption, outputs, narrowing, bad input."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abm.calibration import calibrate, load_calibration_spec
from abm.calibration.calibrate import narrow
from abm.calibration.spec import CalibrationSpecError, spec_from_dict
from abm.runner import run
from abm.scenario import load_scenario
from abm.sweeps.tasks import run_seed
from abm.validation.replay import frame_of, moment
from abm.validation.targets import Target

ROOT = Path(__file__).resolve().parents[1]
HISTORY = ROOT / "experiments" / "history.toml"
TRUTH = {"asic.initial_capacity_ehs_per_year": 75.0, "firms.n_listed": 5}
BOUNDS = {"asic.initial_capacity_ehs_per_year": (40.0, 110.0), "firms.n_listed": (2, 8)}
SMALL = {"firms.n_firms": 150}
Y2020 = (dt.date(2020, 1, 1), dt.date(2020, 12, 31))


def _synthetic_targets(path: Path) -> None:
    """Targets measured on the replay of 2020 at the TRUTH values, on the seeds the calibration
    runs every point with (common random numbers, mean of its 2 replications): the growth of
    running hashrate (moved by the makers' capacity) and the listed share (moved by the number
    of listed firms), with tolerances of about a third of their range over the bounds."""
    sc = load_scenario(HISTORY).with_overrides({**SMALL, "run.years": 366 / 365, **TRUTH})
    frames = [frame_of(run(sc, seed=run_seed(7, 0, r)).timeseries) for r in (0, 1)]
    growth = np.mean([moment(f, "network_hashrate_ehs", "change", *Y2020) for f in frames])
    share = np.mean([moment(f, "share_listed", "mean", *Y2020) for f in frames])
    rows = [
        ("synthetic.hashrate_growth", "network_hashrate_ehs", "change", growth, 0.04),
        ("synthetic.listed_share", "share_listed", "mean", share, 0.02),
    ]
    text = ""
    for check, column, stat, value, tol in rows:
        text += (
            f'[[target]]\ncheck = "{check}"\nrule = "within"\nlow = {value}\nhigh = {value}\n'
            f'tolerance = {tol}\nunit = "fraction"\nfirst = 2020-01-01\nlast = 2020-12-31\n'
            f'use = "fit"\nsource = "synthetic: the replay at known values"\n'
            f'column = "{column}"\nstat = "{stat}"\n\n'
        )
    text += (  # a held-out target: reported, never fitted
        '[[target]]\ncheck = "synthetic.hashprice"\nrule = "within"\nlow = 150.0\nhigh = 150.0\n'
        'tolerance = 100.0\nunit = "USD/PH/day"\nfirst = 2020-01-01\nlast = 2020-12-31\n'
        'use = "holdout"\nsource = "synthetic"\ncolumn = "hashprice_usd_per_ph_day"\n'
        'stat = "mean"\n'
    )
    path.write_text(text)


def _spec_text(n: int = 8, stages: int = 2, replications: int = 2) -> str:
    params = "".join(
        f'[parameters."{p}"]\nlow = {lo}\nhigh = {hi}\n\n' for p, (lo, hi) in BOUNDS.items()
    )
    return (
        f'name = "synthetic"\nbase = "{HISTORY}"\ntargets = "targets.toml"\n'
        f"replications = {replications}\nroot_seed = 7\nend = 2020-12-31\n\n"
        '[overrides]\n"firms.n_firms" = 150\n\n'
        f"[design]\nn = {n}\nstages = {stages}\nkeep = 0.25\n\n{params}"
    )


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    d = tmp_path_factory.mktemp("calibration")
    _synthetic_targets(d / "targets.toml")
    (d / "spec.toml").write_text(_spec_text())
    res = calibrate(d / "spec.toml", d / "out", progress=False)
    return d, res


def test_recovers_known_parameters(synthetic):
    """The true values lie in the uncertainty set's interval for 2 of 2 parameters, and the set
    is narrower than the prior for at least one."""
    _, res = synthetic
    assert res.accepted > 0
    for p, truth in TRUTH.items():
        lo, hi = res.intervals[p]
        assert lo <= truth <= hi, (p, lo, hi)
    widths = [
        (res.intervals[p][1] - res.intervals[p][0]) / (b[1] - b[0]) for p, b in BOUNDS.items()
    ]
    assert min(widths) < 1.0


def test_outputs(synthetic):
    d, res = synthetic
    out = d / "out"
    for name in ("calibration.toml", "points.csv", "targets.csv", "best.toml", "summary.json"):
        assert (out / name).is_file(), name
    for name in ("target_fit", "marginals", "pairs"):
        assert (out / "figures" / f"{name}.html").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["points"] == 16 and summary["runs"] == 32
    assert summary["holdout"] == ["synthetic.hashprice"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "calibrate" and manifest["status"] == "done"
    points = pd.read_csv(out / "points.csv")
    # the distance is the root mean square of the fitted targets' z
    z = points[["z:synthetic.hashrate_growth", "z:synthetic.listed_share"]].to_numpy()
    assert np.allclose(points["distance"], np.sqrt((z**2).mean(axis=1)))
    table = pd.read_csv(out / "targets.csv").set_index("check")
    assert not table.loc["synthetic.hashprice", "fitted"]
    best = load_scenario(HISTORY).with_overrides(
        tomllib.loads((out / "best.toml").read_text())["overrides"]
    )
    assert best.firms.n_listed == res.best["firms.n_listed"]
    # stage 2 lies within the box the best quarter of stage 1 spans, widened by a stratum
    s1, s2 = points[points["stage"] == 1], points[points["stage"] == 2]
    p = "asic.initial_capacity_ehs_per_year"
    step = 70.0 / 8  # a stratum of stage 1
    top = s1.sort_values(["distance", "point_id"]).head(2)  # 25% of the 8 points so far
    assert s2[p].min() >= max(40.0, top[p].min() - step) - 1e-9
    assert s2[p].max() <= min(110.0, top[p].max() + step) + 1e-9


def test_resume_runs_only_the_missing(synthetic, tmp_path):
    d, res = synthetic
    out = tmp_path / "out"
    shutil.copytree(d / "out", out)
    parts = sorted((out / "stages" / "stage-2" / "parts").glob("run-*.parquet"))
    for f in parts[:3]:
        f.unlink()
    (sorted((out / "stages" / "stage-1" / "parts").glob("run-*.parquet"))[0]).unlink()
    again = calibrate(d / "spec.toml", out, progress=False)
    assert again.ran_now == 4
    assert again.best == res.best and again.intervals == res.intervals


def test_narrow_by_hand():
    """Best quarter of 8 points = 2 points at x 30 and 50 (bounds 10..110, n 4: stratum 25):
    box 5..75 clipped to 10..75; n_listed 4 and 4 widened by a stratum of (8 - 2) / 4."""
    spec = spec_from_dict(
        {
            "base": str(HISTORY),
            "fit": ["replay.difficulty_mape"],
            "design": {"n": 4, "keep": 0.25},
            "parameters": {
                "asic.initial_capacity_ehs_per_year": {"low": 10.0, "high": 110.0},
                "firms.n_listed": {"low": 2, "high": 8},
            },
        }
    )
    pts = pd.DataFrame(
        {
            "stage": 1,
            "point_id": range(8),
            "asic.initial_capacity_ehs_per_year": [30, 50, 90, 15, 70, 95, 12, 60],
            "firms.n_listed": [4, 4, 8, 2, 3, 7, 6, 5],
            "distance": [0.1, 0.2, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
        }
    )
    bounds = {"asic.initial_capacity_ehs_per_year": (10.0, 110.0), "firms.n_listed": (2.0, 8.0)}
    box = narrow(pts, spec, bounds, list(bounds))
    assert box["asic.initial_capacity_ehs_per_year"] == (10.0, 75.0)
    assert box["firms.n_listed"] == (2.5, 5.5)  # stratum (8 - 2) / 4 = 1.5 each side of 4


def test_z_by_hand():
    t = Target(
        "x", "within", 10.0, 20.0, "u", dt.date(2020, 1, 1), dt.date(2020, 2, 1), "fit", "s", 5.0
    )
    assert t.z(25.0) == pytest.approx(1.0)  # mid 15, half width 5 + 5
    assert t.z(10.0) == pytest.approx(-0.5)
    m = Target("m", "at_most", 0.2, 0.2, "u", dt.date(2020, 1, 1), dt.date(2020, 2, 1), "fit", "s")
    assert m.z(0.1) == pytest.approx(0.5)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'base = "{h}"\nfit = ["nope"]\n[parameters."firms.n_listed"]\nlow = 2\nhigh = 8\n',
            "nope",
        ),
        ('base = "{h}"\n[parameters."firms.n_listed"]\nlevels = [2, 3]\n', "low and high"),
        ('base = "{h}"\n[parameters."firms.n_listed"]\nlow = 8\nhigh = 2\n', "below high"),
        ('base = "{h}"\n[parameters."firms.no_such"]\nlow = 1\nhigh = 2\n', "firms.no_such"),
        ('base = "{h}"\nbogus = 1\n[parameters."firms.n_listed"]\nlow = 2\nhigh = 8\n', "bogus"),
    ],
)
def test_bad_specs(tmp_path, text, message):
    with pytest.raises(CalibrationSpecError, match=message):
        load_calibration_spec(_write(tmp_path, text.format(h=HISTORY)))


def test_fit_beyond_horizon_refused(tmp_path):
    p = _write(
        tmp_path,
        f'base = "{HISTORY}"\nyears = 0.5\nfit = ["replay.listed_share_2024_12"]\n'
        '[parameters."firms.n_listed"]\nlow = 2\nhigh = 8\n',
    )
    with pytest.raises(CalibrationSpecError, match="no fitted target lies within"):
        calibrate(p, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_other_calibration_refused(synthetic, tmp_path):
    d, _ = synthetic
    out = tmp_path / "out"
    shutil.copytree(d / "out", out)
    other = tmp_path / "other.toml"
    other.write_text(_spec_text(n=6).replace("root_seed = 7", "root_seed = 8"))
    shutil.copy(d / "targets.toml", tmp_path / "targets.toml")
    with pytest.raises(CalibrationSpecError, match="holds another calibration"):
        calibrate(other, out, progress=False)


def test_cli_quick_history(tmp_path):
    """The CI smoke run of experiments/calibrate_history.toml (a few replays of 2020-2023)."""
    out = tmp_path / "cal"
    cmd = [
        sys.executable,
        "-m",
        "abm.cli",
        "calibrate",
        str(ROOT / "experiments" / "calibrate_history.toml"),
    ]
    r = subprocess.run(
        [*cmd, "--quick", "--quiet", "--out", str(out)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert "replay.difficulty_mape" in r.stdout and "replay.halving_2020_difficulty_30d" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and summary["runs"] == 8
    assert "replay.difficulty_mape" in summary["fit"]
    bad = subprocess.run(
        [*cmd[:-1], str(tmp_path / "missing.toml")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "not found" in bad.stderr
