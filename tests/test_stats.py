"""Intervals across replications (abm.stats), against t-table values worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abm.stats import t_interval, t_summary, welch_interval

T_975_3 = 3.182446  # t table: 97.5% quantile, 3 degrees of freedom
T_975_4 = 2.776445


def test_t_interval_by_hand_ignores_non_finite_values():
    # 1, 2, 2, 3: mean 2, sd sqrt(2/3); half-width t_{.975,3} sd / 2
    half = T_975_3 * np.sqrt(2 / 3) / 2
    mean, lo, hi = t_interval([1.0, np.nan, 2.0, 2.0, np.inf, 3.0])
    assert mean == 2.0
    assert lo == pytest.approx(2 - half, abs=1e-6) and hi == pytest.approx(2 + half, abs=1e-6)
    assert t_interval([5.0])[0] == 5.0 and np.isnan(t_interval([5.0])[1])
    assert all(np.isnan(v) for v in t_interval([np.nan]))


def test_welch_interval_by_hand():
    # equal variances (1) and sizes (3): se = sqrt(2/3), Welch's dof = 4, difference 2
    half = T_975_4 * np.sqrt(2 / 3)
    lo, hi = welch_interval([1.0, 2.0, 3.0], [3.0, 4.0, 5.0])
    assert lo == pytest.approx(2 - half, abs=1e-6) and hi == pytest.approx(2 + half, abs=1e-6)
    assert all(np.isnan(v) for v in welch_interval([1.0], [2.0, 3.0]))


def test_t_summary_matches_the_one_sample_interval_per_group():
    frame = pd.DataFrame({"g": ["a"] * 4 + ["b"], "v": [1.0, 2.0, 2.0, 3.0, 7.0]})
    out = t_summary(frame, "g", "v").set_index("g")
    half = T_975_3 * np.sqrt(2 / 3) / 2
    assert out.loc["a", "n"] == 4 and out.loc["a", "mean"] == 2.0
    assert out.loc["a", "ci_high"] == pytest.approx(2 + half, abs=1e-6)
    assert out.loc["b", "mean"] == 7.0 and np.isnan(out.loc["b", "ci_low"])


def test_compare_effects_use_the_seeds_where_both_runs_have_the_metric():
    from abm.compare import COMPARE_METRICS, paired_effects

    rows = [
        {"scenario": "A", "seed": s, **dict.fromkeys(COMPARE_METRICS, a)}
        for s, a in enumerate([1.0, 2.0, 3.0, 4.0])
    ]
    rows += [
        {"scenario": "B", "seed": s, **dict.fromkeys(COMPARE_METRICS, b)}
        for s, b in enumerate([2.0, 4.0, np.nan, 7.0])
    ]
    e = paired_effects(pd.DataFrame(rows)).iloc[0]
    # pairs of seeds 0, 1, 3: differences 1, 2, 3 (mean 2, sd 1); t(.975, 2) = 4.302653
    half = 4.302653 / np.sqrt(3)
    assert e["n_pairs"] == 3 and e["diff_b_minus_a"] == 2.0
    assert e["mean_a"] == pytest.approx(7 / 3) and e["mean_b"] == pytest.approx(13 / 3)
    assert e["ci_low"] == pytest.approx(2 - half, abs=1e-6)
    assert e["ci_high"] == pytest.approx(2 + half, abs=1e-6)
