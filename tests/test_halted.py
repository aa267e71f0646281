"""Halted chains (issue 18, item 8): the 90-day rolling block count by hand, the flag in every
run summary, and sweeps, comparisons and reports that show halted runs apart from the
concentration statistics."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from abm import compare as cmp
from abm.metrics import chain_halted, is_concentration_metric, min_window_blocks
from abm.report import builder
from abm.runner import run
from abm.stats import for_metric, halted
from abm.sweeps import analysis
from tests.conftest import small_scenario


def test_rolling_90_day_blocks_by_hand():
    # 100 days at 144, then 90 at 60: the last window holds 90 x 60 = 5,400 < 6,480
    b = np.r_[np.full(100, 144.0), np.full(90, 60.0)]
    assert min_window_blocks(b) == 5400.0
    assert chain_halted(b)
    # every 90-day window by hand: days i..i+89 hold 144 x (days before 100) + 60 x the rest
    windows = [144.0 * max(100 - i, 0) + 60.0 * (90 - max(100 - i, 0)) for i in range(101)]
    assert min(windows) == 5400.0 and windows[50] == 144 * 50 + 60 * 40 == 9600
    # 144 a day never halts; 60 days at 60 after 144s: 30 x 144 + 60 x 60 = 7,920 >= 6,480
    assert not chain_halted(np.full(365, 144.0)) and min_window_blocks(np.full(365, 144.0)) == 12960
    short_dip = np.r_[np.full(100, 144.0), np.full(60, 60.0), np.full(100, 144.0)]
    assert min_window_blocks(short_dip) == 7920.0 and not chain_halted(short_dip)
    # the threshold is "fewer than half": 90 x 72 = 6,480 is not halted, 90 x 71 is
    assert not chain_halted(np.full(90, 72.0)) and chain_halted(np.full(90, 71.0))
    # a run shorter than 90 days: its whole length, half of 144 x 30 = 2,160 blocks
    assert chain_halted(np.full(30, 50.0)) and not chain_halted(np.full(30, 73.0))
    assert not chain_halted(np.zeros(0))


def test_every_run_summary_has_chain_halted(tmp_path):
    r = run(small_scenario(years=0.3), seed=1)
    assert r.summary["chain_halted"] is False
    blocks = r.timeseries["blocks_found"].to_numpy()
    assert r.summary["min_blocks_90d"] == min(blocks[i : i + 90].sum() for i in range(20))
    saved = json.loads((r.save(tmp_path / "out") / "summary.json").read_text())
    assert saved["chain_halted"] is False


def _sweep_runs() -> pd.DataFrame:
    """Two design points x three seeds; seed 2 halts at point 1."""
    rows = []
    for p, hhi in ((0, (1000.0, 2000.0, 3000.0)), (1, (1500.0, 2500.0, 9000.0))):
        for seed, h in zip((0, 1, 2), hhi, strict=True):
            rows.append(
                {
                    "point_id": p,
                    "seed": seed,
                    "x": float(p),
                    "status": "ok",
                    "hhi_firm_end": h,
                    "small_firm_survival": 0.1 * (seed + 1) + p,
                    "chain_halted": float(p == 1 and seed == 2),
                    "min_blocks_90d": 100.0 if p == 1 and seed == 2 else 12000.0,
                }
            )
    return pd.DataFrame(rows)


def test_sweep_points_leave_halted_runs_out_of_concentration_only():
    runs = _sweep_runs()
    by = analysis.summarise_points(runs, ["x"]).set_index("point_id")
    assert by.loc[1, "n_halted"] == 1 and by.loc[1, "halted_share"] == pytest.approx(1 / 3)
    assert by.loc[0, "n_halted"] == 0
    # HHI over the two runs that did not halt; survival over all three
    assert by.loc[1, "hhi_firm_end_mean"] == pytest.approx((1500 + 2500) / 2)
    assert by.loc[1, "small_firm_survival_mean"] == pytest.approx(1 + 0.2)
    eff = analysis.paired_effects(runs, ["x"], 0, ["hhi_firm_end", "small_firm_survival"])
    hhi = eff[eff["metric"] == "hhi_firm_end"].iloc[0]
    surv = eff[eff["metric"] == "small_firm_survival"].iloc[0]
    assert hhi["n_pairs"] == 2 and hhi["effect_mean"] == pytest.approx(500.0)
    assert surv["n_pairs"] == 3 and surv["effect_mean"] == pytest.approx(1.0)
    listed = analysis.halted_runs(runs, ["point_id", "x"])
    assert listed.to_dict("records") == [
        {"point_id": 1, "x": 1.0, "seed": 2, "min_blocks_90d": 100.0}
    ]
    assert "halted" in analysis.points_table(analysis.summarise_points(runs, ["x"]), ["x"])


def test_which_metrics_are_concentration_and_missing_flags():
    assert is_concentration_metric("hhi_owner_end") and is_concentration_metric("max_hhi_firm")
    assert is_concentration_metric("nakamoto_firm_end") and is_concentration_metric("cr4_firm_end")
    assert not is_concentration_metric("small_firm_survival")
    assert not is_concentration_metric("network_hashrate_ehs_end")
    old = pd.DataFrame({"hhi_firm_end": [1.0, 2.0]})  # results written before the flag
    assert not halted(old).any() and len(for_metric(old, "hhi_firm_end")) == 2


def _compare_runs() -> pd.DataFrame:
    rows = []
    for arm, shift in (("A", 0.0), ("B", 100.0)):
        for seed in range(4):
            stop = arm == "B" and seed == 3
            rows.append(
                {
                    "scenario": arm,
                    "seed": seed,
                    **{k: 1.0 + seed for k in cmp.COMPARE_METRICS},
                    "hhi_owner_end": 1000.0 + 10 * seed + shift + (8000.0 if stop else 0.0),
                    "small_firm_survival": 0.5 + 0.1 * (arm == "B"),
                    "chain_halted": stop,
                    "min_blocks_90d": 50.0 if stop else 12000.0,
                }
            )
    return pd.DataFrame(rows)


def test_compare_effects_over_seeds_where_neither_halted():
    runs = _compare_runs()
    eff = cmp.paired_effects(runs).set_index("metric")
    assert eff.loc["hhi_owner_end", "n_pairs"] == 3
    assert eff.loc["hhi_owner_end", "diff_b_minus_a"] == pytest.approx(100.0)
    assert eff.loc["small_firm_survival", "n_pairs"] == 4
    h = cmp.halted_by_scenario(runs)
    assert h["A"] == {"runs": 4, "halted": 0, "halted_share": 0.0, "halted_seeds": []}
    assert h["B"] == {"runs": 4, "halted": 1, "halted_share": 0.25, "halted_seeds": [3]}
    assert "halted chains, B: 1 of 4 runs (25%), seeds [3]" in cmp.halted_lines(runs)


def test_compare_report_lists_halted_runs_apart(tmp_path):
    a, b = small_scenario(years=0.2), small_scenario(years=0.2, **{"price.drift_per_year": 0.5})
    src = cmp.compare(a, b, seeds=3).save(tmp_path / "cmp")
    runs = pd.read_parquet(src / "runs.parquet")
    assert runs["chain_halted"].dtype == bool and not runs["chain_halted"].any()
    # mark one run of B as halted, with an outlying HHI, and build the report from the folder
    folder = tmp_path / "edited"
    shutil.copytree(src, folder)
    stop = (runs["scenario"] == "B") & (runs["seed"] == 1)
    runs.loc[stop, "chain_halted"] = True
    runs.loc[stop, "hhi_owner_end"] = 10_000.0
    runs.to_parquet(folder / "runs.parquet", index=False)
    rep = builder.build(folder)
    facts = dict(rep.facts)
    assert facts["halted chains"].startswith("A: 0 of 3 (0%); B: 1 of 3 (33%)")
    (table,) = [t for t in rep.tables if t.name == "halted_runs"]
    assert table.data[["scenario", "seed"]].to_dict("records") == [{"scenario": "B", "seed": 1}]
    (arms,) = [t for t in rep.tables if t.name == "arms"]
    hhi = arms.data[
        (arms.data["scenario"] == f"B: {b.name}") & arms.data["metric"].str.contains("HHI")
    ]
    kept = runs[(runs["scenario"] == "B") & ~stop]["hhi_owner_end"]
    assert hhi["n"].iloc[0] == 2 and hhi["mean"].iloc[0] == pytest.approx(kept.mean())
