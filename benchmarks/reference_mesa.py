"""The engine's daily rules written the idiomatic Mesa way: a performance (and correctness)
reference for the vectorised engine.

Each firm is a :class:`RefFirm` (a ``mesa.Agent``) holding plain Python floats and a list of
its sites (:class:`RefSite`: power price, capacity, fleet by generation, energy cost by
generation) and running its own rules in per-firm Python. The model calls
``model.agents.shuffle_do("operate")`` (phase 2), aggregates, mines, then
``model.agents.shuffle_do("step")`` (phases 4-6: account, fleet review on the firm's cadence,
distress, idle exit); a ``mesa.DataCollector`` records model reporters every day. This is
what a Mesa user would write without the columnar engine. It reuses the engine's pure pieces
(protocol functions, the exogenous price and fee paths, rig prices, the initial population), so
what a benchmark compares is per-agent Python against array operations.

Order independence (the engine is simultaneous, ``shuffle_do`` is random): within a phase an
agent reads only model-level values fixed before the phase (revenue per TH-day, BTC per TH,
today's price, hashprice expectation and rig prices) and writes only its own state; every
model-level aggregate (network hashrate, expectations, reporters) is computed after the phase,
iterating ``model.agents`` in insertion order. The trajectory is therefore the same for any
shuffle (``tests/test_reference_mesa.py`` checks this with two shuffle seeds).

Rules covered, as in ``abm/behaviour.py``, ``abm/operation.py``, ``abm/day.py``,
``abm/review.py`` and ``abm/consolidation.py`` with finance, auctions, acquisitions, entry,
hosting and sovereigns off (see :func:`check_covered`): fees per block raised by the backlog of
blocks not found; at each site, rigs fail by their age hazard, each vintage switches off after
it has not covered its energy cost at the site's power price for some days and back on above a
margin, the vintages that are on fill the capacity most-efficient first, and a site with no
vintage on for long goes into care and maintenance (a share of the fixed cost) until one is on
again; pooled revenue by hash share minus the pool fee; energy and fixed costs per site;
adaptive hashprice expectations; the fleet review (sell vintages whose secondary price is at
least their value of keeping; move rigs from the dearest site to the cheapest with room when the
saving beats the move; buy, for each site, the generation with the best NPV per dollar into its
headroom, the best sites first within a cash budget; new MW at the site under build-out or a
new site at the market power price); fire sales and insolvent exits; exits of firms idle for
six months that cannot pay for their sites for as long again or have no positive-NPV use for
them.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from abm import chain, operation
from abm.firms import calibrated_population, explicit_population
from abm.markets import hardware
from abm.markets.fees import scenario_fee_path
from abm.markets.price import scenario_price_path
from abm.rng import make_streams
from abm.scenario import Scenario

__all__ = ["RefFirm", "RefModel", "check_covered", "reference_case", "run_reference"]

IDLE_CHECK_DAYS = 30  # as abm.consolidation.IDLE_CHECK_DAYS [days]


def reference_case(
    n_firms: int = 30, years: float = 1.0, drift: float = -0.8, expansion_price: float = 45.0
) -> Scenario:
    """The deterministic scenario that both the engine and the reference implement.

    The single place to switch engine features off: block luck, price noise, outages and
    seasonality, finance, auctions, acquisitions, entry, hosting and sovereigns. By default the
    price drifts down 80%/yr, so firms retire rigs, move them to cheaper sites, fire-sell and
    exit within a year; with a positive `drift` and cheap new power (`expansion_price`
    [USD/MWh]) they build new sites.
    """
    return Scenario().with_overrides(
        {
            "run.years": years,
            "firms.n_firms": n_firms,
            "firms.n_large": 5,
            "firms.tail_max_ehs": 1130.0,
            "protocol.block_luck": False,
            "price.volatility_per_year": 0.0,
            "price.jump_rate_per_year": 0.0,
            "price.drift_per_year": drift,
            "energy.expansion_price_usd_per_mwh": expansion_price,
            "energy.outage_prob_per_day": dict.fromkeys(
                ("hydro", "wind", "solar", "gas", "grid", "stranded"), 0.0
            ),
            "energy.seasonal_share_of_hydro": 0.0,
            "finance.enabled": False,
            "ai.enabled": False,
            "consolidation.auctions": False,
            "consolidation.acquisitions": False,
            "consolidation.entry": False,
            "sites.hosted_share_small": 0.0,
            "sovereigns": [],
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
    if sc.finance.enabled:
        problems.append("finance.enabled")
    c = sc.consolidation
    problems += [
        f"consolidation.{k}" for k in ("auctions", "acquisitions", "entry") if getattr(c, k)
    ]
    if sc.sovereign_scale > 0 and any(s.enabled for s in sc.sovereigns):
        problems.append("sovereigns")
    if sc.sites.hosted_share_small > 0:
        problems.append("sites.hosted_share_small")
    if problems:
        raise ValueError(f"the Mesa reference does not model: {', '.join(problems)}")


def _pv_days(rate_per_year: float, years: float) -> float:
    """PV of 1 USD/day paid continuously for `years` at `rate_per_year` [days]."""
    r = max(rate_per_year, 1e-9)
    return (1.0 - math.exp(-r * years)) / r * 365.0


class RefSite:
    """One site of a firm: power price, capacity and fleet by generation."""

    def __init__(
        self, model: RefModel, fleet_ths: list[float], capacity_mw: float, price: float
    ) -> None:
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
        self.building = False  # opened for new MW, not yet online

    def power_mw(self, model: RefModel) -> float:
        return sum(f * w for f, w in zip(self.fleet, model.power_mw, strict=True))


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

    # phase 2 ----------------------------------------------------------------------------------
    def operate(self) -> None:
        """At each site: rigs fail by their age hazard; each vintage switches off after it has
        not covered its energy cost for some days in a row and back on when revenue beats the
        cost by the margin; the vintages on run, most efficient first, within the site's power
        capacity (nothing runs at a site in care); then the site goes into care after long
        with no vintage on, or returns from care when one is on."""
        m, op = self.model, self.model.sc.operation
        total = 0.0
        for site in self.sites:
            site.fleet = [f * k for f, k in zip(site.fleet, m.survive_today, strict=True)]
            room = 0.0 if site.care or site.building else site.capacity_mw  # [MW]
            running = [0.0] * len(site.fleet)
            for g in range(len(site.fleet) - 1, -1, -1):
                losing = site.cost[g] >= m.rev_th
                site.loss_days[g] = site.loss_days[g] + 1 if losing else 0
                if site.on[g]:
                    site.on[g] = site.loss_days[g] < op.off_after_loss_days
                else:
                    site.on[g] = m.rev_th > site.cost[g] * (1.0 + op.on_margin)
                ths = site.fleet[g]
                if ths > 0 and site.on[g]:
                    want_mw = ths * m.power_mw[g]
                    if want_mw <= room:
                        running[g] = ths
                    elif room > 0:
                        running[g] = room / m.power_mw[g]
                    room -= want_mw
            if not site.building:
                any_on = any(on and f > 0 for on, f in zip(site.on, site.fleet, strict=True))
                site.off_days = 0 if any_on else site.off_days + 1
                if site.care and any_on:
                    site.care = False
                elif not site.care and site.off_days >= op.care_after_idle_days:
                    site.care = True
            site.running = running
            total += sum(running)
        self.running_ths = total

    # phases 4-6 -------------------------------------------------------------------------------
    def step(self) -> None:
        """Account for the day, review the fleet when due, resolve distress, exit when idle."""
        m = self.model
        self.account()
        if (m.day + self.offset) % m.sc.behaviour.review_cadence_days == 0:
            self.review()
        if self.cash < 0:
            self.fire_sale()
        if self.cash < -1e-6:
            self.leave()
        elif m.day % IDLE_CHECK_DAYS == 0:
            self.idle_check()

    def account(self) -> None:
        """Pool payout (all BTC sold at today's price), energy and fixed costs of each site."""
        m = self.model
        btc = self.running_ths * m.btc_per_ths
        self.energy_cost = self.fixed_cost = 0.0
        care_share = m.sc.operation.care_fixed_cost_share
        for site in self.sites:
            mwh = sum(r * e for r, e in zip(site.running, m.energy_mwh, strict=True))
            self.energy_cost += mwh * site.power_price
            fixed = site.capacity_mw * m.sc.energy.fixed_opex_usd_per_mw_day
            self.fixed_cost += fixed * care_share if site.care else fixed
        self.cash += btc * m.price - self.energy_cost - self.fixed_cost

    def _npv(self, cost: float, price: float) -> float:
        m, b = self.model, self.model.sc.behaviour
        life = m.sc.hardware.economic_life_years
        pv_rev = _pv_days(self.hurdle + b.expected_hashprice_decline_per_year, life)
        return m.hp_exp * pv_rev - cost * _pv_days(self.hurdle, life) - price

    def _best(self, costs: list[float]) -> tuple[int, float]:
        """Generation with the best NPV per dollar at energy costs `costs` (and its NPV)."""
        best, best_per_dollar, best_npv = -1, -math.inf, 0.0
        for g, price in enumerate(self.model.new_price):
            if math.isfinite(price):
                npv = self._npv(costs[g], price)
                if npv / price > best_per_dollar:
                    best, best_per_dollar, best_npv = g, npv / price, npv
        return best, best_npv

    def _keep_value(self, cost: float, life_years: float) -> float:
        """Value of keeping 1 TH/s: PV at the hurdle of the expected margin while it is
        positive (switched off after), over its remaining expected life [USD/TH]."""
        m, d = self.model, self.model.sc.behaviour.expected_hashprice_decline_per_year
        if m.hp_exp <= cost:
            return 0.0
        t_star = math.log(m.hp_exp / cost) / d if cost > 0 and d > 0 else math.inf
        years = min(life_years, t_star)
        value = m.hp_exp * _pv_days(self.hurdle + d, years) - cost * _pv_days(self.hurdle, years)
        return max(value, 0.0)

    def review(self) -> None:
        """Retire, move rigs to cheaper spare capacity, then buy for each site's headroom (best
        sites first) and new MW."""
        m = self.model
        sc = m.sc
        b = sc.behaviour
        new_price, used_price = m.new_price, m.used_price
        for site in self.sites:  # retire: worth at least as much sold as kept
            for g, ths in enumerate(site.fleet):
                if ths > 0 and used_price[g] >= self._keep_value(site.cost[g], m.life_years[g]):
                    self.cash += ths * used_price[g]
                    site.fleet[g] = 0.0
        self.move_rigs()
        reserve = b.cash_reserve_days * (self.energy_cost + self.fixed_cost)
        budget = max(self.cash - reserve, 0.0) * b.reinvest_fraction
        # spare MW: each site's best generation, the best NPV per dollar first
        wants = []
        for i, site in enumerate(self.sites):
            if site.building:
                continue
            g, npv = self._best(site.cost)
            headroom = site.capacity_mw - site.power_mw(m)
            if g >= 0 and npv > 0:
                wants.append((-npv / new_price[g], i, g, max(headroom, 0.0) / m.power_mw[g]))
        spent = 0.0
        for _, i, g, want_ths in sorted(wants):
            spend = min(want_ths * new_price[g], max(budget - spent, 0.0))
            self.sites[i].fleet[g] += spend / new_price[g]
            spent += spend
        self.cash -= spent
        self.build(budget - spent)

    def move_rigs(self) -> None:
        """Rigs move from the dearest site with rigs to the cheapest with room, least efficient
        first, where the energy saved over their life beats the move's cost."""
        m = self.model
        sc = m.sc
        mining = [s for s in self.sites if not s.building]
        with_rigs = [s for s in mining if any(f > 0 for f in s.fleet)]
        with_room = [s for s in mining if s.capacity_mw - s.power_mw(m) > 1e-9]
        if not with_rigs or not with_room:
            return
        src = max(with_rigs, key=lambda s: s.power_price)  # the first of equals
        dst = min(with_room, key=lambda s: s.power_price)
        gain = src.power_price - dst.power_price
        if gain <= 0:
            return
        days = _pv_days(self.hurdle, sc.hardware.economic_life_years)
        room = dst.capacity_mw - dst.power_mw(m)
        moved_mw, moves = 0.0, []
        for g in range(len(src.fleet)):  # least efficient first
            if src.fleet[g] <= 0 or gain * days * m.energy_mwh[g] <= sc.sites.move_cost_usd_per_th:
                continue
            take_mw = min(max(room - moved_mw, 0.0), src.fleet[g] * m.power_mw[g])
            moves.append((g, min(take_mw / m.power_mw[g], src.fleet[g])))
            moved_mw += src.fleet[g] * m.power_mw[g]
        cost = sum(ths for _, ths in moves) * sc.sites.move_cost_usd_per_th
        reserve = sc.behaviour.cash_reserve_days * (self.energy_cost + self.fixed_cost)
        spare = max(self.cash - reserve, 0.0)
        afford = spare / cost if cost > spare else 1.0  # as many as spare cash pays for
        for g, ths in moves:
            src.fleet[g] -= ths * afford
            dst.fleet[g] += ths * afford
            self.cash -= ths * afford * sc.sites.move_cost_usd_per_th

    def build(self, budget: float) -> None:
        """New MW with rigs to fill them, when the NPV at the price of the new MW covers the
        build: at the site under build-out while it is young and small, else at a new site at
        the market power price."""
        m = self.model
        sc = m.sc
        b, cfg = sc.behaviour, sc.sites
        dev = self.dev_site
        joinable = (
            dev is not None
            and dev.capacity_mw < cfg.max_site_mw
            and m.day - dev.open_day <= cfg.buildout_years * 365
        )
        price_mw = dev.power_price if joinable else sc.energy.expansion_price_usd_per_mwh
        capex = sc.energy.capex_usd_per_mw
        costs = [price_mw * e for e in m.energy_mwh]
        best, best_per_dollar = -1, -math.inf
        for g, price in enumerate(m.new_price):
            if math.isfinite(price):
                infra = m.power_mw[g] * capex
                gain = self._npv(costs[g], price) - infra
                if gain / (price + infra) > best_per_dollar:
                    best, best_per_dollar = g, gain / (price + infra)
        if best < 0 or best_per_dollar <= 0:
            return
        mw_per_th, price = m.power_mw[best], m.new_price[best]
        capacity = sum(s.capacity_mw for s in self.sites)
        mw_exp = capacity * b.max_capacity_growth_per_review
        cost_exp = mw_exp / mw_per_th * (price + mw_per_th * capex)
        if cost_exp <= 0:
            return
        frac = min(cost_exp, max(budget, 0.0)) / cost_exp
        if frac <= 0:
            return
        if not joinable:
            dev = RefSite(m, [0.0] * len(m.energy_mwh), 0.0, price_mw)
            self.sites.append(dev)
            self.dev_site = dev
        dev.capacity_mw += mw_exp * frac
        dev.fleet[best] += mw_exp / mw_per_th * frac
        self.cash -= mw_exp / mw_per_th * frac * price + mw_exp * frac * capex

    def fire_sale(self) -> None:
        """Sell just enough rigs (the same share at every site) at the secondary price to
        cover the cash gap."""
        used = self.model.used_price
        value = sum(f * p for s in self.sites for f, p in zip(s.fleet, used, strict=True))
        frac = min(1.0, -self.cash / value) if value > 0 else 1.0
        self.cash += frac * value
        for site in self.sites:
            site.fleet = [f * (1.0 - frac) for f in site.fleet]

    def idle_check(self) -> None:
        """Count idle days (no rigs at all); exit after the scenario's limit unless the firm
        can pay for its sites (as they are, in care) for as long again and rigs on one of them
        have a positive NPV."""
        sc = self.model.sc
        idle = not any(f > 0 for s in self.sites for f in s.fleet)
        self.idle_days = self.idle_days + IDLE_CHECK_DAYS if idle else 0
        limit = sc.consolidation.voluntary_exit_idle_days
        if not idle or self.idle_days < limit:
            return
        opex, care_share = sc.energy.fixed_opex_usd_per_mw_day, sc.operation.care_fixed_cost_share
        fixed = sum(s.capacity_mw * opex * (care_share if s.care else 1.0) for s in self.sites)
        use = any(
            self._npv(s.cost[g], price) > 0
            for s in self.sites
            if not s.building
            for g, price in enumerate(self.model.new_price)
            if math.isfinite(price)
        )
        if not (self.cash >= fixed * limit and use):
            self.leave()

    def leave(self) -> None:
        """Exit: the estate's cash goes to lenders and owners; drop out of ``model.agents``."""
        self.cash = 0.0
        self.model.n_exits += 1
        self.remove()


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
        self.energy_mwh = self.gens.energy_mwh_per_th_day.tolist()  # [MWh/(TH/s)/day]
        self.power_mw = self.gens.power_mw_per_th.tolist()  # [MW/(TH/s)]
        self.release_day = self.gens.release_day.tolist()  # [day]
        self.chain = chain.ChainState.start(
            sc.protocol.start_height, sc.protocol.initial_difficulty
        )
        self.carry = 0.0  # fractional blocks carried to the next day (no block luck)
        reward0 = chain.subsidy_btc(sc.protocol.start_height + 1) + sc.fees.base_btc_per_block
        self.hp_exp = self._revenue_per_th_day(reward0, self.prices[0])  # [USD/(TH/s)/day]
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
            )
            sites[int(plan.firm[k])].append(site)
        for i, own in enumerate(sites):
            RefFirm(self, own, {k: float(v[i]) for k, v in cols.items()})
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

    def step(self) -> None:
        """Advance one day."""
        d, sc = self.day, self.sc
        self.price = self.prices[d]
        fee = (
            self.fees[d] * (1.0 + self.backlog / chain.BLOCKS_PER_DAY) ** sc.fees.backlog_elasticity
        )
        ages = [d - r for r in self.release_day]  # [days]
        self.survive_today = operation.daily_survival(np.array(ages), sc.operation).tolist()
        self.life_years = operation.remaining_life_years(
            np.array(ages) / 365.0, sc.operation
        ).tolist()
        subsidy = chain.subsidy_btc(self.chain.height + 1)
        self.rev_th = self._revenue_per_th_day(subsidy + fee, self.price)
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
        if total_ths > 0:  # adaptive expectations, then today's rig prices
            self.hp_exp += self.ema * (to_firms * self.price / total_ths - self.hp_exp)
        new, used = hardware.rig_prices_usd_per_th(
            self.gens, d, self.hp_exp, sc.hardware, sc.behaviour.expected_hashprice_decline_per_year
        )
        self.new_price, self.used_price = new.tolist(), used.tolist()  # [USD/TH]
        self.hashprice = (  # [USD/PH/day], as hashprice indices measure it
            (subsidy + fee)
            * chain.BLOCKS_PER_DAY
            * self.price
            / (chain.implied_hashrate_ehs(difficulty_start) * 1000.0)
        )
        self.agents.shuffle_do("step")
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
