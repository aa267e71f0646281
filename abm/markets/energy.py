"""Energy access per firm: power prices, primary sources, outages and seasonal availability,
and the scale knob on every power price (``energy.price_multiplier``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from abm.rng import stream_seed
from abm.scenario import EnergyConfig, Scenario, scenario_from_dict

SOURCES: tuple[str, ...] = ("hydro", "wind", "solar", "gas", "grid", "stranded")
HYDRO = SOURCES.index("hydro")
PRICED_PER_MWH = "_usd_per_mwh"  # the name ending of every parameter priced per MWh


def scale_power_prices(sc: Scenario) -> Scenario:
    """The scenario with every power price multiplied by ``energy.price_multiplier``: each
    parameter whose name ends in ``_usd_per_mwh``, in any section, event, sovereign or explicit
    firm (the values of a dict so named too; None stays None), and the multiplier set to 1 so
    that scaling twice changes nothing. The scenario itself when the multiplier is 1."""
    k = sc.energy.price_multiplier
    if k == 1.0:
        return sc
    data = _times(sc.model_dump(mode="python"), k, priced=False)
    data["energy"]["price_multiplier"] = 1.0
    return scenario_from_dict(data, origin=f"energy.price_multiplier = {k:g}")


def _times(value: Any, k: float, priced: bool) -> Any:
    """`value` with its numbers multiplied by `k` where `priced` (a field named per MWh, or
    inside one), recursing through dicts and lists."""
    if isinstance(value, dict):
        return {
            key: _times(v, k, priced or str(key).endswith(PRICED_PER_MWH))
            for key, v in value.items()
        }
    if isinstance(value, list):
        return [_times(v, k, priced) for v in value]
    if priced and isinstance(value, int | float) and not isinstance(value, bool):
        return value * k
    return value


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


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser, elementwise on uint64 (wraps modulo 2**64)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


class OutageDraws:
    """Each site's uniform draw of the day for outages: a counter-based hash (SplitMix64) of
    the run's energy-stream key, the site's stable draw key (``SiteTable.draw_key``: its first
    owner and the how-manieth site that firm opened) and the day. A site's draws do not depend
    on how many other sites exist or in which order they were added, so paired scenarios share
    their outage draws (common random numbers)."""

    def __init__(self, seed: int) -> None:
        (self._key,) = stream_seed(seed, "energy").generate_state(1, np.uint64)
        self._keys = np.zeros(0, dtype=np.int64)  # the draw keys of the last call
        self._site_hash = np.zeros(0, dtype=np.uint64)  # and their sites' hashes

    def _site_hashes(self, draw_keys: np.ndarray) -> np.ndarray:
        """Each site's hash of the run's key (the same every day: cached while the sites'
        draw keys are unchanged)."""
        if not np.array_equal(draw_keys, self._keys):
            self._keys = draw_keys.copy()
            with np.errstate(over="ignore"):
                self._site_hash = _splitmix64(draw_keys.astype(np.uint64) ^ self._key)
        return self._site_hash

    def uniforms(self, day: int, draw_keys: np.ndarray) -> np.ndarray:
        """Today's uniforms on [0, 1) for the sites with `draw_keys`."""
        site = self._site_hashes(draw_keys)
        with np.errstate(over="ignore"):
            z = _splitmix64(site ^ (np.uint64(day) * _GOLDEN))
        return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)  # 53 bits / 2**53


def energy_cost_usd_per_th_day(
    power_price_usd_per_mwh: np.ndarray, energy_mwh_per_th_day: np.ndarray
) -> np.ndarray:
    """Marginal energy cost of running 1 TH/s for a day, firms x generations [USD/(TH/s)/day]."""
    return np.multiply.outer(power_price_usd_per_mwh, energy_mwh_per_th_day)
