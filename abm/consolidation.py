"""Distress and consolidation: defaults and auctions, voluntary deals (valued and matched in
:mod:`abm.deals`), voluntary exits (entry by NPV is :mod:`abm.entry`).

These are the model's rare discrete events. Detection is vectorised (which firms are short of
cash today); the events themselves run per firm in Python, which costs nothing measurable
because there are a handful per simulated month. Every money movement is booked in the
books (:class:`abm.books.Books`), so cash, BTC and debt are conserved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from abm import behaviour, finance, operation
from abm.components import BaseComponent
from abm.deals import deal
from abm.entry import new_firm_cols
from abm.firms import PRIVATE, SOVEREIGN
from abm.ownership import AUCTION, EXIT_SALE
from abm.sites import CLOSED, OUTSIDE, STRANDED, SitePlan

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry

IDLE_CHECK_DAYS = 30


class Consolidation(BaseComponent):
    """Distress and deals: the phases of the day that change who owns what."""

    phases: ClassVar[tuple[str, ...]] = ("distress", "deals")

    def daily(self, phase: str, today: Today) -> None:
        if phase == "distress":
            resolve_distress(self.m)
        else:
            deals(self.m)

    def on_exit(self, row: int) -> None:
        release_subsidiaries(self.m, row)


# --------------------------------------------------------------------------------------------
# distress and default
def resolve_distress(m: MiningIndustry) -> None:
    """Firms with negative cash sell treasury BTC, draw on credit, then sell idle sites; a firm
    still short defaults (its assets are auctioned) or, with auctions off, fire-sells rigs and
    exits if that is not enough."""
    t = m.firms
    short = np.flatnonzero(t.active & (t.cash_usd < 0))
    if short.size == 0:
        return
    if m.finance_on:
        short = _draw_on_treasury_and_credit(m, short)
        _sell_idle_sites(m, short[t.cash_usd[short] < 0])
    if not m.params.consolidation.auctions:
        _fire_sale(m, short[t.cash_usd[short] < 0])
    for r in short[t.cash_usd[short] < -1e-6]:
        liquidate(m, int(r), "insolvent")


def _draw_on_treasury_and_credit(m: MiningIndustry, short: np.ndarray) -> np.ndarray:
    """The daily financing of firms short of cash, in one vectorised pass: sell treasury BTC,
    then draw credit up to the gap and the borrowing room. Returns the rows still short after
    the BTC sale (the only ones the rest of the distress sequence can concern)."""
    t = m.firms
    cash = t.cash_usd[short]
    held = t.btc_held[short]
    if held.any():  # most short firms hold no BTC (selling 0 BTC changes nothing)
        m.books.sell_btc(short, np.minimum(held, -cash / m.price_usd[m.day]))
        cash = t.cash_usd[short]
        keep = cash < 0
        short, cash = short[keep], cash[keep]
    if short.size:
        m.books.borrow(short, np.minimum(m.borrowing_room(short), -cash))
    return short


def _sell_idle_sites(m: MiningIndustry, rows: np.ndarray) -> None:
    """Sell power capacity of the firms' own sites that their rigs do not use, at the sites'
    market value, up to each firm's cash gap (a distressed firm shrinks before it defaults):
    the same share of every such site's idle MW."""
    if rows.size == 0:
        return
    s, g, n = m.sites, m.gens, m.firms.n
    short = np.zeros(n, dtype=bool)
    short[rows] = True
    on = np.flatnonzero(short[s.owner] & (s.host == s.owner) & s.mining_or_care())
    if on.size == 0:
        return
    idle_mw = np.maximum(s.capacity_mw[on] - s.fleet_ths[on] @ g.power_mw_per_th, 0.0)
    per_mw = m.site_value_usd_per_mw()[on]
    pos = np.searchsorted(rows, s.owner[on])  # `rows` ascending
    idle_value = np.bincount(pos, weights=idle_mw * per_mw, minlength=rows.size)
    gap = np.maximum(-m.firms.cash_usd[rows], 0.0)
    share = np.minimum(
        1.0, np.divide(gap, idle_value, out=np.zeros(rows.size), where=idle_value > 0)
    )
    sell = share[pos] * idle_mw
    keep = sell > 0
    if keep.any():
        on, sell = on[keep], sell[keep]
        m.books.sell_capacity(on, sell, sell * per_mw[keep])


def _fire_sale(m: MiningIndustry, rows: np.ndarray) -> None:
    """Sell just enough rigs at the secondary price to cover each firm's cash gap (the same
    share of its rigs on every site)."""
    if rows.size == 0:
        return
    t, s = m.firms, m.sites
    value = s.by_firm(m.rig_value_usd(), t.n)[rows]
    gap = -t.cash_usd[rows]
    frac = np.minimum(1.0, np.divide(gap, value, out=np.ones_like(gap), where=value > 0))
    m.books.sell_fleet_share(rows, frac)


def liquidate(m: MiningIndustry, r: int, cause: str) -> None:
    """A firm leaves (default or voluntary exit): its sites and rigs are auctioned among
    solvent firms, sold to a new entrant if nobody bids enough, or scrapped when nobody could
    run them at a profit; the estate pays bills, then lenders, then owners. The clients a
    defaulting host hosts stop for the recovery period and must then move
    (:class:`abm.sites.Colocation`); a host leaving voluntarily hands them to its buyer."""
    t, s, cfg = m.firms, m.sites, m.params.consolidation
    if not t.active[r]:
        raise ValueError(f"firm {r} has already left")
    if t.btc_held[r] > 0:
        m.books.sell_btc(np.array([r]), t.btc_held[[r]])
    m.on_liquidate(r)  # components settle: AI contracts are sold with their project debt
    clients = np.flatnonzero((s.host == r) & (s.owner != r) & s.mining_or_care())
    if cause == "insolvent" and clients.size:
        s.status[clients] = STRANDED
        s.stranded_until[clients] = m.day + m.params.sites.host_default_recovery_days
    kind = AUCTION if cause == "insolvent" else EXIT_SALE
    sold = cfg.auctions and _sell_lot(m, r, kind) > 0  # the proceeds arrive in the firm's cash
    if not sold:  # nobody took the facilities: an operator outside the model runs them
        still = (s.host == r) & (s.owner != r) & (s.status != CLOSED)
        s.host[still] = OUTSIDE
    m.books.settle_estate(r)
    if cause == "insolvent":
        m.n_defaults += 1
    m.firm_agents[r].exit(cause)


def _sell_lot(m: MiningIndustry, r: int, kind: str) -> float:
    """Auction firm r's sites and rigs into its cash, recorded as a transfer of `kind`; returns
    the proceeds [USD] (0 if scrapped)."""
    t, cfg = m.firms, m.params.consolidation
    market = m.lot_market_value_usd(r)
    reserve = (1.0 - cfg.fire_sale_discount) * market
    if market <= 0:
        return 0.0
    bidders = m.independent_rows()
    bidders = bidders[(bidders != r) & (t.ultimate_owner[bidders] != r)]
    price = 0.0
    winner = -1
    if bidders.size:
        budget = m.budgets_usd(bidders)
        k = cfg.max_bidders
        if budget.size > k:
            kth = np.partition(-budget, k - 1)[k - 1]
            cand = np.flatnonzero(-budget <= kth)
            keep = cand[np.argsort(-budget[cand], kind="stable")][:k]
        else:
            keep = np.argsort(-budget, kind="stable")
        bidders, budget = bidders[keep], budget[keep]
        value = _bidder_values(m, r, bidders)
        outcome = finance.second_price_auction(value, budget, reserve)
        if outcome.winner >= 0:
            winner = int(bidders[outcome.winner])
            price = outcome.price_usd
            m.books.pay(winner, price)
    if winner < 0:
        # no solvent firm reaches the reserve: an outside investor buys the lot at the lower of
        # the reserve and its own value (distressed assets change hands rather than vanish), or
        # the lot is scrapped when nobody could run it at a profit
        price = min(reserve, _entrant_value(m, r))
        if price <= 0:
            return 0.0
        winner = _entrant_for_lot(m, r, price)
    moved = m.books.transfer_assets(r, winner, price)
    mw = float(m.sites.capacity_mw[moved].sum())
    m.ownership.record(winner, r, m.day, price, kind, sites=moved.size, mw=mw)
    return price


def lot_sites(m: MiningIndustry, r: int) -> np.ndarray:
    """The sites where firm r's rigs run (own or hosted), not closed."""
    return m.sites.of_firm(r, status=None)


def _bidder_values(m: MiningIndustry, r: int, bidders: np.ndarray) -> np.ndarray:
    """Each bidder's value of firm r's lot [USD]: the rigs where they run (the rigs stay on
    the lot's sites), at what the bidder would pay there (the site's rate, or its power price
    where the bidder hosts the site itself) and at the bidder's own cost of capital, plus the
    sites at their market value. Cheaper capital, and hosting the lot's sites, bid more."""
    t, s, sc = m.firms, m.sites, m.params
    lot = lot_sites(m, r)
    power = np.where(  # bidders x sites
        s.host[lot][None, :] == bidders[:, None],
        s.power_price_usd_per_mwh[lot][None, :],
        s.rate_usd_per_mwh[lot][None, :],
    )
    cost = power[:, :, None] * m.gens.energy_mwh_per_th_day[None, None, :]
    rigs = finance.fleet_value_usd(
        s.fleet_ths[lot][None, :, :],
        m.valuation_hashprice_usd_per_th_day,
        cost,
        t.hurdle_rate[bidders][:, None],
        sc.behaviour.expected_hashprice_decline_per_year,
        sc.hardware.economic_life_years,
        m.used.prices_usd_per_th,
    ).sum(axis=1)
    return rigs + float(s.by_host(m.site_value_usd(), t.n)[r])


def _entrant_value(m: MiningIndustry, r: int) -> float:
    """What a new private investor would pay for firm r's lot [USD]: its rigs at each site's
    rate and the private cost of capital, plus the NPV of filling its own sites with frontier
    rigs (if positive)."""
    s, sc = m.sites, m.params
    hp = m.valuation_hashprice_usd_per_th_day
    hurdle = np.array([sc.firms.hurdle_rate_private])
    decline, life = (
        sc.behaviour.expected_hashprice_decline_per_year,
        sc.hardware.economic_life_years,
    )
    lot = lot_sites(m, r)
    cost = m.cost_usd_per_th_day[lot]
    rigs = finance.fleet_value_usd(
        s.fleet_ths[lot], hp, cost, hurdle, decline, life, m.used.prices_usd_per_th
    ).sum()
    new_price, _ = m.rig_prices(m.day)
    g = int(np.flatnonzero(np.isfinite(new_price))[-1]) if np.isfinite(new_price).any() else -1
    fill = 0.0
    if g >= 0:
        own = lot[(s.host[lot] == r) & s.mining_or_care()[lot]]
        npv = behaviour.npv_per_th(
            hp, m.cost_usd_per_th_day[own], np.full(own.size, hurdle[0]), new_price, decline, life
        )[:, g]
        fill = float((np.maximum(npv, 0.0) * s.capacity_mw[own]).sum()) / m.gens.power_mw_per_th[g]
    return float(rigs) + fill


def _entrant_for_lot(m: MiningIndustry, r: int, price_usd: float) -> int:
    """A new private firm, funded by outside investors, that buys firm r's lot (it takes
    over r's home region and source)."""
    t = m.firms
    working = m.params.behaviour.cash_reserve_days * m.operating_run_rate_usd(np.array([r]))[0]
    m.books.post("usd_new_capital", price_usd + working)  # arrives as the entrant's cash
    cols = _entrant_cols(m, 0.0, int(t.source[r]), working + price_usd)
    cols["region"] = t.region[[r]]
    (row,) = m.add_firms([f"Buyer-of-{t.name[r]}"], cols, empty_plan(m.gens.n))
    m.books.pay(int(row), price_usd, borrow=False)
    return int(row)


# --------------------------------------------------------------------------------------------
# ownership changes
def release_subsidiaries(m: MiningIndustry, r: int) -> None:
    """When firm r exits, its direct subsidiaries become independent, keeping the firms they
    own in turn (their ultimate owner becomes the released subsidiary)."""
    t = m.firms
    for sub in m.ownership.release(r, m.day):
        members = t.ultimate_owner == t.ultimate_owner[r]
        # everything below `sub` (itself and its own subsidiaries) now answers to `sub`
        below = [int(i) for i in np.flatnonzero(members) if _owned_via(m, int(i), sub)]
        t.ultimate_owner[below] = sub


def _owned_via(m: MiningIndustry, firm: int, root: int) -> bool:
    node: int | None = firm
    while node is not None:
        if node == root:
            return True
        node = m.ownership.owner_of(node)
    return False


# --------------------------------------------------------------------------------------------
# new firms funded from outside, and voluntary exit
def empty_plan(n_generations: int) -> SitePlan:
    """A plan of no sites (a firm that buys its sites)."""
    z = np.zeros(0)
    i = np.zeros(0, dtype=np.intp)
    return SitePlan(
        i,
        i,
        z,
        z,
        z,
        np.zeros(0, np.int8),
        np.zeros(0, bool),
        z,
        np.zeros((0, n_generations)),
        i,
        np.zeros(0, np.int8),
    )


def _entrant_cols(m: MiningIndustry, hashrate_ehs: float, source: int, cash: float) -> dict:
    """Firm columns of a new private firm."""
    kind = np.array([PRIVATE], dtype=np.int8)
    return new_firm_cols(m, kind, np.array([hashrate_ehs]), np.array([source]), np.array([cash]))


def deals(m: MiningIndustry) -> None:
    """Voluntary deals and exits of the day: deal opportunities arrive (Poisson), each a
    whole-firm acquisition or a site purchase (:func:`abm.deals.deal`); a firm without rigs for
    ``consolidation.voluntary_exit_idle_days`` exits unless it can pay for its sites (in care
    and maintenance) for as long again and rigs on them have a positive NPV
    (:func:`abm.operation.idle_firms_that_wait`)."""
    cfg = m.params.consolidation
    if cfg.acquisitions and cfg.deal_rate_per_year > 0:
        rng = m.streams["mna"]
        for _ in range(rng.poisson(cfg.deal_rate_per_year / 365)):
            deal(m, site_purchase=bool(rng.random() < cfg.site_purchase_share))
    if m.day % IDLE_CHECK_DAYS == 0:
        t = m.firms
        idle = t.active & (m.firm_installed_ths() == 0) & (t.kind != SOVEREIGN)
        t.idle_days[:] = np.where(idle, t.idle_days + IDLE_CHECK_DAYS, 0)
        due = np.flatnonzero(idle & (t.idle_days >= cfg.voluntary_exit_idle_days))
        if due.size:  # those that can pay for their sites in care and have a use for them wait
            due = due[~operation.idle_firms_that_wait(m, due)]
        for r in due:
            liquidate(m, int(r), "voluntary")
