"""Daily BTC price paths in USD: Merton jump-diffusion or replay of the observed history.

The simulated path drives miners' revenue; jumps give the fat-tailed crashes/rallies that a
plain GBM misses and that trigger distress and consolidation. The replay path reuses the
packaged 2015-2026 daily closes for back-tests.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from abm import data_io
from abm.scenario import PriceConfig

__all__ = [
    "DAYS_PER_YEAR",
    "apply_shocks",
    "gbm_jump_path",
    "replay_path",
    "scenario_price_path",
]

DAYS_PER_YEAR = 365.0  # BTC trades every day; dt = 1 / 365 year per step


def gbm_jump_path(
    rng: np.random.Generator,
    n_days: int,
    price0_usd: float,
    drift_per_year: float,
    volatility_per_year: float,
    jump_rate_per_year: float = 0.0,
    jump_mean_log: float = 0.0,
    jump_std_log: float = 0.0,
) -> np.ndarray:
    """Simulate a daily BTC price path (USD) under Merton jump-diffusion.

    With dt = 1/365 year, the log return from day t-1 to day t is::

        (mu - sigma^2/2 - lambda*k) dt + sigma sqrt(dt) Z + sum_{i=1}^{N} Y_i,
        Z ~ Normal(0, 1),  N ~ Poisson(lambda dt),  Y_i ~ Normal(m, s^2),
        k = exp(m + s^2/2) - 1,

    where the compensator lambda*k makes E[P_t] = P_0 exp(mu t) (t in years) whatever the
    jump parameters. The sum of N normal jumps is drawn in one step as Normal(N m, N s^2).
    Hence E[log return] = (mu - sigma^2/2 - lambda k + lambda m) dt and
    Var[log return] = sigma^2 dt + lambda dt (m^2 + s^2).

    Parameters
    ----------
    rng
        Random generator. Draw order is fixed for reproducibility: all ``n_days - 1`` standard
        normals Z first, then (only if ``jump_rate_per_year > 0``) the ``n_days - 1`` Poisson
        jump counts, then ``n_days - 1`` standard normals for the jump sizes.
    n_days
        Path length in days (>= 1), including day 0.
    price0_usd
        Price on day 0, USD per BTC (> 0).
    drift_per_year
        mu, expected arithmetic growth rate per year (E[P_t] = P_0 exp(mu t)).
    volatility_per_year
        sigma, diffusion volatility of log price per sqrt(year) (>= 0).
    jump_rate_per_year
        lambda, expected number of jumps per year (>= 0).
    jump_mean_log, jump_std_log
        m and s (>= 0): mean and standard deviation of one jump in log price.

    Returns
    -------
    numpy.ndarray
        float64, shape (n_days,), USD per BTC; ``path[0] == price0_usd``.
    """
    if int(n_days) != n_days or n_days < 1:
        raise ValueError(f"n_days must be a positive integer, got {n_days!r}")
    if not (np.isfinite(price0_usd) and price0_usd > 0):
        raise ValueError(f"price0_usd must be a positive number, got {price0_usd!r}")
    if volatility_per_year < 0 or jump_rate_per_year < 0 or jump_std_log < 0:
        raise ValueError("volatility_per_year, jump_rate_per_year and jump_std_log must be >= 0")
    n_steps = int(n_days) - 1
    dt = 1.0 / DAYS_PER_YEAR

    z = rng.standard_normal(n_steps)
    k = np.expm1(jump_mean_log + 0.5 * jump_std_log**2)
    drift = (drift_per_year - 0.5 * volatility_per_year**2 - jump_rate_per_year * k) * dt
    log_ret = drift + volatility_per_year * np.sqrt(dt) * z
    if jump_rate_per_year > 0:
        n_jumps = rng.poisson(jump_rate_per_year * dt, n_steps)
        w = rng.standard_normal(n_steps)
        log_ret += n_jumps * jump_mean_log + np.sqrt(n_jumps) * jump_std_log * w

    log_path = np.empty(n_steps + 1)
    log_path[0] = 0.0
    np.cumsum(log_ret, out=log_path[1:])
    return price0_usd * np.exp(log_path)


def replay_path(
    start_date: str | pd.Timestamp, n_days: int, series: pd.Series | None = None
) -> np.ndarray:
    """Observed daily BTC prices (USD) for `n_days` days from `start_date`.

    Uses the packaged history (:func:`abm.data_io.price_history`) unless `series` is given;
    missing days are forward-filled. Raises :class:`abm.data_io.DataFileError` naming the
    available span if the window falls outside it.
    """
    if series is None:
        series = data_io.price_history()
    return data_io.daily_path(series, start_date, n_days)


def apply_shocks(
    path_usd: np.ndarray, start_date: dt.date, shocks: list[tuple[dt.date, float, int]]
) -> np.ndarray:
    """Multiply a price path by scheduled shocks (date, total change, days to build up).

    Each shock scales the path by (1 + change) ** ramp(t), where ramp rises linearly from 0 on
    the shock's date to 1 after `days` days, so the change is spread evenly in log terms and
    persists afterwards. Shocks compound."""
    out = np.asarray(path_usd, dtype=float).copy()
    t = np.arange(out.size)
    for date, change, days in shocks:
        if change <= -1:
            raise ValueError(f"price shock on {date}: change must be > -1, got {change}")
        start = (date - start_date).days
        ramp = np.clip((t - start + 1) / days, 0.0, 1.0)
        out *= np.exp(np.log1p(change) * ramp)
    return out


def scenario_price_path(
    cfg: PriceConfig,
    rng: np.random.Generator,
    start: dt.date,
    n_days: int,
    shocks: list[tuple[dt.date, float, int]] | None = None,
) -> np.ndarray:
    """The daily BTC price path a scenario's [price] section describes (process or replay,
    then its scheduled shocks: `shocks` if given, else [[price.shocks]]) [USD]."""
    if cfg.model == "replay":
        path = replay_path(start, n_days)
    else:
        path = gbm_jump_path(
            rng,
            n_days,
            cfg.initial_usd,
            cfg.drift_per_year,
            cfg.volatility_per_year,
            cfg.jump_rate_per_year,
            cfg.jump_mean_log,
            cfg.jump_std_log,
        )
    if shocks is None:
        shocks = [(x.date, x.change, x.days) for x in cfg.shocks]
    return apply_shocks(path, start, shocks) if shocks else path
