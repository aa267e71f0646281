"""Report figures on synthetic frames: halving marks on date axes (calendar dates, or where the
runs' subsidy dropped) and t bands clipped to a quantity's physical range (raw interval kept)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from abm import chain
from abm.report import figures as rf
from abm.report.halvings import calendar_halvings, halving_dates, halving_marks
from abm.report.stats import clip_band
from abm.report.tables import Table, value_bounds
from abm.stats import t_summary


def _series(arms: dict[str, list[float]], column: str, start: str, end: str) -> pd.DataFrame:
    """Weekly rows from `start` to `end`: seed i + 1 of scenario `arm` has `arms[arm][i]` on
    every date."""
    rows = [
        {"scenario": arm, "seed": i + 1, "date": d, column: v}
        for arm, values in arms.items()
        for i, v in enumerate(values)
        for d in pd.date_range(start, end, freq="7D")
    ]
    return pd.DataFrame(rows)


def _hand(x: list[float]) -> tuple[float, float, float]:
    """mean, low, high of the 95% t interval by the textbook formulas."""
    n = len(x)
    mean = sum(x) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


GROUPS = {"A": "A: base", "B": "B: other"}


# ---------------------------------------------------------------------------------------------
# halvings
def test_calendar_halvings_observed_then_projected():
    days = calendar_halvings("2012-01-01", "2032-12-31")
    assert [d.date() for d in days[:4]] == list(chain.OBSERVED_HALVINGS.values())
    assert [str(d.date()) for d in days[4:]] == ["2028-04-17", "2032-04-15"]
    assert chain.halving_date(5) - chain.halving_date(4) == pd.Timedelta(days=1458)  # 210k/144


def test_band_figure_2023_to_2026_has_one_halving_line_on_2024_04_20():
    series = _series(
        {"A": [5.0, 6.0, 7.0], "B": [6.0, 7.0, 8.0]}, "hhi_owner", "2023-01-01", "2026-12-31"
    )
    fig = rf.series_band_figure(series, "hhi_owner", "HHI [0-10,000]", GROUPS, by="scenario")
    assert [s.x0 for s in fig.layout.shapes] == ["2024-04-20"]
    (line,) = fig.layout.shapes
    assert line.type == "line" and line.line.dash == "dot" and line.yref == "paper"
    assert [a.text for a in fig.layout.annotations] == ["halving"]
    assert fig.layout.annotations[0].x == "2024-04-20"
    # a range without a halving: no marks
    calm = series[series["date"] < "2024-01-01"]
    fig = rf.series_band_figure(calm, "hhi_owner", "HHI [0-10,000]", GROUPS, by="scenario")
    assert not fig.layout.shapes and not fig.layout.annotations


def test_band_figure_marks_the_halving_where_the_runs_subsidy_dropped():
    """Kept series with ``subsidy_btc``: the runs' own halving day (their block rate), not the
    calendar; seeds halving on different days count by the median (one mark, not three)."""
    series = _series(
        {"A": [5.0, 6.0, 7.0], "B": [6.0, 7.0, 8.0]}, "hhi_owner", "2023-01-01", "2026-12-31"
    )
    halved_on = {1: "2024-03-03", 2: "2024-03-17", 3: "2024-05-12"}  # weekly dates (Sundays)
    series["subsidy_btc"] = np.where(
        series["date"] >= series["seed"].map(halved_on).astype("datetime64[ns]"), 3.125, 6.25
    )
    assert [str(d.date()) for d in halving_dates(series)] == ["2024-03-17"]  # 2 of 3 halved
    fig = rf.series_band_figure(series, "hhi_owner", "HHI [0-10,000]", GROUPS, by="scenario")
    assert [s.x0 for s in fig.layout.shapes] == ["2024-03-17"]
    assert halving_marks(series.iloc[:0]) == {"shapes": [], "annotations": []}


# ---------------------------------------------------------------------------------------------
# clipped bands
def test_value_bounds_from_the_units():
    assert value_bounds("network_hashrate_ehs") == (0.0, math.inf)  # recorder: [EH/s]
    assert value_bounds("hhi_owner_end") == (0.0, 10_000.0)  # summary metric: 0-10,000
    assert value_bounds("share_sovereign") == value_bounds("small_firm_survival") == (0.0, 1.0)
    assert value_bounds("cash_usd") == (-math.inf, math.inf)  # cash can be negative
    assert value_bounds("not_a_metric") == (-math.inf, math.inf)


def test_non_negative_band_with_negative_raw_low_is_drawn_at_zero():
    seeds = {"A": [0.0, 0.0, 2.0], "B": [1.0, 1.0, 3.0]}  # A: t interval (-2.2, 3.5)
    series = _series(seeds, "network_hashrate_ehs", "2026-01-01", "2026-03-01")
    mean, lo, hi = _hand([0.0, 0.0, 2.0])
    assert lo < 0 < hi
    fig = rf.series_band_figure(
        series, "network_hashrate_ehs", "hashrate [EH/s]", GROUPS, "scenario"
    )
    upper, lower, mean_line = [t for t in fig.data if t.legendgroup == "A: base"]
    assert np.all(lower.y == 0.0)  # clipped at 0, not lo
    assert upper.y[-1] == pytest.approx(hi, rel=1e-12) and mean_line.y[-1] == pytest.approx(mean)
    assert fig.layout.title.text.endswith("(band clipped at 0)")
    # B (1, 1, 3): raw low -1.2 as well; a signed quantity is left as it is
    fig = rf.series_band_figure(
        series, "network_hashrate_ehs", "x [-]", GROUPS, "scenario", (-math.inf, math.inf)
    )
    lower = [t for t in fig.data if t.legendgroup == "A: base"][1]
    assert lower.y[-1] == pytest.approx(lo, rel=1e-12) and "clipped" not in fig.layout.title.text


def test_share_band_clipped_at_0_and_1():
    arms = {"A": [0.0, 0.02, 0.3], "B": [0.9, 1.0, 1.0]}  # A: low < 0; B: high > 1
    series = _series(arms, "share_sovereign", "2026-01-01", "2026-02-01")
    fig = rf.series_band_figure(series, "share_sovereign", "share [0-1]", GROUPS, "scenario")
    ys = np.concatenate([t.y for t in fig.data])
    assert ys.min() == 0.0 and ys.max() == 1.0
    assert fig.layout.title.text.endswith("(band clipped at 0 and 1)")


def test_clipped_summary_keeps_the_hand_computed_t_interval_in_raw_columns():
    frame = pd.DataFrame({"g": [1, 1, 1, 1, 2, 2, 2], "v": [0.1, 0.0, 0.4, 0.0, 5.0, 6.0, 9.0]})
    s, note = clip_band(t_summary(frame, "g", "v"), (0.0, math.inf))
    for g, x in ((1, [0.1, 0.0, 0.4, 0.0]), (2, [5.0, 6.0, 9.0])):
        mean, lo, hi = _hand(x)
        row = s.set_index("g").loc[g]
        assert row["mean"] == pytest.approx(mean, rel=1e-12)
        assert (row["ci_low_raw"], row["ci_high_raw"]) == pytest.approx((lo, hi), rel=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((max(lo, 0.0), hi), rel=1e-12)
    assert s.loc[0, "ci_low_raw"] < 0 and note == "band clipped at 0"
    assert clip_band(t_summary(frame[frame["g"] == 2], "g", "v"), (0.0, math.inf))[1] == ""


def test_arms_and_points_figures_clip_the_interval():
    runs = pd.DataFrame(
        {"scenario": ["A"] * 3 + ["B"] * 3, "seed": [1, 2, 3] * 2, "exits": [0, 0, 3, 4, 5, 6]}
    )
    fig = rf.arms_figure(runs, ["exits"], {"A": "A", "B": "B"})
    a = next(t for t in fig.data if t.name and t.name.startswith("mean") and t.x[0] == "A")
    _, lo, _ = _hand([0, 0, 3])
    assert lo < 0 and a.y[0] - a.error_y.arrayminus[0] == pytest.approx(0.0, abs=1e-12)
    assert "CI clipped at 0" in fig.layout.annotations[0].text
    by_point = pd.DataFrame(
        {
            "point_id": [0, 1],
            "x.y": [0.1, 0.2],
            "exits_mean": [1.0, 5.0],
            "exits_ci_low": [lo, 2.5],
            "exits_ci_high": [5.0, 7.5],
        }
    )
    fig = rf.points_figure(by_point, ["x.y"], "exits")
    (t,) = fig.data
    assert list(t.y - t.error_y.arrayminus) == pytest.approx([0.0, 2.5])
    assert fig.layout.title.text.endswith("; CI clipped at 0")


def test_table_csv_only_columns(tmp_path):
    data = pd.DataFrame({"m": ["a"], "ci_low": [0.0], "ci_low_raw": [-1.5]})
    t = Table("t", "caption", data, {"ci_low": "95% CI low"}, csv_only=("ci_low_raw",))
    assert t.header() == ["m", "95% CI low"] and "raw" not in t.to_latex()
    csv, md, _ = t.write(tmp_path)
    assert pd.read_csv(csv)["ci_low_raw"].tolist() == [-1.5] and "-1.5" not in md.read_text()
