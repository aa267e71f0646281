"""Balance-sheet economics: debt service, credit, valuations and auctions (pure functions).

Every function takes arrays over firms (or over bidders) and returns arrays; the model applies
the results and books every flow in its ledger, so cash, BTC and debt are conserved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.markets.hardware import rig_value_usd_per_th


def debt_service(
    debt_usd: np.ndarray, rate_per_year: np.ndarray, maturity_day: np.ndarray, day: int
) -> tuple[np.ndarray, np.ndarray]:
    """(interest, principal) due today [USD]: simple daily interest on the balance, and linear
    amortisation of the balance over the days left to maturity (all of it once matured)."""
    interest = debt_usd * rate_per_year / 365.0
    days_left = np.maximum(maturity_day - day, 1)
    return interest, debt_usd / days_left


def credit_factor(hashprice_short: float, hashprice_long: float, sensitivity: float) -> float:
    """Share of the normal loan-to-value that lenders offer today [0-1].

    Lenders tighten when hashprice falls below its long-run average: the factor is
    (short / long) ** sensitivity, capped at 1 (sensitivity 0 = lenders never tighten)."""
    if hashprice_long <= 0:
        return 0.0
    return float(min(1.0, max(hashprice_short, 0.0) / hashprice_long) ** sensitivity)


def borrowing_room(
    collateral_usd: np.ndarray, debt_usd: np.ndarray, ltv_limit: np.ndarray, factor: float
) -> np.ndarray:
    """New debt each firm could raise today [USD]: LTV x credit factor x collateral - debt."""
    return np.maximum(ltv_limit * factor * collateral_usd - debt_usd, 0.0)


def fleet_value_usd(
    fleet_ths: np.ndarray,
    hashprice_usd_per_th_day: float,
    cost_usd_per_th_day: np.ndarray,
    discount_rate: np.ndarray,
    decline_per_year: float,
    life_years: float,
    resale_usd_per_th: np.ndarray | None = None,
) -> np.ndarray:
    """Value of each firm's rigs to an owner with the given costs and discount rate [USD].

    Each vintage is worth the PV of its margin (never negative: the owner can switch it off),
    or what the used-rig dealer pays for it (`resale_usd_per_th` by generation), if more."""
    per_th = rig_value_usd_per_th(
        hashprice_usd_per_th_day,
        cost_usd_per_th_day,
        np.asarray(discount_rate)[..., None],
        decline_per_year,
        life_years,
    )
    if resale_usd_per_th is not None:
        per_th = np.maximum(per_th, resale_usd_per_th)
    return (fleet_ths * np.maximum(per_th, 0.0)).sum(axis=-1)


@dataclass(frozen=True)
class SiteUse:
    """What sites are worth to owners with given discount rates (owners x sites) [USD]."""

    rigs_usd: np.ndarray  # the rigs in place, each vintage run while it pays or sold
    fill_npv_usd: np.ndarray  # NPV of filling the spare MW with frontier rigs (never < 0)
    fill_capex_usd: np.ndarray  # what those rigs cost (0 where the fill does not pay)


def site_use_usd(
    fleet_ths: np.ndarray,
    cost_usd_per_th_day: np.ndarray,
    spare_mw: np.ndarray,
    discount_rate: np.ndarray,
    hashprice_usd_per_th_day: float,
    decline_per_year: float,
    life_years: float,
    resale_usd_per_th: np.ndarray,
    new_price_usd_per_th: np.ndarray,
    power_mw_per_th: np.ndarray,
) -> SiteUse:
    """Value of sites at their best use as a miner, to owners with discount rates
    `discount_rate` (owners x sites, or broadcastable): the rigs in place (kept while they pay,
    else sold at `resale_usd_per_th`) plus re-equipping the spare MW with the newest generation
    on sale at `new_price_usd_per_th` where that has a positive NPV.

    Args:
        fleet_ths: sites x generations [TH/s]; cost_usd_per_th_day: energy cost of a TH-day of
            each generation at each site, at what the owner would pay there (sites x
            generations) [USD]; spare_mw: capacity the rigs do not use [MW].
    """
    rate = np.atleast_2d(np.asarray(discount_rate, dtype=float))
    rigs = fleet_value_usd(
        fleet_ths,
        hashprice_usd_per_th_day,
        cost_usd_per_th_day,
        rate,
        decline_per_year,
        life_years,
        resale_usd_per_th,
    )
    shape = np.broadcast_shapes(rigs.shape, np.shape(spare_mw))
    on_sale = np.flatnonzero(np.isfinite(new_price_usd_per_th))
    if on_sale.size == 0:
        zero = np.zeros(shape)
        return SiteUse(np.broadcast_to(rigs, shape), zero, zero)
    g = int(on_sale[-1])
    value = rig_value_usd_per_th(
        hashprice_usd_per_th_day, cost_usd_per_th_day[..., g], rate, decline_per_year, life_years
    )
    npv = value - new_price_usd_per_th[g]
    ths = np.asarray(spare_mw, dtype=float) / power_mw_per_th[g]
    pays = npv > 0
    return SiteUse(
        np.broadcast_to(rigs, shape),
        np.where(pays, npv * ths, 0.0),
        np.where(pays, new_price_usd_per_th[g] * ths, 0.0),
    )


def funded_share(capex_usd: np.ndarray, budget_usd: np.ndarray) -> np.ndarray:
    """Share of a re-equipment plan a budget pays for [0-1] (1 when it costs nothing)."""
    capex = np.asarray(capex_usd, dtype=float)
    budget = np.maximum(np.asarray(budget_usd, dtype=float), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(capex > 0, np.minimum(budget / np.where(capex > 0, capex, 1.0), 1.0), 1.0)


def site_value_usd_per_mw(
    power_price_usd_per_mwh: np.ndarray,
    frontier_energy_mwh_per_th_day: float,
    hashprice_usd_per_th_day: float,
    reference_price_usd_per_mwh: float,
    value_at_reference_usd_per_mw: float,
) -> np.ndarray:
    """Market value of a powered mining site per MW [USD/MW].

    A site at the reference power price is worth the observed market price per MW; the value
    scales with the energy margin frontier rigs earn there relative to the reference site
    (capped at 1.5x), and a site where they cannot cover their energy is worth nothing."""
    margin = hashprice_usd_per_th_day - power_price_usd_per_mwh * frontier_energy_mwh_per_th_day
    ref = hashprice_usd_per_th_day - reference_price_usd_per_mwh * frontier_energy_mwh_per_th_day
    scale = max(ref, 0.05 * hashprice_usd_per_th_day, 1e-12)
    return value_at_reference_usd_per_mw * np.clip(margin / scale, 0.0, 1.5)


@dataclass(frozen=True)
class AuctionOutcome:
    """Result of a sealed-bid second-price auction."""

    winner: int  # index into the bidders, or -1 if unsold
    price_usd: float  # what the winner pays (0 if unsold)


def second_price_auction(
    valuations_usd: np.ndarray, budget_usd: np.ndarray, reserve_usd: float
) -> AuctionOutcome:
    """Sealed-bid second-price auction with budgets and a reserve price.

    Each bidder bids min(valuation, budget) (truthful up to what it can pay); the highest bid
    wins if it reaches the reserve and pays max(second-highest bid, reserve). Ties go to the
    lowest index. The winner never pays more than its bid, so never more than it can pay."""
    bids = np.minimum(valuations_usd, budget_usd)
    if bids.size == 0:
        return AuctionOutcome(-1, 0.0)
    order = np.argsort(-bids, kind="stable")
    top = int(order[0])
    if not bids[top] >= reserve_usd or bids[top] <= 0:
        return AuctionOutcome(-1, 0.0)
    second = float(bids[order[1]]) if bids.size > 1 else 0.0
    return AuctionOutcome(top, float(max(second, reserve_usd)))


def waterfall(
    proceeds_usd: float, cash_usd: float, debt_usd: float
) -> tuple[float, float, float, float]:
    """Distribute a defaulted or liquidated firm's estate by seniority.

    The estate is the sale proceeds plus the firm's cash (negative cash is unpaid bills).
    Returns (bills_unpaid, to_lenders, lender_loss, to_owners) [USD]: operating creditors
    first, then lenders, then the owners; what the estate cannot cover is written off."""
    estate = proceeds_usd + max(cash_usd, 0.0)
    bills = max(-cash_usd, 0.0)
    paid_bills = min(bills, estate)
    estate -= paid_bills
    to_lenders = min(debt_usd, estate)
    estate -= to_lenders
    return bills - paid_bills, to_lenders, debt_usd - to_lenders, estate
