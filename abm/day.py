"""One simulated day as a pipeline of phases (ARCHITECTURE.md, "Phases of a day").

Each phase is a function of the model's state and of the records of the phases before it; it
returns an explicit record of what happened (:class:`Environment`, :class:`Operation`,
:class:`Blocks`, :class:`DayFlows`). Later phases, components and the recorder read these
records, never attributes stashed on the model. ``MiningIndustry.step`` lists the phases in
order; components (:mod:`abm.components`) run at the end of the phase they name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from abm import behaviour, chain, finance, operation
from abm.markets import energy, fees, hardware
from abm.sites import MINING, OUTSIDE

if TYPE_CHECKING:
    from abm.contracts import AIDay
    from abm.entry import EntryDay
    from abm.equity import EquityDay
    from abm.markets.asic import AsicDay
    from abm.markets.used import UsedDay
    from abm.model import MiningIndustry
    from abm.pools import PoolDay

# the phases of a day, in order (ARCHITECTURE.md); components name the phase they run after
PHASES: tuple[str, ...] = (
    "events",
    "environment",
    "operate",
    "mine",
    "account",
    "expectations",
    "markets",
    "ai",
    "decide",
    "distress",
    "deals",
    "entry",
    "record",
)


@dataclass(slots=True)
class Environment:
    """Phase 1: today's exogenous inputs. Environment components (sovereigns' policy, scheduled
    events) adjust ``availability`` in place before operation."""

    day: int
    price_usd: float  # BTC price [USD]
    fee_btc_per_block: float  # transaction fees [BTC/block]
    availability: np.ndarray  # share of each site's capacity available today [0-1]
    subsidy_btc: float = 0.0  # subsidy of the next block [BTC]
    revenue_usd_per_th_day: float = 0.0  # expected revenue per TH/s-day at today's difficulty
    # the revenue per TH/s-day that switches vintages on and off: today's over the next
    # operation.outlook_days, the projected retarget counted (chain.revenue_outlook_factor)
    outlook_usd_per_th_day: float = 0.0


@dataclass(slots=True)
class Operation:
    """Phase 2: what ran today, per site."""

    live: slice  # generations anyone holds today (every other column of the fleet is 0)
    running_ths: np.ndarray  # TH-days run per TH/s, sites x live generations [TH/s]
    on_hours_ths: np.ndarray | None  # flexible scheduling: what runs in the hours it runs
    run_share: np.ndarray | None  # flexible scheduling: share of the day run [0-1]
    energy_mult: np.ndarray | None  # flexible scheduling: energy relative to running flat
    by_site_ths: np.ndarray  # hashrate run per site [TH/s]
    by_firm_ths: np.ndarray  # hashrate run per firm (the owner of the rigs) [TH/s]
    world_running_ths: np.ndarray  # the rest of the world's, tranches x live generations
    world_ths: float  # the rest of the world's hashrate [TH/s]
    total_ths: float  # network hashrate: the firms' and the rest of the world's [TH/s]
    failed_ths: float = 0.0  # rigs that failed today (age hazard) [TH/s]

    @property
    def hashrate_ehs(self) -> float:
        return self.total_ths / 1e6


@dataclass(slots=True)
class Blocks:
    """Phase 3: blocks found, the chain's day, and the payout to firms (BTC issued = paid to
    firms + paid to the world + pool fees + pool luck)."""

    difficulty_start: float  # difficulty that applied to the day's first block [-]
    n_blocks: int
    chain_day: chain.DayBlocks
    fees_btc: float  # transaction fees of the day's blocks [BTC]
    reward_btc: float  # subsidy + fees [BTC]
    pooled_btc: float  # paid out by pools to every miner (reward less pool fees and luck) [BTC]
    to_firms_btc: float  # of which to the firms [BTC]
    to_world_btc: float  # of which to the rest of the world [BTC]
    by_firm_btc: np.ndarray  # paid to each firm [BTC]
    fee_backlog_blocks: float = 0.0  # transactions waiting at the end of the day [blocks]
    pool_fees_btc: float = 0.0  # kept by the pools as fees [BTC]
    pool_luck_btc: float = 0.0  # kept by FPPS pools: found less the expected value paid [BTC]
    pools: PoolDay | None = None  # each pool's hashrate, blocks and payout (pools on)


@dataclass(slots=True)
class DayFlows:
    """Phase 4: each firm's operating cash flows of the day [USD] and BTC kept [BTC].

    Energy and fixed costs fall on the site's host (its power contract and facility); a hosted
    site's owner pays the host the all-in hosting rate per MWh its rigs draw instead."""

    btc_sold: np.ndarray
    btc_sales_usd: np.ndarray
    site_costs_usd: np.ndarray  # energy and fixed costs of the sites each firm holds
    energy_usd: float  # energy bought by the firms (for the sites they hold)
    fixed_usd: float  # fixed costs of the sites they hold
    hosting_fees_usd: np.ndarray  # paid by each firm to its hosts
    hosting_income_usd: np.ndarray  # received by each host from its clients
    outside_fees_usd: float  # hosting fees paid to providers outside the model
    hedge_usd: np.ndarray | None  # net hedge settlement less costs (risk management)
    flex_credits_usd: np.ndarray | None  # demand-response credits (compute scheduling)
    interest_usd: np.ndarray | None  # finance on
    principal_usd: np.ndarray | None
    cash_flow_usd: np.ndarray  # the day's change of cash
    network_energy_usd: float  # every site's energy at its power price, and the rest of the
    # world's [USD/day]


@dataclass(slots=True)
class Today:
    """The records of the day so far, handed to components (each reads what it needs)."""

    day: int
    env: Environment | None = None
    op: Operation | None = None
    blocks: Blocks | None = None
    flows: DayFlows | None = None
    ai: AIDay | None = None  # the AI market's record (abm.contracts)
    asic: AsicDay | None = None  # the new-rig market's record (abm.markets.asic)
    used: UsedDay | None = None  # the used-rig market's record (abm.markets.used)
    entry: EntryDay | None = None  # the entry phase's record (abm.entry; None: nobody came)
    equity: EquityDay | None = None  # the equity market's record (abm.equity; None: off)


# --------------------------------------------------------------------------------------------
def environment(m: MiningIndustry, d: int) -> Environment:
    """Price, fees (the day's fee path, raised by the backlog of transactions left by blocks
    not found) and each site's energy availability (outages, dry season; sites that are not
    mining have none)."""
    s, sc = m.sites, m.params
    avail = energy.availability(
        m.outages.uniforms(d, s.draw_key),
        s.outage_prob,
        s.seasonal,
        m.dry_season[d],
        sc.energy.dry_season_availability,
    )
    avail *= s.status == MINING
    fee = m.fee_btc_per_block[d] * fees.backlog_multiplier(
        m.fee_backlog_blocks, sc.fees.backlog_elasticity
    )
    return Environment(d, m.price_usd[d], fee, avail)


def price_revenue(m: MiningIndustry, env: Environment) -> None:
    """The next block's subsidy, the expected revenue per TH-day at today's difficulty, and the
    outlook that switches vintages: that revenue over the next ``operation.outlook_days``,
    with the retarget projected at the period's pace so far (in its first day, yesterday's
    hashrate at today's difficulty; none on day one)."""
    env.subsidy_btc = chain.subsidy_btc(m.chain.height + 1)
    env.revenue_usd_per_th_day = m.revenue_per_th_day(
        env.subsidy_btc + env.fee_btc_per_block, env.price_usd
    )
    factor = 1.0
    if m.last_day is not None:
        yesterday = chain.expected_blocks_per_day(m.last_day.op.total_ths / 1e6, m.chain.difficulty)
        rate = chain.period_block_rate(m.chain, yesterday)
        factor = chain.revenue_outlook_factor(m.chain, rate, m.params.operation.outlook_days)
    env.outlook_usd_per_th_day = env.revenue_usd_per_th_day * factor


def operate(m: MiningIndustry, env: Environment) -> Operation:
    """Rigs fail by their age hazard; at each site each vintage is on or off by its revenue
    against its energy cost at the rate the owner pays there, with hysteresis; the vintages
    that are on run within the site's available capacity, the cheapest to run first (flexible
    owners by the hour, summarised per day); sites idle for long go into care and maintenance,
    and sites in care with a vintage on again return to mining (abm.operation)."""
    s, caps = m.sites, m.capabilities
    live = m.live_columns
    failed = operation.wear(m, env.day, live) + m.world.wear(env.day, live)
    rev_th = env.revenue_usd_per_th_day
    cost_live = m.cost_usd_per_th_day[:, live]
    share = mult = on_hours = None
    cost_run = cost_live
    if caps.flexing:  # hour-scale scheduling, summarised per day
        share, mult, cost_run = caps.schedule(cost_live, rev_th)
    on = operation.switch_vintages(m, cost_run, env.outlook_usd_per_th_day, live)
    running = behaviour.operate(
        s.fleet_ths[:, live],
        on,
        s.capacity_mw * env.availability,
        m.gens.power_mw_per_th[live],
    )
    operation.care_and_maintenance(m, on, live)
    if caps.flexing:
        on_hours = running  # what runs in the hours it runs
        running = running * share  # TH-days run today per TH/s
    run_s = behaviour.row_sums(running)
    run_f = s.by_firm(run_s, m.firms.n)
    world = m.world.operate(env.outlook_usd_per_th_day, live)
    world_ths = float(world.sum())
    total = float(run_s.sum()) + world_ths
    return Operation(
        live, running, on_hours, share, mult, run_s, run_f, world, world_ths, total, failed
    )


def mine(m: MiningIndustry, env: Environment, op: Operation) -> Blocks:
    """Blocks found today (Poisson), retargets and halvings, the payout (with pools, each pool
    pays its miners by its scheme, abm.pools; without, one pooled payout by hash share less
    ``protocol.pool_fee``) to the firms and the rest of the world, and the fee backlog the day
    leaves."""
    difficulty_start = m.chain.difficulty
    expected = chain.expected_blocks_per_day(op.hashrate_ehs, difficulty_start)
    n_blocks = m.draw_blocks(expected)
    m.chain, chain_day = chain.advance_day(m.chain, n_blocks)
    m.fee_backlog_blocks = fees.backlog_next(
        m.fee_backlog_blocks, n_blocks, m.params.fees.backlog_decay_per_day
    )
    fees_btc = env.fee_btc_per_block * n_blocks
    reward_btc = chain_day.subsidy_btc + fees_btc
    pools = None
    if m.pools.enabled:
        pools = m.pools.pay(env, op, n_blocks, expected, reward_btc)
        pooled = float(pools.paid_btc.sum())
        to_world, btc_f = pools.to_world_btc, pools.by_firm_btc
        to_firms = pooled - to_world
        fees_kept, luck = pools.fees_btc, pools.luck_btc
    else:  # one pooled payout by hash share less the pool fee
        pooled = reward_btc * (1.0 - m.params.protocol.pool_fee)
        total = op.total_ths
        per_th = pooled / total if total > 0 else 0.0
        btc_f = op.by_firm_ths * per_th
        to_world = op.world_ths * per_th
        to_firms = pooled - to_world if total > 0 else 0.0
        fees_kept, luck = float(reward_btc - pooled), 0.0
    return Blocks(
        difficulty_start,
        n_blocks,
        chain_day,
        fees_btc,
        reward_btc,
        pooled,
        to_firms,
        to_world,
        btc_f,
        m.fee_backlog_blocks,
        fees_kept,
        luck,
        pools,
    )


def account(m: MiningIndustry, env: Environment, op: Operation, blocks: Blocks) -> DayFlows:
    """Treasury (hold a share of mined BTC, sell the rest), energy, fixed costs and hosting
    fees per site, hedges and credits, debt service; posted to the books."""
    t, s, sc, caps = m.firms, m.sites, m.params, m.capabilities
    n, price = t.n, env.price_usd
    btc_f = blocks.by_firm_btc
    gens = m.gens
    sold_btc = btc_f * (1.0 - t.hold_fraction)
    usd_f = sold_btc * price
    credits_f = hedge = interest = principal = None
    if caps.flexing:
        mwh = (op.on_hours_ths * op.energy_mult) @ gens.energy_mwh_per_th_day[op.live]
        credits_s = caps.flex_credits(op.on_hours_ths, op.run_share, gens.power_mw_per_th[op.live])
        credits_f = s.by_firm(credits_s, n)
    else:
        mwh = op.running_ths @ gens.energy_mwh_per_th_day[op.live]
    energy_s = mwh * s.power_price_usd_per_mwh
    # the facilities of mining (and stranded) sites cost their hosts, those in care and
    # maintenance a share of it; AI sites' opex is the contracts' (abm.contracts), building
    # sites have no capacity yet
    fixed_s = (s.capacity_mw * sc.energy.fixed_opex_usd_per_mw_day) * operation.fixed_cost_share(
        s.status, sc.operation.care_fixed_cost_share
    )
    if m.contest:
        fixed_s = np.where(s.capacity_mw >= 1e11, 0.0, fixed_s)
    site_costs_f = s.by_host(energy_s + fixed_s, n)
    # hosting fees on the hosted sites only (a minority); sites at outside providers cost the
    # firms only their fees
    hosted = np.flatnonzero(s.host != s.owner)
    fees_h = mwh[hosted] * s.rate_usd_per_mwh[hosted]
    host_h = s.host[hosted]
    outside = hosted[host_h == OUTSIDE]
    fees_paid = np.bincount(s.owner[hosted], weights=fees_h, minlength=n)
    fees_recv = np.bincount(host_h + 1, weights=fees_h, minlength=n + 1)[1:]
    cash_flow = usd_f - site_costs_f - fees_paid + fees_recv
    if caps.hedging:
        hedge = caps.hedge(env.day, btc_f, price)
        cash_flow += hedge
    if caps.flexing:
        cash_flow += credits_f
    if m.finance_on:
        interest, principal = finance.debt_service(
            t.debt_usd, t.debt_rate, t.debt_maturity_day, env.day
        )
        cash_flow -= interest + principal
    world_energy = m.world.account(op.world_running_ths, op.live, blocks.to_world_btc)
    network_energy = float(energy_s.sum()) + world_energy
    flows = DayFlows(
        sold_btc,
        usd_f,
        site_costs_f,
        network_energy - world_energy - float(energy_s[outside].sum()),
        float(fixed_s.sum()) - float(fixed_s[outside].sum()),
        fees_paid,
        fees_recv,
        float(fees_h[host_h == OUTSIDE].sum()),
        hedge,
        credits_f,
        interest,
        principal,
        cash_flow,
        network_energy,
    )
    m.books.post_day(op, blocks, flows, price)
    return flows


def update_expectations(m: MiningIndustry, env: Environment, op: Operation, blocks: Blocks) -> None:
    """Adaptive expectations of revenue per TH-day: the realised value per BTC of block reward,
    smoothed short and long (exponential moving averages), times the reward of the next block
    (so expectations follow a halving at once: miners know the schedule); and the hashprice
    at which rigs are valued, which anticipates the next halving
    (:func:`abm.markets.hardware.halving_factor`)."""
    reward_today = env.subsidy_btc + env.fee_btc_per_block
    if op.total_ths > 0 and reward_today > 0:
        realised = blocks.pooled_btc * env.price_usd / op.total_ths / reward_today
        m.hashprice_per_reward += m.ema_short * (realised - m.hashprice_per_reward)
        m.long_hashprice_per_reward += m.ema_long * (realised - m.long_hashprice_per_reward)
    subsidy = chain.subsidy_btc(m.chain.height + 1)
    reward = subsidy + env.fee_btc_per_block
    m.expected_hashprice_usd_per_th_day = m.hashprice_per_reward * reward
    m.long_hashprice_usd_per_th_day = m.long_hashprice_per_reward * reward
    sc = m.params
    to_halving = (
        chain.HALVING_INTERVAL_BLOCKS - (m.chain.height + 1) % chain.HALVING_INTERVAL_BLOCKS
    )
    m.valuation_hashprice_usd_per_th_day = m.expected_hashprice_usd_per_th_day * (
        hardware.halving_factor(
            to_halving / chain.BLOCKS_PER_DAY / hardware.DAYS_PER_YEAR,
            (subsidy / 2 + env.fee_btc_per_block) / reward if reward > 0 else 1.0,
            sc.firms.hurdle_rate_private,
            sc.behaviour.expected_hashprice_decline_per_year,
            sc.hardware.economic_life_years,
        )
    )
