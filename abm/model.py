"""MiningIndustry: the Mesa model. One step is one day; ``step`` lists the phases of the day.

The phases (:mod:`abm.day`, ARCHITECTURE.md) run in order: events -> environment -> operate
-> mine -> account -> expectations -> ai -> decide -> distress -> deals -> entry -> record. Each
returns an explicit record that later phases and the recorder read; the components
(:mod:`abm.components`: sovereigns, scheduled events, the AI market, capabilities, new sites,
colocation, consolidation) run at the phases they name. The daily phases are array operations
over all sites and firms; per-firm Python code runs only for the rare discrete events
(defaults, auctions, acquisitions, entry, awards, stranded clients moving).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from abm import chain, day, finance, operation, review
from abm.books import LEDGER_KEYS, Books
from abm.capabilities import Capabilities
from abm.components import Component
from abm.consolidation import Consolidation
from abm.contracts import AIMarket
from abm.entry import Entry
from abm.equity import EquityMarket
from abm.events import EventSchedule, price_shocks
from abm.firms import (
    LISTED,
    SMALL,
    SOVEREIGN,
    FirmTable,
    MiningFirm,
    SovereignMiner,
    calibrated_population,
    explicit_population,
)
from abm.markets import demand, energy, hardware
from abm.markets.asic import AsicMarket
from abm.markets.clearing import Bids
from abm.markets.fees import scenario_fee_path
from abm.markets.price import scenario_price_path
from abm.markets.used import UsedMarket
from abm.mesa_compat import RecorderCollector, overrides_from_kwargs
from abm.ownership import Ownership
from abm.pools import Pools
from abm.recorder import Recorder
from abm.rng import make_streams
from abm.scenario import Scenario, load_scenario
from abm.sites import AI, CLOSED, MINING, OUTSIDE, Colocation, Interconnection, SitePlan, SiteTable
from abm.sovereigns import Sovereigns
from abm.world import RestOfWorld

__all__ = ["LEDGER_KEYS", "MiningIndustry"]


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
        params: the resolved scenario in effect (``self.scenario`` is Mesa's own scenario
            object): every power price already multiplied by ``energy.price_multiplier``,
            which then reads 1 (:func:`abm.markets.energy.scale_power_prices`).
        firms: the columnar :class:`~abm.firms.FirmTable` (balance sheets, strategy, ownership).
        sites: the columnar :class:`~abm.sites.SiteTable` (owner, host, power, capacity,
            status, and the sites x generations fleet).
        gens: the hardware :class:`~abm.markets.hardware.GenerationTable`.
        chain: the protocol :class:`~abm.chain.ChainState`.
        books: every movement of money and assets (:class:`~abm.books.Books`); ``ledger`` is
            its cumulative ledger (keys and signs in :data:`abm.books.LEDGER`).
        ownership: the acquisition graph (:class:`~abm.ownership.Ownership`).
        components: the mechanisms run at their phases: ``sovereigns``, ``events``, ``ai``,
            ``capabilities``, ``interconnection`` (new sites), ``colocation`` (clients of failed
            hosts), ``consolidation``, ``entry`` (entry by NPV), ``pools`` (mining pools).
        recorder: daily model-level series and the periodic firm panel.
        last_day: the records of the last simulated day (:class:`~abm.day.Today`).
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
        sc = energy.scale_power_prices(sc)  # every power price x energy.price_multiplier
        self.params = sc
        self.seed = int(seed)
        self.streams = make_streams(self.seed)
        self.start_date: dt.date = sc.run.start_date
        self.n_days = round(sc.run.years * 365)
        self.day = 0
        self.contest = sc.behaviour.investment_rule == "best_response"
        self.finance_on = sc.finance.enabled and not self.contest
        self.last_day: day.Today | None = None

        # exogenous paths, drawn up front from their own streams
        self.price_usd = scenario_price_path(
            sc.price, self.streams["price"], self.start_date, self.n_days, price_shocks(sc)
        )
        self.price_ma200_usd = _trailing_mean(self.price_usd, 200)
        self.fee_btc_per_block = scenario_fee_path(sc.fees, self.streams["fees"], self.n_days)
        self.fee_backlog_blocks = 0.0  # transactions waiting for blocks [blocks] (day.mine)
        self.gens = hardware.build_generations(sc.hardware, self.start_date, self.n_days)
        self.months = np.array(
            [(self.start_date + dt.timedelta(days=d)).month for d in range(self.n_days)]
        )
        self.dry_season = np.isin(self.months, sc.energy.dry_season_months)
        self.outages = energy.OutageDraws(self.seed)
        self.released_by_day = self.gens.released_count(self.n_days + 1)
        self.chain = chain.ChainState.start(
            sc.protocol.start_height, sc.protocol.initial_difficulty
        )
        self._block_carry = 0.0
        self.pools = Pools(self)  # before expectations: the payout share depends on its fees

        # expectations: start from the difficulty-implied revenue per TH-day
        reward0 = chain.subsidy_btc(sc.protocol.start_height + 1) + sc.fees.base_btc_per_block
        hp0 = self.revenue_per_th_day(reward0, self.price_usd[0])
        self.expected_hashprice_usd_per_th_day = hp0
        self.long_hashprice_usd_per_th_day = hp0
        # the same per BTC of block reward (what the averages smooth), and the hashprice at
        # which rigs are valued (anticipating the next halving; day.update_expectations)
        self.hashprice_per_reward = hp0 / reward0
        self.long_hashprice_per_reward = hp0 / reward0
        self.valuation_hashprice_usd_per_th_day = hp0
        self.ema_short = 1.0 - 0.5 ** (1.0 / sc.behaviour.hashprice_ema_halflife_days)
        self.ema_long = 1.0 - 0.5 ** (1.0 / 365.0)
        self.books = Books(self)
        self.ledger = self.books.ledger
        # caches of values computed at most once a day (see site_value_usd_per_mw)
        self._site_per_mw_key: tuple[int, int, int] | None = None
        self._site_per_mw = np.zeros(0)
        self._prices_version = 0  # bumped whenever sites' power prices may have changed
        self._survival_key: tuple[int, int, int] | None = None
        self._survival = np.zeros(0)
        self._life_day: int | None = None
        self._life_years = np.zeros(0)
        # sites x generations energy cost at each site's rate, and the rates it is for
        self.cost_usd_per_th_day = np.zeros((0, self.gens.n))
        self._cost_rate = np.zeros(0)
        self.live_columns = slice(0, 1)

        # firms and components
        self.firms = FirmTable()
        self.sites = SiteTable(self.gens.n)
        self.firm_agents: list[MiningFirm] = []
        self.ownership = Ownership()
        self.n_exits = 0
        self.n_defaults = 0
        self.n_acquisitions = 0
        self.n_site_purchases = 0
        self.sovereigns = Sovereigns(self)
        self.events = EventSchedule(self)
        self.ai = AIMarket(self)
        self.capabilities = Capabilities(self)
        self.interconnection = Interconnection(self)
        self.colocation = Colocation(self)
        self.consolidation = Consolidation(self)
        # the rig markets and the rest of the world's miners (abm.markets, abm.world)
        self.asic = AsicMarket(self)
        self.used = UsedMarket(self)
        self.equity = EquityMarket(self)  # premiums, ATM raises, listings (abm.equity)
        self.world = RestOfWorld(self)
        self.entry = Entry(self)
        self.components: list[Component] = [
            self.asic,
            self.used,
            self.equity,
            self.sovereigns,
            self.events,
            self.ai,
            self.capabilities,
            self.interconnection,
            self.colocation,
            self.consolidation,
            self.entry,
            self.pools,
        ]
        self._hooks: dict[str, list[Component]] = {
            p: [c for c in self.components if p in c.phases] for p in day.PHASES
        }
        if sc.firms.population == "explicit":
            pop = explicit_population(sc, self.gens, unlimited=self.contest)
        else:
            revenue0 = reward0 * chain.BLOCKS_PER_DAY * self.price_usd[0]
            pop = calibrated_population(
                self.streams["population"], self.streams["sites"], sc, self.gens, revenue0
            )
        self.add_firms(pop.names, pop.cols, pop.sites)
        self.sovereigns.add_population()
        self.ai.seed_contracts()  # the hosting contracts signed before the start
        self._open_markets()
        self.pools.start()
        if self.finance_on:
            self._initial_financing()
        self.initial_cash_usd = float(self.firms.cash_usd.sum())
        self.initial_debt_usd = float(self.firms.debt_usd.sum())
        self.initial_btc_held = float(self.firms.btc_held.sum())
        self.recorder = Recorder(self)
        self.datacollector = RecorderCollector(self)

    # ----------------------------------------------------------------------------------------
    # the day
    def step(self) -> None:
        """Advance one day: the phases in order (ARCHITECTURE.md)."""
        if self.day >= self.n_days:
            self.running = False
            return
        today = day.Today(self.day)
        self.run_hooks("events", today)  # relocated rigs return, bans, tariffs
        today.env = day.environment(self, today.day)
        self.run_hooks("environment", today)  # sovereigns' policy, grid emergencies
        day.price_revenue(self, today.env)
        today.op = day.operate(self, today.env)
        today.blocks = day.mine(self, today.env, today.op)
        today.flows = day.account(self, today.env, today.op, today.blocks)
        self.run_hooks("account", today)  # sovereigns sell down their BTC
        day.update_expectations(self, today.env, today.op, today.blocks)
        self.run_hooks("markets", today)  # rigs delivered, new and used rigs priced and sold
        self.run_hooks("ai", today)  # AI/HPC contracts, tenders
        if self.contest:
            review.best_response_update(self, today.env)
        else:
            self.run_hooks("decide", today)  # sites coming online, stranded clients moving
            reviewed = review.review_due(self, today.day)
            self.run_hooks("distress", today)  # defaults and auctions
            self.run_hooks("deals", today)  # acquisitions, voluntary exits
            self.run_hooks("entry", today)  # potential entrants, those whose project pays
            if reviewed or self.released_by_day[today.day + 1] > self.live_columns.stop:
                self.update_live_columns(today.day + 1)
        self.recorder.record_day(today)
        self.last_day = today
        self.day += 1
        if self.day >= self.n_days:
            self.running = False

    def run_hooks(self, phase: str, today: day.Today) -> None:
        """Run the components that act at `phase`, in the components' order."""
        for c in self._hooks[phase]:
            c.daily(phase, today)

    def run_model(self) -> None:
        """Run to the horizon."""
        while self.running:
            self.step()

    def draw_blocks(self, expected: float) -> int:
        """Blocks found today: Poisson(expected) with block luck, else the expected count
        (fractions carried to the next day)."""
        if self.params.protocol.block_luck:
            return int(self.streams["blocks"].poisson(expected))
        self._block_carry += expected
        n = int(self._block_carry)
        self._block_carry -= n
        return n

    # ----------------------------------------------------------------------------------------
    # firms
    def add_firms(self, names: list[str], cols: dict, plan: SitePlan) -> np.ndarray:
        """Append firms (initial population, entrants) and their sites: rows, home regions
        (drawn on the run's "regions" stream from the open regions unless given), agents,
        ownership nodes, books; every component draws its attributes of the new firms."""
        t, sc = self.firms, self.params
        cols = {"entry_day": self.day, **cols}
        rows = t.append(names, **cols)
        if "region" not in cols:  # never a region under a full ban
            mix = np.array(list(sc.firms.region_mix.values()))
            banned = self.events.banned
            if banned.any() and not banned.all():
                mix = np.where(banned, 0.0, mix)
                mix = mix if mix.sum() > 0 else (~banned).astype(float)
            t.region[rows] = self.streams["regions"].choice(
                len(mix), size=rows.size, p=mix / mix.sum()
            )
        if plan.hosts is not None:
            t.hosts[rows] = plan.hosts
        site_rows = self.add_sites(plan, rows)
        s = self.sites
        cap, rate = s.capacity_mw[site_rows], s.rate_usd_per_mwh[site_rows]
        owner = s.owner[site_rows] - rows[0]
        firm_cap = np.bincount(owner, weights=cap, minlength=rows.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            t.initial_power_price_usd_per_mwh[rows] = (
                np.bincount(owner, weights=cap * rate, minlength=rows.size) / firm_cap
            )
        fin = sc.finance
        listed = t.kind[rows] == LISTED
        sovereign = t.kind[rows] == SOVEREIGN
        small = t.size_class[rows] == SMALL
        t.debt_rate[rows] = np.where(
            listed, fin.rate_listed, np.where(small, fin.rate_small, fin.rate_private)
        )
        t.ltv_limit[rows] = np.where(listed, fin.ltv_limit_listed, fin.ltv_limit_private)
        hold = np.where(
            listed, fin.treasury_hold_fraction_listed, fin.treasury_hold_fraction_private
        )
        t.hold_fraction[rows] = np.where(sovereign, t.hold_fraction[rows], hold * self.finance_on)
        self.firm_agents.extend(
            (SovereignMiner if v else MiningFirm)(self, int(r))
            for r, v in zip(rows, sovereign, strict=True)
        )
        self.ownership.add_firms(rows, names)
        for c in self.components:
            c.on_new_firms(rows)
        self.refresh_costs()
        self.update_live_columns(self.day)
        return rows

    def add_sites(
        self,
        plan: SitePlan,
        firm_rows: np.ndarray,
        status: int = MINING,
        draw_key: np.ndarray | None = None,
    ) -> np.ndarray:
        """Append the sites of `plan` for the firms `firm_rows` (the plan's firm index ->
        row); an own site lies in its owner's home region, a hosted one in its host's
        facility; `draw_key` keeps given outage-draw keys (default: each owner's next).
        Returns the new site rows (the caller refreshes costs and live columns)."""
        t, sc = self.firms, self.params
        owner = firm_rows[plan.firm]
        host = np.where(plan.host == OUTSIDE, OUTSIDE, firm_rows[np.maximum(plan.host, 0)])
        region = t.region[owner]
        hosted = plan.host_site >= 0
        region[hosted] = t.region[firm_rows[plan.firm[plan.host_site[hosted]]]]
        _, used = self.rig_prices(self.day)
        # books at market value on arrival: rigs at the secondary price, facilities at cost
        rig_book = plan.fleet_ths @ used if plan.rig_book_usd is None else plan.rig_book_usd
        site_book = (
            plan.capacity_mw * sc.energy.capex_usd_per_mw * (host >= 0)
            if plan.site_book_usd is None
            else plan.site_book_usd
        )
        return self.sites.append(
            owner=owner,
            host=host,
            status=np.full(plan.n, status, dtype=np.int8),
            origin=plan.origin,
            region=region,
            source=plan.source,
            seasonal=plan.seasonal,
            outage_prob=plan.outage_prob,
            power_price_usd_per_mwh=plan.power_price_usd_per_mwh,
            rate_usd_per_mwh=plan.rate_usd_per_mwh,
            capacity_mw=plan.capacity_mw,
            open_day=np.full(plan.n, self.day, dtype=np.int32),
            fleet_ths=plan.fleet_ths,
            rig_book_usd=rig_book,
            site_book_usd=site_book,
            **({} if draw_key is None else {"draw_key": draw_key}),
        )

    def _initial_financing(self) -> None:
        """Debt on day one: leverage x collateral, maturities spread over the term."""
        t, fin = self.firms, self.params.finance
        listed = t.kind == LISTED
        lev = np.where(listed, fin.initial_leverage_listed, fin.initial_leverage_private)
        lev = np.where(t.kind == SOVEREIGN, 0.0, lev)
        if self.capabilities.on:
            lev = lev * self.capabilities.leverage_factor()
        t.debt_usd[:] = lev * self.collateral_usd()
        term = np.where(listed, fin.term_years_listed, fin.term_years_private) * 365
        left = self.streams["population"].uniform(0.2, 1.0, t.n)
        t.debt_maturity_day[:] = np.maximum(1, (term * left)).astype(np.int32)

    def on_liquidate(self, r: int) -> None:
        """Firm r's estate is being sold: components settle what they hold for it."""
        for c in self.components:
            c.on_liquidate(r)

    def on_acquired(self, buyer: int, members: np.ndarray) -> None:
        """Firm `buyer`'s group has taken over the firms `members`: components merge what
        they hold for them."""
        for c in self.components:
            c.on_acquired(buyer, members)

    def on_exit(self, row: int) -> None:
        """A firm has exited: close its own sites it still holds (AI sites stay with their
        contracts), hand the capacity of its hosted sites back to their hosts, count it, and
        let the components release what it held."""
        s = self.sites
        left = np.flatnonzero((s.owner == row) & (s.status != CLOSED) & (s.status != AI))
        hosted = left[s.host[left] != row]
        s.fleet_ths[hosted] = 0.0  # settled with the estate
        self.books.release_to_hosts(hosted)
        self.close_sites(left[s.host[left] == row])
        self.n_exits += 1
        for c in self.components:
            c.on_exit(row)

    def close_sites(self, rows: np.ndarray) -> None:
        """Sites that stop for good: no capacity, no rigs (their value has been settled)."""
        if rows.size:
            s = self.sites
            s.status[rows] = CLOSED
            s.capacity_mw[rows] = 0.0
            s.fleet_ths[rows] = 0.0
            s.rig_book_usd[rows] = 0.0
            s.site_book_usd[rows] = 0.0
            s.closed_day[rows] = self.day
            t = self.firms
            t.dev_site[np.isin(t.dev_site, rows)] = -1

    def refresh_costs(self) -> None:
        """Update the sites x generations energy-cost matrix for sites whose rate changed or
        that were added (it changes only with rates and new sites)."""
        rate = self.sites.rate_usd_per_mwh
        e = self.gens.energy_mwh_per_th_day
        k = self._cost_rate.size
        if k == 0:
            self.cost_usd_per_th_day = energy.energy_cost_usd_per_th_day(rate, e)
        else:
            changed = np.flatnonzero(rate[:k] != self._cost_rate)
            if changed.size:
                self.cost_usd_per_th_day[changed] = energy.energy_cost_usd_per_th_day(
                    rate[changed], e
                )
            if rate.size > k:
                self.cost_usd_per_th_day = np.concatenate(
                    [self.cost_usd_per_th_day, energy.energy_cost_usd_per_th_day(rate[k:], e)]
                )
        self._cost_rate = rate.copy()

    def prices_changed(self) -> None:
        """Sites' power prices changed (a tariff): refresh the energy costs and the sites'
        market values."""
        self._prices_version += 1
        self.refresh_costs()

    def update_live_columns(self, day: int) -> None:
        """Restrict the daily path to generations someone holds or can buy (others are 0)."""
        held = np.flatnonzero(self.sites.fleet_ths.any(axis=0) | self.world.fleet_ths.any(axis=0))
        hi = max(int(self.released_by_day[day]), int(held[-1]) + 1 if held.size else 1)
        lo = int(held[0]) if held.size else hi - 1
        self.live_columns = slice(lo, hi)

    # ----------------------------------------------------------------------------------------
    # state read by decisions, metrics and the visualisation
    def revenue_per_th_day(self, reward_btc_per_block: float, price_usd: float) -> float:
        """Expected miner revenue per TH/s per day at the current difficulty [USD/(TH/s)/day]."""
        implied_ths = chain.implied_hashrate_ehs(self.chain.difficulty) * 1e6
        payout = self.payout_share
        return reward_btc_per_block * price_usd * chain.BLOCKS_PER_DAY * payout / implied_ths

    @property
    def payout_share(self) -> float:
        """Share of the reward miners expect to be paid: 1 less the pools' hashrate-weighted
        fee (abm.pools), or less ``protocol.pool_fee`` with pools off [0-1]."""
        if self.pools.enabled:
            return 1.0 - self.pools.mean_fee
        return 1.0 - self.params.protocol.pool_fee

    def rig_prices(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """(new, used) rig prices per generation [USD/TH]: the new-rig market's posted price
        of the generation it makes (+inf for the others) and the used-rig dealer's posted
        prices (abm.markets.asic, abm.markets.used). `day` is today's (prices are posted by
        the markets' own periods)."""
        return self.asic.new_prices(), self.used.prices_usd_per_th

    @property
    def frontier_rig_price_usd_per_th(self) -> float:
        """Posted price of the newest generation on sale [USD/TH]."""
        return float(self.asic.price_usd_per_th)

    def _open_markets(self) -> None:
        """Day one: the rest of the world's miners start beside the firms (the initial fleet ready
        to run: :func:`abm.operation.ready_start_days`), the dealer posts
        used prices and the factories their first price; the rigs' books start at the used
        prices."""
        self.world.start(self.installed_ths_by_generation())
        s = self.sites
        s.start_days[:] = operation.ready_start_days(
            operation.start_delays(s.draw_key, self.params.operation.start_delay_max_days)[:, None],
            s.start_days.shape,
        )
        self.update_live_columns(0)
        if self.contest:
            return
        self.used.clear(trade=False)
        self.asic.price(0, self.demand_for_new_rigs())
        self.world.order_new_rigs(self.asic)
        self.sites.rig_book_usd[:] = self.sites.fleet_ths @ self.used.prices_usd_per_th

    def installed_ths_by_generation(self) -> np.ndarray:
        """Rigs installed by generation: the firms' and the rest of the world's [TH/s]."""
        firms = self.sites.fleet_ths.sum(axis=0)
        return firms + self.world.fleet_ths.sum(axis=0) if self.world.enabled else firms

    def demand_for_new_rigs(self) -> Bids:
        """Every buyer's bids for new rigs today, per day (abm.markets.demand)."""
        return demand.new_rig_bids(self)

    def used_rig_buyers(self) -> demand.UsedRigBuyers:
        """The buyers of today's used-rig clearing (abm.markets.demand)."""
        return demand.UsedRigBuyers(self)

    def used_rig_sellers(self) -> demand.UsedRigSellers:
        """The firms' offers to today's used-rig clearing (abm.markets.demand)."""
        return demand.UsedRigSellers(self)

    def firm_capacity_mw(self) -> np.ndarray:
        """Mining capacity of each firm's sites (own and hosted) [MW]."""
        return self.sites.by_firm(self.sites.mining_capacity_mw(), self.firms.n)

    def firm_installed_ths(self) -> np.ndarray:
        """Rigs each firm has installed on all its sites [TH/s]."""
        return self.sites.by_firm(self.sites.fleet_ths.sum(axis=1), self.firms.n)

    def firm_power_price_usd_per_mwh(self) -> np.ndarray:
        """Capacity-weighted price each firm pays per MWh on its mining sites (an output:
        nothing in the model uses it for costs) [USD/MWh] (nan without mining sites)."""
        s = self.sites
        cap = s.mining_capacity_mw()
        with np.errstate(invalid="ignore", divide="ignore"):
            return s.by_firm(cap * s.rate_usd_per_mwh, self.firms.n) / s.by_firm(cap, self.firms.n)

    def rig_value_usd(self) -> np.ndarray:
        """Each site's rigs at today's secondary price [USD] (over the live generations: every
        other column of the fleet is empty)."""
        _, used = self.rig_prices(self.day)
        live = self.live_columns
        return self.sites.fleet_ths[:, live] @ used[live]

    def collateral_usd(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Market value of each firm's rigs (secondary price) and of the sites it holds as host
        that lenders lend against [USD]."""
        s, n = self.sites, self.firms.n
        value = s.by_firm(self.rig_value_usd(), n) + s.by_host(self.site_value_usd(), n)
        return value[rows]

    def lot_market_value_usd(self, r: int) -> float:
        """Market value of firm r's rigs and of the sites it holds, together [USD]."""
        return float(self.collateral_usd(np.array([r]))[0])

    def site_value_usd(self) -> np.ndarray:
        """Market value of each mining site's power capacity to its host [USD] (hosted sites
        count for the host; sites not mining are worth nothing here)."""
        s = self.sites
        return s.mining_capacity_mw() * self.site_value_usd_per_mw()

    def site_value_usd_per_mw(self) -> np.ndarray:
        """Market value of a MW at each site today [USD/MW] (see finance.site_value_usd_per_mw;
        memoised for the day, until power prices change)."""
        key = (self.day, self.sites.n, self._prices_version)
        if self._site_per_mw_key != key:
            g = max(int(self.released_by_day[self.day]) - 1, 0)
            self._site_per_mw_key = key
            self._site_per_mw = finance.site_value_usd_per_mw(
                self.sites.power_price_usd_per_mwh,
                self.gens.energy_mwh_per_th_day[g],
                self.expected_hashprice_usd_per_th_day,
                self.params.energy.median_price_usd_per_mwh,
                self.params.finance.site_value_usd_per_mw,
            )
        return self._site_per_mw

    def daily_survival(self, day: int, live: slice) -> np.ndarray:
        """Share of the rigs of each live generation that work one day later, by their age
        on `day` (:func:`abm.operation.daily_survival`; memoised for the day: the firms and the
        rest of the world wear alike) [0-1] (read only)."""
        key = (day, live.start, live.stop)
        if self._survival_key != key:
            self._survival_key = key
            self._survival = operation.daily_survival(
                day - self.gens.release_day[live], self.params.operation
            )
        return self._survival

    def valuation_life_years(self) -> np.ndarray:
        """The life over which a rig of each generation is valued today [years]
        (:func:`abm.operation.valuation_life_years`; memoised for the day) (read only)."""
        if self._life_day != self.day:
            self._life_day = self.day
            self._life_years = operation.valuation_life_years(
                self, self.day - self.gens.release_day
            )
        return self._life_years

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
        """Today's operating outgoings of the firms in `rows`: energy and fixed costs of the
        sites they hold, and hosting fees [USD/day]."""
        t = self.firms
        return t.site_cost_usd[rows] + t.hosting_fees_usd[rows]

    def spare_cash_usd(self, rows: np.ndarray) -> np.ndarray:
        """Cash above each firm's operating reserve [USD]."""
        reserve = self.params.behaviour.cash_reserve_days * self.operating_run_rate_usd(rows)
        return np.maximum(self.firms.cash_usd[rows] - reserve, 0.0)

    def budgets_usd(self, rows: np.ndarray) -> np.ndarray:
        """What each firm can pay today: spare cash plus new debt it could raise [USD]."""
        return self.spare_cash_usd(rows) + self.borrowing_room(rows)

    def independent_rows(self) -> np.ndarray:
        """Active firms that no firm owns, sovereigns excepted."""
        t = self.firms
        return np.flatnonzero(
            t.active & (t.ultimate_owner == np.arange(t.n)) & (t.kind != SOVEREIGN)
        )

    @property
    def running_by_gen_ths(self) -> np.ndarray:
        """Hashrate each site ran on the last simulated day, by generation [TH/s] (sites added
        after operating that day ran nothing)."""
        full = np.zeros_like(self.sites.fleet_ths)
        if self.last_day is not None:
            op = self.last_day.op
            full[: op.running_ths.shape[0], op.live] = op.running_ths
        return full

    @property
    def date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.day)


def _trailing_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values up to and including each day (fewer at the start)."""
    c = np.cumsum(np.concatenate([[0.0], x]))
    i = np.arange(1, x.size + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)
