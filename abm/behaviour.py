"""Vectorised decision rules of mining firms: operate, invest, move, and the contest limit.

Every function takes arrays over firms (rows) and generations (columns) and returns arrays; no
per-firm Python loops. Generations are ordered by release, so efficiency improves to the right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.markets.hardware import rig_value_usd_per_th

BUDGET_RESIDUE = 1e-9  # share of a budget below which what is left of it is rounding [-]


_ONES: dict[tuple[int, type], np.ndarray] = {}  # vectors of ones for row_sums, row_any


def _ones(k: int, dtype: type = float) -> np.ndarray:
    """A read-only vector of k ones of `dtype` (cached per k and dtype)."""
    ones = _ONES.get((k, dtype))
    if ones is None:
        ones = _ONES[k, dtype] = np.ones(k, dtype=dtype)
        ones.flags.writeable = False
    return ones


def row_sums(x: np.ndarray) -> np.ndarray:
    """Row sums of a rows x columns float array, as a matrix-vector product (BLAS): several
    times faster than ``x.sum(axis=1)`` for many rows and few columns (the daily sites x live
    generations sums); the rounding differs from numpy's pairwise sum in the last digits."""
    return x @ _ones(x.shape[1])


def row_any(x: np.ndarray) -> np.ndarray:
    """Each row's any of a rows x columns boolean array, as a boolean matrix-vector product
    (an or of ands): the same booleans, several times faster than ``x.any(axis=1)`` along the
    short axis."""
    return x @ _ones(x.shape[1], bool)


def operate(
    fleet_ths: np.ndarray,
    on: np.ndarray,
    available_mw: np.ndarray,
    power_mw_per_th: np.ndarray,
) -> np.ndarray:
    """Hashrate each site runs today, by vintage [TH/s] (sites x generations).

    The vintages that are on (:func:`abm.operation.switch`: they cover their energy cost at
    the site's rate, with hysteresis) run; the others are curtailed. Available power capacity
    caps what runs, and it is filled from the most efficient vintage (the cheapest to run at
    the site's rate) down.
    """
    want_ths = np.where(on, fleet_ths, 0.0)
    want_mw = want_ths * power_mw_per_th
    # only sites whose wanted power exceeds what is available need the merit order
    short = np.flatnonzero(row_sums(want_mw) > available_mw)
    if short.size:
        w = want_mw[short]
        # power of strictly more efficient vintages (those to the right)
        more_efficient_mw = np.cumsum(w[:, ::-1], axis=1)[:, ::-1] - w
        room_mw = np.maximum(available_mw[short, None] - more_efficient_mw, 0.0)
        want_ths[short] = np.minimum(w, room_mw) / power_mw_per_th
    return want_ths


def npv_per_th(
    expected_hashprice_usd_per_th_day: float,
    cost_usd_per_th_day: np.ndarray,
    hurdle_rate: np.ndarray,
    price_usd_per_th: np.ndarray,
    decline_per_year: float,
    life_years: float,
) -> np.ndarray:
    """NPV of buying 1 TH/s of each generation, per firm, at its own power cost and hurdle
    [USD/TH] (-inf for generations not on sale: price +inf).

    Rigs are valued only for the generations on sale (one, in practice): a finite value less
    an infinite price is -inf whatever the value."""
    price = np.asarray(price_usd_per_th, dtype=float)
    on_sale = np.flatnonzero(np.isfinite(price))
    if on_sale.size == price.size:
        cost, price_on_sale = cost_usd_per_th_day, price
    else:
        cost, price_on_sale = cost_usd_per_th_day[:, on_sale], price[on_sale]
    value = rig_value_usd_per_th(
        expected_hashprice_usd_per_th_day,
        cost,
        hurdle_rate[:, None],
        decline_per_year,
        life_years,
    )
    if on_sale.size == price.size:
        return value - price_on_sale[None, :]
    npv = np.full((value.shape[0], price.size), -np.inf)
    npv[:, on_sale] = value - price_on_sale[None, :]
    return npv


@dataclass(frozen=True)
class InvestmentPlan:
    """What the reviewing firms buy: rigs for the spare MW of each of their sites, and new MW
    per firm with rigs to fill them. The purchases may be of different generations."""

    generation: np.ndarray  # per site: generation bought for its spare capacity [-]
    ths_headroom: np.ndarray  # per site: hashrate bought for its spare capacity [TH/s]
    headroom_usd: np.ndarray  # per site: spend on those rigs [USD]
    generation_new: np.ndarray  # per firm: generation bought for new capacity [-]
    ths_new: np.ndarray  # per firm: hashrate bought for new capacity [TH/s]
    mw_added: np.ndarray  # per firm: new power capacity [MW]
    rigs_usd: np.ndarray  # per firm: spend on rigs, spare and new capacity [USD]
    infra_usd: np.ndarray  # per firm: spend on power capacity [USD]


def _best_per_dollar(npv_usd_per_th: np.ndarray, cost_usd_per_th: np.ndarray) -> np.ndarray:
    """Per row, the generation with the highest NPV per dollar spent (`cost` +inf: not on
    sale)."""
    with np.errstate(invalid="ignore"):
        per_dollar = np.where(
            np.isfinite(cost_usd_per_th), npv_usd_per_th / cost_usd_per_th, -np.inf
        )
    return np.argmax(per_dollar, axis=1)


def best_new_site(
    npv_new_site_usd_per_th: np.ndarray,
    price_usd_per_th: np.ndarray,
    power_mw_per_th: np.ndarray,
    capex_usd_per_mw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rigs for new MW, per row (a firm's expansion, an entrant's project): the generation with
    the best NPV per dollar of rigs plus the site they need, ``(npv_new - mw_per_th x capex) /
    (price + mw_per_th x capex)``, where `npv_new_site_usd_per_th` (rows x generations) is the
    NPV at the new MW's power price and `capex_usd_per_mw` the build cost per row. Returns that
    generation, its gain (NPV less the site build) [USD/TH] and its site build [USD/TH]."""
    rows = np.arange(npv_new_site_usd_per_th.shape[0])
    infra_per_th = power_mw_per_th[None, :] * capex_usd_per_mw[:, None]  # rows x generations
    with np.errstate(invalid="ignore"):  # -inf NPV of generations not on sale
        gain = npv_new_site_usd_per_th - infra_per_th
    g = _best_per_dollar(gain, price_usd_per_th[None, :] + infra_per_th)
    return g, gain[rows, g], infra_per_th[rows, g]


def spend_in_order(
    group: np.ndarray, priority: np.ndarray, want_usd: np.ndarray, budget_usd: np.ndarray
) -> np.ndarray:
    """Each group's budget spent on its items in descending priority, each item taking what it
    wants while the budget lasts (the last one partly) [USD per item]. `group` indexes
    `budget_usd`."""
    if want_usd.size == 0:
        return want_usd.copy()
    if np.bincount(group).max() == 1:  # one item per group: it takes what the budget allows
        return np.clip(budget_usd[group], 0.0, want_usd)
    order = np.lexsort((-priority, group))
    g, want = group[order], want_usd[order]
    cum_before = np.cumsum(want) - want
    first = np.empty(g.size, dtype=bool)
    first[0] = True
    np.not_equal(g[1:], g[:-1], out=first[1:])
    start = np.maximum.accumulate(np.where(first, np.arange(g.size), 0))
    within = cum_before - cum_before[start]
    out = np.empty_like(want_usd)
    out[order] = np.clip(budget_usd[g] - within, 0.0, want)
    return out


def plan_investment(
    npv_usd_per_th: np.ndarray,
    price_usd_per_th: np.ndarray,
    power_mw_per_th: np.ndarray,
    headroom_mw: np.ndarray,
    site_firm: np.ndarray,
    capacity_mw: np.ndarray,
    budget_usd: np.ndarray,
    capex_usd_per_mw: float | np.ndarray,
    max_growth: float | np.ndarray,
    npv_new_site_usd_per_th: np.ndarray,
) -> InvestmentPlan:
    """Buy rigs where their NPV is positive, spare capacity first, then new capacity.

    `npv_usd_per_th` and `headroom_mw` are per site (each at its own energy cost), `site_firm`
    maps each site to its firm (an index into the per-firm arrays).

    1. Spare MW of each site: the generation with the best NPV per dollar of rigs there, if its
       NPV is positive; a firm's budget goes to its sites in descending NPV per dollar.
    2. New MW (up to `max_growth` x the firm's capacity): the generation with the best NPV per
       dollar of rigs plus the site they need, `(npv_new - mw_per_th x capex) / (price +
       mw_per_th x capex)`, if that is positive, where `npv_new_site_usd_per_th` is the NPV at
       the power price of the new MW. Choosing separately matters: an older rig can be the best
       buy for spare MW and the worst for new MW, which it needs more of per TH.
    """
    sites = np.arange(npv_usd_per_th.shape[0])
    firms = np.arange(capacity_mw.size)
    budget_usd = np.maximum(budget_usd, 0.0)  # rounding must never buy negative rigs
    # 1. fill each site's headroom with rigs, the best sites first
    g = _best_per_dollar(npv_usd_per_th, price_usd_per_th[None, :])
    npv = npv_usd_per_th[sites, g]
    price = price_usd_per_th[g]
    ok = np.isfinite(price) & (npv > 0)
    price = np.where(ok, price, 0.0)
    want_head = np.where(ok, np.maximum(headroom_mw, 0.0) / power_mw_per_th[g], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        priority = np.where(ok, npv / price, -np.inf)
    spend_head = spend_in_order(site_firm, priority, want_head * price, budget_usd)
    ths_head = np.divide(spend_head, price, out=np.zeros_like(spend_head), where=price > 0)
    head_f = np.bincount(site_firm, weights=spend_head, minlength=firms.size)
    # 2. build new MW with the rigs that give the best NPV per dollar of rigs and site
    capex = np.broadcast_to(np.asarray(capex_usd_per_mw, dtype=float), firms.shape)
    gn, gain_new, infra_new = best_new_site(
        npv_new_site_usd_per_th, price_usd_per_th, power_mw_per_th, capex
    )
    price_new = price_usd_per_th[gn]
    ok_exp = np.isfinite(price_new) & (gain_new > 0)
    mw_per_th_new = power_mw_per_th[gn]
    mw_exp = np.where(ok_exp, capacity_mw * max_growth, 0.0)
    ths_exp = mw_exp / mw_per_th_new
    cost_exp = np.where(ok_exp, ths_exp * (price_new + infra_new), 0.0)
    left = np.maximum(budget_usd - head_f, 0.0)
    # a budget spent in full on spare MW leaves nothing, not a rounding residue that would buy
    # (and open a site for) a sliver of new MW
    left = np.where(left > BUDGET_RESIDUE * budget_usd, left, 0.0)
    frac = np.divide(
        np.minimum(cost_exp, left), cost_exp, out=np.zeros_like(cost_exp), where=cost_exp > 0
    )
    ths_new = ths_exp * frac
    mw_added = mw_exp * frac
    rigs_usd = head_f + np.where(ok_exp, ths_new * price_new, 0.0)
    return InvestmentPlan(
        g, ths_head, spend_head, gn, ths_new, mw_added, rigs_usd, mw_added * capex
    )


def group_argmax(group: np.ndarray, value: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group 0..n_groups-1, the index of its item with the largest finite `value` (the
    first on ties), -1 if it has none."""
    out = np.full(n_groups, -1)
    ok = np.isfinite(value)
    if not ok.any():
        return out
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((-np.arange(idx.size), value[idx], group[idx]))]
    g = group[order]
    last = np.empty(g.size, dtype=bool)
    last[-1] = True
    np.not_equal(g[1:], g[:-1], out=last[:-1])
    out[g[last]] = order[last]
    return out


def move_plan(
    fleet_ths: np.ndarray,
    power_mw_per_th: np.ndarray,
    room_mw: np.ndarray,
) -> np.ndarray:
    """Rigs to move from each source site into `room_mw` at its destination, least efficient
    first (generations are in release order, so from the left) [TH/s], sources x generations."""
    mw = fleet_ths * power_mw_per_th
    before = np.cumsum(mw, axis=1) - mw  # MW of less efficient rigs moved before each one
    take_mw = np.clip(room_mw[:, None] - before, 0.0, mw)
    ths = np.divide(take_mw, power_mw_per_th, out=np.zeros_like(take_mw), where=power_mw_per_th > 0)
    # never more than is there, and all of it when all of it fits (not all but a rounding
    # residue of mw / power, which would keep the source site out of care and its firm from idle)
    return np.where(take_mw >= mw, fleet_ths, np.minimum(ths, fleet_ths))


def best_response_ths(
    hashrate_ths: np.ndarray, cost_usd_per_th_day: np.ndarray, reward_usd_per_day: float
) -> np.ndarray:
    """Tullock contest best response of each firm to the others' hashrate [TH/s].

    Profit V x_i / X - c_i x_i is maximised at x_i = sqrt(V X_-i / c_i) - X_-i (or 0)."""
    others = hashrate_ths.sum() - hashrate_ths
    return np.maximum(np.sqrt(reward_usd_per_day * others / cost_usd_per_th_day) - others, 0.0)


def tullock_equilibrium(
    cost_per_hash: np.ndarray, reward_per_period: float
) -> tuple[float, np.ndarray]:
    """Closed-form Tullock equilibrium with linear costs: (total X, shares s).

    Active set A: costs sorted ascending, firm k is active while c_k < sum_{j<=k} c_j / (k-1);
    X = (m-1) V / sum_A c and s_i = 1 - (m-1) c_i / sum_A c (0 outside A)."""
    c = np.asarray(cost_per_hash, dtype=float)
    order = np.argsort(c)
    cs = c[order]
    m = 2
    while m < cs.size and cs[m] < cs[: m + 1].sum() / m:
        m += 1
    total_c = cs[:m].sum()
    x_total = (m - 1) * reward_per_period / total_c
    shares = np.zeros_like(c)
    shares[order[:m]] = 1.0 - (m - 1) * cs[:m] / total_c
    return x_total, shares
