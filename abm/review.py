"""The decide phase: each firm's fleet review on its cadence (retire, raise equity, invest), and
the contest limit's best-response update.

The rules are the pure functions of :mod:`abm.behaviour`; this module applies them to the firms
due today (vectorised over rows) and moves the money and assets through the books.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm import behaviour, chain
from abm.firms import LISTED, SOVEREIGN
from abm.markets import hardware
from abm.markets.demand import spare_mw

if TYPE_CHECKING:
    from abm.day import Environment
    from abm.model import MiningIndustry


def review_due(m: MiningIndustry, day: int) -> bool:
    """Review the firms due today; True if any was."""
    t = m.firms
    due = t.active & ((day + t.review_offset) % m.params.behaviour.review_cadence_days == 0)
    if not due.any():
        return False
    review(m, np.flatnonzero(due), day)
    return True


def review(m: MiningIndustry, rows: np.ndarray, day: int) -> None:
    """Fleet review of the firms in `rows` (ascending) on each of their mining sites (those in
    care and maintenance too): move rigs to cheaper spare capacity, raise equity, then invest
    with cash and new debt (retirement is the used-rig market's: abm.markets.used)."""
    sc, t, s, g, books = m.params, m.firms, m.sites, m.gens, m.books
    hp = m.valuation_hashprice_usd_per_th_day
    decline, life = (
        sc.behaviour.expected_hashprice_decline_per_year,
        sc.hardware.economic_life_years,
    )
    new_price, _ = m.rig_prices(day)
    due = np.zeros(t.n, dtype=bool)
    due[rows] = True
    srows = np.flatnonzero(due[s.owner] & s.mining_or_care())
    pos = np.searchsorted(rows, s.owner[srows])  # each site's firm among `rows`
    cost = m.cost_usd_per_th_day[srows]

    # (rigs worth more to others than to keep are sold at the used-rig market's clearing)
    move_to_cheaper_sites(m, srows, pos, rows)

    if m.finance_on:
        raise_equity(m, rows, day)
    # invest: cash above the reserve first, then new debt within the lenders' limit
    npv = behaviour.npv_per_th(hp, cost, t.hurdle_rate[s.owner[srows]], new_price, decline, life)
    # rigs on new capacity run on power bought at the firm's own price of new contracts
    new_mw_price = m.interconnection.new_mw_price_usd_per_mwh(rows)
    new_mw_capex = m.capabilities.new_mw_capex_usd_per_mw(rows)
    npv_new_site = behaviour.npv_per_th(
        hp,
        new_mw_price[:, None] * g.energy_mwh_per_th_day[None, :],
        t.hurdle_rate[rows],
        new_price,
        decline,
        life,
    )
    cash_budget, debt_room = investment_budgets(m, rows)
    sov = t.kind[rows] == SOVEREIGN
    capacity = np.bincount(pos, weights=s.capacity_mw[srows], minlength=rows.size)
    plan = behaviour.plan_investment(
        npv,
        new_price,
        g.power_mw_per_th,
        spare_mw(m, srows, planned=True),
        pos,
        capacity,
        cash_budget + debt_room,
        new_mw_capex,
        np.where(sov, 0.0, sc.behaviour.max_capacity_growth_per_review),
        npv_new_site,
    )
    books.invest(rows, srows, plan, cash_budget, sov, new_mw_price)


def investment_budgets(m: MiningIndustry, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What each firm in `rows` may spend at a review [USD]: (cash budget, new debt room).

    The cash budget is ``behaviour.reinvest_fraction`` of the cash above a reserve of
    ``behaviour.cash_reserve_days`` of operating costs (and of interest, with finance on); the
    debt room is what lenders would lend. Sovereigns spend their hardware budget (and, those
    that reinvest, the BTC they hold) and never borrow."""
    sc, t = m.params, m.firms
    reserve = sc.behaviour.cash_reserve_days * m.operating_run_rate_usd(rows)
    if m.finance_on:
        interest = t.debt_usd[rows] * t.debt_rate[rows] / 365
        reserve = reserve + sc.behaviour.cash_reserve_days * interest
    cash_budget = np.maximum(t.cash_usd[rows] - reserve, 0.0) * sc.behaviour.reinvest_fraction
    debt_room = m.borrowing_room(rows)
    sov = t.kind[rows] == SOVEREIGN
    state = np.maximum(t.budget_usd[rows], 0.0) + m.sovereigns.reinvestable_usd(rows)
    cash_budget = np.where(sov, state, cash_budget)
    return cash_budget, np.where(sov, 0.0, debt_room)


def move_to_cheaper_sites(
    m: MiningIndustry, srows: np.ndarray, pos: np.ndarray, rows: np.ndarray
) -> None:
    """Each reviewing firm moves rigs from its dearest site to its cheapest site with spare
    capacity, least efficient rigs first, where the saving on energy over the rigs' economic
    life (at the firm's hurdle rate) beats the cost of moving them
    (``sites.move_cost_usd_per_th``), as many as its spare cash pays for."""
    multi = np.bincount(pos, minlength=rows.size) > 1
    if not multi.any():
        return
    keep = multi[pos]
    srows, pos = srows[keep], pos[keep]
    s, g, sc = m.sites, m.gens, m.params
    rate = s.rate_usd_per_mwh[srows]
    fleet = s.fleet_ths[srows]
    room = spare_mw(m, srows)  # (less the rigs on order for it)
    src = behaviour.group_argmax(pos, np.where(fleet.any(axis=1), rate, -np.inf), rows.size)
    dst = behaviour.group_argmax(pos, np.where(room > 1e-9, -rate, -np.inf), rows.size)
    pair = (src >= 0) & (dst >= 0)
    src, dst = src[pair], dst[pair]
    gain = rate[src] - rate[dst]
    keep = gain > 0
    if not keep.any():
        return
    src, dst, gain = src[keep], dst[keep], gain[keep]
    firm = rows[pair][keep]
    days = hardware.pv_annuity_days(m.firms.hurdle_rate[firm], sc.hardware.economic_life_years)
    # per TH/s of generation j: energy saved over its life vs the cost of moving it
    saving = (gain * days)[:, None] * g.energy_mwh_per_th_day[None, :]
    worth = saving > sc.sites.move_cost_usd_per_th
    moved = behaviour.move_plan(fleet[src] * worth, g.power_mw_per_th, room[dst])
    cost = moved.sum(axis=1) * sc.sites.move_cost_usd_per_th
    spare = m.spare_cash_usd(firm)
    afford = np.divide(spare, cost, out=np.ones_like(cost), where=cost > spare)
    moved *= afford[:, None]
    some = moved.sum(axis=1) > 0
    if some.any():
        ths = moved[some]
        m.books.move_rigs(
            srows[src[some]], srows[dst[some]], ths, ths.sum(axis=1) * sc.sites.move_cost_usd_per_th
        )


def raise_equity(m: MiningIndustry, rows: np.ndarray, day: int) -> None:
    """Listed, independent firms issue equity when BTC trades well above its 200-day average
    (an open window: at-the-market programmes), a share of their net asset value; with the
    equity market on, its at-the-market issuance replaces this window."""
    fin, t = m.params.finance, m.firms
    if m.equity.on:  # the equity market issues at the market instead (abm.equity)
        return
    if m.price_usd[day] <= m.price_ma200_usd[day] * (1 + fin.equity_window_threshold):
        return
    issuers = rows[(t.kind[rows] == LISTED) & (t.ultimate_owner[rows] == rows)]
    if issuers.size == 0 or fin.equity_raise_fraction == 0:
        return
    raised = fin.equity_raise_fraction * np.maximum(m.nav_usd(issuers), 0.0)
    m.books.receive(issuers, raised, "usd_equity_raised")


def best_response_update(m: MiningIndustry, env: Environment) -> None:
    """Contest limit: every firm moves part-way to its best response (costless hashrate)."""
    sc = m.params
    reward_usd = (
        (env.subsidy_btc + sc.fees.base_btc_per_block)
        * env.price_usd
        * chain.BLOCKS_PER_DAY
        * (1.0 - sc.protocol.pool_fee)
    )
    s = m.sites  # one site per firm in the contest limit
    fleet = s.fleet_ths
    x = fleet.sum(axis=1)
    col = np.argmax(fleet > 0, axis=1)  # each site's single generation
    c = m.cost_usd_per_th_day[np.arange(s.n), col]
    with np.errstate(divide="ignore", invalid="ignore"):  # sovereigns may have c = 0
        br = behaviour.best_response_ths(x, c, reward_usd)
    sov = np.isin(s.owner, m.sovereigns.rows)
    br[sov] = x[sov]  # sovereigns' hashrate is set by policy
    x_new = x + sc.behaviour.best_response_speed * (br - x)
    fleet[np.arange(s.n), col] = x_new
