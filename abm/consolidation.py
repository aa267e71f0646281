"""Distress and consolidation: defaults and auctions, acquisitions, voluntary exits, entry.

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
from abm.firms import HYDRO, PRIVATE, SOVEREIGN, size_classes
from abm.markets.energy import outage_probabilities, sample_power_prices, sample_sources
from abm.sites import CLOSED, ENTRANT, OUTSIDE, STRANDED, SitePlan, one_site_each

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry

IDLE_CHECK_DAYS = 30


class Consolidation(BaseComponent):
    """Distress, deals and entry: the phases of the day that change who owns what."""

    phases: ClassVar[tuple[str, ...]] = ("distress", "deals", "entry")

    def daily(self, phase: str, today: Today) -> None:
        if phase == "distress":
            resolve_distress(self.m)
        elif phase == "deals":
            deals(self.m)
        else:
            entry(self.m)

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
    sold = cfg.auctions and _sell_lot(m, r) > 0  # the proceeds arrive in the firm's cash
    if not sold:  # nobody took the facilities: an operator outside the model runs them
        still = (s.host == r) & (s.owner != r) & (s.status != CLOSED)
        s.host[still] = OUTSIDE
    m.books.settle_estate(r)
    if cause == "insolvent":
        m.n_defaults += 1
    m.firm_agents[r].exit(cause)


def _sell_lot(m: MiningIndustry, r: int) -> float:
    """Auction firm r's sites and rigs into its cash; returns the proceeds [USD] (0 if
    scrapped)."""
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
    m.ownership.record(winner, r, m.day, price, "auction", sites=moved.size, mw=mw)
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


def attempt_acquisition(m: MiningIndustry) -> bool:
    """One acquisition attempt: an acquirer (chosen in proportion to what it can pay) looks at
    a smaller independent target and buys it when its own valuation of the target (at its own
    cost of capital) beats the target's valuation with the premium. The target keeps
    operating as a subsidiary; the price goes to its former owners."""
    t, sc, rng = m.firms, m.params, m.streams["mna"]
    independent = m.independent_rows()
    if independent.size < 2:
        return False
    budget = m.budgets_usd(independent)
    if budget.sum() <= 0:
        return False
    i = rng.choice(independent.size, p=budget / budget.sum())
    a = int(independent[i])
    size = m.firm_installed_ths()
    targets = independent[(independent != a) & (size[independent] < size[a])]
    if targets.size == 0:
        return False
    tg = int(targets[rng.integers(targets.size)])
    price_usd = m.price_usd[m.day]
    s = m.sites
    balance = (
        float(s.by_host(m.site_value_usd(), t.n)[tg])
        + t.cash_usd[tg]
        + t.btc_held[tg] * price_usd
        - t.debt_usd[tg]
        + m.ai.equity_value_usd(tg)
    )
    # the target values itself at its own costs and cost of capital; the acquirer at its own
    # cost of capital and with the cost synergies it expects
    synergy = 1.0 - sc.consolidation.acquisition_synergy
    lot = lot_sites(m, tg)
    cost = m.cost_usd_per_th_day[lot][None, :, :] * np.array([1.0, synergy])[:, None, None]
    values = finance.fleet_value_usd(
        s.fleet_ths[lot][None, :, :],
        m.valuation_hashprice_usd_per_th_day,
        cost,
        np.array([t.hurdle_rate[tg], t.hurdle_rate[a]])[:, None],
        sc.behaviour.expected_hashprice_decline_per_year,
        sc.hardware.economic_life_years,
    ).sum(axis=1)
    own, theirs = values + balance
    price = max(own, 0.0) * (1 + sc.consolidation.acquisition_premium)
    if not (price > 0 and theirs > price and price <= budget[i]):
        return False
    m.books.pay(a, price)
    m.books.post("usd_to_owners", price)  # the target's former owners
    m.ownership.record(
        a, tg, m.day, price, "acquisition", sites=lot.size, mw=float(s.capacity_mw[lot].sum())
    )
    t.ultimate_owner[t.ultimate_owner == tg] = t.ultimate_owner[a]
    t.acquired_day[tg] = m.day
    t.hurdle_rate[tg] = t.hurdle_rate[a]  # the group's cost of capital
    m.n_acquisitions += 1
    return True


# --------------------------------------------------------------------------------------------
# entry and voluntary exit
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
    sc = m.params
    h = np.array([hashrate_ehs])
    return {
        "kind": np.array([PRIVATE], dtype=np.int8),
        "size_class": size_classes(np.maximum(h, 1e-9), sc.firms),
        "source": np.array([source], dtype=np.int8),
        "hurdle_rate": np.array([sc.firms.hurdle_rate_private]),
        "review_offset": np.array([0]),  # reviews stay batched on the stagger grid
        "cash_usd": np.array([cash]),
        "initial_hashrate_ehs": h,
    }


def enter(m: MiningIndustry) -> None:
    """A new private firm arrives: a small site with frontier rigs, funded by outside
    investors (the capital arrives as cash and is spent on rigs and the site build)."""
    sc, rng = m.params, m.streams["entry"]
    cfg = sc.consolidation
    size_ehs = min(
        cfg.entrant_max_ehs, 0.05 * (1 - rng.random()) ** (-1 / sc.firms.tail_pareto_alpha)
    )
    new_price, _ = m.rig_prices(m.day)
    on_sale = np.flatnonzero(np.isfinite(new_price))
    if on_sale.size == 0:
        return
    g = int(on_sale[-1])
    source = int(sample_sources(rng, 1, sc.energy)[0])
    power = float(sample_power_prices(rng, np.array([size_ehs]), sc.energy)[0])
    ths = size_ehs * 1e6
    mw = ths * m.gens.power_mw_per_th[g] * (1 + rng.uniform(0, sc.firms.capacity_headroom_max))
    rigs_usd = ths * new_price[g]
    infra_usd = mw * sc.energy.capex_usd_per_mw
    working = sc.behaviour.cash_reserve_days * (
        ths * m.gens.energy_mwh_per_th_day[g] * power + mw * sc.energy.fixed_opex_usd_per_mw_day
    )
    seasonal = source == HYDRO and rng.random() < sc.energy.seasonal_share_of_hydro
    # the investors' capital arrives and buys the rigs and the site; the rest is cash
    m.books.post("usd_new_capital", rigs_usd + infra_usd + working)
    m.books.post("usd_capex_rigs", rigs_usd)
    m.books.post("usd_capex_infra", infra_usd)
    fleet = np.zeros((1, m.gens.n))
    fleet[0, g] = ths
    src = np.array([source], dtype=np.int8)
    plan = one_site_each(
        np.array([mw]),
        np.array([power]),
        src,
        np.array([seasonal]),
        outage_probabilities(src, sc.energy),
        fleet,
        origin=ENTRANT,
    )
    plan.rig_book_usd, plan.site_book_usd = np.array([rigs_usd]), np.array([infra_usd])
    cols = _entrant_cols(m, size_ehs, source, working)
    cols["cum_capex_usd"] = np.array([rigs_usd + infra_usd])
    m.add_firms([f"Entrant-{m.firms.n + 1:04d}"], cols, plan)


def entry_margin(m: MiningIndustry) -> float:
    """Expected hashprice's premium over the frontier rig's energy cost at the median power
    price, as a share of hashprice (the signal that draws entrants)."""
    hp = m.expected_hashprice_usd_per_th_day
    g = max(int(m.released_by_day[m.day]) - 1, 0)
    cost = m.gens.energy_mwh_per_th_day[g] * m.params.energy.median_price_usd_per_mwh
    return (hp - cost) / hp if hp > 0 else -1.0


def deals(m: MiningIndustry) -> None:
    """Acquisitions (Poisson arrivals) and voluntary exits of the day: a firm without rigs for
    ``consolidation.voluntary_exit_idle_days`` exits unless it can pay for its sites (in care
    and maintenance) for as long again and rigs on them have a positive NPV
    (:func:`abm.operation.idle_firms_that_wait`)."""
    cfg = m.params.consolidation
    if cfg.acquisitions and cfg.acquisition_rate_per_year > 0:
        for _ in range(m.streams["mna"].poisson(cfg.acquisition_rate_per_year / 365)):
            attempt_acquisition(m)
    if m.day % IDLE_CHECK_DAYS == 0:
        t = m.firms
        idle = t.active & (m.firm_installed_ths() == 0) & (t.kind != SOVEREIGN)
        t.idle_days[:] = np.where(idle, t.idle_days + IDLE_CHECK_DAYS, 0)
        due = np.flatnonzero(idle & (t.idle_days >= cfg.voluntary_exit_idle_days))
        if due.size:  # those that can pay for their sites in care and have a use for them wait
            due = due[~operation.idle_firms_that_wait(m, due)]
        for r in due:
            liquidate(m, int(r), "voluntary")


def entry(m: MiningIndustry) -> None:
    """New firms of the day (Poisson arrivals, the rate rising with profitability)."""
    cfg = m.params.consolidation
    if cfg.entry:
        rate = finance.entry_rate_per_day(
            cfg.entry_rate_per_year, entry_margin(m), cfg.entry_sensitivity
        )
        for _ in range(m.streams["entry"].poisson(rate)):
            enter(m)
