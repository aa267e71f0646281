"""The market for new rigs: manufacturers, their capacity and order book, and a price that clears.

Manufacturers make the newest released generation only (older ones trade used,
:mod:`abm.markets.used`). Every ``asic.pricing_period_days`` the price of new rigs is the
uniform price at which the buyers' demand per day (the firms', built from each one's willingness
to pay at its own sites, hurdle rate and budget, and the rest of the world's) equals what the
factories can make per day, less a backlog beyond ``asic.backlog_days`` of capacity; never below
the manufacturing cost per TH. Orders wait for capacity (first in, first out) and ship after the
lead time. Capacity grows with the manufacturers' lagged margin and shrinks while factories idle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from abm.components import BaseComponent
from abm.markets.clearing import Bids, clearing_price, demand

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry

__all__ = ["AsicDay", "AsicMarket", "Order"]

WORLD_SITE = -1  # an order's site for the rest of the world (its tranche is in `tranche`)


@dataclass(slots=True)
class Order:
    """Rigs of one generation ordered on one day, shipped on `due_day` (vectorised over lines)."""

    due_day: int
    generation: int
    site: np.ndarray  # site rows (WORLD_SITE for the rest of the world)
    owner: np.ndarray  # firm rows (-1 for the rest of the world)
    tranche: np.ndarray  # the world's tranche (-1 for firms)
    ths: np.ndarray  # [TH/s]
    usd: np.ndarray  # paid [USD]
    mw: np.ndarray  # MW that the world builds for them (0 for firms) [MW]


@dataclass(slots=True)
class AsicDay:
    """The new-rig market's record of the day."""

    price_usd_per_th: float  # posted price of the newest generation [USD/TH]
    cost_usd_per_th: float  # manufacturing cost of it [USD/TH]
    capacity_ths_per_day: float  # [TH/s per day]
    backlog_ths: float  # ordered and not yet made [TH/s]
    delivered_ths: float  # shipped today [TH/s]
    ordered_ths: float  # ordered today [TH/s]


class AsicMarket(BaseComponent):
    """New rigs: price, capacity, order book and deliveries (see the module docstring)."""

    phases: ClassVar[tuple[str, ...]] = ("markets",)

    def __init__(self, m: MiningIndustry) -> None:
        super().__init__(m)
        cfg = m.params.asic
        self.capacity_ths_per_day = cfg.initial_capacity_ehs_per_year * 1e6 / 365.0
        self.backlog_ths = 0.0
        self.margin_lagged = 0.0
        self.orders: list[Order] = []
        self._pending_mw = np.zeros(0)  # per site: rigs ordered for it [MW]
        self.generation = 0
        self.price_usd_per_th = math.inf
        self.cost_usd_per_th = math.inf
        self.ordered_today_ths = 0.0
        self.delivered_today_ths = 0.0
        self.cum_delivered_ths = 0.0
        # weight of one period's margin in the lagged margin (exponential, its half-life)
        self._weight = 1.0 - 0.5 ** (cfg.pricing_period_days / cfg.margin_lag_days)

    # -- prices --------------------------------------------------------------------------------
    def new_prices(self) -> np.ndarray:
        """Price of new rigs per generation [USD/TH]: the newest released generation's posted
        price, +inf for the others (not made any more)."""
        p = np.full(self.m.gens.n, np.inf)
        p[self.generation] = self.price_usd_per_th
        return p

    def unit_cost(self, generation: int) -> float:
        """Manufacturing cost of a generation [USD/TH] = cost per W x J/TH."""
        return self.m.params.asic.unit_cost_usd_per_w * float(
            self.m.gens.efficiency_j_per_th[generation]
        )

    def supply_per_day(self) -> float:
        """What the factories can sell per day this period [TH/s per day]: capacity less a
        backlog beyond ``asic.backlog_days`` of capacity, worked off over one period."""
        cfg = self.m.params.asic
        k = self.capacity_ths_per_day
        excess = max(self.backlog_ths - k * cfg.backlog_days, 0.0)
        return max(k - excess / cfg.pricing_period_days, 0.0)

    def price(self, day: int, bids: Bids) -> None:
        """Set the period's price from the buyers' bids (quantities per day), and the margin
        that capacity responds to."""
        m = self.m
        self.generation = m.gens.newest_released(day)
        cost = self.unit_cost(self.generation)
        self.cost_usd_per_th = cost
        supply = self.supply_per_day()
        self.price_usd_per_th = clearing_price(bids, supply, cost) if bids.value.size else cost
        if self.price_usd_per_th > cost * (1 + 1e-6):
            margin = (self.price_usd_per_th - cost) / cost
        else:  # at the floor: the idle share of capacity
            k = self.capacity_ths_per_day
            margin = -(1.0 - min(demand(cost, bids) / k, 1.0)) if k > 0 else 0.0
        self.margin_lagged += self._weight * (margin - self.margin_lagged)

    # -- orders --------------------------------------------------------------------------------
    def delivery_days(self) -> int:
        """Days from an order placed today to its delivery: the wait for capacity (the backlog,
        first in first out) plus the lead time."""
        k = max(self.capacity_ths_per_day, 1e-9)
        return math.ceil(self.backlog_ths / k) + self.m.params.asic.lead_time_days

    def reserve(self, fleet_ths: np.ndarray) -> int:
        """Rigs bought with new MW (delivered with their sites, abm.sites.Interconnection) join
        the order book; returns the days to their delivery."""
        days = self.delivery_days()
        total = float(np.sum(fleet_ths))
        self.backlog_ths += total
        self.ordered_today_ths += total
        return days

    def pending_mw(self, sites: np.ndarray) -> np.ndarray:
        """Power of the rigs on order for each site [MW]."""
        n = self.m.sites.n
        if self._pending_mw.size < n:
            grown = np.zeros(n + n // 2 + 16)
            grown[: self._pending_mw.size] = self._pending_mw
            self._pending_mw = grown
        return self._pending_mw[sites]

    def order(
        self,
        generation: int,
        site: np.ndarray,
        owner: np.ndarray,
        ths: np.ndarray,
        usd: np.ndarray,
        tranche: np.ndarray | None = None,
        mw: np.ndarray | None = None,
    ) -> int:
        """Book an order (paid by the caller through the books); returns its delivery day."""
        keep = ths > 0
        if not keep.any():
            return self.m.day
        due = self.m.day + self.delivery_days()
        site, owner, ths, usd = site[keep], owner[keep], ths[keep], usd[keep]
        tranche = np.full(site.size, -1) if tranche is None else tranche[keep]
        mw = np.zeros(site.size) if mw is None else mw[keep]
        self.orders.append(Order(due, generation, site, owner, tranche, ths, usd, mw))
        firm = site >= 0
        if firm.any():
            self.pending_mw(site[firm])  # grow
            w = float(self.m.gens.power_mw_per_th[generation])
            np.add.at(self._pending_mw, site[firm], ths[firm] * w)
        total = float(ths.sum())
        self.backlog_ths += total
        self.ordered_today_ths += total
        return due

    # -- the day -------------------------------------------------------------------------------
    def daily(self, phase: str, today: Today) -> None:
        m, cfg = self.m, self.m.params.asic
        d = today.day
        self.delivered_today_ths = 0.0
        # factories make what is on order, up to capacity; capacity follows the lagged margin
        self.backlog_ths = max(self.backlog_ths - self.capacity_ths_per_day, 0.0)
        self.capacity_ths_per_day *= math.exp(
            cfg.capacity_response_per_year * math.tanh(self.margin_lagged) / 365.0
        )
        due = [o for o in self.orders if o.due_day <= d]
        if due:
            self.orders = [o for o in self.orders if o.due_day > d]
            for o in due:
                self._deliver(o)
        if d % cfg.pricing_period_days == 0 and d > 0 and not m.contest:  # (day one: at init)
            self.price(d, m.demand_for_new_rigs())
            m.world.order_new_rigs(self)
        today.asic = AsicDay(
            self.price_usd_per_th,
            self.cost_usd_per_th,
            self.capacity_ths_per_day,
            self.backlog_ths,
            self.delivered_today_ths,
            self.ordered_today_ths,
        )
        self.ordered_today_ths = 0.0

    def _deliver(self, o: Order) -> None:
        m = self.m
        self.delivered_today_ths += float(o.ths.sum())
        self.cum_delivered_ths += float(o.ths.sum())
        world = o.site == WORLD_SITE
        if world.any():
            m.world.receive(o.tranche[world], o.generation, o.ths[world], o.mw[world])
        firm = ~world
        if firm.any():
            site = o.site[firm]
            w = float(m.gens.power_mw_per_th[o.generation])
            self.pending_mw(site)
            np.subtract.at(self._pending_mw, site, o.ths[firm] * w)
            np.maximum(self._pending_mw, 0.0, out=self._pending_mw)
            m.books.deliver_rigs(site, o.owner[firm], o.generation, o.ths[firm], o.usd[firm])
