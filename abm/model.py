"""MiningIndustry: the Mesa model. One step is one day; ``step`` orchestrates the phases.

Phases (see DESIGN.md): 1 environment (price, fees, energy availability) -> 2 operate ->
3 mine (Poisson blocks, retarget, halving, pooled payout) -> 4 account -> 5 decide (review
cadence: retire, invest) -> 6 distress -> 8 record. Every phase is an array operation over all
firms; per-firm Python code runs only for rare discrete events (an exit).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import mesa
import numpy as np

from abm import behaviour, chain
from abm.firms import (
    INSOLVENT,
    FirmTable,
    MiningFirm,
    calibrated_population,
    explicit_population,
)
from abm.markets import energy, hardware
from abm.markets.fees import fee_path
from abm.markets.price import gbm_jump_path, replay_path
from abm.recorder import Recorder
from abm.rng import make_streams
from abm.scenario import Scenario, load_scenario

__all__ = ["MiningIndustry"]


class MiningIndustry(mesa.Model):
    """Agent-based model of the Bitcoin mining industry (one step = one day).

    Args:
        scenario: a :class:`~abm.scenario.Scenario`, a path to a scenario TOML, or None for the
            calibrated baseline.
        seed: root seed of the run (default: ``scenario.run.seed``); every random stream is
            spawned from it by name (:mod:`abm.rng`).
        rng: accepted for Mesa compatibility; an integer is used as the seed.

    Attributes:
        params: the resolved scenario (``self.scenario`` is Mesa's own scenario object).
        firms: the columnar :class:`~abm.firms.FirmTable`.
        gens: the hardware :class:`~abm.markets.hardware.GenerationTable`.
        chain: the protocol :class:`~abm.chain.ChainState`.
        recorder: daily model-level series and the periodic firm panel.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        *,
        seed: int | None = None,
        rng: int | None = None,
    ) -> None:
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if seed is None:
            seed = int(rng) if isinstance(rng, int | np.integer) else sc.run.seed
        super().__init__(rng=seed)
        self.params = sc
        self.seed = int(seed)
        self.streams = make_streams(self.seed)
        self.start_date: dt.date = sc.run.start_date
        self.n_days = round(sc.run.years * 365)
        self.day = 0
        self.contest = sc.behaviour.investment_rule == "best_response"

        # 1. exogenous paths, drawn up front from their own streams
        self.price_usd = self._price_path()
        f = sc.fees
        self.fee_btc_per_block = fee_path(
            self.streams["fees"],
            self.n_days,
            f.base_btc_per_block,
            f.volatility,
            f.persistence,
            f.spike_rate_per_year,
            f.spike_mean_btc_per_block,
        )
        self.gens = hardware.build_generations(sc.hardware, self.start_date, self.n_days)
        self.dry_season = np.array(
            [
                (self.start_date + dt.timedelta(days=d)).month in sc.energy.dry_season_months
                for d in range(self.n_days)
            ]
        )
        self.chain = chain.ChainState.start(
            sc.protocol.start_height, sc.protocol.initial_difficulty
        )
        self._block_carry = 0.0

        # firms
        reward0 = chain.subsidy_btc(sc.protocol.start_height + 1) + f.base_btc_per_block
        revenue0 = reward0 * chain.BLOCKS_PER_DAY * self.price_usd[0]
        self.firms = FirmTable(self.gens.n)
        if sc.firms.population == "explicit":
            pop = explicit_population(sc, self.gens, unlimited=self.contest)
        else:
            pop = calibrated_population(self.streams["population"], sc, self.gens, revenue0)
        rows = self.firms.append(pop.names, pop.fleet_ths, **pop.cols)
        self.firm_agents: list[MiningFirm] = [MiningFirm(self, int(r)) for r in rows]
        self._refresh_costs()
        days = np.arange(self.n_days + 1)
        self._released = np.searchsorted(self.gens.release_day, days, side="right")
        self._update_live_columns(0)

        # adaptive expectations: start from the difficulty-implied revenue per TH-day
        self.expected_hashprice_usd_per_th_day = self._revenue_per_th_day(
            reward0, self.price_usd[0]
        )
        self._ema_weight = 1.0 - 0.5 ** (1.0 / sc.behaviour.hashprice_ema_halflife_days)
        self._rig_prices_day = -1
        self.n_exits = 0
        self.rig_prices(0)
        self.ledger = {
            k: 0.0
            for k in (
                "btc_subsidy",
                "btc_fees",
                "btc_to_firms",
                "btc_pool_fees",
                "usd_btc_sales",
                "usd_energy",
                "usd_fixed",
                "usd_capex_rigs",
                "usd_capex_infra",
                "usd_asset_sales",
                "usd_unpaid_liabilities",
            )
        }
        self.initial_cash_usd = float(self.firms.cash_usd.sum())
        self.recorder = Recorder(self)

    # ----------------------------------------------------------------------------------------
    def _price_path(self) -> np.ndarray:
        p = self.params.price
        if p.model == "replay":
            return replay_path(self.start_date, self.n_days)
        return gbm_jump_path(
            self.streams["price"],
            self.n_days,
            p.initial_usd,
            p.drift_per_year,
            p.volatility_per_year,
            p.jump_rate_per_year,
            p.jump_mean_log,
            p.jump_std_log,
        )

    def _refresh_costs(self) -> None:
        """Cache the firms x generations energy-cost matrix (changes only with prices/entry)."""
        self.cost_usd_per_th_day = energy.energy_cost_usd_per_th_day(
            self.firms.power_price_usd_per_mwh, self.gens.energy_mwh_per_th_day
        )

    def _revenue_per_th_day(self, reward_btc_per_block: float, price_usd: float) -> float:
        """Expected miner revenue per TH/s per day at the current difficulty [USD/(TH/s)/day]."""
        implied_ths = chain.implied_hashrate_ehs(self.chain.difficulty) * 1e6
        payout = 1.0 - self.params.protocol.pool_fee
        return reward_btc_per_block * price_usd * chain.BLOCKS_PER_DAY * payout / implied_ths

    def _update_live_columns(self, day: int) -> None:
        """Restrict the daily path to generations someone holds or can buy (others are 0)."""
        held = np.flatnonzero(self.firms.fleet_ths.any(axis=0))
        hi = max(int(self._released[day]), int(held[-1]) + 1 if held.size else 1)
        lo = int(held[0]) if held.size else hi - 1
        self._live = slice(lo, hi)

    @property
    def running_by_gen_ths(self) -> np.ndarray:
        """Hashrate each firm ran on the last simulated day, by generation [TH/s]."""
        full = np.zeros_like(self.firms.fleet_ths)
        full[:, self._live_ran] = self._running_live
        return full

    @property
    def date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.day)

    # ----------------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one day."""
        if self.day >= self.n_days:
            self.running = False
            return
        d, sc, t = self.day, self.params, self.firms
        price = self.price_usd[d]
        fee = self.fee_btc_per_block[d]

        # 1. environment: energy availability
        avail = energy.availability(
            self.streams["energy"],
            t.outage_prob,
            t.seasonal,
            self.dry_season[d],
            sc.energy.dry_season_availability,
        )
        # 2. operate
        subsidy_now = chain.subsidy_btc(self.chain.height + 1)  # next block's subsidy
        rev_th = self._revenue_per_th_day(subsidy_now + fee, price)
        live = self._live  # generations anyone holds today (other columns are all zero)
        running = behaviour.operate(
            t.fleet_ths[:, live],
            self.cost_usd_per_th_day[:, live],
            rev_th,
            t.capacity_mw * avail,
            self.gens.power_mw_per_th[live],
        )
        self._running_live, self._live_ran = running, live
        run_f = running.sum(axis=1)
        total_ths = run_f.sum()
        hashrate_ehs = total_ths / 1e6

        # 3. mine
        expected = chain.expected_blocks_per_day(hashrate_ehs, self.chain.difficulty)
        n_blocks = self._draw_blocks(expected)
        self.chain, blocks = chain.advance_day(self.chain, n_blocks)
        fees_btc = fee * n_blocks
        reward_btc = blocks.subsidy_btc + fees_btc
        to_firms = reward_btc * (1.0 - sc.protocol.pool_fee)
        btc_f = run_f * (to_firms / total_ths) if total_ths > 0 else np.zeros_like(run_f)

        # 4. account (treasury: sell mined BTC at today's price)
        usd_f = btc_f * price
        energy_f = (running @ self.gens.energy_mwh_per_th_day[live]) * t.power_price_usd_per_mwh
        fixed_f = t.capacity_mw * sc.energy.fixed_opex_usd_per_mw_day
        if self.contest:
            fixed_f = np.where(t.capacity_mw >= 1e11, 0.0, fixed_f)
        t.cash_usd += usd_f - energy_f - fixed_f
        t.running_ths, t.revenue_usd, t.energy_cost_usd, t.fixed_cost_usd = (
            run_f,
            usd_f,
            energy_f,
            fixed_f,
        )
        t.cum_btc_mined += btc_f
        t.cum_revenue_usd += usd_f
        t.cum_energy_cost_usd += energy_f
        t.cum_fixed_cost_usd += fixed_f
        lg = self.ledger
        lg["btc_subsidy"] += blocks.subsidy_btc
        lg["btc_fees"] += float(fees_btc)
        lg["btc_to_firms"] += float(btc_f.sum())
        lg["btc_pool_fees"] += float(reward_btc - to_firms)
        lg["usd_btc_sales"] += float(usd_f.sum())
        lg["usd_energy"] += float(energy_f.sum())
        lg["usd_fixed"] += float(fixed_f.sum())

        # adaptive expectation of revenue per TH-day (realised, smoothed)
        if total_ths > 0:
            realised = to_firms * price / total_ths
            self.expected_hashprice_usd_per_th_day += self._ema_weight * (
                realised - self.expected_hashprice_usd_per_th_day
            )

        # 5. decide
        if self.contest:
            self._best_response_update(subsidy_now, price)
        else:
            due = t.active & ((d + t.review_offset) % sc.behaviour.review_cadence_days == 0)
            if due.any():
                self._review(np.flatnonzero(due), d)
            # 6. distress
            self._resolve_distress()
            if due.any() or self._released[d + 1] > self._live.stop:
                self._update_live_columns(d + 1)

        # 8. record
        self.recorder.record_day(d, price, fee, hashrate_ehs, n_blocks, blocks, reward_btc)
        self.day += 1
        if self.day >= self.n_days:
            self.running = False

    def _draw_blocks(self, expected: float) -> int:
        if self.params.protocol.block_luck:
            return int(self.streams["blocks"].poisson(expected))
        self._block_carry += expected
        n = int(self._block_carry)
        self._block_carry -= n
        return n

    # ----------------------------------------------------------------------------------------
    def rig_prices(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """(new, secondary) rig prices per generation on `day` [USD/TH], cached per day."""
        if self._rig_prices_day != day:
            self._rig_prices = hardware.rig_prices_usd_per_th(
                self.gens,
                day,
                self.expected_hashprice_usd_per_th_day,
                self.params.hardware,
                self.params.behaviour.expected_hashprice_decline_per_year,
            )
            self._rig_prices_day = day
            on_sale = self._rig_prices[0][np.isfinite(self._rig_prices[0])]
            self.frontier_rig_price_usd_per_th = float(on_sale[-1]) if on_sale.size else np.nan
        return self._rig_prices

    def _review(self, rows: np.ndarray, day: int) -> None:
        """Fleet review of the firms due today: retire, then invest (vectorised over rows)."""
        sc, t, g = self.params, self.firms, self.gens
        hp = self.expected_hashprice_usd_per_th_day
        cost = self.cost_usd_per_th_day[rows]
        new_price, used_price = self.rig_prices(day)

        # retire: uneconomic or too old; sold at the secondary price
        retire = behaviour.retire_mask(
            cost,
            hp,
            sc.behaviour.retire_margin,
            day - g.release_day,
            sc.hardware.max_age_years * hardware.DAYS_PER_YEAR,
        )
        fleet = t.fleet_ths[rows]
        sold = np.where(retire, fleet, 0.0)
        proceeds = sold @ used_price
        fleet -= sold
        t.cash_usd[rows] += proceeds
        t.cum_asset_sales_usd[rows] += proceeds
        self.ledger["usd_asset_sales"] += float(proceeds.sum())

        # invest
        npv = behaviour.npv_per_th(
            hp,
            cost,
            t.hurdle_rate[rows],
            new_price,
            sc.behaviour.expected_hashprice_decline_per_year,
            sc.hardware.economic_life_years,
        )
        run_rate = t.energy_cost_usd[rows] + t.fixed_cost_usd[rows]
        reserve = sc.behaviour.cash_reserve_days * run_rate
        budget = np.maximum(t.cash_usd[rows] - reserve, 0.0) * sc.behaviour.reinvest_fraction
        plan = behaviour.plan_investment(
            npv,
            new_price,
            g.power_mw_per_th,
            t.capacity_mw[rows] - fleet @ g.power_mw_per_th,
            t.capacity_mw[rows],
            budget,
            sc.energy.capex_usd_per_mw,
            sc.behaviour.max_capacity_growth_per_review,
        )
        fleet[np.arange(rows.size), plan.generation] += plan.ths
        t.fleet_ths[rows] = fleet
        t.capacity_mw[rows] += plan.mw_added
        spend = plan.rigs_usd + plan.infra_usd
        t.cash_usd[rows] -= spend
        t.cum_capex_usd[rows] += spend
        self.ledger["usd_capex_rigs"] += float(plan.rigs_usd.sum())
        self.ledger["usd_capex_infra"] += float(plan.infra_usd.sum())

    def _best_response_update(self, subsidy_btc: float, price_usd: float) -> None:
        """Contest limit: every firm moves part-way to its best response (costless hashrate)."""
        t = self.firms
        sc = self.params
        reward_usd = (
            (subsidy_btc + sc.fees.base_btc_per_block)
            * price_usd
            * chain.BLOCKS_PER_DAY
            * (1.0 - sc.protocol.pool_fee)
        )
        x = t.fleet_ths.sum(axis=1)
        col = np.argmax(t.fleet_ths > 0, axis=1)  # each firm's single generation
        c = self.cost_usd_per_th_day[np.arange(t.n), col]
        br = behaviour.best_response_ths(x, c, reward_usd)
        x_new = x + sc.behaviour.best_response_speed * (br - x)
        t.fleet_ths[np.arange(t.n), col] = x_new

    def _resolve_distress(self) -> None:
        """Firms with negative cash sell BTC, then rigs at the secondary price; a firm whose
        assets cannot cover the gap exits as insolvent and its unpaid bills are written off."""
        t = self.firms
        short = np.flatnonzero(t.active & (t.cash_usd < 0))
        if short.size == 0:
            return
        _, used_price = self.rig_prices(self.day)
        fleet_value = t.fleet_ths[short] @ used_price
        deficit = -t.cash_usd[short]
        frac = np.minimum(
            1.0, np.divide(deficit, fleet_value, out=np.ones_like(deficit), where=fleet_value > 0)
        )
        proceeds = frac * fleet_value
        t.fleet_ths[short] *= (1.0 - frac)[:, None]
        t.cash_usd[short] += proceeds
        t.cum_asset_sales_usd[short] += proceeds
        self.ledger["usd_asset_sales"] += float(proceeds.sum())
        for r in short[t.cash_usd[short] < -1e-6]:
            self.ledger["usd_unpaid_liabilities"] += float(-t.cash_usd[r])
            t.cash_usd[r] = 0.0
            self.firm_agents[r].exit("insolvent")
        _ = INSOLVENT

    # ----------------------------------------------------------------------------------------
    def run_model(self) -> None:
        """Run to the horizon."""
        while self.running:
            self.step()
