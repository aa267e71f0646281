"""The rest of the world's miners: a supply curve of MW by power price outside the modelled firms.

The many small and remote operations that no firm in the model stands for (stranded and flared
gas, curtailed renewables, cheap-power jurisdictions) are ``world.tranches`` tranches of one
supply curve: tranche k has power at the k-th quantile price of a lognormal (median
``world.median_price_usd_per_mwh``, scaled by ``energy.price_multiplier`` as every price; log sd
``world.dispersion_log``), the MW built there, the MW that could still be built (growing at
``world.potential_growth_per_year``) and its rigs by generation. It runs its rigs by the
firms' rule (curtailment with hysteresis, abm/operation.py), buys new rigs (in the ASIC
market) and used ones (from the dealer) at its hurdle rate where they are worth the price,
builds MW where new rigs on new MW pay (``world.build_speed_per_year`` of the profitable gap a
year), and sells rigs to the dealer when the dealer's bid at the clearing price is worth more
than keeping them.

It has no balance sheet in the model: outside capital pays for what it buys and it sells its BTC;
its flows are counted (``cum_*``) but cross no firm's books. Concentration metrics treat it as
atomistic: its hashrate counts in the network (the shares' denominator) as many small miners,
none of which holds a measurable share (ARCHITECTURE.md, docs/model.md).
"""

from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from abm import behaviour, operation
from abm.markets import hardware
from abm.markets.asic import WORLD_SITE
from abm.markets.clearing import Asks, Bids, allocate, just_below

if TYPE_CHECKING:
    from abm.markets.asic import AsicMarket
    from abm.model import MiningIndustry

__all__ = ["RestOfWorld", "tranche_prices"]

UTILISATION = 0.95  # rigs' draw over the MW built for them on day one [-] (assumption)


def tranche_prices(median: float, sd_log: float, k: int) -> np.ndarray:
    """Power price of each of `k` equal-MW tranches: the lognormal's quantiles at the tranches'
    midpoints (k + 0.5) / k [USD/MWh], ascending."""
    z = np.array([NormalDist().inv_cdf((i + 0.5) / k) for i in range(k)])
    return median * np.exp(sd_log * z)


class RestOfWorld:
    """The rest of the world's miners (see the module docstring)."""

    def __init__(self, m: MiningIndustry) -> None:
        self.m = m
        cfg = m.params.world
        g = m.gens.n
        k = cfg.tranches if cfg.enabled and not m.contest else 0  # none in the contest limit
        # (energy.price_multiplier has scaled every *_usd_per_mwh parameter already)
        self.price_usd_per_mwh = tranche_prices(cfg.median_price_usd_per_mwh, cfg.dispersion_log, k)
        self.capacity_mw = np.zeros(k)
        self.potential_mw = np.zeros(k)
        self.pending_mw = np.zeros(k)  # rigs on order (their draw), and MW to be built with them
        self.fleet_ths = np.zeros((k, g))
        self.cost_usd_per_th_day = self.price_usd_per_mwh[:, None] * m.gens.energy_mwh_per_th_day
        self.running_ths = np.zeros(k)
        # hysteresis state of each tranche's vintages, as at the firms' sites (abm.operation)
        self.vintage_on = np.zeros((k, g), dtype=bool)
        self.loss_days = np.zeros((k, g), dtype=np.int32)
        self.start_days = np.zeros((k, g), dtype=np.int32)
        self.start_delay_days = operation.start_delays(
            np.arange(k), m.params.operation.start_delay_max_days
        )[:, None]
        self.cum_btc = 0.0
        self.cum_energy_usd = 0.0
        self.cum_capex_usd = 0.0
        self.cum_rig_sales_usd = 0.0

    @property
    def enabled(self) -> bool:
        return self.capacity_mw.size > 0

    def start(self, firms_fleet_by_generation_ths: np.ndarray) -> None:
        """Day one: it holds ``world.initial_share`` of the installed hashrate with the firms'
        mix of generations, filling its MW to ``UTILISATION``; each tranche could hold an equal
        share of ``1 + potential_headroom`` times the MW built, and the MW built are the
        cheapest (filled cheapest first), the least efficient rigs on the cheapest power."""
        if not self.enabled:
            return
        cfg, g = self.m.params.world, self.m.gens
        firms = np.asarray(firms_fleet_by_generation_ths, dtype=float)
        if firms.sum() <= 0:
            return
        total = cfg.initial_share / (1.0 - cfg.initial_share) * firms.sum()
        mw = firms / firms.sum() * total * g.power_mw_per_th  # by generation, oldest first
        k = self.capacity_mw.size
        built = mw.sum() / UTILISATION
        self.potential_mw[:] = built * (1.0 + cfg.potential_headroom) / k
        cap = np.clip(built - self.potential_mw[0] * np.arange(k), 0.0, self.potential_mw)
        edges = np.concatenate([[0.0], np.cumsum(cap * UTILISATION)])  # rigs' MW per tranche
        cum = np.concatenate([[0.0], np.cumsum(mw)])
        lo = np.maximum(cum[None, :-1], edges[:-1, None])
        hi = np.minimum(cum[None, 1:], edges[1:, None])
        share_mw = np.maximum(hi - lo, 0.0)  # tranches x generations
        self.fleet_ths[:] = np.divide(
            share_mw, g.power_mw_per_th, out=np.zeros_like(share_mw), where=g.power_mw_per_th > 0
        )
        self.capacity_mw[:] = cap
        self.start_days[:] = operation.ready_start_days(
            self.start_delay_days, self.start_days.shape
        )

    # -- the day -------------------------------------------------------------------------------
    def wear(self, day: int, live: slice) -> float:
        """Its rigs fail by the same age hazard as the firms' (abm.operation); returns the
        hashrate failed [TH/s]."""
        if not self.enabled:
            return 0.0
        fleet = self.fleet_ths[:, live]
        before = float(fleet.sum())
        fleet *= self.m.daily_survival(day, live)
        return before - float(fleet.sum())

    def operate(self, revenue_usd_per_th_day: float, live: slice) -> np.ndarray:
        """Hashrate it runs today by tranche and live generation [TH/s]: the vintages that are
        on by the firms' rule with hysteresis (:func:`abm.operation.switch`), within its MW,
        the most efficient first."""
        if not self.enabled:
            return np.zeros((0, live.stop - live.start))
        cfg = self.m.params.operation
        on, loss, start = operation.switch(
            self.vintage_on[:, live],
            self.loss_days[:, live],
            self.cost_usd_per_th_day[:, live],
            revenue_usd_per_th_day,
            cfg.off_after_loss_days,
            cfg.on_margin,
            self.start_days[:, live],
            self.start_delay_days,
        )
        self.vintage_on[:, live] = on
        self.loss_days[:, live] = loss
        self.start_days[:, live] = start
        running = behaviour.operate(
            self.fleet_ths[:, live],
            on,
            self.capacity_mw,
            self.m.gens.power_mw_per_th[live],
        )
        self.running_ths = running.sum(axis=1)
        return running

    def account(self, running_ths: np.ndarray, live: slice, btc: float) -> float:
        """Its energy bill of the day [USD] (counted, not booked), and the BTC it was paid."""
        if not self.enabled:
            return 0.0
        usd = float(
            (running_ths @ self.m.gens.energy_mwh_per_th_day[live]) @ self.price_usd_per_mwh
        )
        self.cum_energy_usd += usd
        self.cum_btc += btc
        growth = self.m.params.world.potential_growth_per_year / 365.0
        self.potential_mw *= 1.0 + growth
        return usd

    # -- buying --------------------------------------------------------------------------------
    def value(self, generation: int, life_years: float) -> np.ndarray:
        """Its willingness to pay for a rig of `generation` in each tranche [USD/TH]."""
        m = self.m
        return hardware.rig_value_usd_per_th(
            m.valuation_hashprice_usd_per_th_day,
            self.cost_usd_per_th_day[:, generation],
            m.params.world.hurdle_rate,
            m.params.behaviour.expected_hashprice_decline_per_year,
            life_years,
        )

    def spare_mw(self) -> np.ndarray:
        """MW built and not yet filled by rigs or orders, per tranche [MW]."""
        used = self.fleet_ths @ self.m.gens.power_mw_per_th
        return np.maximum(self.capacity_mw - used - self.pending_mw, 0.0)

    def buildable_mw_per_day(self) -> np.ndarray:
        """MW it would build per day where rigs on new MW pay [MW/day]."""
        gap = np.maximum(self.potential_mw - self.capacity_mw - self.pending_mw, 0.0)
        return gap * self.m.params.world.build_speed_per_year / 365.0

    def bids(self, generation: int, life_years: float, per_days: float) -> Bids:
        """Its bids for rigs of `generation`: the spare MW of each tranche over `per_days`
        days and the MW it would build per day (at its capex per MW), one group per tranche
        with no budget limit (outside capital)."""
        if not self.enabled:
            return Bids.empty()
        k = self.capacity_mw.size
        w = float(self.m.gens.power_mw_per_th[generation])
        v = self.value(generation, life_years)
        capex_per_th = w * self.m.params.world.capex_usd_per_mw
        return Bids(
            np.concatenate([v, v]),
            np.concatenate([self.spare_mw() / w / per_days, self.buildable_mw_per_day() / w]),
            np.concatenate([np.zeros(k), np.full(k, capex_per_th)]),
            np.concatenate([np.arange(k), np.arange(k)]),
            np.full(k, np.inf),
        )

    def order_new_rigs(self, asic: AsicMarket) -> None:
        """At the period's price, order what it bid for over the period: rigs for its spare MW,
        and rigs with the MW built for them."""
        if not self.enabled:
            return
        m = self.m
        period = m.params.asic.pricing_period_days
        g = asic.generation
        bids = self.bids(g, m.params.hardware.economic_life_years, period)
        got = allocate(just_below(asic.price_usd_per_th, asic.cost_usd_per_th), bids, np.inf)
        got *= period
        k = self.capacity_mw.size
        ths = got[:k] + got[k:]
        if not (ths > 0).any():
            return
        w = float(m.gens.power_mw_per_th[g])
        mw_built = got[k:] * w
        usd = ths * asic.price_usd_per_th + mw_built * m.params.world.capex_usd_per_mw
        self.cum_capex_usd += float(usd.sum())
        self.pending_mw += ths * w + mw_built
        tranche = np.arange(k)
        asic.order(g, np.full(k, WORLD_SITE), np.full(k, -1), ths, usd, tranche, mw_built)

    def receive(
        self, tranche: np.ndarray, generation: int, ths: np.ndarray, mw_built: np.ndarray
    ) -> None:
        """Rigs delivered (new) to its tranches, with the MW built for them."""
        w = float(self.m.gens.power_mw_per_th[generation])
        np.add.at(self.fleet_ths[:, generation], tranche, ths)
        np.add.at(self.capacity_mw, tranche, mw_built)
        np.subtract.at(self.pending_mw, tranche, ths * w + mw_built)
        np.maximum(self.pending_mw, 0.0, out=self.pending_mw)

    def install_used(self, tranche: np.ndarray, generation: int, ths: np.ndarray, mw: np.ndarray):
        """Used rigs bought from the dealer go in at once, with the MW built for them."""
        self.fleet_ths[tranche, generation] += ths
        self.capacity_mw[tranche] += mw

    def asks(
        self, generation: int, net_share: float, value_usd_per_th: np.ndarray | None = None
    ) -> Asks | None:
        """What its tranches would sell of `generation` to the dealer: all they hold, at any
        price whose dealer's bid (`net_share` of it) exceeds what the rigs are worth to keep
        (the PV of their margin, at least 0: they can be switched off). `value_usd_per_th`:
        :meth:`value` at the generation's valuation life, if already known."""
        if not self.enabled or not self.fleet_ths[:, generation].any():
            return None
        keep = value_usd_per_th
        if keep is None:
            keep = self.value(generation, float(self.m.valuation_life_years()[generation]))
        return Asks(np.maximum(keep, 0.0) / net_share, self.fleet_ths[:, generation].copy())

    def sold(self, ths: np.ndarray, generation: int, usd: float) -> None:
        """Its tranches sold `ths` (per tranche) of `generation` to the dealer for `usd`."""
        self.fleet_ths[:, generation] = np.maximum(self.fleet_ths[:, generation] - ths, 0.0)
        self.cum_rig_sales_usd += usd
