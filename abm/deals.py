"""Voluntary deals for powered MW: whole-firm acquisitions and purchases of single sites.

Deal opportunities arrive as a Poisson process (``consolidation.deal_rate_per_year``); each is
a whole-firm acquisition or, with probability ``consolidation.site_purchase_share``, the
purchase of one site. Every independent firm is a possible seller; the buyers are the
``consolidation.max_bidders`` independent firms that can pay the most. Both sides value what
changes hands at its best use as a miner (:func:`abm.finance.site_use_usd`): the rigs in place,
kept while they pay or sold, plus re-equipping the spare MW with frontier rigs at today's new-rig
price, as far as the owner's budget pays for it; at the seller's own cost of capital and costs,
or at the buyer's cost of capital with the cost synergies it expects; plus the option to convert
the eligible MW to AI hosting (:func:`ai_options`: worth something to a firm whose strategy
allows conversions and whose bid beats the expected lease price, so AI-minded buyers with cheap
capital value pure miners' grid sites above their owners). The facilities, cash, BTC,
debt and AI contracts count alike for both. A deal pays the seller its own value with a premium
(``consolidation.acquisition_premium``); of all the feasible pairs (a buyer that can pay and
values the target above the price) the one with the largest gain (buyer's value less the
seller's) is done, so realised deals follow the arrival rate whenever any pair gains; buyers
that gain alike from the best target (within 1%) are picked among at random.

Payment: listed buyers pay for firms in new shares up to their own equity value, then in cash;
everyone pays cash from spare cash and new debt beyond it (:meth:`abm.books.Books.pay`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from abm import finance
from abm.firms import LISTED
from abm.markets import ai
from abm.ownership import ACQUISITION, SITE_PURCHASE
from abm.sites import CLOSED

if TYPE_CHECKING:
    from abm.model import MiningIndustry


TIE_TOLERANCE = 0.01  # buyers whose gain is within 1% of the best one are alike to the seller


@dataclass(frozen=True)
class Valuations:
    """The independent firms, their sites and what both sides of a deal would pay for them."""

    firms: np.ndarray  # independent firm rows (ascending)
    sites: np.ndarray  # site rows of their rigs (own or hosted), not closed
    pos: np.ndarray  # per site: index of its owner in `firms`
    own_site: np.ndarray  # per site: the owner also hosts it and it mines or is in care
    budget_usd: np.ndarray  # per firm: spare cash and new debt it could raise
    standalone_usd: np.ndarray  # per firm: its value to itself
    site_standalone_usd: np.ndarray  # per site: its value to its owner (rigs, fill, facility)
    facility_usd: np.ndarray  # per site: market value of the facility to its host
    balance_usd: np.ndarray  # per firm: facilities, cash, BTC, AI equity less debt
    buyers: np.ndarray  # indices into `firms` of the candidate buyers
    buyer_use: finance.SiteUse  # buyers x sites, at each buyer's cost of capital
    acquired_ai_usd: np.ndarray  # buyers x sites: the option to convert to AI, whole firms
    purchased_ai_usd: np.ndarray  # buyers x sites: the option to convert, site purchases


def valuations(m: MiningIndustry) -> Valuations | None:
    """Values of every independent firm and site to itself and to the candidate buyers (None
    when fewer than two firms could trade)."""
    t, s, g, sc = m.firms, m.sites, m.gens, m.params
    cfg = sc.consolidation
    firms = m.independent_rows()
    if firms.size < 2:
        return None
    mine = np.zeros(t.n, dtype=bool)
    mine[firms] = True
    sites = np.flatnonzero(mine[s.owner] & (s.status != CLOSED))
    pos = np.searchsorted(firms, s.owner[sites])
    own_site = (s.host[sites] == s.owner[sites]) & s.mining_or_care()[sites]
    spare = np.where(
        own_site,
        np.maximum(s.capacity_mw[sites] - s.fleet_ths[sites] @ g.power_mw_per_th, 0.0),
        0.0,
    )
    new_price, _ = m.rig_prices(m.day)

    def use(rate: np.ndarray, cost_factor: float) -> finance.SiteUse:
        return finance.site_use_usd(
            s.fleet_ths[sites],
            m.cost_usd_per_th_day[sites] * cost_factor,
            spare,
            rate,
            m.valuation_hashprice_usd_per_th_day,
            sc.behaviour.expected_hashprice_decline_per_year,
            sc.hardware.economic_life_years,
            m.used.prices_usd_per_th,
            new_price,
            g.power_mw_per_th,
        )

    def per_firm(x: np.ndarray) -> np.ndarray:
        return np.bincount(pos, weights=x, minlength=firms.size)

    budget = m.budgets_usd(firms)
    price_usd = m.price_usd[m.day]
    facility = np.where(s.host[sites] == s.owner[sites], m.site_value_usd()[sites], 0.0)
    ai = np.array([m.ai.equity_value_usd(int(r)) for r in firms]) if m.ai.book.n else 0.0
    balance = (
        s.by_host(m.site_value_usd(), t.n)[firms]
        + t.cash_usd[firms]
        + t.btc_held[firms] * price_usd
        - t.debt_usd[firms]
        + ai
    )
    own = use(t.hurdle_rate[s.owner[sites]][None, :], 1.0)
    funded = finance.funded_share(per_firm(own.fill_capex_usd[0]), budget)
    own_ai = ai_options(m, firms, sites, pos, np.zeros(0, dtype=np.int64))
    standalone = per_firm(own.rigs_usd[0] + own_ai.own) + funded * per_firm(own.fill_npv_usd[0])
    standalone = standalone + balance
    site_standalone = own.rigs_usd[0] + funded[pos] * own.fill_npv_usd[0] + facility + own_ai.own
    # the buyers: who can pay the most (listed firms can also pay in shares)
    listed = t.kind[firms] == LISTED
    capacity = budget + np.where(listed, np.maximum(standalone, 0.0), 0.0)
    order = np.argsort(-capacity, kind="stable")[: cfg.max_bidders]
    buyers = order[capacity[order] > 0]
    rates = t.hurdle_rate[firms[buyers]][:, None]
    buyer_use = use(rates, 1.0 - cfg.acquisition_synergy)
    buyer_ai = ai_options(m, firms, sites, pos, buyers)
    return Valuations(
        firms,
        sites,
        pos,
        own_site,
        budget,
        standalone,
        site_standalone,
        facility,
        balance,
        buyers,
        buyer_use,
        buyer_ai.acquired,
        buyer_ai.purchased,
    )


@dataclass(frozen=True)
class AIOptions:
    """The option to convert sites to AI hosting (abm.markets.ai.conversion_option_usd) [USD]."""

    own: np.ndarray  # per site: to its owner
    acquired: np.ndarray  # valuers x sites: to a valuer that acquires the owner (which takes
    # the group's strategy and cost of capital)
    purchased: np.ndarray  # valuers x sites: to a valuer that buys the site (within its room)


def ai_options(
    m: MiningIndustry, firms: np.ndarray, sites: np.ndarray, pos: np.ndarray, valuers: np.ndarray
) -> AIOptions:
    """The value of converting each site to AI (zeros when the AI market is off or expects no
    tender): the MW the owner may convert (its eligible free MW x its strategy's share, less
    what it has under contract, spread over its sites by their free MW), for an acquirer the
    same at the acquirer's strategy (the group's), for a buyer of the site the MW it adds to
    the buyer's room; each at the take-up the market expects, valued at the lease's NPV over
    the valuer's own bid (its hurdle rate; the owner's conversion lead time for a whole firm,
    the buyer's for a site). `valuers` index into `firms`."""
    zeros = np.zeros((valuers.size, sites.size))
    opt = m.ai.option_terms()
    if opt is None:
        return AIOptions(np.zeros(sites.size), zeros, zeros)
    t, cfg = m.firms, m.params.ai
    free = opt.free_mw[sites]
    owner_free = np.bincount(pos, weights=free, minlength=firms.size)

    def spread(share: np.ndarray) -> np.ndarray:
        """Firms' room at a strategy's `share` (..., firms), spread over their sites."""
        room = ai.convertible_room_mw(share, owner_free, t.ai_mw[firms])
        frac = np.where(owner_free > 0, room / np.maximum(owner_free, 1e-300), 0.0)
        return free * frac[..., pos]

    capex, foregone = opt.capex_usd_per_mw[sites], opt.foregone_usd_per_mw_year[sites]

    def option(room_mw: np.ndarray, rate: np.ndarray, build_days: np.ndarray) -> np.ndarray:
        bid = ai.bid_usd_per_mw_year(capex, rate, cfg, build_days, opt.term_years, foregone)
        return ai.conversion_option_usd(
            room_mw, bid, opt.price_usd_per_mw_year, rate, opt.term_years, opt.take_up, cfg
        )

    owner_build = t.ai_build_days[firms[pos]].astype(float)
    own = option(spread(m.ai.convertible_share(firms)), t.hurdle_rate[firms[pos]], owner_build)
    v = firms[valuers]
    rate = t.hurdle_rate[v][:, None]
    v_share, v_ai = m.ai.convertible_share(v), t.ai_mw[v]
    acquired = option(spread(v_share[:, None]), rate, owner_build[None, :])
    # a site purchase: what the site adds to the buyer's room
    v_free = m.sites.by_firm(opt.free_mw, t.n)[v]
    before = ai.convertible_room_mw(v_share, v_free, v_ai)
    after = ai.convertible_room_mw(v_share[:, None], v_free[:, None] + free[None, :], v_ai[:, None])
    added = np.clip(after - before[:, None], 0.0, free[None, :])
    purchased = option(added, rate, t.ai_build_days[v].astype(float)[:, None])
    return AIOptions(own, acquired, purchased)


@dataclass(frozen=True)
class Match:
    """The deal with the largest gain: who buys what, at what price, paid how."""

    buyer: int  # firm row
    seller: int  # firm row
    site: int  # site row of a site purchase (-1: the whole firm)
    price_usd: float
    shares_usd: float  # part of the price paid in the buyer's new shares
    gain_usd: float  # buyer's value less the seller's own


def best_acquisition(m: MiningIndustry, v: Valuations) -> Match | None:
    """The whole-firm acquisition with the largest gain (buyers x targets), or None: a target
    has less power capacity than its buyer; the price is the target's own value with the
    premium; the buyer pays it (shares first if listed, up to its own equity value) and re-equips
    the target's spare MW as far as what is left of its budget allows."""
    if v.buyers.size == 0:
        return None
    cfg = m.params.consolidation
    k = v.buyers
    per_firm = np.zeros((k.size, v.firms.size))
    fill = np.zeros_like(per_firm)
    capex = np.zeros_like(per_firm)
    for i in range(k.size):  # a handful of buyers: one bincount each
        rigs_and_ai = v.buyer_use.rigs_usd[i] + v.acquired_ai_usd[i]
        per_firm[i] = np.bincount(v.pos, rigs_and_ai, v.firms.size)
        fill[i] = np.bincount(v.pos, v.buyer_use.fill_npv_usd[i], v.firms.size)
        capex[i] = np.bincount(v.pos, v.buyer_use.fill_capex_usd[i], v.firms.size)
    price = np.maximum(v.standalone_usd, 0.0) * (1.0 + cfg.acquisition_premium)  # per target
    listed = m.firms.kind[v.firms[k]] == LISTED
    own_equity = np.maximum(v.standalone_usd[k], 0.0)[:, None]
    shares = np.where(listed[:, None], np.minimum(price[None, :], own_equity), 0.0)
    cash = price[None, :] - shares
    left = v.budget_usd[k][:, None] - cash
    value = per_firm + finance.funded_share(capex, left) * fill + v.balance_usd[None, :]
    mw = m.firm_capacity_mw()[v.firms]
    ok = (
        (left >= 0)
        & (value > price[None, :])
        & (mw[None, :] < mw[k][:, None])
        & (k[:, None] != np.arange(v.firms.size)[None, :])
    )
    if not ok.any():
        return None
    gain = np.where(ok, value - v.standalone_usd[None, :], -np.inf)
    i, j = _pick(m, gain)
    return Match(
        int(v.firms[k[i]]),
        int(v.firms[j]),
        -1,
        float(price[j]),
        float(shares[i, j]),
        float(gain[i, j]),
    )


def best_site_purchase(m: MiningIndustry, v: Valuations) -> Match | None:
    """The purchase of one site (its facility, power contract and rigs) with the largest gain
    (buyers x sites), or None: sites their owner hosts and that mine or are in care; the price
    is the site's value to its owner with the premium, paid in cash and new debt; the buyer
    re-equips its spare MW as far as what is left of its budget allows."""
    if v.buyers.size == 0:
        return None
    cfg = m.params.consolidation
    k = v.buyers
    price = np.maximum(v.site_standalone_usd, 0.0) * (1.0 + cfg.acquisition_premium)
    left = v.budget_usd[k][:, None] - price[None, :]
    u = v.buyer_use
    value = u.rigs_usd + finance.funded_share(u.fill_capex_usd, left) * u.fill_npv_usd
    value = value + v.facility_usd[None, :] + v.purchased_ai_usd
    ok = (
        v.own_site[None, :]
        & (left >= 0)
        & (price[None, :] > 0)
        & (value > price[None, :])
        & (k[:, None] != v.pos[None, :])
    )
    if not ok.any():
        return None
    gain = np.where(ok, value - v.site_standalone_usd[None, :], -np.inf)
    i, j = _pick(m, gain)
    return Match(
        int(v.firms[k[i]]),
        int(v.firms[v.pos[j]]),
        int(v.sites[j]),
        float(price[j]),
        0.0,
        float(gain[i, j]),
    )


def _pick(m: MiningIndustry, gain: np.ndarray) -> tuple[int, int]:
    """The buyer and the target (buyers x targets) of the largest gain; where several buyers
    gain alike from that target (within :data:`TIE_TOLERANCE` of the best: listed buyers of
    the same cost of capital that can all pay value a target the same), the seller picks one of
    them at random (the ``mna`` stream), not the first in the buyers' order."""
    i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
    best = float(gain[i, j])
    alike = np.flatnonzero(gain[:, j] >= best - TIE_TOLERANCE * abs(best))
    if alike.size > 1:
        i = alike[int(m.streams["mna"].integers(alike.size))]
    return int(i), int(j)


def execute(m: MiningIndustry, deal: Match) -> None:
    """Carry out a matched deal through the books and record it in the ownership graph."""
    t, s = m.firms, m.sites
    a, tg = deal.buyer, deal.seller
    if deal.site >= 0:  # a site purchase: the seller receives the price, the buyer the site
        mw = float(s.capacity_mw[deal.site])
        m.books.pay(a, deal.price_usd)
        m.books.transfer_assets(tg, a, deal.price_usd, sites=np.array([deal.site]))
        m.ownership.record(a, tg, m.day, deal.price_usd, SITE_PURCHASE, sites=1, mw=mw)
        m.n_site_purchases += 1
        return
    lot = s.of_firm(tg, status=None)
    if deal.shares_usd > 0:
        m.books.receive(a, deal.shares_usd, "usd_shares_for_deals")
    m.books.pay(a, deal.price_usd)
    m.books.post("usd_to_owners", deal.price_usd)  # the target's former owners
    m.ownership.record(
        a,
        tg,
        m.day,
        deal.price_usd,
        ACQUISITION,
        sites=lot.size,
        mw=float(s.capacity_mw[lot].sum()),
        shares_usd=deal.shares_usd,
    )
    members = np.flatnonzero(t.ultimate_owner == tg)
    t.ultimate_owner[members] = t.ultimate_owner[a]
    t.acquired_day[tg] = m.day
    t.hurdle_rate[tg] = t.hurdle_rate[a]  # the group's cost of capital
    t.ai_strategy[tg] = t.ai_strategy[a]  # and its strategy for AI hosting
    m.n_acquisitions += 1
    m.on_acquired(a, members)


def deal(m: MiningIndustry, site_purchase: bool) -> Match | None:
    """One deal opportunity: the best acquisition (or site purchase), done if any pair gains.
    Returns the deal done, or None."""
    v = valuations(m)
    if v is None:
        return None
    match = best_site_purchase(m, v) if site_purchase else best_acquisition(m, v)
    if match is not None:
        execute(m, match)
    return match
