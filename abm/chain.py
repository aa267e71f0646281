"""Bitcoin protocol rules: block subsidy, difficulty retargeting, hashrate and hashprice.

Everything here is exact consensus arithmetic (subsidies are computed in integer satoshis, as in
Bitcoin Core's ``GetBlockSubsidy``) or a closed-form identity between difficulty, hashrate and
block rate. Functions are pure; :func:`advance_day` moves an immutable :class:`ChainState` one
model day forward given the number of blocks mined that day.

Units: heights and block counts are integers, times are seconds (``_s``), hashrate is EH/s
(``_ehs``, 1 EH/s = 1e18 H/s = 1000 PH/s), amounts are BTC unless named ``_sat``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BLOCKS_PER_DAY",
    "HALVING_INTERVAL_BLOCKS",
    "INITIAL_SUBSIDY_SAT",
    "OBSERVED_HALVINGS",
    "RETARGET_INTERVAL_BLOCKS",
    "SAT_PER_BTC",
    "TARGET_BLOCK_TIME_S",
    "TARGET_TIMESPAN_S",
    "ChainState",
    "DayBlocks",
    "advance_day",
    "difficulty_for_hashrate_ehs",
    "expected_blocks_per_day",
    "halving_date",
    "hashprice_usd_per_ph_day",
    "implied_hashrate_ehs",
    "next_halving_height",
    "period_block_rate",
    "projected_retarget",
    "retarget_difficulty",
    "revenue_outlook_factor",
    "subsidy_btc",
    "subsidy_total_btc",
]

TARGET_BLOCK_TIME_S = 600
RETARGET_INTERVAL_BLOCKS = 2016
TARGET_TIMESPAN_S = RETARGET_INTERVAL_BLOCKS * TARGET_BLOCK_TIME_S  # 1,209,600 s = 14 days
HALVING_INTERVAL_BLOCKS = 210_000
SAT_PER_BTC = 100_000_000
INITIAL_SUBSIDY_SAT = 50 * SAT_PER_BTC
BLOCKS_PER_DAY = 144

_MAX_HALVINGS = 64  # Core returns 0 from here on (a right shift by >= 64 is undefined in C++)
_HASHES_PER_DIFFICULTY = 2.0**32  # expected hashes per block at difficulty 1
_H_PER_EH = 1e18
_PH_PER_EH = 1000.0


def _scalar_or_array(x: NDArray) -> float | NDArray[np.float64]:
    """Return a Python float for 0-d results, the array otherwise."""
    return float(x) if x.ndim == 0 else x


# --------------------------------------------------------------------------------------------
# Subsidy
# --------------------------------------------------------------------------------------------


def _subsidy_sat(height: ArrayLike) -> NDArray[np.int64]:
    """Block subsidy in satoshis (Core ``GetBlockSubsidy``), vectorised over heights."""
    h = np.asarray(height)
    if not np.issubdtype(h.dtype, np.integer):
        raise TypeError(f"height must be integer, got dtype {h.dtype}")
    if np.any(h < 0):
        raise ValueError("height must be non-negative")
    halvings = h.astype(np.int64) // HALVING_INTERVAL_BLOCKS
    # Clip the shift so numpy never shifts by >= 64 bits; those heights are zeroed anyway.
    sat = np.right_shift(np.int64(INITIAL_SUBSIDY_SAT), np.minimum(halvings, _MAX_HALVINGS - 1))
    return np.where(halvings >= _MAX_HALVINGS, np.int64(0), sat)


def subsidy_btc(height: ArrayLike) -> float | NDArray[np.float64]:
    """Block subsidy in BTC of the block at ``height`` (exact Bitcoin Core rule).

    ``(50e8 sat >> (height // 210000)) / 1e8``, and 0 after 64 halvings. Integer input
    only; a scalar gives a float, an array gives an array of the same shape.
    """
    if type(height) is int:  # fast path: called every simulated day
        if height < 0:
            raise ValueError("height must be non-negative")
        halvings = height // HALVING_INTERVAL_BLOCKS
        return (INITIAL_SUBSIDY_SAT >> halvings) / SAT_PER_BTC if halvings < _MAX_HALVINGS else 0.0
    return _scalar_or_array(_subsidy_sat(height) / SAT_PER_BTC)


def subsidy_total_btc(height_start: int, n_blocks: int) -> float:
    """Total subsidy in BTC of the blocks at heights ``height_start .. height_start+n_blocks-1``.

    Summed exactly in integer satoshis one halving era at a time, so the cost is
    O(number of halving boundaries crossed), not O(n_blocks).
    """
    if height_start < 0 or n_blocks < 0:
        raise ValueError("height_start and n_blocks must be non-negative")
    h, end = int(height_start), int(height_start) + int(n_blocks)
    total_sat = 0
    while h < end:
        era = h // HALVING_INTERVAL_BLOCKS
        if era >= _MAX_HALVINGS:
            break
        era_end = min(end, (era + 1) * HALVING_INTERVAL_BLOCKS)
        total_sat += (era_end - h) * (INITIAL_SUBSIDY_SAT >> era)
        h = era_end
    return total_sat / SAT_PER_BTC


#: Height of each observed halving block -> its date (UTC).
OBSERVED_HALVINGS: dict[int, dt.date] = {
    210_000: dt.date(2012, 11, 28),
    420_000: dt.date(2016, 7, 9),
    630_000: dt.date(2020, 5, 11),
    840_000: dt.date(2024, 4, 20),
}


def halving_date(n: int) -> dt.date:
    """Calendar date of the `n`-th halving (block ``n x 210,000``): observed up to the 4th
    (2024-04-20), later ones projected at :data:`BLOCKS_PER_DAY` from the last observed one
    (the 5th, block 1,050,000: 2028-04-17; the start height of the scenarios assumes the same
    rate)."""
    if n < 1:
        raise ValueError("halvings are numbered from 1")
    height = n * HALVING_INTERVAL_BLOCKS
    if height in OBSERVED_HALVINGS:
        return OBSERVED_HALVINGS[height]
    last = max(OBSERVED_HALVINGS)
    days = round((height - last) / BLOCKS_PER_DAY)
    return OBSERVED_HALVINGS[last] + dt.timedelta(days=days)


def next_halving_height(height: int) -> int:
    """Height of the first block after ``height`` that has a halved subsidy."""
    if height < 0:
        raise ValueError("height must be non-negative")
    return (int(height) // HALVING_INTERVAL_BLOCKS + 1) * HALVING_INTERVAL_BLOCKS


# --------------------------------------------------------------------------------------------
# Difficulty and hashrate
# --------------------------------------------------------------------------------------------


def retarget_difficulty(difficulty: float, actual_timespan_s: float) -> float:
    """New difficulty after a 2016-block period that took ``actual_timespan_s`` seconds.

    Bitcoin Core ``CalculateNextWorkRequired``: the measured span is clamped to
    ``[TARGET_TIMESPAN_S / 4, TARGET_TIMESPAN_S * 4]`` and the difficulty is scaled by
    ``TARGET_TIMESPAN_S / clamped``, so one retarget changes difficulty by a factor in [1/4, 4].

    Core measures the span as ``time(last block of period) - time(first block of period)``,
    i.e. over 2015 block intervals (the off-by-one of the original client); a period mined exactly
    on schedule therefore raises difficulty by 2016/2015. :func:`advance_day` reproduces this.
    The pow-limit floor (difficulty >= 1) is not applied: irrelevant at modern difficulty.
    """
    if difficulty <= 0:
        raise ValueError("difficulty must be positive")
    return float(difficulty) * retarget_factor(actual_timespan_s)


def retarget_factor(actual_timespan_s: float) -> float:
    """Factor applied to difficulty at a retarget, in [1/4, 4] (see retarget_difficulty)."""
    clamped = min(max(float(actual_timespan_s), TARGET_TIMESPAN_S / 4), TARGET_TIMESPAN_S * 4)
    return TARGET_TIMESPAN_S / clamped


def implied_hashrate_ehs(difficulty: ArrayLike) -> float | NDArray[np.float64]:
    """Network hashrate in EH/s that finds blocks every 600 s on average at ``difficulty``.

    A block needs ``difficulty * 2**32`` hashes in expectation: ``H = D * 2**32 / 600 / 1e18``.
    """
    d = np.asarray(difficulty, dtype=np.float64)
    return _scalar_or_array(d * _HASHES_PER_DIFFICULTY / TARGET_BLOCK_TIME_S / _H_PER_EH)


def difficulty_for_hashrate_ehs(hashrate_ehs: ArrayLike) -> float | NDArray[np.float64]:
    """Difficulty at which ``hashrate_ehs`` finds blocks every 600 s (inverse of the above)."""
    h = np.asarray(hashrate_ehs, dtype=np.float64)
    return _scalar_or_array(h * _H_PER_EH * TARGET_BLOCK_TIME_S / _HASHES_PER_DIFFICULTY)


def expected_blocks_per_day(
    hashrate_ehs: ArrayLike, difficulty: ArrayLike
) -> float | NDArray[np.float64]:
    """Expected blocks per day found by ``hashrate_ehs`` at ``difficulty`` (144 if on schedule)."""
    h = np.asarray(hashrate_ehs, dtype=np.float64)
    return _scalar_or_array(BLOCKS_PER_DAY * h / np.asarray(implied_hashrate_ehs(difficulty)))


def hashprice_usd_per_ph_day(
    reward_btc_per_block: ArrayLike,
    price_usd: ArrayLike,
    hashrate_ehs: ArrayLike,
    blocks_per_day: ArrayLike = 144.0,
) -> float | NDArray[np.float64]:
    """Hashprice: expected revenue in USD per PH/s per day.

    ``reward * blocks_per_day * price / (hashrate_ehs * 1000)`` (1 EH/s = 1000 PH/s), where
    ``reward`` is subsidy plus fees per block. Broadcasts; 0 where the hashrate is 0.
    """
    revenue_usd_day = (
        np.asarray(reward_btc_per_block, dtype=np.float64)
        * np.asarray(blocks_per_day, dtype=np.float64)
        * np.asarray(price_usd, dtype=np.float64)
    )
    ph = np.asarray(hashrate_ehs, dtype=np.float64) * _PH_PER_EH
    revenue_usd_day, ph = np.broadcast_arrays(revenue_usd_day, ph)
    out = np.divide(revenue_usd_day, ph, out=np.zeros(ph.shape), where=ph != 0)
    return _scalar_or_array(out)


# --------------------------------------------------------------------------------------------
# Chain state
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainState:
    """Consensus state of the chain at the end of a model step.

    Attributes
    ----------
    height : int
        Height of the chain tip (last mined block). The block at height ``h`` is the
        ``(h % 2016 + 1)``-th block of its retarget period; ``h % 2016 == 2015`` closes a period.
    difficulty : float
        Difficulty that applies to the next block.
    time_s : float
        Model clock, seconds since the run start.
    period_start_time_s : float
        Timestamp (s) of the first block of the tip's retarget period. When the tip closes a
        period, this still refers to that (completed) period; the next mined block starts anew.
    """

    height: int
    difficulty: float
    time_s: float
    period_start_time_s: float

    @classmethod
    def start(cls, height: int, difficulty: float, time_s: float = 0.0) -> Self:
        """Initial state, as if the current period so far had been mined on schedule.

        With the tip at ``time_s``, the first block of its period (``height % 2016`` blocks
        earlier) is placed at ``time_s - (height % 2016) * 600``.
        """
        if height < 0 or difficulty <= 0:
            raise ValueError("height must be non-negative and difficulty positive")
        offset_s = (height % RETARGET_INTERVAL_BLOCKS) * TARGET_BLOCK_TIME_S
        return cls(int(height), float(difficulty), float(time_s), float(time_s) - offset_s)


@dataclass(frozen=True, slots=True)
class DayBlocks:
    """What happened on chain during one :func:`advance_day` step.

    Attributes
    ----------
    n_blocks : int
        Blocks mined during the day.
    subsidy_btc : float
        Total subsidy of those blocks in BTC (exact across halvings).
    retargets : int
        Number of difficulty adjustments that took effect during the day.
    difficulty_end : float
        Difficulty applying to the next block at the end of the day.
    factors : tuple of float
        Multiplicative difficulty change of each retarget, in order (each in [1/4, 4]).
    """

    n_blocks: int
    subsidy_btc: float
    retargets: int
    difficulty_end: float
    factors: tuple[float, ...] = ()


def advance_day(
    state: ChainState, n_blocks: int, day_s: float = 86400.0
) -> tuple[ChainState, DayBlocks]:
    """Mine ``n_blocks`` blocks over one day, applying retargets and halvings exactly.

    The blocks are evenly spaced: the k-th block of the day (k = 1..n) has height
    ``state.height + k`` and timestamp ``state.time_s + k * day_s / n_blocks``. When a block
    closes a period (height ``h`` with ``(h + 1) % 2016 == 0``) difficulty is retargeted with
    span = its timestamp - timestamp of the period's first block (2015 intervals, as in Core),
    and the next block's timestamp becomes the new ``period_start_time_s``. The loop runs over
    retarget boundaries only, so the cost is independent of ``n_blocks``.

    Returns the new state (``height + n_blocks``, ``time_s + day_s``) and a :class:`DayBlocks`.
    """
    if n_blocks < 0:
        raise ValueError("n_blocks must be non-negative")
    if day_s <= 0:
        raise ValueError("day_s must be positive")
    n = int(n_blocks)
    tip, end = state.height, state.height + n
    t0 = state.time_s

    def timestamp(h: int) -> float:
        # (k * day_s) / n is exact for k == n, so the last block lands on the day boundary.
        return t0 + (h - state.height) * day_s / n

    difficulty = state.difficulty
    period_start = state.period_start_time_s
    factors: list[float] = []
    h = tip  # last processed height
    while True:
        if h % RETARGET_INTERVAL_BLOCKS == RETARGET_INTERVAL_BLOCKS - 1 and h < end:
            period_start = timestamp(h + 1)  # block h + 1 opens a new period
        period_end = ((h + 1) // RETARGET_INTERVAL_BLOCKS + 1) * RETARGET_INTERVAL_BLOCKS - 1
        if period_end > end:
            break
        factor = retarget_factor(timestamp(period_end) - period_start)
        factors.append(factor)
        difficulty *= factor
        h = period_end

    new_state = ChainState(
        height=end,
        difficulty=difficulty,
        time_s=t0 + day_s,
        period_start_time_s=period_start,
    )
    day = DayBlocks(
        n_blocks=n,
        subsidy_btc=subsidy_total_btc(tip + 1, n),
        retargets=len(factors),
        difficulty_end=difficulty,
        factors=tuple(factors),
    )
    return new_state, day


def _period_progress(state: ChainState) -> tuple[int, float]:
    """(blocks of the current period mined, seconds since its first block); a tip that closed
    a period has opened a new one: (0, 0)."""
    in_period = state.height % RETARGET_INTERVAL_BLOCKS + 1
    if in_period == RETARGET_INTERVAL_BLOCKS:
        return 0, 0.0
    return in_period, state.time_s - state.period_start_time_s


def period_block_rate(state: ChainState, fallback_blocks_per_day: float) -> float:
    """The current period's average pace so far [blocks/day]: its blocks' intervals over the
    time since its first block, as mining dashboards estimate the next difficulty; while the
    period holds less than a day's blocks, `fallback_blocks_per_day`."""
    in_period, elapsed_s = _period_progress(state)
    if in_period <= BLOCKS_PER_DAY or elapsed_s <= 0:
        return float(fallback_blocks_per_day)
    return (in_period - 1) / elapsed_s * 86_400.0


def projected_retarget(state: ChainState, blocks_per_day: float) -> tuple[float, float]:
    """(days until the current period closes, the factor its retarget applies) if blocks keep
    coming at `blocks_per_day`: what mining dashboards show as the estimated next difficulty.

    The period's span is the time since its first block plus the blocks it still needs at that
    rate (a tip that closed a period starts a new one: 2016 blocks still to go). With no blocks
    coming, the close never comes: (inf, 1/4)."""
    in_period, elapsed_s = _period_progress(state)
    if blocks_per_day <= 0:
        return float("inf"), 0.25
    days = (RETARGET_INTERVAL_BLOCKS - in_period) / blocks_per_day
    return days, retarget_factor(elapsed_s + days * 86_400.0)


def revenue_outlook_factor(state: ChainState, blocks_per_day: float, horizon_days: float) -> float:
    """Revenue per TH/s over the next `horizon_days`, relative to today's [-]: today's until the
    projected retarget (:func:`projected_retarget`), then today's / its factor (revenue per
    hash moves inversely with difficulty); 1 with no horizon or at the target block rate."""
    if horizon_days <= 0:
        return 1.0
    days, factor = projected_retarget(state, blocks_per_day)
    before = min(days, horizon_days)
    return (before + (horizon_days - before) / factor) / horizon_days
