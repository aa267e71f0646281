"""Energy access per firm: power prices, primary sources, outages and seasonal availability."""

from __future__ import annotations

import numpy as np

from abm.rng import stream_seed
from abm.scenario import EnergyConfig

SOURCES: tuple[str, ...] = ("hydro", "wind", "solar", "gas", "grid", "stranded")
HYDRO = SOURCES.index("hydro")


def sample_power_prices(
    rng: np.random.Generator, sizes_ehs: np.ndarray, cfg: EnergyConfig
) -> np.ndarray:
    """Delivered power price per firm [USD/MWh]: lognormal around the median, cheaper with size.

    log p = log(median) - elasticity x log(size / reference size) + N(0, dispersion), clipped.
    """
    z = rng.standard_normal(sizes_ehs.shape)
    log_p = (
        np.log(cfg.median_price_usd_per_mwh)
        - cfg.size_elasticity * np.log(sizes_ehs / cfg.reference_size_ehs)
        + cfg.dispersion_log * z
    )
    return np.clip(np.exp(log_p), cfg.min_price_usd_per_mwh, cfg.max_price_usd_per_mwh)


def sample_sources(rng: np.random.Generator, n: int, cfg: EnergyConfig) -> np.ndarray:
    """Primary energy source code per firm (index into SOURCES), drawn from the source mix."""
    p = np.array([cfg.source_mix.get(s, 0.0) for s in SOURCES])
    return rng.choice(len(SOURCES), size=n, p=p / p.sum()).astype(np.int8)


def outage_probabilities(sources: np.ndarray, cfg: EnergyConfig) -> np.ndarray:
    """Daily whole-site outage probability per firm from its source [1/day]."""
    table = np.array([cfg.outage_prob_per_day.get(s, 0.0) for s in SOURCES])
    return table[sources]


def availability(
    uniforms: np.ndarray,
    outage_prob: np.ndarray,
    seasonal: np.ndarray,
    in_dry_season: bool,
    dry_season_availability: float,
) -> np.ndarray:
    """Share of each firm's power capacity available today [0-1].

    A site is down for the day when its uniform draw of the day falls below its outage
    probability; seasonal (hydro) sites run at `dry_season_availability` in the dry season.
    """
    up = uniforms >= outage_prob
    if in_dry_season:
        return up * np.where(seasonal, dry_season_availability, 1.0)
    return up.astype(float)


class OutageDraws:
    """Each site's uniform draw of the day for outages, from one counter-based (Philox) stream
    keyed by the run's seed and counted by blocks of days: row i gets the i-th uniform of the
    day whatever the number of rows, so paired scenarios share their outage draws (common
    random numbers)."""

    BLOCK_DAYS = 32

    def __init__(self, seed: int) -> None:
        self._key = stream_seed(seed, "energy").generate_state(2, np.uint64)
        self._block = -1
        self._u = np.zeros((self.BLOCK_DAYS, 0))

    def uniforms(self, day: int, n: int) -> np.ndarray:
        """Today's uniforms for rows 0..n-1."""
        block, k = divmod(day, self.BLOCK_DAYS)
        if self._block != block or self._u.shape[1] < n:
            gen = np.random.Generator(np.random.Philox(key=self._key, counter=block))
            # drawn row-major, so row i's draws sit at the same place of the stream however
            # many rows there are: spare rows for entrants change nothing for rows < n
            cap = n + n // 2 + 16
            self._u = np.ascontiguousarray(gen.random((cap, self.BLOCK_DAYS)).T)
            self._block = block
        return self._u[k, :n]


def energy_cost_usd_per_th_day(
    power_price_usd_per_mwh: np.ndarray, energy_mwh_per_th_day: np.ndarray
) -> np.ndarray:
    """Marginal energy cost of running 1 TH/s for a day, firms x generations [USD/(TH/s)/day]."""
    return np.multiply.outer(power_price_usd_per_mwh, energy_mwh_per_th_day)
