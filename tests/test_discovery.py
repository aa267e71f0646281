"""Scenario discovery (abm discover): PRIM recovers a planted box, feature scores rank the
parameter that matters, the folder and the sweep report hold the box, bad input exits 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tomli_w

from abm.cli import main
from abm.discovery import DiscoveryError, choose_box, discover, prim_box
from abm.report.builder import make_report
from abm.sweeps.analysis import summarise_points
from abm.sweeps.store import Store

# the planted rule: small firms fail (survival 0.1) where power costs more than $48/MWh and
# debt less than 12% a year; elsewhere survival is 0.3 (+-0.05 noise, never below 0.2)
PRICE, RATE = ("energy.median_price_usd_per_mwh", "finance.rate_small")
PRICE_LOW, RATE_HIGH = 48.0, 0.12


def planted_runs(n: int = 600, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    price = rng.uniform(30.0, 70.0, n)
    rate = rng.uniform(0.05, 0.30, n)
    noise = rng.uniform(0.0, 1.0, n)  # a third parameter that plays no part
    inside = (price > PRICE_LOW) & (rate < RATE_HIGH)
    survival = np.where(inside, 0.1, 0.3) + rng.uniform(-0.05, 0.05, n)
    return pd.DataFrame(
        {
            "run_id": np.arange(n),
            "point_id": np.arange(n),
            "replication": 0,
            "seed": np.arange(n) + 100,
            PRICE: price,
            RATE: rate,
            "fees.base_btc_per_block": noise,
            "small_firm_survival": survival,
            # headline metrics: one driven by the price only, one by the rate only
            "hhi_owner_end": 500 + 20 * price + rng.normal(0, 5, n),
            "hashprice_usd_per_ph_day_end": 40 - 50 * rate + rng.normal(0, 0.2, n),
            "status": "ok",
            "error": "",
        }
    )


@pytest.fixture
def sweep_dir(tmp_path):
    """A sweep folder (the files abm sweep writes) holding the planted runs."""
    runs = planted_runs()
    params = [PRICE, RATE, "fees.base_btc_per_block"]
    d = tmp_path / "planted"
    d.mkdir()
    runs.to_parquet(d / "runs.parquet")
    summarise_points(runs, params).to_csv(d / "summary_by_point.csv", index=False)
    spec = {
        "name": "planted",
        "design": {"kind": "lhs", "n": len(runs)},
        "parameters": {p: {"low": 0.0, "high": 1.0} for p in params},
    }
    (d / "spec.toml").write_text(tomli_w.dumps(spec))
    manifest = {
        "package": "abm-mining",
        "kind": "sweep",
        "sweep": "planted",
        "runs_parquet": Store(d).record(),  # what runs.parquet was built from (not stale)
    }
    (d / "manifest.json").write_text(json.dumps(manifest))
    return d


def test_prim_recovers_a_planted_box_within_10_percent():
    runs = planted_runs()
    x = runs[[PRICE, RATE, "fees.base_btc_per_block"]]
    traj, box, chosen = prim_box(x, runs["small_firm_survival"].to_numpy() < 0.2)
    lims = box.set_index("parameter")
    assert set(lims.index) == {PRICE, RATE}  # the noise parameter is not restricted
    assert abs(lims.loc[PRICE, "low"] / PRICE_LOW - 1) <= 0.10
    assert abs(lims.loc[RATE, "high"] / RATE_HIGH - 1) <= 0.10
    # the sides the rule does not bound stay at the sampled range, without a quasi-p-value
    assert lims.loc[PRICE, "high"] == pytest.approx(runs[PRICE].max())
    assert np.isnan(lims.loc[PRICE, "qp_high"]) and lims.loc[PRICE, "qp_low"] < 0.01
    stats = traj.set_index("id").loc[chosen]
    assert stats["coverage"] >= 0.8 and stats["density"] >= 0.9
    assert traj["chosen"].sum() == 1


def test_choose_box_prefers_restricting_boxes():
    traj = pd.DataFrame(
        {
            "id": [0, 1, 2, 3],
            "coverage": [1.0, 0.75, 0.6, 0.5],
            "density": [0.67, 0.75, 0.9, 1.0],
            "res_dim": [0, 1, 1, 2],
        }
    )
    assert choose_box(traj, 0.8)["id"] == 1  # none reaches 0.8: the most coverage
    assert choose_box(traj, 0.55)["id"] == 2  # the densest with coverage >= 0.55
    assert choose_box(traj, 0.0)["id"] == 3


def test_feature_scores_rank_the_driving_parameter(sweep_dir):
    d, _ = discover(sweep_dir, "small_firm_survival", below=0.2)
    scores = d.scores.set_index("parameter")
    assert scores["hhi_owner_end"].idxmax() == PRICE
    assert scores.loc[PRICE, "hhi_owner_end"] > 0.8
    assert scores["hashprice_usd_per_ph_day_end"].idxmax() == RATE
    np.testing.assert_allclose(scores[["hhi_owner_end"]].sum(), 1.0)


def test_discover_command_writes_the_box_and_the_report_holds_it(sweep_dir, capsys):
    code = main(
        [
            "discover",
            str(sweep_dir),
            "--outcome",
            "small_firm_survival",
            "--below",
            "0.2",
            "--formats",
            "none",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"{PRICE} in [" in out and "coverage" in out
    folder = sweep_dir / "discovery"
    for f in (
        "report.md",
        "discovery.json",
        "figures/prim_trajectory.html",
        "figures/feature_scores.html",
        "tables/prim_box.csv",
        "tables/prim_box.tex",
        "tables/prim_box.md",
        "tables/prim_stats.csv",
        "tables/feature_scores.csv",
    ):
        assert (folder / f).exists(), f
    box = pd.read_csv(folder / "tables" / "prim_box.csv").set_index("parameter")
    assert abs(box.loc[PRICE, "low"] / PRICE_LOW - 1) <= 0.10
    assert "quasi-p" in (folder / "tables" / "prim_box.tex").read_text()
    report = make_report(sweep_dir, formats=(), progress=False)
    md = (report / "report.md").read_text()
    assert "PRIM peeling trajectory" in md and "discovery_prim_box" in md
    assert (report / "tables" / "discovery_feature_scores.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--outcome", "no_such_metric", "--below", "0.2"], "not a numeric outcome"),
        (["--outcome", "small_firm_survival", "--below", "0.0"], "no run has"),
        (["--outcome", "small_firm_survival", "--above", "0.0"], "every run has"),
    ],
)
def test_discover_bad_input_exits_2(sweep_dir, capsys, args, message):
    assert main(["discover", str(sweep_dir), *args, "--formats", "none", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err
    assert not (sweep_dir / "discovery").exists()


def test_discover_needs_a_sweep_folder_and_one_threshold(tmp_path, sweep_dir, capsys):
    assert main(["discover", str(tmp_path), "--outcome", "x", "--below", "1"]) == 2
    assert "not a results folder" in capsys.readouterr().err
    with pytest.raises(DiscoveryError, match="one of --below or --above"):
        discover(sweep_dir, "small_firm_survival")
