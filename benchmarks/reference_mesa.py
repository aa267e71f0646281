"""The engine's core daily rules written the idiomatic Mesa way, as a performance reference.

Each firm is a :class:`RefFirm` agent holding plain Python floats and lists and running its own
phases (operate, account, review, distress) through ``model.agents.shuffle_do(...)``; a
``mesa.DataCollector`` records model reporters every day. This is what a Mesa user would write
without the columnar engine. It reuses the engine's pure, model-level pieces (protocol, price
and fee paths, rig prices, the initial population), so the only difference measured is per-agent
Python versus array operations.

The random order of ``shuffle_do`` does not matter: within a phase each agent reads only
model-level values computed before the phase, and the model aggregates after it.

Rules covered (the engine with ``finance.enabled = false``, auctions, acquisitions and entry
off, no sovereigns): operate/curtail by vintage within capacity, pooled revenue, energy and
fixed costs, adaptive hashprice expectations, the fleet review (retire, buy rigs into headroom
and new MW at the market power price), fire sales and insolvent exits, idle exits.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from abm import chain
from abm.firms import calibrated_population, explicit_population
from abm.markets import hardware
from abm.markets.fees import scenario_fee_path
from abm.markets.price import scenario_price_path
from abm.rng import make_streams
from abm.scenario import Scenario

IDLE_CHECK_DAYS = 30


def _pv_days(rate: float, years: float) -> float:
    r = max(rate, 1e-9)
    return (1.0 - math.exp(-r * years)) / r * 365.0


class RefFirm(mesa.Agent):
    """A mining firm with its own state (floats and per-generation lists)."""

    def __init__(self, model: RefModel, fleet: list[float], cols: dict[str, float]) -> None:
        super().__init__(model)
        self.fleet = fleet  # TH/s by generation
        self.power_price = cols["power_price_usd_per_mwh"]
        self.capacity_mw = cols["capacity_mw"]
        self.hurdle = cols["hurdle_rate"]
        self.offset = int(cols["review_offset"])
        self.cash = cols["cash_usd"]
        self.running = [0.0] * len(fleet)
        self.running_ths = 0.0
        self.energy_cost = 0.0
        self.fixed_cost = 0.0
        self.idle_days = 0
        self.alive = True

    def cost(self, g: int) -> float:
        """Energy cost of 1 TH/s for a day of generation g [USD]."""
        return self.power_price * self.model.energy_mwh[g]

    # phase 2
    def operate(self) -> None:
        m = self.model
        room = self.capacity_mw
        running = [0.0] * len(self.fleet)
        for g in reversed(range(len(self.fleet))):  # most efficient first
            if self.fleet[g] > 0 and self.cost(g) < m.rev_th:
                want_mw = self.fleet[g] * m.power_mw[g]
                run_mw = min(want_mw, max(room, 0.0))
                running[g] = run_mw / m.power_mw[g]
                room -= want_mw
        self.running = running
        self.running_ths = sum(running)

    # phase 4
    def account(self) -> None:
        m = self.model
        btc = self.running_ths * m.btc_per_ths
        self.energy_cost = sum(r * e for r, e in zip(self.running, m.energy_mwh, strict=True))
        self.energy_cost *= self.power_price
        self.fixed_cost = self.capacity_mw * m.sc.energy.fixed_opex_usd_per_mw_day
        self.cash += btc * m.price - self.energy_cost - self.fixed_cost

    # phase 5
    def review(self) -> None:
        m = self.model
        if (m.day + self.offset) % m.sc.behaviour.review_cadence_days != 0:
            return
        sc, hp = m.sc, m.hp_exp
        new_price, used_price = m.rig_prices
        max_age = sc.hardware.max_age_years * 365.0
        for g, ths in enumerate(self.fleet):
            too_old = m.day - m.release_day[g] > max_age
            if ths > 0 and (self.cost(g) * (1 + sc.behaviour.retire_margin) > hp or too_old):
                self.cash += ths * used_price[g]
                self.fleet[g] = 0.0
        decline, life = (
            sc.behaviour.expected_hashprice_decline_per_year,
            sc.hardware.economic_life_years,
        )
        pv_rev = _pv_days(self.hurdle + decline, life)
        pv_cost = _pv_days(self.hurdle, life)
        best, best_pd, best_npv = -1, -math.inf, 0.0
        for g, p in enumerate(new_price):
            if math.isfinite(p):
                npv = hp * pv_rev - self.cost(g) * pv_cost - p
                if npv / p > best_pd:
                    best, best_pd, best_npv = g, npv / p, npv
        if best < 0 or best_npv <= 0:
            return
        reserve = sc.behaviour.cash_reserve_days * (self.energy_cost + self.fixed_cost)
        budget = max(self.cash - reserve, 0.0) * sc.behaviour.reinvest_fraction
        price, mw_per_th = new_price[best], m.power_mw[best]
        fleet_mw = sum(f * w for f, w in zip(self.fleet, m.power_mw, strict=True))
        headroom = max(self.capacity_mw - fleet_mw, 0.0)
        spend_head = min(headroom / mw_per_th * price, budget)
        ths = spend_head / price
        infra = mw_per_th * sc.energy.capex_usd_per_mw
        exp_cost_per_mwh = sc.energy.expansion_price_usd_per_mwh * m.energy_mwh[best]
        npv_new = hp * pv_rev - exp_cost_per_mwh * pv_cost - price
        mw_added = 0.0
        if npv_new > infra:
            mw_exp = self.capacity_mw * sc.behaviour.max_capacity_growth_per_review
            cost_exp = mw_exp / mw_per_th * (price + infra)
            if cost_exp > 0:
                frac = min(cost_exp, budget - spend_head) / cost_exp
                ths += mw_exp / mw_per_th * frac
                mw_added = mw_exp * frac
        self.fleet[best] += ths
        if mw_added > 0:
            self.power_price = (
                self.power_price * self.capacity_mw
                + sc.energy.expansion_price_usd_per_mwh * mw_added
            ) / (self.capacity_mw + mw_added)
            self.capacity_mw += mw_added
        self.cash -= ths * price + mw_added * sc.energy.capex_usd_per_mw

    # phase 6
    def distress(self) -> None:
        if self.cash >= 0:
            return
        _, used_price = self.model.rig_prices
        value = sum(f * p for f, p in zip(self.fleet, used_price, strict=True))
        frac = min(1.0, -self.cash / value) if value > 0 else 1.0
        self.cash += frac * value
        self.fleet = [f * (1 - frac) for f in self.fleet]
        if self.cash < -1e-6:
            self.leave()

    def idle_check(self) -> None:
        idle = not any(f > 0 for f in self.fleet)
        self.idle_days = self.idle_days + IDLE_CHECK_DAYS if idle else 0
        if idle and self.idle_days >= self.model.sc.consolidation.voluntary_exit_idle_days:
            self.leave()

    def leave(self) -> None:
        self.cash = 0.0
        self.alive = False
        self.remove()


def _hhi(model: RefModel) -> float:
    total = sum(a.running_ths for a in model.agents)
    return sum((a.running_ths / total * 100) ** 2 for a in model.agents) if total else 0.0


class RefModel(mesa.Model):
    """The reference model (one step = one day)."""

    def __init__(self, sc: Scenario, seed: int) -> None:
        super().__init__(rng=seed)
        self.sc = sc
        self.n_days = round(sc.run.years * 365)
        self.day = 0
        streams = make_streams(seed)
        self.prices = scenario_price_path(
            sc.price, streams["price"], sc.run.start_date, self.n_days
        )
        self.fees = scenario_fee_path(sc.fees, streams["fees"], self.n_days)
        self.gens = hardware.build_generations(sc.hardware, sc.run.start_date, self.n_days)
        self.energy_mwh = list(self.gens.energy_mwh_per_th_day)
        self.power_mw = list(self.gens.power_mw_per_th)
        self.release_day = list(self.gens.release_day)
        self.chain = chain.ChainState.start(
            sc.protocol.start_height, sc.protocol.initial_difficulty
        )
        self.carry = 0.0
        reward0 = chain.subsidy_btc(sc.protocol.start_height + 1) + sc.fees.base_btc_per_block
        self.hp_exp = self._rev_th(reward0, self.prices[0])
        self.ema = 1.0 - 0.5 ** (1.0 / sc.behaviour.hashprice_ema_halflife_days)
        if sc.firms.population == "explicit":
            pop = explicit_population(sc, self.gens, unlimited=False)
        else:
            revenue0 = reward0 * chain.BLOCKS_PER_DAY * self.prices[0]
            pop = calibrated_population(streams["population"], sc, self.gens, revenue0)
        for i in range(len(pop.names)):
            cols = {k: float(v[i]) for k, v in pop.cols.items()}
            RefFirm(self, list(pop.fleet_ths[i]), cols)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "network_hashrate_ehs": lambda m: m.hashrate_ehs,
                "hashprice_usd_per_ph_day": lambda m: m.hashprice,
                "difficulty": lambda m: m.chain.difficulty,
                "cash_usd": lambda m: sum(a.cash for a in m.agents),
                "active_firms": lambda m: len(m.agents),
                "hhi_firm": _hhi,
            }
        )

    def _rev_th(self, reward: float, price: float) -> float:
        implied_ths = chain.implied_hashrate_ehs(self.chain.difficulty) * 1e6
        return reward * price * 144 * (1 - self.sc.protocol.pool_fee) / implied_ths

    def step(self) -> None:
        d, sc = self.day, self.sc
        self.price, fee = self.prices[d], self.fees[d]
        subsidy = chain.subsidy_btc(self.chain.height + 1)
        self.rev_th = self._rev_th(subsidy + fee, self.price)
        self.agents.shuffle_do("operate")
        total = sum(a.running_ths for a in self.agents)
        self.hashrate_ehs = total / 1e6
        difficulty_start = self.chain.difficulty
        expected = chain.expected_blocks_per_day(self.hashrate_ehs, self.chain.difficulty)
        if sc.protocol.block_luck:
            raise ValueError("the reference covers block_luck = false only")
        self.carry += expected
        n = int(self.carry)
        self.carry -= n
        self.chain, blocks = chain.advance_day(self.chain, n)
        reward = blocks.subsidy_btc + fee * n
        to_firms = reward * (1 - sc.protocol.pool_fee)
        self.btc_per_ths = to_firms / total if total > 0 else 0.0
        self.agents.shuffle_do("account")
        if total > 0:
            self.hp_exp += self.ema * (to_firms * self.price / total - self.hp_exp)
        self.rig_prices = hardware.rig_prices_usd_per_th(
            self.gens, d, self.hp_exp, sc.hardware, sc.behaviour.expected_hashprice_decline_per_year
        )
        self.hashprice = (
            (subsidy + fee)
            * 144
            * self.price
            / (chain.implied_hashrate_ehs(difficulty_start) * 1000)
        )
        self.agents.shuffle_do("review")
        self.agents.shuffle_do("distress")
        if d % IDLE_CHECK_DAYS == 0:
            self.agents.shuffle_do("idle_check")
        self.datacollector.collect(self)
        self.day += 1
        self.running = self.day < self.n_days


def reference_case(n_firms: int = 30, years: float = 1.0) -> Scenario:
    """A small deterministic scenario both implementations cover: finance, auctions,
    acquisitions, entry and sovereigns off; no outages, no seasonality, no block luck, no price
    noise (the price drifts down 80%/yr, so firms exit)."""
    sc = Scenario()
    return sc.with_overrides(
        {
            "run.years": years,
            "firms.n_firms": n_firms,
            "firms.n_large": 5,
            "firms.tail_max_ehs": 1130.0,
            "protocol.block_luck": False,
            "price.volatility_per_year": 0.0,
            "price.jump_rate_per_year": 0.0,
            "price.drift_per_year": -0.8,
            "energy.outage_prob_per_day": dict.fromkeys(
                ("hydro", "wind", "solar", "gas", "grid", "stranded"), 0.0
            ),
            "energy.seasonal_share_of_hydro": 0.0,
            "finance.enabled": False,
            "consolidation.auctions": False,
            "consolidation.acquisitions": False,
            "consolidation.entry": False,
            "sovereigns": [],
        }
    )


def run_reference(sc: Scenario, seed: int) -> RefModel:
    m = RefModel(sc, seed)
    while m.running:
        m.step()
    return m


if __name__ == "__main__":
    import time

    t0 = time.perf_counter()
    ref = run_reference(reference_case(300, 1.0), seed=1)
    print(ref.datacollector.get_model_vars_dataframe().tail())
    print(f"{time.perf_counter() - t0:.2f} s")
    _ = np
