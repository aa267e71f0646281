"""MiningIndustry: the Mesa model. One step is one day; ``step`` orchestrates the phases.

Phases (see DESIGN.md): 1 environment (price, fees, energy availability) -> 2 operate ->
3 mine (Poisson blocks, retarget, halving, pooled payout) -> 4 account (treasury, debt
service, costs) -> 5 decide (review cadence: retire, invest, finance) -> 6 distress and
consolidation (defaults and auctions, acquisitions, voluntary exits) -> 7 entry -> 8 record.
Phases 1-5 are array operations over all firms; per-firm Python code runs only for the rare
discrete events of phases 6-7 (:mod:`abm.consolidation`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from abm import behaviour, chain, consolidation, finance, sovereigns
from abm.capabilities import Capabilities
from abm.contracts import HostingMarket
from abm.events import EventSchedule, price_shocks
from abm.firms import (
    FirmTable,
    MiningFirm,
    SovereignMiner,
    add_capacity,
    calibrated_population,
    explicit_population,
)
from abm.markets import energy, hardware
from abm.markets.fees import scenario_fee_path
from abm.markets.price import scenario_price_path
from abm.mesa_compat import RecorderCollector, overrides_from_kwargs
from abm.ownership import Ownership
from abm.recorder import Recorder
from abm.rng import make_streams, stream_seed
from abm.scenario import Scenario, load_scenario

__all__ = ["LEDGER_KEYS", "MiningIndustry"]

# Every flow that crosses the boundary of the firms' balance sheets, cumulated over the run.
LEDGER_KEYS: tuple[str, ...] = (
    "btc_subsidy",  # BTC issued as subsidy
    "btc_fees",  # BTC paid as transaction fees
    "btc_to_firms",  # BTC paid out by pools to firms
    "btc_pool_fees",  # BTC kept by pools
    "btc_sold",  # BTC sold by firms (at mining or from treasury)
    "usd_btc_sales",  # USD received for BTC sold
    "usd_energy",  # energy bills
    "usd_fixed",  # non-energy operating costs
    "usd_interest",  # interest paid to lenders
    "usd_principal",  # debt principal repaid on schedule
    "usd_debt_drawn",  # new debt
    "usd_debt_recovered",  # paid to lenders out of defaulted or liquidated estates
    "usd_debt_written_off",  # lenders' losses at default
    "usd_equity_raised",  # equity issued by listed firms
    "usd_new_capital",  # cash brought by new entrants
    "usd_capex_rigs",  # rigs bought new
    "usd_capex_infra",  # power capacity built
    "usd_asset_sales",  # rigs sold to the outside (retirements, fire sales)
    "usd_to_owners",  # paid to former owners (acquisition prices, estates' residuals)
    "usd_unpaid_liabilities",  # operating bills left unpaid by exiting firms
    "usd_state_budget",  # sovereigns' hardware budgets spent
    "usd_state_support",  # sovereigns' cash shortfalls covered by their states
    "usd_demand_response",  # credits paid for capacity released in grid emergencies
    "usd_relocation",  # cost of moving rigs out of banned regions
    "usd_hedge_gains",  # BTC-price hedges settled in the firms' favour
    "usd_hedge_losses",  # BTC-price hedges settled against the firms
    "usd_hedge_costs",  # hedge costs paid up front
    "usd_flex_credits",  # demand-response credits earned by flexible firms' hourly curtailment
    # AI/HPC hosting (abm.contracts); project debt is held by the contracts, not the firms
    "usd_ai_income",  # contract income from tenants
    "usd_ai_opex",  # hosting operating costs
    "usd_ai_capex",  # conversion capex paid by firms
    "usd_ai_debt_drawn",  # project debt drawn at awards
    "usd_ai_interest_capitalised",  # interest during construction added to project debt
    "usd_ai_interest",  # project interest paid
    "usd_ai_principal",  # project principal repaid
    "usd_ai_debt_written_off",  # project debt lost by lenders at tenant defaults
    "usd_ai_debt_transferred",  # project debt that left with contracts sold by estates
    "usd_ai_spv_sales",  # equity value received for contracts sold by estates
)


class MiningIndustry(mesa.Model):
    """Agent-based model of the Bitcoin mining industry (one step = one day).

    Args:
        scenario: a :class:`~abm.scenario.Scenario`, a path to a scenario TOML, or None for the
            calibrated baseline.
        seed: root seed of the run (default: ``scenario.run.seed``); every random stream is
            spawned from it by name (:mod:`abm.rng`).
        rng: accepted for Mesa compatibility; an integer is used as the seed.
        **overrides: scenario parameters as keywords, ``__`` for the dots of their paths
            (``price__drift_per_year=0.3``; :mod:`abm.mesa_compat`), as ``mesa.batch_run``
            passes them.

    Attributes:
        params: the resolved scenario (``self.scenario`` is Mesa's own scenario object).
        firms: the columnar :class:`~abm.firms.FirmTable`.
        gens: the hardware :class:`~abm.markets.hardware.GenerationTable`.
        chain: the protocol :class:`~abm.chain.ChainState`.
        ownership: the acquisition graph (:class:`~abm.ownership.Ownership`).
        ledger: cumulative flows across the firms' balance sheets (:data:`LEDGER_KEYS`).
        recorder: daily model-level series and the periodic firm panel.
        datacollector: Mesa's view of the recorder's daily series
            (:class:`~abm.mesa_compat.RecorderCollector`).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        *,
        seed: int | None = None,
        rng: int | None = None,
        **overrides: Any,
    ) -> None:
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if overrides:
            sc = sc.with_overrides(overrides_from_kwargs(overrides))
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
        self.finance_on = sc.finance.enabled and not self.contest

        # 1. exogenous paths, drawn up front from their own streams
        self.price_usd = scenario_price_path(
            sc.price, self.streams["price"], self.start_date, self.n_days, price_shocks(sc)
        )
        self.price_ma200_usd = _trailing_mean(self.price_usd, 200)
        f = sc.fees
        self.fee_btc_per_block = scenario_fee_path(sc.fees, self.streams["fees"], self.n_days)
        self.gens = hardware.build_generations(sc.hardware, self.start_date, self.n_days)
        months = np.array(
            [(self.start_date + dt.timedelta(days=d)).month for d in range(self.n_days)]
        )
        self.dry_season = np.isin(months, sc.energy.dry_season_months)
        # outage draws: one day-keyed counter-based stream, so firm i gets the same uniform on
        # day d whatever else the scenario adds (common random numbers)
        self._energy_key = stream_seed(self.seed, "energy").generate_state(2, np.uint64)
        self.sov = sovereigns.paths(sc, self.start_date, self.n_days, months)
        self._released = np.searchsorted(
            self.gens.release_day, np.arange(self.n_days + 1), side="right"
        )
        self.chain = chain.ChainState.start(
            sc.protocol.start_height, sc.protocol.initial_difficulty
        )
        self._block_carry = 0.0

        # expectations: start from the difficulty-implied revenue per TH-day
        reward0 = chain.subsidy_btc(sc.protocol.start_height + 1) + f.base_btc_per_block
        hp0 = self._revenue_per_th_day(reward0, self.price_usd[0])
        self.expected_hashprice_usd_per_th_day = hp0
        self.long_hashprice_usd_per_th_day = hp0
        self._ema_short = 1.0 - 0.5 ** (1.0 / sc.behaviour.hashprice_ema_halflife_days)
        self._ema_long = 1.0 - 0.5 ** (1.0 / 365.0)
        self.ledger = dict.fromkeys(LEDGER_KEYS, 0.0)
        self._rig_prices_day = -1
        self.rig_prices(0)

        # firms
        self.firms = FirmTable(self.gens.n)
        self.firm_agents: list[MiningFirm] = []
        self.ownership = Ownership()
        self.n_exits = 0
        self.n_defaults = 0
        self.n_acquisitions = 0
        self.hosting = HostingMarket(self)
        self.capabilities = Capabilities(self)
        self.events = EventSchedule(self)
        if sc.firms.population == "explicit":
            pop = explicit_population(sc, self.gens, unlimited=self.contest)
        else:
            revenue0 = reward0 * chain.BLOCKS_PER_DAY * self.price_usd[0]
            pop = calibrated_population(self.streams["population"], sc, self.gens, revenue0)
        self.add_firms(pop.names, pop.fleet_ths, pop.cols)
        if self.sov.capacity_mw.shape[0]:
            spop = sovereigns.population(sc, self.gens, self.sov.capacity_mw[:, 0])
            self.sov_rows = self.add_firms(spop.names, spop.fleet_ths, spop.cols)
        else:
            self.sov_rows = np.zeros(0, dtype=np.intp)
        if self.finance_on:
            self._initial_financing()
        self.initial_cash_usd = float(self.firms.cash_usd.sum())
        self.initial_debt_usd = float(self.firms.debt_usd.sum())
        self.initial_btc_held = float(self.firms.btc_held.sum())
        self.recorder = Recorder(self)
        self.datacollector = RecorderCollector(self)

    # ----------------------------------------------------------------------------------------
    # set-up helpers
    def add_firms(self, names: list[str], fleet_ths: np.ndarray, cols: dict) -> np.ndarray:
        """Append firms (initial population, entrants): rows, agents, ownership nodes, books."""
        t = self.firms
        cols = {"entry_day": self.day, **cols}
        rows = t.append(names, fleet_ths, **cols)
        _, used = self.rig_prices(self.day)
        if "fleet_book_usd" not in cols:
            t.fleet_book_usd[rows] = t.fleet_ths[rows] @ used
        if "site_book_usd" not in cols:
            t.site_book_usd[rows] = t.capacity_mw[rows] * self.params.energy.capex_usd_per_mw
        fin = self.params.finance
        listed = t.kind[rows] == 1
        sovereign = t.kind[rows] == sovereigns.SOVEREIGN
        small = t.size_class[rows] == 0
        t.debt_rate[rows] = np.where(
            listed, fin.rate_listed, np.where(small, fin.rate_small, fin.rate_private)
        )
        t.ltv_limit[rows] = np.where(listed, fin.ltv_limit_listed, fin.ltv_limit_private)
        hold = np.where(
            listed, fin.treasury_hold_fraction_listed, fin.treasury_hold_fraction_private
        )
        t.hold_fraction[rows] = np.where(sovereign, t.hold_fraction[rows], hold * self.finance_on)
        self.firm_agents.extend(
            (SovereignMiner if s else MiningFirm)(self, int(r))
            for r, s in zip(rows, sovereign, strict=True)
        )
        self.ownership.add_firms(rows, names)
        if "region" not in cols:
            self.events.on_new_firms(rows)
        self.hosting.on_new_firms(rows)
        self.capabilities.on_new_firms(rows)
        self._refresh_costs()
        self._update_live_columns(self.day)
        return rows

    def _initial_financing(self) -> None:
        """Debt on day one: leverage x collateral, maturities spread over the term."""
        t, fin = self.firms, self.params.finance
        listed = t.kind == 1
        lev = np.where(listed, fin.initial_leverage_listed, fin.initial_leverage_private)
        lev = np.where(t.kind == sovereigns.SOVEREIGN, 0.0, lev)
        if self.capabilities.on:
            lev = lev * self.capabilities.leverage_factor()
        t.debt_usd[:] = lev * self.collateral_usd()
        term = np.where(listed, fin.term_years_listed, fin.term_years_private) * 365
        left = self.streams["population"].uniform(0.2, 1.0, t.n)
        t.debt_maturity_day[:] = np.maximum(1, (term * left)).astype(np.int32)

    _UNIFORM_BLOCK_DAYS = 32

    def _outage_uniforms(self, day: int) -> np.ndarray:
        """Today's uniform draw per firm for outages. Firm i gets the i-th uniform of the day
        whatever the number of firms, from a counter-based (Philox) stream keyed by the run's
        seed and counted by blocks of days, so paired scenarios share their outage draws."""
        n = self.firms.n
        block, k = divmod(day, self._UNIFORM_BLOCK_DAYS)
        if getattr(self, "_u_block", None) != block or self._u.shape[1] < n:
            gen = np.random.Generator(np.random.Philox(key=self._energy_key, counter=block))
            # drawn firm-major, so firm i's draws sit at the same place of the stream however
            # many firms there are: spare rows for entrants change nothing for rows < n
            cap = n + n // 2 + 16
            self._u = np.ascontiguousarray(gen.random((cap, self._UNIFORM_BLOCK_DAYS)).T)
            self._u_block = block
        return self._u[k, :n]

    def _refresh_costs(self) -> None:
        """Cache the firms x generations energy-cost matrix (changes only with prices/entry)."""
        self._site_per_mw_day = -1
        pp = self.firms.power_price_usd_per_mwh
        old = getattr(self, "_cost_pp", None)
        if old is None:
            self.cost_usd_per_th_day = energy.energy_cost_usd_per_th_day(
                pp, self.gens.energy_mwh_per_th_day
            )
        else:
            k = old.size
            changed = np.flatnonzero(pp[:k] != old)
            if changed.size:
                self.cost_usd_per_th_day[changed] = energy.energy_cost_usd_per_th_day(
                    pp[changed], self.gens.energy_mwh_per_th_day
                )
            if pp.size > k:
                self.cost_usd_per_th_day = np.concatenate(
                    [
                        self.cost_usd_per_th_day,
                        energy.energy_cost_usd_per_th_day(pp[k:], self.gens.energy_mwh_per_th_day),
                    ]
                )
        self._cost_pp = pp.copy()

    def _update_live_columns(self, day: int) -> None:
        """Restrict the daily path to generations someone holds or can buy (others are 0)."""
        held = np.flatnonzero(self.firms.fleet_ths.any(axis=0))
        hi = max(int(self._released[day]), int(held[-1]) + 1 if held.size else 1)
        lo = int(held[0]) if held.size else hi - 1
        self._live = slice(lo, hi)

    # ----------------------------------------------------------------------------------------
    # state read by decisions, metrics and the visualisation
    def _revenue_per_th_day(self, reward_btc_per_block: float, price_usd: float) -> float:
        """Expected miner revenue per TH/s per day at the current difficulty [USD/(TH/s)/day]."""
        implied_ths = chain.implied_hashrate_ehs(self.chain.difficulty) * 1e6
        payout = 1.0 - self.params.protocol.pool_fee
        return reward_btc_per_block * price_usd * chain.BLOCKS_PER_DAY * payout / implied_ths

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

    def collateral_usd(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Market value of rigs (secondary price) and sites that lenders lend against [USD]."""
        _, used = self.rig_prices(self.day)
        t = self.firms
        return t.fleet_ths[rows] @ used + self.site_value_usd(rows)

    def site_value_usd(self, rows: np.ndarray | slice | int = slice(None)) -> np.ndarray:
        """Market value of the firms' powered sites [USD] (see finance.site_value_usd_per_mw)."""
        return self.firms.capacity_mw[rows] * self.site_value_usd_per_mw(rows)

    def site_value_usd_per_mw(self, rows: np.ndarray | slice | int = slice(None)) -> np.ndarray:
        """Market value of a MW of each firm's sites today [USD/MW], computed once a day."""
        if self._site_per_mw_day != self.day or self._site_per_mw.size != self.firms.n:
            g = max(int(self._released[self.day]) - 1, 0)
            self._site_per_mw = finance.site_value_usd_per_mw(
                self.firms.power_price_usd_per_mwh,
                self.gens.energy_mwh_per_th_day[g],
                self.expected_hashprice_usd_per_th_day,
                self.params.energy.median_price_usd_per_mwh,
                self.params.finance.site_value_usd_per_mw,
            )
            self._site_per_mw_day = self.day
        return self._site_per_mw[rows]

    def credit_factor(self) -> float:
        """Share of normal loan-to-value lenders offer today (tightens as hashprice falls)."""
        return finance.credit_factor(
            self.expected_hashprice_usd_per_th_day,
            self.long_hashprice_usd_per_th_day,
            self.params.finance.credit_sensitivity,
        )

    def borrowing_room(self, rows: np.ndarray) -> np.ndarray:
        """New debt the firms in `rows` could raise today [USD] (0 when finance is off)."""
        if not self.finance_on:
            return np.zeros(len(rows))
        t = self.firms
        return finance.borrowing_room(
            self.collateral_usd(rows), t.debt_usd[rows], t.ltv_limit[rows], self.credit_factor()
        )

    def nav_usd(self, rows: np.ndarray) -> np.ndarray:
        """Net asset value: rigs and sites at market value, cash and BTC, less debt [USD]."""
        t = self.firms
        return (
            self.collateral_usd(rows)
            + t.cash_usd[rows]
            + t.btc_held[rows] * self.price_usd[self.day]
            - t.debt_usd[rows]
        )

    def operating_run_rate_usd(self, rows: np.ndarray) -> np.ndarray:
        """Today's operating outgoings of the firms in `rows` [USD/day]."""
        t = self.firms
        return t.energy_cost_usd[rows] + t.fixed_cost_usd[rows]

    @property
    def running_by_gen_ths(self) -> np.ndarray:
        """Hashrate each firm ran on the last simulated day, by generation [TH/s] (firms that
        entered after operating that day ran nothing)."""
        full = np.zeros_like(self.firms.fleet_ths)
        full[: self._running_live.shape[0], self._live_ran] = self._running_live
        return full

    @property
    def date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.day)

    # ----------------------------------------------------------------------------------------
    # money movements that the consolidation events share (each booked in the ledger)
    def borrow(self, rows: np.ndarray | int, amount_usd: np.ndarray | float) -> None:
        """Draw new debt (vectorised over rows, which must be distinct); each maturity becomes
        the balance-weighted mix of the old debt's and the new debt's."""
        rows = np.atleast_1d(rows)
        amount = np.asarray(amount_usd, dtype=float)
        if amount.shape != rows.shape:
            amount = np.broadcast_to(amount, rows.shape)
        keep = amount > 0
        if not keep.any():
            return
        rows, amount = rows[keep], amount[keep]
        t, fin = self.firms, self.params.finance
        term = np.where(t.kind[rows] == 1, fin.term_years_listed, fin.term_years_private) * 365
        old = t.debt_usd[rows]
        t.debt_maturity_day[rows] = (
            (old * t.debt_maturity_day[rows] + amount * (self.day + term)) / (old + amount)
        ).astype(np.int32)
        t.debt_usd[rows] += amount
        t.cash_usd[rows] += amount
        self.ledger["usd_debt_drawn"] += float(amount.sum())

    def receive_asset_sales(self, r: int, usd: float) -> None:
        """Book the proceeds of rigs or sites firm r sold to buyers outside the model."""
        self.firms.cash_usd[r] += usd
        self.firms.cum_asset_sales_usd[r] += usd
        self.ledger["usd_asset_sales"] += usd

    def install_sites(
        self,
        rows: np.ndarray,
        mw: np.ndarray,
        fleet_ths: np.ndarray,
        price_usd_per_mwh: np.ndarray,
    ) -> np.ndarray:
        """Sites and rigs arriving today for `rows` (from the interconnection queue or a
        relocation): the firms still active get the MW at their power price and the rigs; the
        rigs of firms that exited meanwhile are sold at today's secondary price for their former
        owners. Returns the rows that received them (the caller refreshes costs and live columns
        once)."""
        t = self.firms
        _, used = self.rig_prices(self.day)
        alive = t.active[rows]
        add_capacity(t, rows[alive], mw[alive], price_usd_per_mwh[alive])
        t.fleet_ths[rows[alive]] += fleet_ths[alive]
        gone = float((fleet_ths[~alive] @ used).sum())
        self.ledger["usd_asset_sales"] += gone
        self.ledger["usd_to_owners"] += gone
        return rows[alive]

    def sell_btc(self, rows: np.ndarray, btc: np.ndarray) -> None:
        """Sell treasury BTC at today's price."""
        t = self.firms
        usd = btc * self.price_usd[self.day]
        t.btc_held[rows] -= btc
        t.cash_usd[rows] += usd
        self.ledger["btc_sold"] += float(btc.sum())
        self.ledger["usd_btc_sales"] += float(usd.sum())

    def on_exit(self, row: int) -> None:
        """Bookkeeping when a firm exits: counters, and ownership of its subsidiaries."""
        self.n_exits += 1
        consolidation.release_subsidiaries(self, row)

    # ----------------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one day."""
        if self.day >= self.n_days:
            self.running = False
            return
        d, sc, t = self.day, self.params, self.firms
        price = self.price_usd[d]
        fee = self.fee_btc_per_block[d]

        # 1. environment: energy availability; sovereigns' capacity follows their policy path
        avail = energy.availability(
            self._outage_uniforms(d),
            t.outage_prob,
            t.seasonal,
            self.dry_season[d],
            sc.energy.dry_season_availability,
        )
        if self.sov_rows.size:
            t.capacity_mw[self.sov_rows] = self.sov.capacity_mw[:, d]
            avail[self.sov_rows] = self.sov.availability[:, d]
        self.events.apply_day(d, avail)  # relocations, bans, tariffs, grid emergencies
        # 2. operate
        subsidy_now = chain.subsidy_btc(self.chain.height + 1)  # next block's subsidy
        rev_th = self._revenue_per_th_day(subsidy_now + fee, price)
        live = self._live  # generations anyone holds today (other columns are all zero)
        caps = self.capabilities
        cost_live = self.cost_usd_per_th_day[:, live]
        if caps.flexing:  # hour-scale scheduling, summarised per day
            share, energy_mult, cost_run = caps.schedule(cost_live, rev_th)
        running = behaviour.operate(
            t.fleet_ths[:, live],
            cost_run if caps.flexing else cost_live,
            rev_th,
            t.capacity_mw * avail,
            self.gens.power_mw_per_th[live],
        )
        if caps.flexing:
            on_hours_ths = running  # what runs in the hours it runs
            running = running * share  # TH-days run today per TH/s
        self._running_live, self._live_ran = running, live
        run_f = behaviour.row_sums(running)
        total_ths = run_f.sum()
        hashrate_ehs = total_ths / 1e6

        # 3. mine
        difficulty_start = self.chain.difficulty
        expected = chain.expected_blocks_per_day(hashrate_ehs, self.chain.difficulty)
        n_blocks = self._draw_blocks(expected)
        self.chain, blocks = chain.advance_day(self.chain, n_blocks)
        fees_btc = fee * n_blocks
        reward_btc = blocks.subsidy_btc + fees_btc
        to_firms = reward_btc * (1.0 - sc.protocol.pool_fee)
        btc_f = run_f * (to_firms / total_ths) if total_ths > 0 else np.zeros_like(run_f)

        # 4. account: treasury (hold a share of mined BTC, sell the rest), costs, debt service
        sold_btc = btc_f * (1.0 - t.hold_fraction)
        usd_f = sold_btc * price
        if caps.flexing:
            energy_f = (
                (on_hours_ths * energy_mult) @ self.gens.energy_mwh_per_th_day[live]
            ) * t.power_price_usd_per_mwh
            credits_f = caps.flex_credits(on_hours_ths, share, self.gens.power_mw_per_th[live])
        else:
            energy_f = (running @ self.gens.energy_mwh_per_th_day[live]) * t.power_price_usd_per_mwh
        fixed_f = t.capacity_mw * sc.energy.fixed_opex_usd_per_mw_day
        if self.contest:
            fixed_f = np.where(t.capacity_mw >= 1e11, 0.0, fixed_f)
        cash_flow = usd_f - energy_f - fixed_f
        if caps.hedging:
            cash_flow += caps.hedge(d, btc_f, price)
        if caps.flexing:
            cash_flow += credits_f
            self.ledger["usd_flex_credits"] += float(credits_f.sum())
        lg = self.ledger
        t.btc_held += btc_f - sold_btc
        if self.finance_on:
            interest, principal = finance.debt_service(
                t.debt_usd, t.debt_rate, t.debt_maturity_day, d
            )
            t.debt_usd -= principal
            cash_flow -= interest + principal
            t.cum_interest_usd += interest
            lg["usd_interest"] += float(interest.sum())
            lg["usd_principal"] += float(principal.sum())
            fin = sc.finance
            t.fleet_book_usd *= 1.0 - 1.0 / (fin.fleet_depreciation_years * 365)
            t.site_book_usd *= 1.0 - 1.0 / (fin.site_depreciation_years * 365)
        t.cash_usd += cash_flow
        t.running_ths, t.revenue_usd, t.energy_cost_usd, t.fixed_cost_usd = (
            run_f,
            btc_f * price,
            energy_f,
            fixed_f,
        )
        t.cum_btc_mined += btc_f
        t.cum_revenue_usd += btc_f * price
        t.cum_energy_cost_usd += energy_f
        t.cum_fixed_cost_usd += fixed_f
        lg["btc_subsidy"] += blocks.subsidy_btc
        lg["btc_fees"] += float(fees_btc)
        lg["btc_to_firms"] += float(btc_f.sum())
        lg["btc_pool_fees"] += float(reward_btc - to_firms)
        lg["btc_sold"] += float(sold_btc.sum())
        lg["usd_btc_sales"] += float(usd_f.sum())
        lg["usd_energy"] += float(energy_f.sum())
        lg["usd_fixed"] += float(fixed_f.sum())

        if self.sov_rows.size and self.sov.sell_rate_per_day.any():
            rows = self.sov_rows
            self.sell_btc(rows, t.btc_held[rows] * self.sov.sell_rate_per_day)

        # adaptive expectations of revenue per TH-day (realised, smoothed short and long)
        if total_ths > 0:
            realised = to_firms * price / total_ths
            self.expected_hashprice_usd_per_th_day += self._ema_short * (
                realised - self.expected_hashprice_usd_per_th_day
            )
            self.long_hashprice_usd_per_th_day += self._ema_long * (
                realised - self.long_hashprice_usd_per_th_day
            )
            self._rig_prices_day = -1  # rig prices follow today's expectations

        # AI/HPC hosting: contract cash flows and life, today's tenders
        self.hosting.daily(d)

        # 5. decide
        if self.contest:
            self._best_response_update(subsidy_now, price)
        else:
            if self.capabilities.pending:
                self.capabilities.connect(d)  # new sites and their rigs come online
            due = t.active & ((d + t.review_offset) % sc.behaviour.review_cadence_days == 0)
            if due.any():
                self._review(np.flatnonzero(due), d)
            # 6. distress and consolidation, 7. entry
            consolidation.resolve_distress(self)
            consolidation.daily_events(self)
            if due.any() or self._released[d + 1] > self._live.stop:
                self._update_live_columns(d + 1)

        # 8. record
        self.recorder.record_day(
            d, price, fee, hashrate_ehs, n_blocks, blocks, reward_btc, difficulty_start
        )
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
    def _review(self, rows: np.ndarray, day: int) -> None:
        """Fleet review of the firms due today: retire, raise equity, then invest with cash and
        new debt (vectorised over rows)."""
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
        if sold.any():
            held = fleet.sum(axis=1)
            gone = np.divide(sold.sum(axis=1), held, out=np.zeros_like(held), where=held > 0)
            t.fleet_book_usd[rows] *= 1.0 - gone
            proceeds = sold @ used_price
            fleet -= sold
            t.cash_usd[rows] += proceeds
            t.cum_asset_sales_usd[rows] += proceeds
            self.ledger["usd_asset_sales"] += float(proceeds.sum())

        reserve = sc.behaviour.cash_reserve_days * self.operating_run_rate_usd(rows)
        if self.finance_on:
            self._raise_equity(rows, day)
            interest = t.debt_usd[rows] * t.debt_rate[rows] / 365
            reserve = reserve + sc.behaviour.cash_reserve_days * interest
        # invest: cash above the reserve first, then new debt within the lenders' limit
        npv = behaviour.npv_per_th(
            hp,
            cost,
            t.hurdle_rate[rows],
            new_price,
            sc.behaviour.expected_hashprice_decline_per_year,
            sc.hardware.economic_life_years,
        )
        # rigs on new capacity run on power bought at the firm's own price of new contracts
        caps = self.capabilities
        new_mw_price = caps.new_mw_price_usd_per_mwh(rows)
        new_mw_capex = caps.new_mw_capex_usd_per_mw(rows)
        npv_new_site = behaviour.npv_per_th(
            hp,
            new_mw_price[:, None] * g.energy_mwh_per_th_day[None, :],
            t.hurdle_rate[rows],
            new_price,
            sc.behaviour.expected_hashprice_decline_per_year,
            sc.hardware.economic_life_years,
        )
        cash_budget = np.maximum(t.cash_usd[rows] - reserve, 0.0) * sc.behaviour.reinvest_fraction
        debt_room = self.borrowing_room(rows)
        # sovereigns spend their hardware budget on rigs, never borrow or build capacity
        sov = t.kind[rows] == sovereigns.SOVEREIGN
        cash_budget = np.where(sov, np.maximum(t.budget_usd[rows], 0.0), cash_budget)
        debt_room = np.where(sov, 0.0, debt_room)
        plan = behaviour.plan_investment(
            npv,
            new_price,
            g.power_mw_per_th,
            t.capacity_mw[rows] - fleet @ g.power_mw_per_th,
            t.capacity_mw[rows],
            cash_budget + debt_room,
            new_mw_capex,
            np.where(sov, 0.0, sc.behaviour.max_capacity_growth_per_review),
            npv_new_site,
        )
        grew = plan.mw_added > 0
        i = np.arange(rows.size)
        fleet[i, plan.generation] += plan.ths_headroom
        if caps.on and grew.any():
            # rigs for new MW wait with them for the interconnection (sites in the queue)
            pending = np.zeros((int(grew.sum()), g.n))
            pending[np.arange(pending.shape[0]), plan.generation_new[grew]] = plan.ths_new[grew]
            t.fleet_ths[rows] = fleet
            caps.queue(day, rows[grew], plan.mw_added[grew], pending, new_mw_price[grew])
            caps.connect(day)  # zero lead times connect at once
        else:
            fleet[i, plan.generation_new] += plan.ths_new
            if grew.any():
                add_capacity(t, rows[grew], plan.mw_added[grew], new_mw_price[grew])
            t.fleet_ths[rows] = fleet
        spend = plan.rigs_usd + plan.infra_usd
        from_budget = np.where(sov, spend, 0.0)
        if sov.any():
            t.budget_usd[rows] -= from_budget
            t.cash_usd[rows] += from_budget
            self.ledger["usd_state_budget"] += float(from_budget.sum())
        excess = np.where(sov, 0.0, spend - cash_budget)  # new debt (rounding dust stays)
        self.borrow(rows, np.where(excess > 1e-6 * (1.0 + spend), excess, 0.0))
        t.cash_usd[rows] -= spend
        t.cum_capex_usd[rows] += spend
        t.fleet_book_usd[rows] += plan.rigs_usd
        t.site_book_usd[rows] += plan.infra_usd
        self.ledger["usd_capex_rigs"] += float(plan.rigs_usd.sum())
        self.ledger["usd_capex_infra"] += float(plan.infra_usd.sum())
        if grew.any():
            self._refresh_costs()

    def _raise_equity(self, rows: np.ndarray, day: int) -> None:
        """Listed, independent firms issue equity when BTC trades well above its 200-day average
        (an open window: at-the-market programmes), a share of their net asset value."""
        fin, t = self.params.finance, self.firms
        if self.price_usd[day] <= self.price_ma200_usd[day] * (1 + fin.equity_window_threshold):
            return
        issuers = rows[(t.kind[rows] == 1) & (t.ultimate_owner[rows] == rows)]
        if issuers.size == 0 or fin.equity_raise_fraction == 0:
            return
        raised = fin.equity_raise_fraction * np.maximum(self.nav_usd(issuers), 0.0)
        t.cash_usd[issuers] += raised
        self.ledger["usd_equity_raised"] += float(raised.sum())

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
        with np.errstate(divide="ignore", invalid="ignore"):  # sovereigns may have c = 0
            br = behaviour.best_response_ths(x, c, reward_usd)
        br[self.sov_rows] = x[self.sov_rows]  # sovereigns' hashrate is set by policy
        x_new = x + sc.behaviour.best_response_speed * (br - x)
        t.fleet_ths[np.arange(t.n), col] = x_new

    # ----------------------------------------------------------------------------------------
    def run_model(self) -> None:
        """Run to the horizon."""
        while self.running:
            self.step()


def _trailing_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values up to and including each day (fewer at the start)."""
    c = np.cumsum(np.concatenate([[0.0], x]))
    i = np.arange(1, x.size + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)
