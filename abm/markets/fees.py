"""Daily average transaction fees per block (BTC): persistent log-normal level plus rare spikes.

Fees are a small but volatile part of miner revenue; the persistent component models
congestion regimes lasting days to weeks, the spikes model inscription/halving-style bursts.
When blocks are scarce (hashrate falls faster than difficulty retargets) transactions wait: a
backlog of blocks' worth of transactions (:func:`backlog_next`) raises the fee per block above
the path (:func:`backlog_multiplier`); with blocks at the expected rate it stays near 0.

Calibration (CALIBRATION.md): fees were ~0.5-1.5% of miner revenue in 2025 (average
~0.036 BTC/block); a plausible base level is 0.02-0.10 BTC/block. Single blocks have carried
10-40 BTC of fees (halving block 840,000: ~37.6 BTC), but as a *day's average* over ~144
blocks a spike on a few blocks is roughly 0.1-1 BTC/block, which is the scale for
``spike_mean_btc_per_block``.
"""

from __future__ import annotations

import numpy as np

from abm.chain import BLOCKS_PER_DAY
from abm.scenario import FeeConfig

_lfilter = None  # the loop below takes ~1 ms for 3,650 days; scipy.signal took ~0.65 s to import

__all__ = [
    "SPIKE_PARETO_ALPHA",
    "ar1_filter",
    "backlog_multiplier",
    "backlog_next",
    "fee_path",
]

DAYS_PER_YEAR = 365.0
SPIKE_PARETO_ALPHA = 2.5  # tail index of spike sizes: finite mean and variance, fat tail


def ar1_filter(shocks: np.ndarray, persistence: float) -> np.ndarray:
    """Return x with x[0] = shocks[0] and x[t] = persistence * x[t-1] + shocks[t].

    Uses ``scipy.signal.lfilter`` when scipy is importable, else a plain loop (same result).
    """
    u = np.asarray(shocks, dtype=float)
    if _lfilter is not None:
        return _lfilter([1.0], [1.0, -persistence], u)
    x = np.empty_like(u)
    acc = 0.0
    for t, shock in enumerate(u):
        acc = persistence * acc + shock
        x[t] = acc
    return x


def fee_path(
    rng: np.random.Generator,
    n_days: int,
    base_btc_per_block: float,
    volatility: float,
    persistence: float,
    spike_rate_per_year: float,
    spike_mean_btc_per_block: float,
) -> np.ndarray:
    """Simulate the average transaction fee per block (BTC) on each of `n_days` days.

    Log-fee AR(1), started in its stationary law so every day has the same distribution::

        x_0 = volatility * eps_0,
        x_t = persistence * x_{t-1} + sqrt(1 - persistence^2) * volatility * eps_t,
        fee_t = base * exp(x_t - volatility^2 / 2)         (E[fee_t] = base, sd(x_t) = volatility)

    plus spikes: each day independently with probability ``spike_rate_per_year / 365`` adds
    ``spike_mean * (1 - U)^(-1/alpha) * (alpha - 1) / alpha`` with U ~ Uniform[0, 1) and
    alpha = 2.5, i.e. a Pareto(alpha) size scaled to mean ``spike_mean`` (minimum
    0.6 * spike_mean; P(size > x * spike_mean) = (0.6 / x)^2.5 for x >= 0.6).
    So E[fee_t] = base + spike_rate / 365 * spike_mean.

    Parameters
    ----------
    rng
        Random generator. Draw order: ``n_days`` standard normals eps, then (only if
        ``spike_rate_per_year > 0``) ``n_days`` uniforms for spike occurrence, then
        ``n_days`` uniforms for spike sizes.
    n_days
        Number of days (>= 1).
    base_btc_per_block
        Mean of the non-spike fee level, BTC/block (>= 0; 0 = no fees).
    volatility
        Stationary standard deviation of log fees (>= 0).
    persistence
        Lag-1 (daily) autocorrelation of log fees, in [0, 1].
    spike_rate_per_year
        Expected number of spike days per year, in [0, 365].
    spike_mean_btc_per_block
        Mean spike size as a day's average, BTC/block (>= 0).

    Returns
    -------
    numpy.ndarray
        float64, shape (n_days,), BTC per block, all >= 0 (> 0 when base > 0).
    """
    if int(n_days) != n_days or n_days < 1:
        raise ValueError(f"n_days must be a positive integer, got {n_days!r}")
    if not (np.isfinite(base_btc_per_block) and base_btc_per_block >= 0):
        raise ValueError(f"base_btc_per_block must be >= 0, got {base_btc_per_block!r}")
    if volatility < 0:
        raise ValueError(f"volatility must be >= 0, got {volatility!r}")
    if not 0.0 <= persistence <= 1.0:
        raise ValueError(f"persistence must be in [0, 1], got {persistence!r}")
    if not 0.0 <= spike_rate_per_year <= DAYS_PER_YEAR:
        raise ValueError(f"spike_rate_per_year must be in [0, 365], got {spike_rate_per_year!r}")
    if spike_mean_btc_per_block < 0:
        raise ValueError(f"spike_mean_btc_per_block must be >= 0, got {spike_mean_btc_per_block!r}")
    n = int(n_days)

    eps = rng.standard_normal(n)
    scale = np.full(n, np.sqrt(1.0 - persistence**2) * volatility)
    scale[0] = volatility  # stationary start
    x = ar1_filter(scale * eps, persistence)
    fees = base_btc_per_block * np.exp(x - 0.5 * volatility**2)

    if spike_rate_per_year > 0:
        is_spike = rng.random(n) < spike_rate_per_year / DAYS_PER_YEAR
        u = rng.random(n)
        alpha = SPIKE_PARETO_ALPHA
        size = spike_mean_btc_per_block * (1.0 - u) ** (-1.0 / alpha) * (alpha - 1.0) / alpha
        fees += np.where(is_spike, size, 0.0)
    return fees


def backlog_next(backlog_blocks: float, blocks_found: int, decay_per_day: float) -> float:
    """The fee backlog after a day [blocks' worth of transactions]: a day brings 144 blocks'
    worth of transactions, the blocks found take theirs, and a share `decay_per_day` of what
    is left waiting leaves the mempool (dropped or abandoned):
    B' = max(0, (B + 144 - n) (1 - decay))."""
    return max(0.0, (backlog_blocks + BLOCKS_PER_DAY - blocks_found) * (1.0 - decay_per_day))


def backlog_multiplier(backlog_blocks: float, elasticity: float) -> float:
    """Factor on the fee path when transactions are waiting: (1 + B / 144)^elasticity [-]
    (1 with no backlog: blocks found at the expected rate leave the fee process unchanged)."""
    return (1.0 + backlog_blocks / BLOCKS_PER_DAY) ** elasticity


def scenario_fee_path(cfg: FeeConfig, rng: np.random.Generator, n_days: int) -> np.ndarray:
    """The daily fee path a scenario's [fees] section describes [BTC/block]."""
    return fee_path(
        rng,
        n_days,
        cfg.base_btc_per_block,
        cfg.volatility,
        cfg.persistence,
        cfg.spike_rate_per_year,
        cfg.spike_mean_btc_per_block,
    )
