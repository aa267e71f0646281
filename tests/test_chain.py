"""Tests for abm.chain: expected values are worked out by hand (arithmetic in comments)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm import chain
from abm.chain import (
    BLOCKS_PER_DAY,
    HALVING_INTERVAL_BLOCKS,
    INITIAL_SUBSIDY_SAT,
    RETARGET_INTERVAL_BLOCKS,
    SAT_PER_BTC,
    TARGET_BLOCK_TIME_S,
    TARGET_TIMESPAN_S,
    ChainState,
    DayBlocks,
    advance_day,
    difficulty_for_hashrate_ehs,
    expected_blocks_per_day,
    hashprice_usd_per_ph_day,
    implied_hashrate_ehs,
    next_halving_height,
    retarget_difficulty,
    subsidy_btc,
    subsidy_total_btc,
)

DAY_S = 86_400.0
D0 = 1.0e14


def test_constants() -> None:
    assert TARGET_BLOCK_TIME_S == 600
    assert RETARGET_INTERVAL_BLOCKS == 2016
    assert TARGET_TIMESPAN_S == 1_209_600  # 2016 * 600
    assert HALVING_INTERVAL_BLOCKS == 210_000
    assert SAT_PER_BTC == 100_000_000
    assert INITIAL_SUBSIDY_SAT == 5_000_000_000
    assert BLOCKS_PER_DAY == 144  # 86400 / 600


# ------------------------------------------------------------------------------------------
# Subsidy
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "expected"),
    [
        (0, 50.0),
        (209_999, 50.0),  # last block of era 0
        (210_000, 25.0),  # first halving
        (839_999, 6.25),  # 50 / 2**3
        (840_000, 3.125),  # 4th halving (April 2024): 50 / 2**4
        (1_050_000, 1.5625),  # 5th halving: 50 / 2**5
        (32 * 210_000, 1e-8),  # 5e9 sat >> 32 = floor(5e9 / 4_294_967_296) = 1 sat
        (33 * 210_000, 0.0),  # 5e9 >> 33 = floor(0.58) = 0 sat
        (64 * 210_000, 0.0),  # Core returns 0 after 64 halvings
        (100 * 210_000, 0.0),
    ],
)
def test_subsidy_btc_scalar(height: int, expected: float) -> None:
    got = subsidy_btc(height)
    assert isinstance(got, float)
    assert got == expected


def test_subsidy_btc_vectorised() -> None:
    heights = np.array([[0, 210_000], [840_000, 64 * 210_000]])
    got = subsidy_btc(heights)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, [[50.0, 25.0], [3.125, 0.0]])


def test_subsidy_btc_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        subsidy_btc(-1)
    with pytest.raises(TypeError):
        subsidy_btc(1.5)


def test_subsidy_total_within_era() -> None:
    # 10 blocks of era 4: 10 * 3.125 = 31.25
    assert subsidy_total_btc(840_000, 10) == 31.25
    # the whole of era 0: 210,000 * 50 = 10,500,000
    assert subsidy_total_btc(0, 210_000) == 10_500_000.0
    assert subsidy_total_btc(123, 0) == 0.0


def test_subsidy_total_across_boundary() -> None:
    # heights 1,049,990..1,050,009: 10 blocks at 3.125 + 10 blocks at 1.5625 = 31.25 + 15.625
    assert subsidy_total_btc(1_049_990, 20) == 46.875


def test_subsidy_total_across_several_boundaries() -> None:
    # heights 209,999 .. 420,000: 1 * 50 + 210,000 * 25 + 1 * 12.5 = 5,250,062.5
    assert subsidy_total_btc(209_999, 210_002) == 5_250_062.5


def test_total_supply() -> None:
    # sum over eras i of 210,000 * (5e9 >> i) sat = 2,099,999,997,690,000 sat (the known figure)
    assert subsidy_total_btc(0, 64 * 210_000) == pytest.approx(20_999_999.9769, abs=1e-8)
    # and nothing is added after 64 halvings
    assert subsidy_total_btc(0, 100 * 210_000) == subsidy_total_btc(0, 64 * 210_000)


def test_next_halving_height() -> None:
    assert next_halving_height(0) == 210_000
    assert next_halving_height(209_999) == 210_000
    assert next_halving_height(210_000) == 420_000
    assert next_halving_height(840_000) == 1_050_000
    assert next_halving_height(900_000) == 1_050_000


@given(start=st.integers(0, 7_000_000), n=st.integers(0, 3_000))
def test_subsidy_total_matches_per_block_sum(start: int, n: int) -> None:
    per_block_sat = sum(INITIAL_SUBSIDY_SAT >> (h // 210_000) for h in range(start, start + n))
    assert subsidy_total_btc(start, n) == pytest.approx(per_block_sat / 1e8, rel=1e-15, abs=0)


# ------------------------------------------------------------------------------------------
# Retarget, hashrate, hashprice
# ------------------------------------------------------------------------------------------


def test_retarget_difficulty() -> None:
    t = 1_209_600.0
    assert retarget_difficulty(D0, t) == D0  # on target -> unchanged
    assert retarget_difficulty(D0, t / 2) == 2 * D0  # twice as fast -> x2
    assert retarget_difficulty(D0, t / 10) == 4 * D0  # x10 faster, clamped at x4
    assert retarget_difficulty(D0, t * 10) == D0 / 4  # x10 slower, clamped at /4
    assert retarget_difficulty(D0, t / 4) == 4 * D0  # clamp boundaries are inclusive
    assert retarget_difficulty(D0, t * 4) == D0 / 4
    assert retarget_difficulty(D0, 0.0) == 4 * D0
    # 2015 intervals on schedule: 1,209,600 / 1,209,000 = 2016 / 2015
    assert retarget_difficulty(D0, 2015 * 600.0) == pytest.approx(D0 * 2016 / 2015, rel=1e-15)


def test_implied_hashrate() -> None:
    # 148e12 * 2**32 = 148e12 * 4,294,967,296 = 6.35655159808e23 hashes per block;
    # / 600 s = 1.059425266346667e21 H/s = 1059.425266346667 EH/s
    assert implied_hashrate_ehs(148e12) == pytest.approx(1059.425266346667, rel=1e-13)
    assert difficulty_for_hashrate_ehs(1059.425266346667) == pytest.approx(148e12, rel=1e-13)
    got = implied_hashrate_ehs(np.array([148e12, 296e12]))
    np.testing.assert_allclose(got, [1059.425266346667, 2118.850532693333], rtol=1e-13)


def test_expected_blocks_per_day() -> None:
    # hashrate equal to the implied one -> 144; 1.5x -> 216; half -> 72
    h = 1059.425266346667  # implied by difficulty 148e12 (see above)
    assert expected_blocks_per_day(h, 148e12) == pytest.approx(144.0, rel=1e-13)
    np.testing.assert_allclose(
        expected_blocks_per_day(np.array([1.5 * h, 0.5 * h]), 148e12), [216.0, 72.0], rtol=1e-13
    )


def test_hashprice() -> None:
    # 3.155 BTC * 144 blocks * 90,000 USD = 40,888,800 USD/day; / (1050 EH/s * 1000) PH/s
    # = 40,888,800 / 1,050,000 = 38.941714285714... USD/PH/day
    got = hashprice_usd_per_ph_day(3.155, 90_000.0, 1_050.0)
    assert isinstance(got, float)
    assert got == pytest.approx(38.94171428571429, rel=1e-13)
    # explicit blocks_per_day: 150 blocks -> 3.155 * 150 * 90000 / 1.05e6 = 40.5642857...
    assert hashprice_usd_per_ph_day(3.155, 90_000.0, 1_050.0, 150.0) == pytest.approx(
        40.56428571428571, rel=1e-13
    )


def test_hashprice_vectorised_and_zero_hashrate() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = hashprice_usd_per_ph_day(3.125, 100_000.0, np.array([0.0, 500.0, 1000.0]))
        assert hashprice_usd_per_ph_day(3.125, 100_000.0, 0.0) == 0.0
    # 3.125 * 144 * 1e5 = 45,000,000 USD/day; / 500,000 PH/s = 90; / 1,000,000 PH/s = 45
    np.testing.assert_allclose(got, [0.0, 90.0, 45.0], rtol=1e-14)


# ------------------------------------------------------------------------------------------
# ChainState / advance_day
# ------------------------------------------------------------------------------------------


def test_chain_state_start() -> None:
    # tip 100 blocks into its period (height % 2016 = 100): first block 100 * 600 s earlier
    h = 400 * 2016 + 100
    s = ChainState.start(h, D0, time_s=1_000.0)
    assert s == ChainState(h, D0, 1_000.0, 1_000.0 - 60_000.0)
    assert ChainState.start(4032, D0).period_start_time_s == 0.0
    with pytest.raises(ValueError):
        ChainState.start(-1, D0)


def _run_days(state: ChainState, blocks_per_day: int, days: int) -> tuple[ChainState, list]:
    out = []
    for _ in range(days):
        state, day = advance_day(state, blocks_per_day)
        out.append(day)
    return state, out


def test_on_schedule_period_from_boundary_tip_closes_period() -> None:
    # Tip 2015 closes the first period. 14 days * 144 = 2016 blocks (heights 2016..4031), block k
    # at k * 600 s. First block of the period at 600 s, last at 2016 * 600 = 1,209,600 s:
    # span = 2015 * 600 = 1,209,000 s -> factor 1,209,600 / 1,209,000 = 2016 / 2015.
    state, days = _run_days(ChainState.start(2015, D0), 144, 14)
    assert [d.retargets for d in days] == [0] * 13 + [1]
    assert days[-1].factors == pytest.approx((2016 / 2015,), rel=1e-14)
    assert state.difficulty == pytest.approx(D0 * 2016 / 2015, rel=1e-14)
    assert state.height == 4031
    assert state.time_s == 14 * DAY_S
    assert state.period_start_time_s == 600.0
    # 2016 blocks * 50 BTC = 100,800 BTC
    assert sum(d.subsidy_btc for d in days) == 100_800.0


def test_on_schedule_period_from_first_block_tip() -> None:
    # Tip 4032 is the first block of its period, at t = 0. The period closes at height 6047,
    # the 2015th new block, at 2015 * 600 s (day 14: 2015 - 13 * 144 = 143rd block of the day):
    # span = 2015 * 600 -> factor 2016 / 2015; the next block (6048) starts a new period at
    # 2016 * 600 = 1,209,600 s = end of day 14.
    state, days = _run_days(ChainState.start(4032, D0), 144, 14)
    assert [d.retargets for d in days] == [0] * 13 + [1]
    assert state.difficulty == pytest.approx(D0 * 2016 / 2015, rel=1e-14)
    assert state.period_start_time_s == 1_209_600.0


def test_on_schedule_from_mid_period_start() -> None:
    # Tip is the 101st block of its period (h % 2016 = 100); start() puts the first block at
    # -100 * 600 s. 1915 more blocks close the period, the last at 1915 * 600 s:
    # span = (1915 + 100) * 600 = 2015 * 600 -> factor 2016/2015, on day ceil(1915/144) = 14.
    state, days = _run_days(ChainState.start(2016 * 50 + 100, D0), 144, 14)
    assert [d.retargets for d in days] == [0] * 13 + [1]
    assert state.difficulty == pytest.approx(D0 * 2016 / 2015, rel=1e-14)


def test_period_twice_as_fast() -> None:
    # 288 blocks/day from tip 2015: block k at k * 300 s. Heights 2016..4031 mined in 7 days;
    # span = 4031's time - 2016's time = 2016 * 300 - 300 = 2015 * 300 = 604,500 s
    # factor = 1,209,600 / 604,500 = 4032 / 2015 (= 2 * 2016 / 2015 ~ 2.00099)
    state, days = _run_days(ChainState.start(2015, D0), 288, 7)
    assert [d.retargets for d in days] == [0] * 6 + [1]
    assert state.difficulty == pytest.approx(D0 * 4032 / 2015, rel=1e-14)
    assert days[-1].difficulty_end == state.difficulty


def test_several_retargets_in_one_day_are_clamped() -> None:
    # 5000 blocks in one day from tip 2015: block k at k * 17.28 s, heights 2016..7015.
    # Periods close at heights 4031 (k = 2016) and 6047 (k = 4032), each spanning
    # 2015 * 17.28 = 34,819.2 s < 1,209,600 / 4 = 302,400 s -> both clamped at x4: D * 16.
    # Block 6048 (k = 4033) opens the next period at 4033 * 17.28 = 69,690.24 s.
    state, day = advance_day(ChainState.start(2015, D0), 5000)
    assert day.retargets == 2
    assert day.factors == (4.0, 4.0)
    assert day.difficulty_end == 16 * D0
    assert state.height == 7015
    assert state.period_start_time_s == pytest.approx(69_690.24, rel=1e-14)
    assert day.subsidy_btc == 250_000.0  # 5000 * 50


def test_zero_blocks_only_advances_time() -> None:
    s0 = ChainState.start(2015, D0, time_s=5.0)
    s1, day = advance_day(s0, 0)
    assert day == DayBlocks(n_blocks=0, subsidy_btc=0.0, retargets=0, difficulty_end=D0)
    assert s1 == ChainState(2015, D0, 5.0 + DAY_S, s0.period_start_time_s)


def test_day_subsidy_across_halving() -> None:
    # tip 839,950: heights 839,951..840,050. 49 blocks (..839,999) at 6.25 = 306.25,
    # 51 blocks (840,000..840,050) at 3.125 = 159.375; total 465.625 BTC
    _, day = advance_day(ChainState.start(839_950, D0), 100)
    assert day.subsidy_btc == 465.625


def test_advance_day_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        advance_day(ChainState.start(0, D0), -1)
    with pytest.raises(ValueError):
        advance_day(ChainState.start(0, D0), 1, day_s=0.0)


def _reference_walk(state: ChainState, n: int, day_s: float) -> tuple[float, float, int, float]:
    """Naive O(n) per-block walk: (difficulty, period start, retargets, subsidy in sat)."""
    d, ps, r, sat = state.difficulty, state.period_start_time_s, 0, 0
    for k in range(1, n + 1):
        h = state.height + k
        ts = state.time_s + k * day_s / n
        sat += INITIAL_SUBSIDY_SAT >> (h // 210_000) if h // 210_000 < 64 else 0
        if h % 2016 == 0:
            ps = ts
        if h % 2016 == 2015:
            span = min(max(ts - ps, 302_400.0), 4_838_400.0)  # [1,209,600 / 4, 1,209,600 * 4]
            d = d * 1_209_600.0 / span
            r += 1
    return d, ps, r, sat


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(0, 3 * 210_000),
    difficulty=st.floats(1.0, 1e15),
    time_s=st.floats(0.0, 1e9),
    blocks=st.lists(st.integers(0, 1_500), min_size=1, max_size=8),
)
def test_advance_day_properties(
    height: int, difficulty: float, time_s: float, blocks: list[int]
) -> None:
    state = ChainState.start(height, difficulty, time_s=time_s)
    for n in blocks:
        ref_d, ref_ps, ref_r, ref_sat = _reference_walk(state, n, DAY_S)
        new, day = advance_day(state, n)
        assert new.height == state.height + n
        assert new.time_s == state.time_s + DAY_S
        assert day.n_blocks == n
        # day subsidy == sum of per-block subsidies over the heights mined
        per_block = subsidy_btc(np.arange(state.height + 1, state.height + n + 1))
        assert day.subsidy_btc == pytest.approx(float(np.sum(per_block)), rel=1e-12, abs=1e-12)
        assert day.subsidy_btc == pytest.approx(ref_sat / 1e8, rel=1e-15, abs=0)
        # retargets match a block-by-block walk
        assert day.retargets == ref_r == len(day.factors)
        assert new.difficulty == pytest.approx(ref_d, rel=1e-12)
        assert new.period_start_time_s == pytest.approx(ref_ps, rel=1e-12, abs=1e-6)
        assert new.difficulty > 0
        assert day.difficulty_end == new.difficulty
        assert all(0.25 <= f <= 4.0 for f in day.factors)
        lo, hi = 0.25**day.retargets, 4.0**day.retargets
        assert lo * (1 - 1e-12) <= new.difficulty / state.difficulty <= hi * (1 + 1e-12)
        state = new


def test_projected_retarget_and_revenue_outlook_by_hand():
    # 1,001 blocks of the period mined on schedule (1,000 intervals of 600 s since its first)
    st = chain.ChainState.start(2016 * 10 + 1000, 1e14)
    # at 144 a day the 1,015 blocks left take 7.048611 days; span 600,000 + 609,000 s
    days, factor = chain.projected_retarget(st, 144.0)
    assert days == pytest.approx(1015 / 144)
    assert factor == pytest.approx(1_209_600 / 1_209_000)
    # at half the rate: 14.097222 days, span 1,818,000 s, factor 0.665347; over 60 days the
    # revenue per TH is today's for 14.097 days, then today's / 0.665347 for 45.903 days
    days, factor = chain.projected_retarget(st, 72.0)
    assert factor == pytest.approx(1_209_600 / 1_818_000)
    want = (1015 / 72 + (60 - 1015 / 72) * 1_818_000 / 1_209_600) / 60
    assert chain.revenue_outlook_factor(st, 72.0, 60.0) == pytest.approx(want)
    assert want == pytest.approx(1.384800, abs=1e-6)
    # a horizon shorter than the wait sees only today's revenue; no horizon: today's
    assert chain.revenue_outlook_factor(st, 72.0, 10.0) == 1.0
    assert chain.revenue_outlook_factor(st, 72.0, 0.0) == 1.0
    # a tip that closed a period: 2,016 blocks to go from now; no blocks: the clamp 1/4, never
    closed = chain.ChainState.start(2016 * 10 + 2015, 1e14)
    assert chain.projected_retarget(closed, 144.0) == (14.0, 1.0)
    assert chain.projected_retarget(closed, 0.0) == (float("inf"), 0.25)
