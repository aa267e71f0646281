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

from abm import behaviour, chain, finance
from abm.markets import energy

if TYPE_CHECKING:
    from abm.contracts import AIDay
    from abm.model import MiningIndustry

# the phases of a day, in order (ARCHITECTURE.md); components name the phase they run after
PHASES: tuple[str, ...] = (
    "environment",
    "operate",
    "mine",
    "account",
    "expectations",
    "ai",
    "decide",
    "distress",
    "deals",
    "entry",
    "record",
)


@dataclass
class Environment:
    """Phase 1: today's exogenous inputs. Environment components (sovereigns' policy, scheduled
    events) adjust ``availability`` in place before operation."""

    day: int
    price_usd: float  # BTC price [USD]
    fee_btc_per_block: float  # transaction fees [BTC/block]
    availability: np.ndarray  # share of each firm's capacity available today [0-1]
    subsidy_btc: float = 0.0  # subsidy of the next block [BTC]
    revenue_usd_per_th_day: float = 0.0  # expected revenue per TH/s-day at today's difficulty


@dataclass(frozen=True)
class Operation:
    """Phase 2: what ran today."""

    live: slice  # generations anyone holds today (every other column of the fleet is 0)
    running_ths: np.ndarray  # TH-days run per TH/s, firms x live generations [TH/s]
    on_hours_ths: np.ndarray | None  # flexible scheduling: what runs in the hours it runs
    run_share: np.ndarray | None  # flexible scheduling: share of the day run [0-1]
    energy_mult: np.ndarray | None  # flexible scheduling: energy relative to running flat
    by_firm_ths: np.ndarray  # hashrate run per firm [TH/s]
    total_ths: float  # network hashrate [TH/s]

    @property
    def hashrate_ehs(self) -> float:
        return self.total_ths / 1e6


@dataclass(frozen=True)
class Blocks:
    """Phase 3: blocks found, the chain's day, and the payout to firms."""

    difficulty_start: float  # difficulty that applied to the day's first block [-]
    n_blocks: int
    chain_day: chain.DayBlocks
    fees_btc: float  # transaction fees of the day's blocks [BTC]
    reward_btc: float  # subsidy + fees [BTC]
    to_firms_btc: float  # paid out by pools [BTC]
    by_firm_btc: np.ndarray  # paid to each firm [BTC]


@dataclass(frozen=True)
class DayFlows:
    """Phase 4: each firm's operating cash flows of the day [USD] and BTC kept [BTC]."""

    btc_sold: np.ndarray
    btc_sales_usd: np.ndarray
    energy_usd: np.ndarray
    fixed_usd: np.ndarray
    hedge_usd: np.ndarray | None  # net hedge settlement less costs (risk management)
    flex_credits_usd: np.ndarray | None  # demand-response credits (compute scheduling)
    interest_usd: np.ndarray | None  # finance on
    principal_usd: np.ndarray | None
    cash_flow_usd: np.ndarray  # the day's change of cash


@dataclass
class Today:
    """The records of the day so far, handed to components (each reads what it needs)."""

    day: int
    env: Environment | None = None
    op: Operation | None = None
    blocks: Blocks | None = None
    flows: DayFlows | None = None
    ai: AIDay | None = None  # the AI market's record (abm.contracts)


# --------------------------------------------------------------------------------------------
def environment(m: MiningIndustry, d: int) -> Environment:
    """Price, fees and each firm's energy availability (outages, dry season)."""
    t, sc = m.firms, m.params
    avail = energy.availability(
        m.outages.uniforms(d, t.n),
        t.outage_prob,
        t.seasonal,
        m.dry_season[d],
        sc.energy.dry_season_availability,
    )
    return Environment(d, m.price_usd[d], m.fee_btc_per_block[d], avail)


def price_revenue(m: MiningIndustry, env: Environment) -> None:
    """The next block's subsidy and the expected revenue per TH-day that decides operation."""
    env.subsidy_btc = chain.subsidy_btc(m.chain.height + 1)
    env.revenue_usd_per_th_day = m.revenue_per_th_day(
        env.subsidy_btc + env.fee_btc_per_block, env.price_usd
    )


def operate(m: MiningIndustry, env: Environment) -> Operation:
    """Each firm runs the vintages whose revenue beats their energy cost, within its available
    capacity (flexible firms by the hour, summarised per day)."""
    t, caps = m.firms, m.capabilities
    live = m.live_columns
    rev_th = env.revenue_usd_per_th_day
    cost_live = m.cost_usd_per_th_day[:, live]
    share = mult = on_hours = None
    cost_run = cost_live
    if caps.flexing:  # hour-scale scheduling, summarised per day
        share, mult, cost_run = caps.schedule(cost_live, rev_th)
    running = behaviour.operate(
        t.fleet_ths[:, live],
        cost_run,
        rev_th,
        t.capacity_mw * env.availability,
        m.gens.power_mw_per_th[live],
    )
    if caps.flexing:
        on_hours = running  # what runs in the hours it runs
        running = running * share  # TH-days run today per TH/s
    run_f = behaviour.row_sums(running)
    return Operation(live, running, on_hours, share, mult, run_f, run_f.sum())


def mine(m: MiningIndustry, env: Environment, op: Operation) -> Blocks:
    """Blocks found today (Poisson), retargets and halvings, and the pooled payout by hash
    share."""
    difficulty_start = m.chain.difficulty
    expected = chain.expected_blocks_per_day(op.hashrate_ehs, difficulty_start)
    n_blocks = m.draw_blocks(expected)
    m.chain, chain_day = chain.advance_day(m.chain, n_blocks)
    fees_btc = env.fee_btc_per_block * n_blocks
    reward_btc = chain_day.subsidy_btc + fees_btc
    to_firms = reward_btc * (1.0 - m.params.protocol.pool_fee)
    total = op.total_ths
    btc_f = op.by_firm_ths * (to_firms / total) if total > 0 else np.zeros_like(op.by_firm_ths)
    return Blocks(difficulty_start, n_blocks, chain_day, fees_btc, reward_btc, to_firms, btc_f)


def account(m: MiningIndustry, env: Environment, op: Operation, blocks: Blocks) -> DayFlows:
    """Treasury (hold a share of mined BTC, sell the rest), energy and fixed costs, hedges and
    credits, debt service; posted to the books."""
    t, sc, caps = m.firms, m.params, m.capabilities
    price = env.price_usd
    btc_f = blocks.by_firm_btc
    gens = m.gens
    sold_btc = btc_f * (1.0 - t.hold_fraction)
    usd_f = sold_btc * price
    credits_f = hedge = interest = principal = None
    if caps.flexing:
        energy_f = (
            (op.on_hours_ths * op.energy_mult) @ gens.energy_mwh_per_th_day[op.live]
        ) * t.power_price_usd_per_mwh
        credits_f = caps.flex_credits(op.on_hours_ths, op.run_share, gens.power_mw_per_th[op.live])
    else:
        energy_f = (op.running_ths @ gens.energy_mwh_per_th_day[op.live]) * (
            t.power_price_usd_per_mwh
        )
    fixed_f = t.capacity_mw * sc.energy.fixed_opex_usd_per_mw_day
    if m.contest:
        fixed_f = np.where(t.capacity_mw >= 1e11, 0.0, fixed_f)
    cash_flow = usd_f - energy_f - fixed_f
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
    flows = DayFlows(
        sold_btc, usd_f, energy_f, fixed_f, hedge, credits_f, interest, principal, cash_flow
    )
    m.books.post_day(op, blocks, flows, price)
    return flows


def update_expectations(m: MiningIndustry, op: Operation, blocks: Blocks, price: float) -> None:
    """Adaptive expectations of revenue per TH-day: the realised value, smoothed short and long
    (exponential moving averages)."""
    if op.total_ths > 0:
        realised = blocks.to_firms_btc * price / op.total_ths
        m.expected_hashprice_usd_per_th_day += m.ema_short * (
            realised - m.expected_hashprice_usd_per_th_day
        )
        m.long_hashprice_usd_per_th_day += m.ema_long * (realised - m.long_hashprice_usd_per_th_day)
