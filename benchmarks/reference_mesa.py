"""The engine's daily rules written the idiomatic Mesa way: a performance (and correctness)
reference for the vectorised engine.

Each firm is a :class:`RefFirm` (a ``mesa.Agent``) holding plain Python floats and a list of
its sites (:class:`RefSite`: power price, capacity, fleet by generation, energy cost by
generation, rigs on order and MW queued for it) and running its own rules in per-firm Python.
The two rig markets are plain model-level objects: :class:`RefFactory` (the makers of new rigs:
capacity, backlog, order book, a price every ``asic.pricing_period_days``) and
:class:`RefDealer` (the used-rig dealer: its stock, its posted bids, a clearing every
``used_rigs.clearing_period_days``); each collects its bids and asks from the agents and clears
them with the engine's pure clearing functions (:mod:`abm.markets.clearing`).

A day, in the engine's order (``abm/day.py``, ``MiningIndustry.step``, components ``asic`` then
``used``): ``model.agents.shuffle_do("operate")`` (failures, hysteresis, merit order, care and
maintenance); the model mines; ``shuffle_do("account")``; adaptive expectations; the markets
(the factory works off its backlog, adjusts its capacity, delivers what is due and prices on
its period; the dealer clears on its period); new MW queued for their sites come online;
``shuffle_do("decide")`` (the fleet review on the firm's cadence, fire sales, insolvent and
idle exits); the factory books the day's orders and the dealer takes in what firms sold it; a
``mesa.DataCollector`` records model reporters. This is what a Mesa user would write without
the columnar engine. It reuses the engine's pure pieces (protocol functions, the exogenous price
and fee paths, the age hazard, rig valuation, the clearing functions, the initial population),
so what a benchmark compares is per-agent Python against array operations.

Order independence (the engine is simultaneous, ``shuffle_do`` is random): within a phase an
agent reads only model-level values fixed before the phase (revenue per TH-day, BTC per TH,
today's price, hashprice expectation, the factory's price, the dealer's bids) and writes only
its own state; what it sends to the markets (orders, rigs sold to the dealer) waits in an inbox
that the market takes in after the phase in a fixed order (sites in the order they opened,
firms in insertion order, as the engine's tables list them); every model-level aggregate is
computed after the phase. The trajectory is therefore the same for any shuffle
(``tests/test_reference_mesa.py`` checks this with two shuffle seeds).

Rules covered, as in ``abm/behaviour.py``, ``abm/operation.py``, ``abm/day.py``,
``abm/review.py``, ``abm/books.py``, ``abm/markets/asic.py``, ``abm/markets/used.py``,
``abm/markets/demand.py`` and ``abm/consolidation.py``, with finance, auctions, acquisitions,
entry, hosting, sovereigns, capabilities, AI and the rest of the world off (see
:func:`check_covered`): fees per block raised by the backlog of blocks not found; at each site,
rigs fail by their age hazard, each vintage switches off after it has not covered its energy
cost at the site's power price for some days (revenue over the outlook, the projected retarget
counted) and back on above a margin, the vintages that are
on fill the capacity most-efficient first, and a site with no vintage on for long goes into
care and maintenance (a share of the fixed cost) until one is on again; pooled revenue by hash
share minus the pool fee; energy and fixed costs per site; adaptive hashprice expectations; the
new-rig market (every period the price of the newest generation clears the firms' bids, per
site with spare MW and for new MW, against capacity less an excess backlog, never below the
manufacturing cost; capacity follows the lagged margin; orders wait for the backlog and the lead
time); the used-rig market (every period, newest generation first, the dealer's stock and the
rigs the firms value less than the dealer's bid (economic retirement) clear against the firms'
bids for their spare MW within their budgets; the dealer posts its bid; what nobody values above
scrap is scrapped); the fleet review (move rigs from the dearest site to the cheapest with room
when the saving beats the move; order, for each site, new rigs into its spare MW when their NPV
is positive, the best NPV per dollar first within a cash budget; new MW at the site under
build-out or a new site at the market power price, online with their rigs when the factory
delivers); fire sales to the dealer and insolvent exits; exits of firms without rigs for long
that cannot pay for their sites for as long again or have no positive-NPV use for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np

from abm import chain, operation
from abm.behaviour import BUDGET_RESIDUE
from abm.firms import calibrated_population, explicit_population
from abm.markets import hardware
from abm.markets.clearing import Asks, Bids, allocate, clearing_price, demand, just_below
from abm.markets.demand import BUDGET_EPS_USD, SPARE_MW_EPS
from abm.markets.fees import scenario_fee_path
from abm.markets.price import scenario_price_path
from abm.rng import make_streams
from abm.scenario import Scenario

__all__ = [
    "RefDealer",
    "RefFactory",
    "RefFirm",
    "RefModel",
    "check_covered",
    "reference_case",
    "run_reference",
]

IDLE_CHECK_DAYS = 30  # as abm.consolidation.IDLE_CHECK_DAYS [days]


def reference_case(
    n_firms: int = 30, years: float = 1.0, drift: float = -0.8, expansion_price: float = 45.0
) -> Scenario:
    """The deterministic scenario that both the engine and the reference implement.

    The single place to switch engine features off: block luck, price noise, outages and
    seasonality, finance, auctions, acquisitions, entry, hosting, sovereigns, the rest of the
    world (the firms are the network), pools (one payout by hash share) and the restart delay
    (a vintage starts on the first day it pays: ``operation.start_delay_max_days = 1``; the
    reference keeps no per-site delay). Firms start with
    10 days of cash. By default the price drifts down 80%/yr, so sites go into care and
    maintenance, firms sell rigs to the dealer, move them to cheaper sites, fire-sell and exit
    within a year; with a positive `drift` and cheap new power (`expansion_price` [USD/MWh])
    they build new sites.
    """
    return Scenario().with_overrides(
        {
            "run.years": years,
            "firms.n_firms": n_firms,
            "firms.n_large": 5,
            "firms.tail_max_ehs": 1130.0,
            "firms.cash_days_listed": 10.0,
            "firms.cash_days_private": 10.0,
            "protocol.block_luck": False,
            "price.volatility_per_year": 0.0,
            "price.jump_rate_per_year": 0.0,
            "price.drift_per_year": drift,
            "operation.start_delay_max_days": 1,
            "energy.expansion_price_usd_per_mwh": expansion_price,
            "energy.outage_prob_per_day": dict.fromkeys(
                ("hydro", "wind", "solar", "gas", "grid", "stranded"), 0.0
            ),
            "energy.seasonal_share_of_hydro": 0.0,
            "finance.enabled": False,
            "ai.enabled": False,
            "capabilities.enabled": False,
            "consolidation.auctions": False,
            "consolidation.acquisitions": False,
            "consolidation.entry": False,
            "sites.hosted_share_small": 0.0,
            "sovereigns": [],
            "world.enabled": False,
            "pools.enabled": False,
        }
    )


def check_covered(sc: Scenario) -> None:
    """Raise ValueError if the scenario uses an engine feature the reference does not model."""
    problems = []
    if sc.protocol.block_luck:
        problems.append("protocol.block_luck")
    if any(p > 0 for p in sc.energy.outage_prob_per_day.values()):
        problems.append("energy.outage_prob_per_day")
    if sc.energy.seasonal_share_of_hydro > 0:
        problems.append("energy.seasonal_share_of_hydro")
    if sc.behaviour.investment_rule != "npv":
        problems.append("behaviour.investment_rule")
    for key, on in (
        ("finance.enabled", sc.finance.enabled),
        ("ai.enabled", sc.ai.enabled),
        ("capabilities.enabled", sc.capabilities.enabled),
        ("world.enabled", sc.world.enabled),
        ("pools.enabled", sc.pools.enabled),
    ):
        if on:
            problems.append(key)
    c = sc.consolidation
    problems += [
        f"consolidation.{k}" for k in ("auctions", "acquisitions", "entry") if getattr(c, k)
    ]
    if sc.sovereign_scale > 0 and any(s.enabled for s in sc.sovereigns):
        problems.append("sovereigns")
    if sc.sites.hosted_share_small > 0:
        problems.append("sites.hosted_share_small")
    if sc.events or sc.price.shocks:
        problems.append("events")
    if problems:
        raise ValueError(f"the Mesa reference does not model: {', '.join(problems)}")


def _pv_days(rate_per_year: float, years: float) -> float:
    """PV of 1 USD/day paid continuously for `years` at `rate_per_year` [days]."""
    r = max(rate_per_year, 1e-9)
    return (1.0 - math.exp(-r * years)) / r * 365.0


def _values(m: RefModel, costs: list[float], hurdle: float, life: float | list[float]) -> list:
    """What 1 TH/s of each generation is worth to run at energy costs `costs` [USD/TH/day]
    (the engine's rig valuation, with the option to switch off) [USD/TH]."""
    life_arg = np.asarray(life) if isinstance(life, list) else life
    v = hardware.rig_value_usd_per_th(m.hp_value, np.asarray(costs), hurdle, m.decline, life_arg)
    return v.tolist()


class RefSite:
    """One site of a firm: power price, capacity, fleet by generation, on/off state of each
    vintage, rigs on order for it and MW queued for it."""

    def __init__(
        self,
        model: RefModel,
        fleet_ths: list[float],
        capacity_mw: float,
        price: float,
        key: tuple[int, int],
        building: bool = False,
    ) -> None:
        self.key = key  # (day opened, firm or plan index): the engine's order of sites
        self.fleet = fleet_ths  # installed hashrate by generation [TH/s]
        self.capacity_mw = capacity_mw
        self.power_price = price  # [USD/MWh]
        self.cost = [price * e for e in model.energy_mwh]  # [USD per TH/s-day]
        self.running = [0.0] * len(fleet_ths)
        self.on = [False] * len(fleet_ths)  # each vintage switched on (hysteresis)
        self.loss_days = [0] * len(fleet_ths)  # days in a row it has not covered its energy
        self.care = False  # in care and maintenance
        self.off_days = 0  # days in a row no vintage was on
        self.open_day = model.day
        self.building = building  # opened for new MW, not yet online
        self.on_order_mw = 0.0  # power of the new rigs on order for it [MW]
        self.queued_mw = 0.0  # new MW queued for it [MW]

    def power_mw(self, model: RefModel) -> float:
        return sum(f * w for f, w in zip(self.fleet, model.power_mw, strict=True))

    def spare_mw(self, model: RefModel) -> float:
        """MW not taken by its rigs or by rigs on order for it [MW] (none up to the rounding
        residue of a full site)."""
        spare = self.capacity_mw - self.power_mw(model) - self.on_order_mw
        return spare if spare > SPARE_MW_EPS else 0.0


class RefFirm(mesa.Agent):
    """A mining firm with its own state: floats and its sites."""

    def __init__(self, model: RefModel, sites: list[RefSite], cols: dict[str, float]) -> None:
        super().__init__(model)
        self.sites = sites
        self.hurdle = cols["hurdle_rate"]  # [1/year]
        self.offset = int(cols["review_offset"])  # [days]
        self.cash = cols["cash_usd"]  # [USD]
        self.running_ths = 0.0  # [TH/s]
        self.energy_cost = 0.0  # today's energy bill [USD]
        self.fixed_cost = 0.0  # today's fixed opex [USD]
        self.idle_days = 0
        self.dev_site: RefSite | None = None  # the site taking new MW
        self.active = True

    def mining_sites(self) -> list[RefSite]:
        """Sites mining or in care and maintenance (not under construction)."""
        return [s for s in self.sites if not s.building]

    # phase 2 ----------------------------------------------------------------------------------
    def operate(self) -> None:
        """At each site: rigs fail by their age hazard; each vintage released so far switches
        off after it has not covered its energy cost for some days in a row and back on when
        revenue beats the cost by the margin; the vintages on run, most efficient first, within
        the site's power capacity (nothing runs at a site in care or under construction); then
        the site goes into care after long with no vintage on, or returns from care when one is
        on."""
        m, op = self.model, self.model.sc.operation
        total = 0.0
        for site in self.sites:
            site.fleet = [f * k for f, k in zip(site.fleet, m.survive_today, strict=True)]
            room = 0.0 if site.care or site.building else site.capacity_mw  # [MW]
            running = [0.0] * len(site.fleet)
            for g in range(m.n_released - 1, -1, -1):
                losing = site.cost[g] >= m.rev_on
                site.loss_days[g] = site.loss_days[g] + 1 if losing else 0
                if site.on[g]:
                    site.on[g] = site.loss_days[g] < op.off_after_loss_days
                else:
                    site.on[g] = m.rev_on > site.cost[g] * (1.0 + op.on_margin)
                ths = site.fleet[g]
                if ths > 0 and site.on[g]:
                    want_mw = ths * m.power_mw[g]
                    if want_mw <= room:
                        running[g] = ths
                    elif room > 0:
                        running[g] = room / m.power_mw[g]
                    room -= want_mw
            if site.building:
                site.off_days = 0
            else:
                any_on = any(on and f > 0 for on, f in zip(site.on, site.fleet, strict=True))
                site.off_days = 0 if any_on else site.off_days + 1
                if site.care and any_on:
                    site.care = False
                elif not site.care and site.off_days >= op.care_after_idle_days:
                    site.care = True
            site.running = running
            total += sum(running)
        self.running_ths = total

    # phase 4 ----------------------------------------------------------------------------------
    def account(self) -> None:
        """Pool payout (all BTC sold at today's price), energy and fixed costs of each site."""
        m = self.model
        btc = self.running_ths * m.btc_per_ths
        self.energy_cost = self.fixed_cost = 0.0
        for site in self.sites:
            mwh = sum(r * e for r, e in zip(site.running, m.energy_mwh, strict=True))
            self.energy_cost += mwh * site.power_price
            self.fixed_cost += site.capacity_mw * self.fixed_cost_per_mw(site)
        self.cash += btc * m.price - self.energy_cost - self.fixed_cost

    def fixed_cost_per_mw(self, site: RefSite) -> float:
        """Fixed opex of a site per MW today: a share of it in care, none under construction."""
        sc = self.model.sc
        if site.building:
            return 0.0
        share = sc.operation.care_fixed_cost_share if site.care else 1.0
        return sc.energy.fixed_opex_usd_per_mw_day * share

    # the firm's budget and its bids -----------------------------------------------------------
    def spare_cash(self) -> float:
        """Cash above the reserve of days of operating costs [USD]."""
        reserve = self.model.sc.behaviour.cash_reserve_days * (self.energy_cost + self.fixed_cost)
        return max(self.cash - reserve, 0.0)

    def budget(self) -> float:
        """What a review may spend: a share of the spare cash [USD]."""
        return self.spare_cash() * self.model.sc.behaviour.reinvest_fraction

    def joinable(self) -> bool:
        """Whether the site under build-out takes more MW today (young and small enough)."""
        m, cfg = self.model, self.model.sc.sites
        dev = self.dev_site
        return (
            dev is not None
            and dev.capacity_mw + dev.queued_mw < cfg.max_site_mw
            and m.day - dev.open_day <= cfg.buildout_years * 365
        )

    def new_mw_price(self) -> float:
        """Power price of the firm's next MW: its site under build-out's, or a new contract's."""
        if self.joinable():
            return self.dev_site.power_price
        return self.model.sc.energy.expansion_price_usd_per_mwh

    def new_rig_bids(self, g: int) -> tuple[list[tuple[float, float, float]], float]:
        """Bids for new rigs of generation `g`, per day (the firm buys at its reviews): each
        site with spare MW at its rigs' value there, and new MW (a share of its capacity, at the
        price of its next MW and the capex per MW); and its budget per day. Items are (value,
        quantity, extra cost) [USD/TH, TH/s per day, USD/TH]."""
        m, sc = self.model, self.model.sc
        cadence = float(sc.behaviour.review_cadence_days)
        w = m.power_mw[g]
        items = []
        capacity = 0.0
        for site in self.mining_sites():
            capacity += site.capacity_mw
            spare = site.spare_mw(m)
            if spare > SPARE_MW_EPS:
                value = _values(m, [site.cost[g]], self.hurdle, m.econ_life)[0]
                items.append((value, spare / w / cadence, 0.0))
        cost_new = self.new_mw_price() * m.energy_mwh[g]
        value_new = _values(m, [cost_new], self.hurdle, m.econ_life)[0]
        growth = sc.behaviour.max_capacity_growth_per_review
        items.append((value_new, capacity * growth / w / cadence, sc.energy.capex_usd_per_mw * w))
        return items, self.budget() / cadence

    # phases 8-10 ------------------------------------------------------------------------------
    def decide(self) -> None:
        """Review the fleet when due, resolve distress, exit when idle."""
        m = self.model
        if (m.day + self.offset) % m.sc.behaviour.review_cadence_days == 0:
            self.review()
        if self.cash < 0:
            self.fire_sale()
        if self.cash < -1e-6:
            self.leave()
        elif m.day % IDLE_CHECK_DAYS == 0:
            self.idle_check()

    def review(self) -> None:
        """Move rigs to cheaper spare capacity, then order new rigs for each site's spare MW
        (best NPV per dollar first) and new MW within the budget (retirement is the used-rig
        market's)."""
        m = self.model
        sc = m.sc
        factory = m.factory
        g, price = factory.generation, factory.price
        self.move_rigs()
        budget = self.budget()
        if not math.isfinite(price):
            return
        w = m.power_mw[g]
        # spare MW: rigs where their NPV is positive, the best NPV per dollar first
        wants = []
        for i, site in enumerate(self.mining_sites()):
            npv = _values(m, [site.cost[g]], self.hurdle, m.econ_life)[0] - price
            if npv > 0:
                wants.append((-npv / price, i, site, site.spare_mw(m) / w))
        spent = 0.0
        for _, _, site, want_ths in sorted(wants, key=lambda x: (x[0], x[1])):
            spend = min(want_ths * price, max(budget - spent, 0.0))
            if spend > 0:
                factory.inbox_spare.append((self, site, spend / price))
            spent += spend
        # new MW with rigs to fill them, where the NPV at the price of the new MW covers the build
        capex = sc.energy.capex_usd_per_mw
        joinable, price_mw = self.joinable(), self.new_mw_price()
        gain = _values(m, [price_mw * m.energy_mwh[g]], self.hurdle, m.econ_life)[0]
        gain -= price + w * capex
        rigs_new = infra = 0.0
        capacity = sum(s.capacity_mw for s in self.mining_sites())
        mw_exp = capacity * sc.behaviour.max_capacity_growth_per_review
        cost_exp = mw_exp / w * (price + w * capex)
        if gain > 0 and cost_exp > 0:
            left = max(budget - spent, 0.0)
            left = left if left > BUDGET_RESIDUE * budget else 0.0  # (not a rounding residue)
            frac = min(cost_exp, left) / cost_exp
            mw = mw_exp * frac
            if mw > 0:
                if not joinable:
                    dev = RefSite(m, [0.0] * m.n_gens, 0.0, price_mw, (m.day, self.unique_id), True)
                    self.sites.append(dev)
                    self.dev_site = dev
                self.dev_site.queued_mw += mw
                factory.inbox_new.append((self, self.dev_site, mw, mw_exp / w * frac))
            rigs_new, infra = mw_exp / w * frac * price, mw * capex
        self.cash -= spent + rigs_new + infra

    def move_rigs(self) -> None:
        """Rigs move from the dearest site with rigs to the cheapest with room, least efficient
        first, where the energy saved over their life beats the move's cost."""
        m = self.model
        sc = m.sc
        mining = self.mining_sites()
        with_rigs = [s for s in mining if any(f > 0 for f in s.fleet)]
        with_room = [s for s in mining if s.spare_mw(m) > SPARE_MW_EPS]
        if not with_rigs or not with_room:
            return
        src = max(with_rigs, key=lambda s: s.power_price)  # the first of equals
        dst = min(with_room, key=lambda s: s.power_price)
        gain = src.power_price - dst.power_price
        if gain <= 0:
            return
        days = _pv_days(self.hurdle, sc.hardware.economic_life_years)
        room = dst.spare_mw(m)
        moved_mw, moves = 0.0, []
        for g in range(len(src.fleet)):  # least efficient first
            if src.fleet[g] <= 0 or gain * days * m.energy_mwh[g] <= sc.sites.move_cost_usd_per_th:
                continue
            mw = src.fleet[g] * m.power_mw[g]
            take_mw = min(max(room - moved_mw, 0.0), mw)
            ths = src.fleet[g] if take_mw >= mw else min(take_mw / m.power_mw[g], src.fleet[g])
            moves.append((g, ths))
            moved_mw += mw
        cost = sum(ths for _, ths in moves) * sc.sites.move_cost_usd_per_th
        spare = self.spare_cash()
        afford = spare / cost if cost > spare else 1.0  # as many as spare cash pays for
        for g, ths in moves:
            src.fleet[g] -= ths * afford
            dst.fleet[g] += ths * afford
            self.cash -= ths * afford * sc.sites.move_cost_usd_per_th

    def fire_sale(self) -> None:
        """Sell just enough rigs (the same share at every site) to the dealer at its bids to
        cover the cash gap."""
        m = self.model
        bid = m.dealer.prices
        value = sum(f * p for s in self.sites for f, p in zip(s.fleet, bid, strict=True))
        frac = min(1.0, -self.cash / value) if value > 0 else 1.0
        for site in self.sites:
            if any(f > 0 for f in site.fleet):
                sold = [f * frac for f in site.fleet]
                site.fleet = [f - x for f, x in zip(site.fleet, sold, strict=True)]
                self.cash += m.dealer.offer(self, sold)

    def idle_check(self) -> None:
        """Count idle days (no rigs at all); exit after the scenario's limit unless the firm
        can pay for its sites (as they are, in care) for as long again and rigs on one of them
        have a positive NPV."""
        m = self.model
        sc = m.sc
        idle = not any(f > 0 for s in self.sites for f in s.fleet)
        self.idle_days = self.idle_days + IDLE_CHECK_DAYS if idle else 0
        limit = sc.consolidation.voluntary_exit_idle_days
        if not idle or self.idle_days < limit:
            return
        fixed = sum(s.capacity_mw * self.fixed_cost_per_mw(s) for s in self.sites)
        g, price = m.factory.generation, m.factory.price
        use = math.isfinite(price) and any(
            _values(m, [s.cost[g]], self.hurdle, m.econ_life)[0] - price > 0
            for s in self.mining_sites()
        )
        if not (self.cash >= fixed * limit and use):
            self.leave()

    def leave(self) -> None:
        """Exit: the estate's cash goes to lenders and owners; drop out of ``model.agents``
        (rigs still on order are sold to the dealer when they arrive)."""
        self.cash = 0.0
        self.active = False
        self.model.n_exits += 1
        self.remove()


@dataclass
class RefOrder:
    """New rigs ordered for a firm's site (spare MW) or with its new MW, shipped on `due`."""

    due: int
    firm: RefFirm
    site: RefSite
    generation: int
    ths: float  # [TH/s]
    mw: float = 0.0  # new MW that come online with them (0: rigs for spare MW) [MW]


class RefFactory:
    """The makers of new rigs: they make the newest generation, at a price set every pricing
    period where the firms' bids per day meet what can be made per day (capacity less a backlog
    beyond some days of it), never below the manufacturing cost; orders wait for the backlog
    (first in, first out) and ship after the lead time; capacity follows the lagged margin."""

    def __init__(self, model: RefModel) -> None:
        self.model = model
        cfg = model.sc.asic
        self.cfg = cfg
        self.capacity = cfg.initial_capacity_ehs_per_year * 1e6 / 365.0  # [TH/s per day]
        self.backlog = 0.0  # ordered and not yet made [TH/s]
        self.margin = 0.0  # lagged gross margin [-]
        self.weight = 1.0 - 0.5 ** (cfg.pricing_period_days / cfg.margin_lag_days)
        self.generation = 0
        self.price = math.inf  # [USD/TH]
        self.orders: list[RefOrder] = []
        # the day's orders from the reviews, booked after the phase: (firm, site, ths) for
        # spare MW and (firm, site, mw, ths) for new MW
        self.inbox_spare: list[tuple[RefFirm, RefSite, float]] = []
        self.inbox_new: list[tuple[RefFirm, RefSite, float, float]] = []

    def new_prices(self) -> list[float]:
        """Price of new rigs per generation (+inf for those not made) [USD/TH]."""
        prices = [math.inf] * self.model.n_gens
        prices[self.generation] = self.price
        return prices

    def delivery_days(self) -> int:
        """Days from an order placed now to its delivery: the backlog, then the lead time."""
        return math.ceil(self.backlog / max(self.capacity, 1e-9)) + self.cfg.lead_time_days

    def set_price(self, day: int) -> None:
        """The period's price of the newest generation, and the margin capacity follows."""
        m, cfg = self.model, self.cfg
        self.generation = g = max((k for k, r in enumerate(m.release_day) if r <= day), default=0)
        cost = cfg.unit_cost_usd_per_w * m.efficiency[g]
        bids = m.new_rig_bids(g)
        excess = max(self.backlog - self.capacity * cfg.backlog_days, 0.0)
        supply = max(self.capacity - excess / cfg.pricing_period_days, 0.0)
        self.price = clearing_price(bids, supply, cost) if bids.value.size else cost
        if self.price > cost * (1 + 1e-6):
            margin = (self.price - cost) / cost
        elif self.capacity > 0:  # at the floor: the idle share of capacity
            margin = -(1.0 - min(demand(cost, bids) / self.capacity, 1.0))
        else:
            margin = 0.0
        self.margin += self.weight * (margin - self.margin)

    def daily(self, day: int) -> None:
        """Make what is on order, adjust capacity, ship what is due, price on the period."""
        cfg = self.cfg
        self.backlog = max(self.backlog - self.capacity, 0.0)
        self.capacity *= math.exp(cfg.capacity_response_per_year * math.tanh(self.margin) / 365)
        due = [o for o in self.orders if o.due <= day]
        self.orders = [o for o in self.orders if o.due > day]
        for o in due:
            self.deliver(o)
        if day % cfg.pricing_period_days == 0 and day > 0:
            self.set_price(day)

    def deliver(self, o: RefOrder) -> None:
        """Rigs for spare MW join their site (as many as fit); the rest, and the rigs of firms
        that have left, go to the dealer (the proceeds to the firm if it is still there)."""
        m = self.model
        w = m.power_mw[o.generation]
        site = o.site
        site.on_order_mw = max(site.on_order_mw - o.ths * w, 0.0)
        fits = 0.0
        if o.firm.active:
            room = site.capacity_mw - site.power_mw(m)
            fits = min(max(room / w, 0.0), o.ths)
            site.fleet[o.generation] += fits
        left = o.ths - fits
        if left > 1e-9 * o.ths:
            rigs = [0.0] * m.n_gens
            rigs[o.generation] = left
            usd = m.dealer.buy(rigs)
            if o.firm.active:
                o.firm.cash += usd

    def book_orders(self, day: int) -> None:
        """Book the day's orders (for spare MW by site in the order the sites opened, then the
        new MW by firm): the rigs for spare MW ship after today's wait, those for new MW after
        the wait that includes them (their MW come online with them)."""
        m = self.model
        g = self.generation
        if self.inbox_spare:
            due = day + self.delivery_days()
            spare = sorted(self.inbox_spare, key=lambda x: x[1].key)
            for firm, site, ths in spare:
                self.orders.append(RefOrder(due, firm, site, g, ths))
                site.on_order_mw += ths * m.power_mw[g]
            self.backlog += sum(ths for *_, ths in spare)
        if self.inbox_new:
            due = day + self.delivery_days()
            new = sorted(self.inbox_new, key=lambda x: x[0].unique_id)
            for firm, site, mw, ths in new:
                m.queued.append(RefOrder(due, firm, site, g, ths, mw))
            self.backlog += sum(ths for *_, ths in new)
        self.inbox_spare, self.inbox_new = [], []


class RefDealer:
    """The used-rig dealer: it buys every rig offered at its posted bid for the generation and,
    every clearing period, sells its stock, newest generations first, at the uniform price
    that clears it and the rigs the firms value less than its bid (their asks) against the
    firms' bids for their spare MW within their budgets; the rest of its stock is scrapped. Its
    bid is a share of the price that clears a small lot of each generation."""

    def __init__(self, model: RefModel) -> None:
        self.model = model
        self.cfg = model.sc.used_rigs
        self.stock = [0.0] * model.n_gens  # [TH/s]
        self.prices = [self.cfg.scrap_usd_per_th] * model.n_gens  # posted bids [USD/TH]
        self.inbox: list[tuple[int, list[float]]] = []  # rigs firms sold it during a phase

    def buy(self, rigs: list[float]) -> float:
        """Take rigs (by generation) into stock at the posted bids; returns what it pays."""
        self.stock = [s + r for s, r in zip(self.stock, rigs, strict=True)]
        return sum(r * p for r, p in zip(rigs, self.prices, strict=True))

    def offer(self, firm: RefFirm, rigs: list[float]) -> float:
        """A firm sells it rigs during a phase: paid at once at the posted bids, into stock
        after the phase (:meth:`take_in`)."""
        self.inbox.append((firm.unique_id, rigs))
        return sum(r * p for r, p in zip(rigs, self.prices, strict=True))

    def take_in(self) -> None:
        """The rigs sold to it during the phase join its stock (firms in insertion order)."""
        for _, rigs in sorted(self.inbox, key=lambda x: x[0]):
            self.stock = [s + r for s, r in zip(self.stock, rigs, strict=True)]
        self.inbox = []

    def daily(self, day: int) -> None:
        if day % self.cfg.clearing_period_days == 0 and day > 0:
            self.clear()

    def clear(self, trade: bool = True) -> None:
        """Post this period's bids and clear each generation held, newest first (without
        `trade`, on day one, post bids only)."""
        m, cfg = self.model, self.cfg
        net = 1.0 - cfg.dealer_spread
        firms = sorted(m.agents, key=lambda a: a.unique_id)
        sites = sorted(((s, a) for a in firms for s in a.mining_sites()), key=lambda x: x[0].key)
        installed = [0.0] * m.n_gens
        for s, _ in sites:
            installed = [i + f for i, f in zip(installed, s.fleet, strict=True)]
        held = [g for g in range(m.n_gens) if installed[g] + self.stock[g] > 0]
        # buyers: the sites with spare MW of firms with a budget, valuing every generation
        budget = {a.unique_id: a.budget() for a in firms}
        buyers = [
            (s, a) for s, a in sites if s.spare_mw(m) > SPARE_MW_EPS and budget[a.unique_id] > 0
        ]
        bidders = sorted({a.unique_id for _, a in buyers})
        group = [bidders.index(a.unique_id) for _, a in buyers]
        budgets = [budget[u] for u in bidders]
        spare = [s.spare_mw(m) for s, _ in buyers]
        values = [_values(m, s.cost, a.hurdle, m.val_life) for s, a in buyers]
        # sellers: every site with rigs, at the price whose bid is what the rigs are worth to keep
        sellers = [(s, a) for s, a in sites if any(f > 0 for f in s.fleet)]
        keep = [[max(v, 0.0) for v in _values(m, s.cost, a.hurdle, m.val_life)] for s, a in sellers]
        for g in reversed(held):
            w = m.power_mw[g]
            bids = Bids(
                np.array([v[g] for v in values]),
                np.array([x / w for x in spare]),
                np.zeros(len(buyers)),
                np.array(group, dtype=np.intp),
                np.array(budgets),
            )
            asks = Asks(
                np.array([k[g] / net for k in keep]), np.array([s.fleet[g] for s, _ in sellers])
            )
            price = clearing_price(
                bids,
                self.stock[g],
                cfg.scrap_usd_per_th,
                asks=asks,
                min_supply=cfg.depth_share * installed[g],
            )
            self.prices[g] = max(net * price, cfg.scrap_usd_per_th)
            if not trade:
                continue
            at = just_below(price, cfg.scrap_usd_per_th)  # the marginal buyer is served
            offered = asks.sell(price, demand(at, bids) - self.stock[g]).tolist()
            sold_total = 0.0
            for (s, a), ths in zip(sellers, offered, strict=True):
                if ths > 0:
                    sold = min(ths, s.fleet[g])
                    s.fleet[g] -= sold
                    a.cash += sold * self.prices[g]
                    sold_total += sold
            self.stock[g] += sold_total
            stock = self.stock[g]
            if stock <= 0:
                continue
            got = allocate(at, bids, stock).tolist()
            for i, ((s, a), ths) in enumerate(zip(buyers, got, strict=True)):
                if ths > 0:
                    s.fleet[g] += ths
                    a.cash -= ths * price
                    spare[i] = max(spare[i] - ths * w, 0.0)
                    budgets[group[i]] -= ths * price
            if any(x > 0 for x in got):  # filled or spent in full: none left (not a residue)
                spare = [0.0 if x <= SPARE_MW_EPS else x for x in spare]
                budgets = [0.0 if b <= BUDGET_EPS_USD else b for b in budgets]
            self.stock[g] = 0.0  # what nobody bought is scrapped


def _hhi(model: RefModel) -> float:
    """HHI of running hashrate by firm [0-10,000]."""
    total = sum(a.running_ths for a in model.agents)
    return sum((a.running_ths / total * 100.0) ** 2 for a in model.agents) if total else 0.0


class RefModel(mesa.Model):
    """The reference model (one step = one day).

    Args:
        sc: the scenario (must pass :func:`check_covered`); stored as ``self.sc`` because Mesa
            owns ``self.scenario``.
        seed: root seed of the engine's named streams (price, fees, population).
        shuffle_seed: seed of Mesa's RNG, which only orders ``shuffle_do`` (default: `seed`).
    """

    def __init__(self, sc: Scenario, seed: int, shuffle_seed: int | None = None) -> None:
        check_covered(sc)
        super().__init__(rng=seed if shuffle_seed is None else shuffle_seed)
        self.sc = sc
        self.n_days = round(sc.run.years * 365)
        self.day = 0
        self.n_exits = 0
        streams = make_streams(seed)
        prices = scenario_price_path(sc.price, streams["price"], sc.run.start_date, self.n_days)
        fees = scenario_fee_path(sc.fees, streams["fees"], self.n_days)
        self.prices, self.fees = prices.tolist(), fees.tolist()  # [USD], [BTC/block]
        self.backlog = 0.0  # transactions waiting for blocks [blocks]
        self.gens = hardware.build_generations(sc.hardware, sc.run.start_date, self.n_days)
        self.n_gens = self.gens.n
        self.energy_mwh = self.gens.energy_mwh_per_th_day.tolist()  # [MWh/(TH/s)/day]
        self.power_mw = self.gens.power_mw_per_th.tolist()  # [MW/(TH/s)]
        self.efficiency = self.gens.efficiency_j_per_th.tolist()  # [J/TH]
        self.release_day = self.gens.release_day.tolist()  # [day]
        self.econ_life = sc.hardware.economic_life_years  # [years]
        self.decline = sc.behaviour.expected_hashprice_decline_per_year  # [1/year]
        self.chain = chain.ChainState.start(
            sc.protocol.start_height, sc.protocol.initial_difficulty
        )
        self.carry = 0.0  # fractional blocks carried to the next day (no block luck)
        reward0 = chain.subsidy_btc(sc.protocol.start_height + 1) + sc.fees.base_btc_per_block
        self.hp_exp = self._revenue_per_th_day(reward0, self.prices[0])  # [USD/(TH/s)/day]
        self.hp_per_reward = self.hp_exp / reward0  # what the average smooths [per BTC]
        self.hp_value = self.hp_exp  # the hashprice rigs are valued at (the next halving)
        self.ema = 1.0 - 0.5 ** (1.0 / sc.behaviour.hashprice_ema_halflife_days)
        if sc.firms.population == "explicit":
            pop = explicit_population(sc, self.gens, unlimited=False)
        else:
            revenue0 = reward0 * chain.BLOCKS_PER_DAY * self.prices[0]
            pop = calibrated_population(
                streams["population"], streams["sites"], sc, self.gens, revenue0
            )
        cols = {k: v.tolist() for k, v in pop.cols.items()}
        plan = pop.sites
        sites: list[list[RefSite]] = [[] for _ in pop.names]
        for k in range(plan.n):
            site = RefSite(
                self,
                plan.fleet_ths[k].tolist(),
                float(plan.capacity_mw[k]),
                float(plan.power_price_usd_per_mwh[k]),
                (-1, k),
            )
            sites[int(plan.firm[k])].append(site)
        for i, own in enumerate(sites):
            RefFirm(self, own, {k: float(v[i]) for k, v in cols.items()})
        self.queued: list[RefOrder] = []  # new MW and their rigs, online when delivered
        self.factory = RefFactory(self)
        self.dealer = RefDealer(self)
        self._today()
        self.dealer.clear(trade=False)  # day one: the markets post their first prices
        self.factory.set_price(0)
        self.hashrate_ehs = self.hashprice = 0.0
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "network_hashrate_ehs": "hashrate_ehs",
                "hashprice_usd_per_ph_day": "hashprice",
                "difficulty": lambda m: m.chain.difficulty,
                "cash_usd": lambda m: sum(a.cash for a in m.agents),
                "active_firms": lambda m: len(m.agents),
                "exits_cum": "n_exits",
                "hhi_firm": _hhi,
            }
        )

    def _revenue_per_th_day(self, reward_btc_per_block: float, price_usd: float) -> float:
        """Expected miner revenue per TH/s per day at the current difficulty [USD]."""
        implied_ths = chain.implied_hashrate_ehs(self.chain.difficulty) * 1e6
        payout = 1.0 - self.sc.protocol.pool_fee
        return reward_btc_per_block * price_usd * chain.BLOCKS_PER_DAY * payout / implied_ths

    def _today(self) -> None:
        """Generations released so far, today's survival of each generation's rigs and the
        life over which they are valued (expected remaining life, at most the economic life)."""
        d, sc = self.day, self.sc
        self.n_released = sum(1 for r in self.release_day if r <= d)
        ages = np.array([d - r for r in self.release_day], dtype=float)  # [days]
        self.survive_today = operation.daily_survival(ages, sc.operation).tolist()
        life = operation.remaining_life_years(ages / 365.0, sc.operation).tolist()
        self.val_life = [min(x, self.econ_life) for x in life]  # [years]

    def new_rig_bids(self, g: int) -> Bids:
        """The firms' bids for new rigs of generation `g`, per day, one group per firm."""
        values, quantities, extra, groups, budgets = [], [], [], [], []
        firms = sorted(self.agents, key=lambda a: a.unique_id)
        for a in (a for a in firms if a.mining_sites()):
            items, budget = a.new_rig_bids(g)
            for v, q, x in items:
                values.append(v)
                quantities.append(q)
                extra.append(x)
                groups.append(len(budgets))
            budgets.append(budget)
        if not budgets:
            return Bids.empty()
        return Bids(
            np.array(values),
            np.array(quantities),
            np.array(extra),
            np.array(groups, dtype=np.intp),
            np.array(budgets),
        )

    def connect(self, day: int) -> None:
        """New MW queued for their sites come online with their rigs; the rigs of firms that
        have left go to the dealer."""
        due = [o for o in self.queued if o.due <= day]
        self.queued = [o for o in self.queued if o.due > day]
        for o in due:
            o.site.queued_mw -= o.mw
            rigs = [0.0] * self.n_gens
            rigs[o.generation] = o.ths
            if not o.firm.active:
                self.dealer.buy(rigs)
                continue
            o.site.capacity_mw += o.mw
            o.site.fleet[o.generation] += o.ths
            o.site.building = o.site.care = False

    def step(self) -> None:
        """Advance one day."""
        d, sc = self.day, self.sc
        self._today()
        self.price = self.prices[d]
        fee = (
            self.fees[d] * (1.0 + self.backlog / chain.BLOCKS_PER_DAY) ** sc.fees.backlog_elasticity
        )
        subsidy = chain.subsidy_btc(self.chain.height + 1)
        self.rev_th = self._revenue_per_th_day(subsidy + fee, self.price)
        # what switches vintages: today's revenue over the outlook, the retarget projected
        # at the period's pace so far (first day: yesterday's hashrate; none on day one)
        outlook = 1.0
        if d > 0:
            yesterday = chain.expected_blocks_per_day(self.hashrate_ehs, self.chain.difficulty)
            rate = chain.period_block_rate(self.chain, yesterday)
            outlook = chain.revenue_outlook_factor(self.chain, rate, sc.operation.outlook_days)
        self.rev_on = self.rev_th * outlook
        self.agents.shuffle_do("operate")
        total_ths = sum(a.running_ths for a in self.agents)
        self.hashrate_ehs = total_ths / 1e6
        difficulty_start = self.chain.difficulty
        self.carry += chain.expected_blocks_per_day(self.hashrate_ehs, difficulty_start)
        n_blocks = int(self.carry)
        self.carry -= n_blocks
        self.chain, blocks = chain.advance_day(self.chain, n_blocks)
        decay = sc.fees.backlog_decay_per_day
        self.backlog = max(0.0, (self.backlog + chain.BLOCKS_PER_DAY - n_blocks) * (1.0 - decay))
        to_firms = (blocks.subsidy_btc + fee * n_blocks) * (1.0 - sc.protocol.pool_fee)
        self.btc_per_ths = to_firms / total_ths if total_ths > 0 else 0.0
        self.agents.shuffle_do("account")
        # adaptive expectations per BTC of block reward, times the next block's reward, and
        # the valuation hashprice that anticipates the next halving
        if total_ths > 0 and subsidy + fee > 0:
            realised = to_firms * self.price / total_ths / (subsidy + fee)
            self.hp_per_reward += self.ema * (realised - self.hp_per_reward)
        subsidy_next = chain.subsidy_btc(self.chain.height + 1)
        reward = subsidy_next + fee
        self.hp_exp = self.hp_per_reward * reward
        to_halving = chain.HALVING_INTERVAL_BLOCKS - (
            (self.chain.height + 1) % chain.HALVING_INTERVAL_BLOCKS
        )
        self.hp_value = self.hp_exp * hardware.halving_factor(
            to_halving / chain.BLOCKS_PER_DAY / 365.0,
            (subsidy_next / 2 + fee) / reward if reward > 0 else 1.0,
            sc.firms.hurdle_rate_private,
            self.decline,
            self.econ_life,
        )
        self.hashprice = (  # [USD/PH/day], as hashprice indices measure it
            (subsidy + fee)
            * chain.BLOCKS_PER_DAY
            * self.price
            / (chain.implied_hashrate_ehs(difficulty_start) * 1000.0)
        )
        self.factory.daily(d)  # the markets: deliveries, the new-rig price, the used clearing
        self.dealer.daily(d)
        self.connect(d)  # new MW online
        self.agents.shuffle_do("decide")  # reviews, distress, exits
        self.factory.book_orders(d)
        self.dealer.take_in()
        self.datacollector.collect(self)
        self.day += 1
        self.running = self.day < self.n_days


def run_reference(sc: Scenario, seed: int, shuffle_seed: int | None = None) -> RefModel:
    """Build the reference model and run it to the scenario's horizon."""
    m = RefModel(sc, seed, shuffle_seed)
    while m.running:
        m.step()
    return m


if __name__ == "__main__":
    import time

    t0 = time.perf_counter()
    ref = run_reference(reference_case(300, 1.0), seed=1)
    print(ref.datacollector.get_model_vars_dataframe().tail())
    print(f"{time.perf_counter() - t0:.2f} s")
