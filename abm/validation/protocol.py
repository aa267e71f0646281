"""Protocol identities, checked on the engine's consensus functions (:mod:`abm.chain`).

Known values (Bitcoin Core, CALIBRATION.md): the subsidy is 50 BTC halved every 210,000 blocks
in integer satoshis, so total issuance is 20,999,999.9769 BTC (< 21M); the 2016-block retarget
targets 600 s per block; at the difficulty-implied hashrate D x 2^32 / 600 H/s exactly 144
blocks are expected per day.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from abm import chain
from abm.data_io import difficulty_history
from abm.validation.core import Check, Tolerances, at_most, within

__all__ = ["TOTAL_SUPPLY_BTC", "checks", "converged_block_interval_s"]

#: Sum of all subsidies, a published figure (Bitcoin wiki "Controlled supply").
TOTAL_SUPPLY_BTC = 20_999_999.9769

#: (height, subsidy BTC): genesis era, each halving boundary, and the satoshi floor.
KNOWN_SUBSIDIES: tuple[tuple[int, float], ...] = (
    (0, 50.0),
    (209_999, 50.0),
    (210_000, 25.0),  # 2012-11-28
    (420_000, 12.5),  # 2016-07-09
    (629_999, 12.5),
    (630_000, 6.25),  # 2020-05-11
    (840_000, 3.125),  # 2024-04-20
    (1_050_000, 1.5625),  # ~April 2028
    (6_720_000, 1e-8),  # 32 halvings: 5e9 sat >> 32 = 1 sat
    (6_930_000, 0.0),  # 33 halvings: 0 sat
)


def converged_block_interval_s(
    hashrate_ehs: float = 500.0, start_factor: float = 0.5, days: int = 300
) -> float:
    """Mean block interval [s] over the last 8 weeks of a run at constant hashrate.

    Starts at `start_factor` x the difficulty that matches `hashrate_ehs`, mines the expected
    number of blocks each day (fractions carried over, as the engine does without block luck)
    and lets :func:`abm.chain.advance_day` retarget. Core measures each period over 2015
    intervals, so the fixed point is 600 x 2016/2015 = 600.30 s, not exactly 600 s.
    """
    state = chain.ChainState.start(
        840_000, start_factor * chain.difficulty_for_hashrate_ehs(hashrate_ehs)
    )
    carry, blocks = 0.0, []
    for _ in range(days):
        carry += chain.expected_blocks_per_day(hashrate_ehs, state.difficulty)
        n = int(carry)
        carry -= n
        state, _ = chain.advance_day(state, n)
        blocks.append(n)
    last = 56
    return last * 86_400.0 / sum(blocks[-last:])


def checks(tolerances: Tolerances) -> list[Check]:
    """Protocol identity checks (fast, deterministic)."""
    out: list[Check] = []
    total = chain.subsidy_total_btc(0, 64 * chain.HALVING_INTERVAL_BLOCKS)
    c = within(
        "protocol.total_issuance_btc",
        total,
        TOTAL_SUPPLY_BTC,
        1e-4,
        tolerances,
        unit="BTC",
        detail="sum of all subsidies in satoshis (< 21M)",
    )
    out.append(c if total < 21e6 else replace(c, passed=False))

    err = max(abs(chain.subsidy_btc(h) - v) for h, v in KNOWN_SUBSIDIES)
    out.append(
        at_most(
            "protocol.subsidy_known_heights",
            err,
            0.0,
            tolerances,
            unit="BTC",
            detail=f"max error at {len(KNOWN_SUBSIDIES)} heights (0 .. 6,930,000)",
        )
    )

    h = np.arange(0, 5 * chain.HALVING_INTERVAL_BLOCKS + 1)
    drops = np.flatnonzero(np.diff(chain.subsidy_btc(h)) < 0) + 1
    expected = chain.HALVING_INTERVAL_BLOCKS * np.arange(1, 6)
    nxt = [chain.next_halving_height(int(x) - 1) for x in expected]
    wrong = int(drops.size != expected.size or np.any(drops != expected))
    wrong += sum(a != b for a, b in zip(nxt, expected, strict=True))
    out.append(
        at_most(
            "protocol.halving_heights",
            float(wrong),
            0.0,
            tolerances,
            unit="mismatches",
            detail=f"subsidy drops at {drops.tolist()} (expected 210,000 k)",
        )
    )

    interval = converged_block_interval_s()
    out.append(
        within(
            "protocol.retarget_interval_s",
            interval,
            600.0,
            0.5,
            tolerances,
            unit="s",
            detail="constant 500 EH/s from half the matching difficulty, 300 days; fixed point "
            "600 x 2016/2015 = 600.30 s (Core's 2015-interval span)",
        )
    )
    span = chain.TARGET_TIMESPAN_S
    clamp_err = abs(chain.retarget_factor(span / 10) - 4.0) + abs(
        chain.retarget_factor(span * 10) - 0.25
    )
    out.append(
        at_most(
            "protocol.retarget_clamp",
            clamp_err,
            0.0,
            tolerances,
            unit="-",
            detail="factor for a period 10x too fast is 4, 10x too slow 1/4",
        )
    )

    obs = difficulty_history()
    d = obs["difficulty"].to_numpy()
    blocks = np.asarray(chain.expected_blocks_per_day(chain.implied_hashrate_ehs(d), d))
    out.append(
        at_most(
            "protocol.blocks_per_day_at_implied",
            float(np.max(np.abs(blocks - 144.0))),
            1e-9,
            tolerances,
            unit="blocks/day",
            detail=f"max |E[blocks/day] - 144| over {d.size} observed difficulties 2015-2023",
        )
    )
    h_err = np.max(np.abs(np.asarray(chain.implied_hashrate_ehs(d)) - obs["implied_hashrate_ehs"]))
    out.append(
        at_most(
            "protocol.implied_hashrate_vs_data",
            float(h_err),
            0.0005 + 1e-9,
            tolerances,
            unit="EH/s",
            detail="D x 2^32 / 600 vs the data file's column (rounded to 0.001 EH/s)",
        )
    )
    return out
