"""AI/HPC hosting market: tender arrivals, miners' bid prices, and the tenant's award rule.

Pure functions over arrays; the model-side contract book that applies them lives in
:mod:`abm.contracts`. A tender asks for MW of powered, reliable capacity for a term at no more
than a maximum price per MW-year, delivered by a deadline. Eligible miners offer blocks of
convertible MW at the level price that recovers their conversion capex at their cost of
capital, the hosting opex and the mining margin they give up; the tenant fills the tender from
the best-scored offers and pays each winner the price at which it would still have won
(uniform second-price clearing, so offering at cost is each firm's best reply).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from abm.scenario import AIConfig

STRATEGIES: tuple[str, ...] = ("pure", "hybrid", "pivot")
PURE, HYBRID, PIVOT = range(3)


@dataclass(frozen=True)
class Tenders:
    """Tenders over the run (arrays of equal length, ordered by arrival day)."""

    day: np.ndarray  # arrival day [day index]
    mw: np.ndarray  # capacity sought [MW]
    term_years: np.ndarray  # contract term [years]
    max_price_usd_per_mw_year: np.ndarray  # tenant's maximum price for a perfect site
    deadline_days: np.ndarray  # delivery deadline after arrival [days]
    uptime: np.ndarray  # uptime the tenant requires [0-1]

    @property
    def n(self) -> int:
        return int(self.day.size)


def demand_multiplier(cfg: AIConfig, start: dt.date, n_days: int) -> np.ndarray:
    """Tender arrival rate relative to the base rate on each day [-]: exponential growth times
    the optional piecewise-linear demand path (flat outside its points)."""
    t = np.arange(n_days, dtype=float)
    growth = (1.0 + cfg.demand_growth_per_year) ** (t / 365.0)
    if not cfg.demand_path:
        return growth
    days = np.array([(p.date - start).days for p in cfg.demand_path], dtype=float)
    mult = np.array([p.multiplier for p in cfg.demand_path])
    return growth * np.interp(t, days, mult)


def draw_tenders(
    cfg: AIConfig,
    rng: np.random.Generator,
    start: dt.date,
    n_days: int,
    shocks: np.ndarray | None = None,
) -> Tenders:
    """Poisson arrivals at rate x demand multiplier (x `shocks`, a daily multiplier from
    scheduled AI demand shocks) per day; sizes log-uniform, terms and prices uniform within the
    scenario's ranges. Drawn up front from the run's "ai" stream."""
    rate = cfg.tender_rate_per_year / 365.0 * demand_multiplier(cfg, start, n_days)
    if shocks is not None:
        rate = rate * shocks
    counts = rng.poisson(rate)
    day = np.repeat(np.arange(n_days), counts)
    k = day.size
    log_mw = rng.uniform(np.log(cfg.tender_mw_min), np.log(cfg.tender_mw_max), k)
    return Tenders(
        day=day,
        mw=np.exp(log_mw),
        term_years=rng.integers(cfg.term_years_min, cfg.term_years_max + 1, k),
        max_price_usd_per_mw_year=rng.uniform(
            cfg.price_min_usd_per_mw_year, cfg.price_max_usd_per_mw_year, k
        ),
        deadline_days=rng.integers(cfg.deadline_days_min, cfg.deadline_days_max + 1, k),
        uptime=rng.choice(np.asarray(cfg.uptime_options, dtype=float), k),
    )


def capital_recovery_factor(rate_per_year: np.ndarray, years: np.ndarray | float) -> np.ndarray:
    """Level annual payment that repays 1 USD over `years` at `rate_per_year` [1/year]."""
    r = np.asarray(rate_per_year, dtype=float)
    n = np.asarray(years, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        crf = r / (1.0 - (1.0 + r) ** -n)
    return np.where(r > 1e-12, crf, 1.0 / n)


def redundancy_needed(outage_prob_per_day: np.ndarray, uptime: float) -> np.ndarray:
    """Sites whose daily outage probability exceeds what the uptime requirement allows."""
    return outage_prob_per_day > 1.0 - uptime


def capex_usd_per_mw(cfg: AIConfig, outage_prob_per_day: np.ndarray, uptime: float) -> np.ndarray:
    """The miner's conversion capex per MW [USD/MW]: its share of the conversion, plus the
    redundancy its site needs to meet the tender's uptime requirement."""
    conversion = cfg.conversion_capex_usd_per_mw * (1.0 - cfg.tenant_capex_share)
    extra = redundancy_needed(outage_prob_per_day, uptime)
    return conversion + extra * cfg.redundancy_capex_usd_per_mw


def foregone_mining_usd_per_mw_year(
    hashprice_usd_per_th_day: float,
    energy_cost_usd_per_th_day: np.ndarray,
    power_mw_per_th: float,
    fixed_opex_usd_per_mw_day: float,
    decline_per_year: float,
    years: float,
) -> np.ndarray:
    """Mining margin a MW would earn over the term, as a level amount per year [USD/MW-year]:
    hashprice declining at `decline_per_year` (averaged over the term) less energy on the
    frontier rig and the site's fixed costs; never negative (the miner could switch off)."""
    k = -np.log1p(-decline_per_year) if decline_per_year > 0 else 0.0
    avg = (1.0 - np.exp(-k * years)) / (k * years) if k > 0 else 1.0
    margin_th = hashprice_usd_per_th_day * avg - energy_cost_usd_per_th_day
    per_mw = margin_th / power_mw_per_th * 365.0 - fixed_opex_usd_per_mw_day * 365.0
    return np.maximum(per_mw, 0.0)


def bid_usd_per_mw_year(
    capex_per_mw: np.ndarray,
    hurdle_rate: np.ndarray,
    cfg: AIConfig,
    build_days: np.ndarray,
    term_years: float,
    foregone_usd_per_mw_year: np.ndarray,
) -> np.ndarray:
    """The lowest level price per MW-year at which hosting beats mining for each firm
    [USD/MW-year]: capex at the blended cost of project debt and the firm's equity hurdle,
    carried through the build and recovered over the term, plus opex and foregone margin."""
    blend = cfg.loan_to_cost * cfg.project_rate + (1.0 - cfg.loan_to_cost) * hurdle_rate
    carried = capex_per_mw * (1.0 + blend) ** (build_days / 365.0)
    return (
        carried * capital_recovery_factor(blend, term_years)
        + cfg.opex_usd_per_mw_year
        + foregone_usd_per_mw_year
    )


def mean_tender_mw(cfg: AIConfig) -> float:
    """Mean size of a tender (log-uniform between the bounds) [MW]: (max - min) / ln(max/min)."""
    lo, hi = cfg.tender_mw_min, cfg.tender_mw_max
    return (hi - lo) / np.log(hi / lo) if hi > lo else lo


def convertible_room_mw(
    share: np.ndarray, free_mw: np.ndarray, contracted_mw: np.ndarray
) -> np.ndarray:
    """MW a firm may still convert [MW]: its share of all its eligible MW (free and already
    under contract) less what is under contract, within its free MW."""
    return np.clip(share * (free_mw + contracted_mw) - contracted_mw, 0.0, free_mw)


def conversion_option_usd(
    room_mw: np.ndarray,
    bid_usd_per_mw_year: np.ndarray,
    price_usd_per_mw_year: float,
    hurdle_rate: np.ndarray,
    term_years: float,
    take_up: float,
    cfg: AIConfig,
) -> np.ndarray:
    """Value of the option to host AI on `room_mw` convertible MW [USD]: the take-up
    probability x MW x the lease's NPV per MW to the valuer, the expected lease price less the
    valuer's own lowest price (its bid) over the term at the blended rate of the bid, never
    negative (a valuer that cannot beat the price does not convert). Arrays broadcast."""
    blend = cfg.loan_to_cost * cfg.project_rate + (1.0 - cfg.loan_to_cost) * hurdle_rate
    annuity = 1.0 / capital_recovery_factor(blend, term_years)
    surplus = np.maximum(price_usd_per_mw_year - bid_usd_per_mw_year, 0.0)
    return take_up * room_mw * surplus * annuity


@dataclass(frozen=True)
class Award:
    """The tenant's decision on one tender (indices into the offers passed in)."""

    winners: np.ndarray  # offer indices, best score first
    mw: np.ndarray  # MW awarded to each winner
    price_usd_per_mw_year: np.ndarray  # price paid to each winner


def award(
    offer_mw: np.ndarray,
    bid_usd_per_mw_year: np.ndarray,
    outage_prob_per_day: np.ndarray,
    tender_mw: float,
    max_price_usd_per_mw_year: float,
    reliability_weight: float,
) -> Award:
    """Fill a tender from the best-scored offers (score = bid x (1 + weight x outage prob)).

    Offers scoring above the tenant's maximum are refused. Winners are taken in order of score
    until the tender is filled (the last one partly). Each winner is paid the price at which its
    score would equal the first refused offer's score (or the maximum, if none was refused):
    never less than its own bid."""
    penalty = 1.0 + reliability_weight * outage_prob_per_day
    score = bid_usd_per_mw_year * penalty
    ok = np.flatnonzero((score <= max_price_usd_per_mw_year) & (offer_mw > 0))
    order = ok[np.argsort(score[ok], kind="stable")]
    filled = np.cumsum(offer_mw[order])
    n_win = int(np.searchsorted(filled, tender_mw - 1e-9) + 1) if order.size else 0
    n_win = min(n_win, order.size)
    winners = order[:n_win]
    before = np.concatenate([[0.0], filled[: n_win - 1]]) if n_win else np.zeros(0)
    mw = np.minimum(offer_mw[winners], tender_mw - before)
    clearing = score[order[n_win]] if n_win < order.size else max_price_usd_per_mw_year
    price = np.maximum(clearing / penalty[winners], bid_usd_per_mw_year[winners])
    return Award(winners, mw, price)
