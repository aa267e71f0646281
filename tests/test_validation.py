"""Validation suite (`abm validate`): checks against numbers worked out by hand or published.

Hand values used below:
- total supply: sum over 33 eras of 210,000 x floor(5e9 / 2^k) sat = 2,099,999,997,690,000 sat
  = 20,999,999.9769 BTC (the published figure);
- retarget fixed point at constant hashrate: Core measures 2015 intervals, so the interval T
  solves 2016 x 600 / (2015 T) = 1, T = 600 x 2016 / 2015 = 600.2978 s;
- contest.toml: V = 144 x 3.125 BTC x $90,000 = $40.5M/day, c_i = 13.5 J/TH x 24e-6 x p_i
  USD/TH-day; p = 30/45/60/75 -> c = 0.00972, 0.01458, 0.01944, 0.0243;
- sovereign of 8,800 MW of 11 J/TH rigs: H_s = 8,800 / 11e-6 TH/s = 800 EH/s. Two private
  firms active (C = 0.0243): X = V (1 + sqrt(1 + 4 C H_s / V)) / (2C) = 40.5e6 x (1 +
  sqrt(2.92)) / 0.0486 = 2,257.33 EH/s; V / X = 0.017941 < c_3 = 0.01944, so firm 3 is out;
  s_1 = 1 - c_1 X / V = 0.45824, s_2 = 0.18735, sovereign 800 / 2,257.33 = 0.35440.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from abm import chain
from abm.behaviour import best_response_ths, tullock_equilibrium
from abm.cli import main
from abm.data_io import difficulty_history, price_history
from abm.outputs import ENTRIES
from abm.validation import contest, core, protocol, replay
from abm.validation.cli import validate


def test_total_supply_by_hand():
    total_sat = sum(210_000 * (5_000_000_000 >> k) for k in range(64))
    assert total_sat == 2_099_999_997_690_000
    assert chain.subsidy_total_btc(0, 64 * 210_000) == total_sat / 1e8 == protocol.TOTAL_SUPPLY_BTC


def test_retarget_converges_to_core_fixed_point():
    assert protocol.converged_block_interval_s() == pytest.approx(600 * 2016 / 2015, abs=0.01)
    # from a difficulty 3x too high (slow blocks) as well
    assert protocol.converged_block_interval_s(start_factor=3.0, days=500) == pytest.approx(
        600.2978, abs=0.01
    )


def test_implied_hashrate_on_2020_01_01():
    d = difficulty_history().loc["2020-01-01", "difficulty"]
    assert d == 13_031_658_000_898
    assert chain.implied_hashrate_ehs(d) == pytest.approx(13_031_658_000_898 * 2**32 / 600 / 1e18)
    assert chain.implied_hashrate_ehs(d) == pytest.approx(93.284, abs=5e-4)


def test_protocol_checks_all_pass():
    checks = protocol.checks({})
    assert [c.status for c in checks] == ["PASS"] * len(checks)


def test_sovereign_closed_form_hand_values():
    # two firms c = 1, V = 1, H_s = 3/8: X = (1 + sqrt(1 + 8 x 3/8)) / 4 = 3/4, x_i = 3/4 - 9/16
    x_tot, x = contest.sovereign_equilibrium(np.array([1.0, 1.0]), 1.0, 0.375)
    assert x_tot == pytest.approx(0.75)
    np.testing.assert_allclose(x, [0.1875, 0.1875])
    # one firm c = 2, V = 8, H_s = 1: x = sqrt(V H_s / c) - H_s = 1
    x_tot, x = contest.sovereign_equilibrium(np.array([2.0]), 8.0, 1.0)
    assert x_tot == pytest.approx(2.0)
    np.testing.assert_allclose(x, [1.0])


def test_sovereign_closed_form_without_sovereign_is_tullock():
    c = np.array([0.7, 1.3, 1.0, 2.9, 1.1])
    x_tot, x = contest.sovereign_equilibrium(c, 5.0, 0.0)
    t_tot, shares = tullock_equilibrium(c, 5.0)
    assert x_tot == pytest.approx(t_tot)
    np.testing.assert_allclose(x / x_tot, shares, atol=1e-12)


@pytest.mark.parametrize("h_s", [0.1, 0.8, 3.0])
def test_sovereign_closed_form_is_a_nash_equilibrium(h_s):
    c = np.array([0.5, 0.8, 1.0, 1.4])
    v = 4.0
    x_tot, x = contest.sovereign_equilibrium(c, v, h_s)
    assert x.sum() + h_s == pytest.approx(x_tot)
    # every private firm's best response to the others plus the sovereign is its own hashrate
    everyone = np.append(x, h_s)
    br = best_response_ths(everyone, np.append(c, 1.0), v)[:-1]
    np.testing.assert_allclose(br, x, rtol=1e-9, atol=1e-12)
    assert np.all(c[x == 0] >= v / x_tot)  # the inactive cannot profit at the margin


def test_engine_with_sovereign_matches_hand_values():
    sc = contest.contest_scenario([30.0, 45.0, 60.0, 75.0], 0.5, sovereign_mw=8_800.0)
    r = contest.run_contest(sc)
    assert r.hashrate_ths[-1] / 1e6 == pytest.approx(800.0)
    total = r.hashrate_ths.sum() / 1e6
    assert total == pytest.approx(2257.33, rel=1e-4)
    np.testing.assert_allclose(
        r.hashrate_ths / r.hashrate_ths.sum(), [0.45824, 0.18735, 0.0, 0.0, 0.35440], atol=1e-4
    )


def test_contest_checks_pass_in_quick_mode():
    checks = contest.checks({}, quick=True)
    assert {c.check for c in checks} >= {
        "contest.tullock_shares",
        "contest.arnosti_weinberg_slack",
        "contest.halving_total_ratio",
        "sovereign.private_shares",
    }
    assert all(c.passed for c in checks)


def test_halving_changes_on_a_hand_built_series():
    days = pd.date_range("2020-05-01", periods=60, freq="D")
    height = 629_000 + 100 * np.arange(60)  # crosses 630,000 on day 10
    difficulty = np.full(60, 16e12)
    difficulty[10 + 30 :] = 12e12
    hashrate = np.where(np.arange(60) < 10, 120.0, 90.0)
    ts = pd.DataFrame(
        {"height": height, "difficulty": difficulty, "network_hashrate_ehs": hashrate}, index=days
    )
    day, d_change, h_change = replay.halving_changes(ts, 630_000)
    assert day == pd.Timestamp("2020-05-11")
    assert d_change == pytest.approx(12 / 16 - 1)
    assert h_change == pytest.approx(90 / 120 - 1)
    assert replay.halving_changes(ts, 900_000) is None


def test_history_scenario_starts_from_the_observed_network():
    sc = replay.history_scenario()
    d0 = difficulty_history().loc[pd.Timestamp(sc.run.start_date), "difficulty"]
    assert sc.run.start_date == dt.date(2020, 1, 1)
    assert sc.protocol.initial_difficulty == d0
    assert sc.price.model == "replay"
    end = sc.run.start_date + dt.timedelta(days=round(sc.run.years * 365) - 1)
    assert pd.Timestamp(end) == price_history().index[-1]
    # 630,000 - 610,700 = 19,300 blocks = 134 days at 144/day: the halving lands in May 2020
    assert sc.run.start_date + dt.timedelta(days=(630_000 - sc.protocol.start_height) / 144) == (
        dt.date(2020, 5, 14)
    )


def test_tolerance_override_decides_a_check():
    ok = core.within("x.y", 1.0, 1.1, 0.2, {})
    bad = core.within("x.y", 1.0, 1.1, 0.2, {"x.y": 0.05})
    assert ok.passed and not bad.passed
    assert core.at_most("x.z", 3.0, 2.0, {}).status == "FAIL"
    assert core.info("x.w", 3.0).status == "info"


def test_abm_validate_quick_exits_0(tmp_path, capsys):
    code = main(["validate", "--quick", "--details", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 failed" in out and "replay.difficulty_mape" in out and "frozen at its start" in out
    doc = json.loads((tmp_path / "validation.json").read_text())
    assert doc["passed"] and doc["quick"]
    assert {p.name for p in tmp_path.iterdir()} == ENTRIES["validate"]
    assert json.loads((tmp_path / "manifest.json").read_text())["kind"] == "validate"
    rows = {r["check"]: r for r in doc["checks"]}
    table = pd.read_csv(tmp_path / "validation.csv")
    assert set(table["check"]) == set(rows)
    # the replay beats a difficulty frozen at its 2020-01-01 value (MAPE 0.463 by hand below)
    obs = difficulty_history().loc["2020-01-01":"2023-12-31", "difficulty"]
    naive = float((obs.iloc[0] / obs - 1).abs().mean())
    assert naive == pytest.approx(0.463, abs=0.001)
    assert rows["replay.difficulty_mape"]["measured"] < naive
    replay_csv = pd.read_csv(tmp_path / "replay.csv", parse_dates=["date"])
    assert replay_csv["date"].iloc[-1] == pd.Timestamp("2023-12-31")


def test_a_failing_check_exits_1(monkeypatch, capsys):
    # only the protocol family runs here; the retarget interval is 600.30 s, not within 0 of 600
    monkeypatch.setattr(contest, "checks", lambda tol, quick=False: [])
    monkeypatch.setattr(replay, "checks", lambda tol, quick=False: ([], pd.DataFrame()))
    assert validate(quick=True) == 0
    assert validate(quick=True, tolerances={"protocol.retarget_interval_s": 0.0}) == 1
    out = capsys.readouterr().out
    assert "FAIL    protocol.retarget_interval_s" in out and "1 failed" in out


def test_full_replay_rows_on_one_seed(monkeypatch):
    """The full replay (to 2026-02-13) on one seed: halvings by height near the real dates."""
    monkeypatch.setattr(replay, "FULL_SEEDS", (1,))
    checks, table = replay.checks({}, quick=False)
    rows = {c.check: c for c in checks}
    assert table.index[-1] == pd.Timestamp("2026-02-13")
    assert table["difficulty_obs"].last_valid_index() == pd.Timestamp("2023-12-31")
    for key in ("replay.hashrate_2024_12_31", "replay.difficulty_2025_12_31"):
        assert rows[key].status == "info" and rows[key].measured > 0
    assert "replay.hashrate_2026_02_13" in rows
    # 229,300 blocks from 610,700 to 840,000: the model's block rate puts the 2024 halving
    # within two weeks of 2024-04-20 (it follows the simulated hashrate, not the calendar)
    day = pd.Timestamp(rows["replay.halving_2024_hashrate_30d"].detail.split("halving on ")[1][:10])
    assert abs((day - pd.Timestamp("2024-04-20")).days) <= 14
    assert rows["replay.halving_2024_hashrate_30d"].passed is not None


def test_structure_checks_by_hand():
    # a replay whose listed share is 0.20 in January 2022, 0.45 in December 2024 and 0.40 in
    # late 2025, with 10 defaults in 2020-2023 of which 4 fall in June 2022 - March 2023
    days = pd.date_range("2020-01-01", "2026-02-13", freq="D")
    share = pd.Series(0.0, index=days)
    share.loc["2022-01"] = 0.20
    share.loc["2024-12"] = 0.45
    share.loc["2025-10":"2025-12"] = 0.40
    events = pd.Series(0, index=days)
    for d in (
        "2020-03-01",
        "2021-07-01",
        "2021-08-01",
        "2022-05-31",
        "2022-06-01",
        "2022-12-21",
        "2023-03-31",
        "2022-09-01",
        "2023-04-01",
        "2023-12-31",
        "2024-06-01",
    ):  # the last one is outside 2020-2023
        events.loc[d] += 1
    frame = pd.DataFrame({"share_listed": share, "defaults_cum": events.cumsum()})
    assert replay.defaults_in(frame, dt.date(2022, 6, 1), dt.date(2023, 3, 31)) == 4
    rows = {c.check: c for c in replay.structure_checks([frame, frame], {})}
    assert rows["replay.listed_share_2022_01"].measured == pytest.approx(0.20)
    assert rows["replay.listed_share_2022_01"].passed  # |0.20 - 0.17| <= 0.08
    assert not rows["replay.listed_share_2024_12"].passed  # |0.45 - 0.30| > 0.08
    # late 2025: within 8 points of 33-38%, i.e. |x - 0.355| <= 0.105
    assert rows["replay.listed_share_2025_q4"].measured == pytest.approx(0.40)
    assert rows["replay.listed_share_2025_q4"].passed
    assert rows["replay.defaults_2022_bear_share"].measured == pytest.approx(0.4)
    assert rows["replay.defaults_2022_bear_share"].passed  # 4 of 10 >= 40%


def test_targets_file_is_complete_and_matches_the_data(tmp_path):
    from abm.validation.targets import load_targets

    t = load_targets()
    assert {"replay.difficulty_mape", "replay.halving_2024_hashrate_30d"} <= set(t)
    assert all(x.use in ("fit", "holdout") and x.source for x in t.values())
    # the difficulty, the listed share and the 2022 distress wave were fitted
    # (docs/calibration.md); the rest held out, the 2024 halving among them
    assert [c for c, x in t.items() if x.use == "fit"] == [
        "replay.difficulty_mape",
        "replay.listed_share_2022_01",
        "replay.listed_share_2024_12",
        "replay.listed_share_2025_q4",
        "replay.defaults_2022_bear_share",
    ]
    assert t["replay.halving_2024_hashrate_30d"].use == "holdout"
    # the 2020 halving's observed change, recomputed from the packaged difficulty series
    obs = difficulty_history()["difficulty"]
    change = obs[pd.Timestamp("2020-06-10")] / obs[pd.Timestamp("2020-05-11")] - 1
    assert t["replay.halving_2020_difficulty_30d"].low == pytest.approx(change, abs=1e-6)
    # late 2025: 33-38% with 8 points: |x - 0.355| <= 0.105
    q4 = t["replay.listed_share_2025_q4"]
    assert q4.mid == pytest.approx(0.355) and q4.half_width == pytest.approx(0.105)
    # a bad file is named with the target that is wrong
    bad = tmp_path / "targets.toml"
    bad.write_text(
        '[[target]]\ncheck = "x.y"\nrule = "near"\nlow = 1.0\nhigh = 1.0\nunit = "-"\n'
        'first = 2020-01-01\nlast = 2020-01-02\nuse = "fit"\nsource = "s"\n'
    )
    with pytest.raises(ValueError, match=r"target 1 \(x.y\): rule must be one of"):
        load_targets(bad)
