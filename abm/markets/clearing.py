"""Uniform-price clearing of a market from its buyers' willingness to pay (pure functions).

A buyer's demand is a list of items: each item is a quantity with a value per unit (what the
unit is worth to the buyer, its willingness to pay) that needs an extra cost per unit on top of
the price (the MW a rig needs, for instance); the buyer wants it at any price below its value
less that extra cost (its net value). Items share the budget of their group (a firm's cash and
credit): a group buys all its items whose net value beats the price while the budget lasts, so
its demand at price p is min(sum of those items' quantity, budget / (p + mean extra cost)).
Aggregate demand falls with p; the clearing price is where it meets the supply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Asks", "Bids", "allocate", "clearing_price", "demand", "just_below"]


@dataclass(frozen=True, slots=True)
class Bids:
    """The buyers' side of a market: items (value, quantity, extra cost, group) and each
    group's budget. Values and costs per unit [USD/unit], quantities [units], budgets [USD]
    (``inf`` for a buyer the budget does not limit)."""

    value: np.ndarray
    quantity: np.ndarray
    extra_cost: np.ndarray
    group: np.ndarray
    budget: np.ndarray

    def net_value(self) -> np.ndarray:
        """Value less the extra cost per unit: the highest price at which an item is
        wanted [USD/unit]."""
        return self.value - self.extra_cost

    @staticmethod
    def empty() -> Bids:
        z = np.zeros(0)
        return Bids(z, z, z, np.zeros(0, dtype=np.intp), z)

    @staticmethod
    def concat(parts: list[Bids]) -> Bids:
        """All parts as one set of bids (each part's groups renumbered after the previous)."""
        parts = [p for p in parts if p.value.size or p.budget.size]
        if not parts:
            return Bids.empty()
        offset = np.cumsum([0] + [p.budget.size for p in parts[:-1]])
        return Bids(
            np.concatenate([p.value for p in parts]),
            np.concatenate([p.quantity for p in parts]),
            np.concatenate([p.extra_cost for p in parts]),
            np.concatenate([p.group + o for p, o in zip(parts, offset, strict=True)]),
            np.concatenate([p.budget for p in parts]),
        )


def _active(bids: Bids, floor: float) -> tuple[Bids, np.ndarray]:
    """The bids that can buy anything at or above `floor` (a positive quantity, a value above
    the floor, a budget), with their groups renumbered; and the kept items' indices."""
    keep = (bids.quantity > 0) & (bids.net_value() > floor) & (bids.budget[bids.group] > 0)
    idx = np.flatnonzero(keep)
    if idx.size == bids.value.size:
        return bids, idx
    groups, group = _renumber(bids.group[idx], bids.budget.size)
    kept = Bids(
        bids.value[idx], bids.quantity[idx], bids.extra_cost[idx], group, bids.budget[groups]
    )
    return kept, idx


def _renumber(group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """The groups present in `group` (values in 0..n_groups-1), ascending, and each item's
    position among them: ``np.unique(group, return_inverse=True)`` without a sort."""
    present = np.zeros(n_groups, dtype=bool)
    present[group] = True
    return np.flatnonzero(present), (np.cumsum(present) - 1)[group]


def demand(price: float, bids: Bids) -> float:
    """Quantity demanded at `price` [units]: per group, its items worth more than the price,
    within its budget."""
    if bids.value.size == 0:
        return 0.0
    with np.errstate(over="ignore"):  # an unlimited budget over a tiny spend
        return _demand(price, bids, bids.net_value())


def _demand(price: float, bids: Bids, net: np.ndarray) -> float:
    """:func:`demand` of non-empty `bids` whose net values are `net`, under
    ``np.errstate(over="ignore")`` (the bisection's inner call)."""
    want = bids.quantity * (net > price)
    n = bids.budget.size
    q = np.bincount(bids.group, weights=want, minlength=n)
    spend = price * q + np.bincount(bids.group, weights=want * bids.extra_cost, minlength=n)
    # a group spends min(what it wants, its budget): it buys budget / spend of what it wants
    scale = np.minimum(np.divide(bids.budget, spend, out=np.ones_like(q), where=spend > 0), 1.0)
    return float(q @ scale)


@dataclass(frozen=True, slots=True)
class Asks:
    """Holders who sell at any price above their reservation price [USD/unit] the quantity
    they hold [units] (to be added to the stock on sale)."""

    reserve: np.ndarray
    quantity: np.ndarray

    def supply(self, price: float) -> float:
        return float(self.quantity[self.reserve < price].sum())

    def sell(self, price: float, wanted: float) -> np.ndarray:
        """What each holder sells at `price` when buyers take `wanted` [units]: those whose
        reservation is below the price, the lowest reservations first, the marginal one in
        part."""
        quantity = np.where(self.reserve < price, self.quantity, 0.0)
        order = np.argsort(self.reserve, kind="stable")
        before = np.cumsum(quantity[order]) - quantity[order]
        out = np.zeros_like(quantity)
        out[order] = np.clip(max(wanted, 0.0) - before, 0.0, quantity[order])
        return out

    @staticmethod
    def concat(parts: list[Asks]) -> Asks:
        return Asks(
            np.concatenate([p.reserve for p in parts]),
            np.concatenate([p.quantity for p in parts]),
        )


def clearing_price(
    bids: Bids,
    supply: float,
    floor: float,
    rel_tol: float = 2e-3,
    asks: Asks | None = None,
    min_supply: float = 0.0,
) -> float:
    """The lowest price >= `floor` at which demand does not exceed supply [USD/unit].

    Supply is `supply` plus what `asks` sell at the price, and at least `min_supply` (a lot
    size for a price when little trades). At the floor with demand below supply the price is
    the floor (sellers idle capacity rather than sell below it). Otherwise bisection between
    the floor and the highest value, to `rel_tol` of the price."""
    bids, _ = _active(bids, floor)
    net = bids.net_value()  # the same at every price tried

    def excess(p: float) -> float:
        offered = supply + (asks.supply(p) if asks is not None else 0.0)
        return (_demand(p, bids, net) if net.size else 0.0) - max(offered, min_supply)

    with np.errstate(over="ignore"):  # demand's: an unlimited budget over a tiny spend
        if excess(floor) <= 0:
            return float(floor)
        lo, hi = float(floor), float(net.max())
        while hi - lo > rel_tol * max(hi, 1e-12):
            mid = 0.5 * (lo + hi)
            if excess(mid) > 0:
                lo = mid
            else:
                hi = mid
    return hi


def just_below(price: float, floor: float, rel_tol: float = 2e-3) -> float:
    """A price just below a clearing price above the floor (there demand still exceeds the
    supply, so the marginal buyer is served: allocate at it); the floor itself otherwise."""
    return price * (1.0 - 4.0 * rel_tol) if price > floor * (1.0 + 4.0 * rel_tol) else price


def allocate(price: float, bids: Bids, supply: float) -> np.ndarray:
    """What each item buys at `price` when at most `supply` is sold [units]: items worth more
    than the price, within their group's budget (spent on its items in descending value),
    rationed in descending value when demand exceeds supply."""
    out = np.zeros(bids.value.size)
    bids, idx = _active(bids, price)
    if idx.size:
        out[idx] = _allocate(price, bids, supply)
    return out


def _allocate(price: float, bids: Bids, supply: float) -> np.ndarray:
    net = bids.net_value()
    want = np.where(net > price, bids.quantity, 0.0)
    order = np.lexsort((-net, bids.group))  # each group's items, best first
    g = bids.group[order]
    spend = want[order] * (price + bids.extra_cost[order])
    first = np.ones(g.size, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    cum = np.cumsum(spend)
    start = np.maximum.accumulate(np.where(first, np.arange(g.size), 0))
    before = cum - spend - (cum[start] - spend[start])
    paid = np.clip(bids.budget[g] - before, 0.0, spend)
    unit = price + bids.extra_cost[order]
    got = np.empty_like(want)
    got[order] = np.divide(paid, unit, out=np.zeros_like(paid), where=unit > 0)
    total = got.sum()
    if total <= supply:
        return got
    # ration: the highest values first, the marginal item partly
    by_value = np.argsort(-net, kind="stable")
    cum = np.cumsum(got[by_value])
    take = np.clip(supply - (cum - got[by_value]), 0.0, got[by_value])
    out = np.empty_like(got)
    out[by_value] = take
    return out
