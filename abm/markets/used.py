"""The market for used rigs: a dealer's stock, its posted prices, and a clearing every period.

Every rig that leaves a firm (retired, fire-sold, left by an exit, recovered from a default,
moved out of a banned region) is bought by the dealer at its posted price for the generation
(:meth:`UsedMarket.receive`). Every ``used_rigs.clearing_period_days`` the dealer sells its
stock, newest generations first, at the uniform price that clears it against the willingness
to pay of the firms with spare MW and spare cash and of the rest of the world (its spare and
buildable MW); what nobody values above scrap (``used_rigs.scrap_usd_per_th``) is scrapped.
Rigs therefore leave the network only when nobody can run them at a profit.

The dealer's posted price of a generation (what sellers get, and what rigs are worth in the
firms' books and to their lenders) is ``1 - dealer_spread`` times the price that clears a lot of
``depth_share`` of its installed hashrate (or of the stock, if larger): what the marginal buyer
pays for a small lot, so prices exist for every generation whether or not the dealer holds any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from abm.components import BaseComponent
from abm.markets.clearing import Asks, allocate, clearing_price, demand, just_below

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry

__all__ = ["UsedDay", "UsedMarket"]


@dataclass(slots=True)
class UsedDay:
    """The used-rig market's record of the day."""

    stock_ths: float  # the dealer's stock after today's clearing [TH/s]
    bought_ths: float  # taken in from sellers today [TH/s]
    sold_ths: float  # sold to buyers today [TH/s]
    scrapped_ths: float  # scrapped today [TH/s]
    price_index_usd_per_th: float  # hashrate-weighted posted price of the installed fleet


class UsedMarket(BaseComponent):
    """The dealer of used rigs (see the module docstring)."""

    phases: ClassVar[tuple[str, ...]] = ("markets",)

    def __init__(self, m: MiningIndustry) -> None:
        super().__init__(m)
        g = m.gens.n
        self.stock_ths = np.zeros(g)
        self.prices_usd_per_th = np.full(g, m.params.used_rigs.scrap_usd_per_th)  # bids [USD/TH]
        self.bought_today_ths = 0.0
        self.cum_bought_usd = 0.0  # what the dealer paid sellers [USD]
        self.cum_sold_usd = 0.0  # what buyers paid the dealer [USD]
        self.cum_sold_ths = 0.0
        self.cum_scrapped_ths = 0.0

    def receive(self, ths_by_generation: np.ndarray) -> float:
        """Take rigs into stock at the posted prices; returns what the dealer pays [USD]."""
        ths = np.asarray(ths_by_generation, dtype=float)
        if ths.ndim == 2:
            ths = ths.sum(axis=0)
        usd = float(ths @ self.prices_usd_per_th)
        self.stock_ths += ths
        self.bought_today_ths += float(ths.sum())
        self.cum_bought_usd += usd
        return usd

    def daily(self, phase: str, today: Today) -> None:
        m, cfg = self.m, self.m.params.used_rigs
        sold = scrapped = 0.0
        if today.day % cfg.clearing_period_days == 0 and today.day > 0 and not m.contest:
            sold, scrapped = self.clear()
        installed = m.installed_ths_by_generation()
        total = installed.sum()
        today.used = UsedDay(
            float(self.stock_ths.sum()),
            self.bought_today_ths,
            sold,
            scrapped,
            float(installed @ self.prices_usd_per_th / total) if total > 0 else np.nan,
        )
        self.bought_today_ths = 0.0

    def clear(self, trade: bool = True) -> tuple[float, float]:
        """Post this period's prices and clear each generation, newest first: the stock, and
        the rigs of the firms and of the rest of the world's tranches that are worth less to
        keep than the dealer's bid at the clearing price (their reservation: keep value /
        (1 - spread)), go to the buyers who value them most; what is left of the stock is
        scrapped. Without `trade` (day one: the observed state) prices only. Returns (sold,
        scrapped) [TH/s]."""
        m, cfg = self.m, self.m.params.used_rigs
        net = 1.0 - cfg.dealer_spread
        installed = m.installed_ths_by_generation()
        buyers = m.used_rig_buyers()
        sellers = m.used_rig_sellers()
        sold_total = scrapped_total = 0.0
        held = np.flatnonzero((installed + self.stock_ths) > 0)
        for g in held[::-1]:
            bids = buyers.bids(g)
            world = m.world.asks(g, net, buyers.world_value(g) if m.world.enabled else None)
            firms = sellers.asks(g, net)
            asks = firms if world is None else Asks.concat([firms, world])
            price = clearing_price(
                bids,
                self.stock_ths[g],
                cfg.scrap_usd_per_th,
                asks=asks,
                min_supply=cfg.depth_share * installed[g],
            )
            self.prices_usd_per_th[g] = max(net * price, cfg.scrap_usd_per_th)
            if not trade:
                continue
            at = just_below(price, cfg.scrap_usd_per_th)  # the marginal buyer is served
            offered = asks.sell(price, demand(at, bids) - self.stock_ths[g])
            sellers.sell(g, offered[: firms.quantity.size])  # into the stock, at the bid
            if world is not None:
                self.receive_from_world(g, offered[firms.quantity.size :])
            stock = self.stock_ths[g]
            if stock <= 0:
                continue
            got = allocate(at, bids, stock)
            sold = float(got.sum())
            if sold > 0:
                buyers.take(g, got, price)
                self.cum_sold_usd += sold * price
                self.cum_sold_ths += sold
            self.stock_ths[g] = 0.0
            sold_total += sold
            scrapped_total += stock - sold  # nobody values it above scrap
        self.cum_scrapped_ths += scrapped_total
        return sold_total, scrapped_total

    def receive_from_world(self, generation: int, ths: np.ndarray) -> None:
        """The rest of the world's tranches sell the dealer `ths` of `generation` (per tranche)
        at its bid."""
        if ths.any():
            fleet = np.zeros(self.m.gens.n)
            fleet[generation] = ths.sum()
            self.m.world.sold(ths, generation, self.receive(fleet))
