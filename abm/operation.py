"""Operation without cliffs: curtailment with hysteresis, care and maintenance, failures by age,
and the value of keeping a rig (economic retirement).

The rules are pure functions of arrays (sites x generations), tested by hand; the functions at
the end apply them to the model in the ``operate`` phase (:func:`wear`, :func:`switch_vintages`,
:func:`care_and_maintenance`), in the review (:func:`retire_mask`) and in the voluntary exits
(:func:`idle_firms_that_wait`).

- **Hysteresis.** Each vintage at each site is on or off. A running vintage switches off only
  after it has not covered its energy cost for ``operation.off_after_loss_days`` days in a row;
  an idle one switches back on only when expected revenue beats its energy cost by
  ``operation.on_margin``, and only once it has for its site's start delay (1 ..
  ``operation.start_delay_max_days`` days, fixed per site: :func:`start_delays`), so that idle
  capacity returns over days rather than all at once. Revenue here is the outlook over
  ``operation.outlook_days``: today's revenue per TH-day until the retarget projected from
  the blocks the period still needs, and after it today's over the projected factor
  (:func:`abm.chain.revenue_outlook_factor`), so miners ride out a fall of hashrate they know
  the next retarget will make good. Available MW then go to the vintages that are on, the
  cheapest to run first (:func:`abm.behaviour.operate`).
- **Care and maintenance.** A mining site none of whose rigs has been on for
  ``operation.care_after_idle_days`` days goes into care and maintenance (status ``CARE``): its
  fixed opex falls to ``operation.care_fixed_cost_share`` of a mining site's. It returns to
  mining, from the next day, as soon as one of its vintages would switch on again.
- **Failures.** Rigs fail by a Gompertz hazard in their age (since the generation's release),
  ``h(a) = h_young exp(b a)`` with ``b = ln(h_old / h_young) / a_old``: each day every site loses
  the expected share of each generation, ``1 - exp(-(H(a + 1 day) - H(a)))`` with the
  cumulative hazard ``H(a) = h_young (exp(b a) - 1) / b`` (no random draws).
- **Economic retirement.** A vintage is sold when its secondary price is at least the value of
  keeping it: the present value, at the owner's hurdle rate, of its expected margin over its
  remaining expected life, with the option to switch off (the margin counts only while
  expected, declining, hashprice covers the energy cost), never below 0.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from abm import behaviour
from abm.markets import hardware
from abm.markets.hardware import DAYS_PER_YEAR
from abm.sites import CARE, MINING, STRANDED

if TYPE_CHECKING:
    from abm.model import MiningIndustry
    from abm.scenario import OperationConfig

LIFE_HORIZON_YEARS = 40.0  # remaining life integrated up to this far [years]
LIFE_STEP_YEARS = 1.0 / 52.0  # step of that integral (a week) [years]


# --------------------------------------------------------------------------------------------
# hysteresis and care and maintenance
def switch(
    on: np.ndarray,
    loss_days: np.ndarray,
    cost_usd_per_th_day: np.ndarray,
    revenue_usd_per_th_day: float,
    off_after_loss_days: int,
    on_margin: float,
    start_days: np.ndarray | None = None,
    start_delay_days: np.ndarray | int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Today's on/off state of each vintage, its count of losing days and its count of days in
    a row that it could have started (same shapes).

    A vintage loses money today when revenue <= cost. Running: it stays on until it has lost
    money on `off_after_loss_days` days in a row (today included). Off: it may start when
    revenue > cost x (1 + `on_margin`), and starts once it could have for `start_delay_days`
    days in a row (its row's delay, broadcast against the vintages; 1: on the first such day).
    With 1, 0 and a delay of 1 this is the rule without hysteresis: run exactly when revenue
    beats cost."""
    losing = cost_usd_per_th_day >= revenue_usd_per_th_day
    loss_days = (loss_days + 1) * losing  # 0 where not losing (a product: faster than where)
    could = revenue_usd_per_th_day > cost_usd_per_th_day * (1.0 + on_margin)
    if start_days is None:
        start_days = np.zeros(np.shape(on), dtype=np.int32)
    start_days = np.where(could & ~on, start_days + 1, 0)
    starts = start_days >= start_delay_days
    return np.where(on, loss_days < off_after_loss_days, starts), loss_days, start_days


def start_delays(keys: np.ndarray, max_days: int) -> np.ndarray:
    """Each row's start delay, 1 .. `max_days` days, spread evenly and fixed per key (a site's
    outage-draw key, a world tranche's index): a multiplicative hash of the key, so the same
    site has the same delay in every scenario (common random numbers) [days]."""
    if max_days <= 1:
        return np.ones(np.shape(keys), dtype=np.int64)
    h = (np.asarray(keys, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
    return (h % np.uint64(max_days)).astype(np.int64) + 1


def ready_start_days(start_delay_days: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Day one's counts of days an idle vintage could have started (rows x generations): the
    initial fleet is running as observed, not restarting, so its counts stand one short of
    each row's delay and a vintage that pays starts on the first day, as with no delay."""
    return np.broadcast_to(np.asarray(start_delay_days) - 1, shape).astype(np.int32)


def care_status(
    status: np.ndarray, any_on: np.ndarray, off_days: np.ndarray, care_after_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sites' statuses and days in a row with no vintage on, after today (same shapes).

    A mining site whose rigs have all been off (or which has none) for `care_after_days` goes
    into care and maintenance; a site in care returns to mining when any vintage there is on.
    Other statuses are left alone."""
    mining, care = status == MINING, status == CARE
    off_days = np.where((mining | care) & ~any_on, off_days + 1, 0)
    to_care = mining & (off_days >= care_after_days)
    back = care & any_on
    return np.where(to_care, CARE, np.where(back, MINING, status)).astype(status.dtype), off_days


def fixed_cost_share(status: np.ndarray, care_share: float) -> np.ndarray:
    """Share of the fixed opex per MW each site pays (1 mining or stranded, `care_share` in
    care and maintenance, 0 otherwise: AI sites pay the contracts' opex, building and closed
    sites none) [-]."""
    return np.where(
        (status == MINING) | (status == STRANDED), 1.0, np.where(status == CARE, care_share, 0.0)
    )


# --------------------------------------------------------------------------------------------
# failures by age
def hazard_slope_per_year(
    young_per_year: float, old_per_year: float, old_age_years: float
) -> float:
    """b of the Gompertz hazard h(a) = young x exp(b a) through h(old_age) = old [1/year]."""
    if young_per_year <= 0:
        return 0.0
    return float(np.log(old_per_year / young_per_year) / old_age_years)


def cumulative_hazard(age_years: np.ndarray, cfg: OperationConfig) -> np.ndarray:
    """H(a) = young (exp(b a) - 1) / b, the integral of the hazard from release to age a
    (young x a when b = 0; ages below 0 count as 0) [-]."""
    a = np.maximum(np.asarray(age_years, dtype=float), 0.0)
    young = cfg.failure_rate_young_per_year
    b = hazard_slope_per_year(young, cfg.failure_rate_old_per_year, cfg.failure_old_age_years)
    if b == 0.0:
        return young * a
    return young * np.expm1(b * a) / b


def survival(age_years: np.ndarray, cfg: OperationConfig) -> np.ndarray:
    """Share of a generation's rigs still working at age a: exp(-H(a)) [0-1]."""
    return np.exp(-cumulative_hazard(age_years, cfg))


def daily_survival(age_days: np.ndarray, cfg: OperationConfig) -> np.ndarray:
    """Share of the rigs of age `age_days` [days] that work one day later:
    exp(-(H(a + 1 day) - H(a))) [0-1]."""
    a = np.maximum(np.asarray(age_days, dtype=float), 0.0) / DAYS_PER_YEAR
    return np.exp(cumulative_hazard(a, cfg) - cumulative_hazard(a + 1.0 / DAYS_PER_YEAR, cfg))


def remaining_life_years(age_years: np.ndarray, cfg: OperationConfig) -> np.ndarray:
    """Expected remaining life of a rig of age a, integral of S(a + t) / S(a) over t up to
    :data:`LIFE_HORIZON_YEARS` (trapezoid, weekly steps) [years]."""
    a = np.atleast_1d(np.maximum(np.asarray(age_years, dtype=float), 0.0))
    # each distinct age once (generations not yet released are all of age 0); a row's sum
    # does not depend on the other rows
    ages, inverse = np.unique(a, return_inverse=True)
    t = _life_steps_years()
    h_a = cumulative_hazard(ages, cfg)
    s = np.exp(h_a[:, None] - cumulative_hazard(ages[:, None] + t[None, :], cfg))
    life = (s.sum(axis=1) - 0.5 * (s[:, 0] + s[:, -1])) * LIFE_STEP_YEARS
    return life[inverse.reshape(a.shape)]


@lru_cache(maxsize=1)
def _life_steps_years() -> np.ndarray:
    """The steps of :func:`remaining_life_years`' integral, 0 to :data:`LIFE_HORIZON_YEARS`
    [years] (read only)."""
    t = np.arange(0.0, LIFE_HORIZON_YEARS + LIFE_STEP_YEARS / 2, LIFE_STEP_YEARS)
    t.flags.writeable = False
    return t


# --------------------------------------------------------------------------------------------
# economic retirement
def keep_value_usd_per_th(
    hashprice_usd_per_th_day: float,
    cost_usd_per_th_day: np.ndarray,
    hurdle_rate: np.ndarray | float,
    decline_per_year: float,
    life_years: np.ndarray | float,
) -> np.ndarray:
    """Value to its owner of keeping 1 TH/s [USD/TH]: the PV of its margin while it pays
    over its remaining life (:func:`abm.markets.hardware.rig_value_usd_per_th`, with the option
    to switch off). Never below 0."""
    return np.maximum(
        hardware.rig_value_usd_per_th(
            hashprice_usd_per_th_day, cost_usd_per_th_day, hurdle_rate, decline_per_year, life_years
        ),
        0.0,
    )


def valuation_life_years(m: MiningIndustry, generation_age_days: np.ndarray) -> np.ndarray:
    """The life over which a rig of each age is valued [years]: its expected remaining life
    (the age hazard) and at most ``hardware.economic_life_years``."""
    life = remaining_life_years(generation_age_days / DAYS_PER_YEAR, m.params.operation)
    return np.minimum(life, m.params.hardware.economic_life_years)


def retire_mask(
    used_price_usd_per_th: np.ndarray, keep_value_usd_per_th: np.ndarray, fleet_ths: np.ndarray
) -> np.ndarray:
    """Vintages to sell at the secondary price: held, and worth at least as much sold as kept
    (rigs worth nothing either way are scrapped) (sites x generations)."""
    return (fleet_ths > 0) & (used_price_usd_per_th[None, :] >= keep_value_usd_per_th)


# --------------------------------------------------------------------------------------------
# the rules applied to the model
def wear(m: MiningIndustry, day: int, live: slice) -> float:
    """Today's failures: every site loses the expected share of each live generation's rigs
    (through the books: the rig book shrinks with them). Returns the hashrate failed [TH/s]."""
    return m.books.fail_rigs(m.daily_survival(day, live), live)


def switch_vintages(
    m: MiningIndustry, cost_usd_per_th_day: np.ndarray, revenue_usd_per_th_day: float, live: slice
) -> np.ndarray:
    """Update each site's vintages' on/off state (hysteresis, :func:`switch`) at the revenue
    outlook (``Environment.outlook_usd_per_th_day``) and the cost that decides (flexible
    owners: their cheapest hour's); returns the state (sites x live generations)."""
    s, cfg = m.sites, m.params.operation
    on, loss, start = switch(
        s.vintage_on[:, live],
        s.loss_days[:, live],
        cost_usd_per_th_day,
        revenue_usd_per_th_day,
        cfg.off_after_loss_days,
        cfg.on_margin,
        s.start_days[:, live],
        start_delays(s.draw_key, cfg.start_delay_max_days)[:, None],
    )
    s.vintage_on[:, live] = on
    s.loss_days[:, live] = loss
    s.start_days[:, live] = start
    return on


def care_and_maintenance(m: MiningIndustry, on: np.ndarray, live: slice) -> None:
    """Mining sites with no vintage on for long go into care and maintenance; sites in care
    with a vintage on return to mining (they run from the next day)."""
    s = m.sites
    any_on = behaviour.row_any(on & (s.fleet_ths[:, live] > 0))
    status, off_days = care_status(
        s.status, any_on, s.off_days, m.params.operation.care_after_idle_days
    )
    s.status = status
    s.off_days = off_days


def keep_values(m: MiningIndustry, site_rows: np.ndarray) -> np.ndarray:
    """What each generation's rigs at `site_rows` are worth to keep to the site's owner
    [USD/TH] (sites x generations): at its hurdle rate, the site's rate and each generation's
    valuation life (:func:`valuation_life_years`). The used-rig market buys them when its bid
    is at least this (:func:`retire_mask`; abm.markets.used)."""
    sc, s = m.params, m.sites
    return keep_value_usd_per_th(
        m.valuation_hashprice_usd_per_th_day,
        m.cost_usd_per_th_day[site_rows],
        m.firms.hurdle_rate[s.owner[site_rows]][:, None],
        sc.behaviour.expected_hashprice_decline_per_year,
        m.valuation_life_years()[None, :],
    )


def idle_firms_that_wait(m: MiningIndustry, rows: np.ndarray) -> np.ndarray:
    """Which idle firms `rows` stay rather than exit (a mask): those that can pay the fixed
    costs of the sites they hold, as they are now (in care and maintenance), for another
    ``consolidation.voluntary_exit_idle_days`` from cash and credit, and for which rigs on one
    of their mining or care sites have a positive NPV today (they re-equip at a review when
    they can pay for rigs)."""
    sc = m.params
    s, t, n = m.sites, m.firms, m.firms.n
    site_cost = (
        s.capacity_mw
        * sc.energy.fixed_opex_usd_per_mw_day
        * fixed_cost_share(s.status, sc.operation.care_fixed_cost_share)
    )
    runway = s.by_host(site_cost, n)[rows] * sc.consolidation.voluntary_exit_idle_days
    can_pay = t.cash_usd[rows] + m.borrowing_room(rows) >= runway
    mine = np.zeros(n, dtype=bool)
    mine[rows] = True
    sites = np.flatnonzero(mine[s.owner] & s.mining_or_care())
    new_price, _ = m.rig_prices(m.day)
    npv = behaviour.npv_per_th(
        m.valuation_hashprice_usd_per_th_day,
        m.cost_usd_per_th_day[sites],
        t.hurdle_rate[s.owner[sites]],
        new_price,
        sc.behaviour.expected_hashprice_decline_per_year,
        sc.hardware.economic_life_years,
    )
    use = np.zeros(n, dtype=bool)
    use[s.owner[sites[(npv > 0).any(axis=1)]]] = True
    return can_pay & use[rows]
