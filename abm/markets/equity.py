"""The equity market for listed miners: premium to net asset value, at-the-market issuance,
listings, and the cost of capital that follows from them (pure functions over arrays).

A listed firm's market value is its net asset value (NAV) times a premium, mNAV. The sector's
premium moves with BTC's momentum and with the sector's mining margin; a firm's premium adds
the re-rating of contracted AI revenue (the 2024-25 re-rating of miners that signed HPC
leases). Above a premium of 1 new shares raise more cash than the NAV they dilute, so firms
issue at the market (ATM); private firms list when the sector's premium is high (2021). The
cost of equity is the required return on the market value, so equity is cheap when the
premium is high; a listed firm's hurdle rate is its weighted cost of capital, its debt (the
2024-25 convertibles) at its real cost: the coupon plus the conversion option.
"""

from __future__ import annotations

import numpy as np

from abm.scenario import EquityConfig


def sector_mnav(btc_log_return_90d: float, mining_margin_share: float, cfg: EquityConfig) -> float:
    """The sector's premium to NAV [-]: ``base x exp(momentum_beta x r90 + margin_beta x
    (margin - reference))``, clipped to [mnav_min, mnav_max]; r90 is BTC's 90-day log return,
    margin the miners' gross margin as a share of their revenue."""
    log_mnav = (
        np.log(cfg.base_mnav)
        + cfg.momentum_beta * btc_log_return_90d
        + cfg.margin_beta * (mining_margin_share - cfg.reference_margin_share)
    )
    return float(np.clip(np.exp(log_mnav), cfg.mnav_min, cfg.mnav_max))


def firm_mnav(sector: float, ai_revenue_share: np.ndarray, cfg: EquityConfig) -> np.ndarray:
    """Each listed firm's premium [-]: the sector's x (1 + ai_rerating x the share of its
    revenue that comes from AI contracts), clipped to mnav_max."""
    return np.minimum(sector * (1.0 + cfg.ai_rerating * ai_revenue_share), cfg.mnav_max)


def atm_usd(
    market_cap_usd: np.ndarray,
    mnav: np.ndarray,
    period_days: int,
    room_usd: np.ndarray,
    cfg: EquityConfig,
) -> np.ndarray:
    """Cash raised at the market over one issuance period [USD]: at most ``atm_share_per_year``
    of the market value a year, scaled by the premium above 1 (none at or below 1, all of it
    from a premium of 2), and at most `room_usd`, what the firm's cash lacks of its target
    (ATM programmes fund spending, they do not pile up cash)."""
    scale = np.clip(mnav - 1.0, 0.0, 1.0)
    usd = cfg.atm_share_per_year * period_days / 365.0 * scale * np.maximum(market_cap_usd, 0.0)
    return np.minimum(usd, np.maximum(room_usd, 0.0))


def issue_shares(
    shares: np.ndarray, market_cap_usd: np.ndarray, usd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Shares after issuing `usd` at today's price (market value / shares), and that price."""
    price = np.where(shares > 0, market_cap_usd / np.maximum(shares, 1e-300), 0.0)
    new = np.where(price > 0, usd / np.maximum(price, 1e-300), 0.0)
    return shares + new, price


def cost_of_equity(mnav: np.ndarray, cfg: EquityConfig) -> np.ndarray:
    """Required return on the firm's NAV [1/year]: the required return on market value
    (``cost_of_equity``) over the premium, floored at ``cost_of_equity_min``."""
    return np.maximum(cfg.cost_of_equity / np.maximum(mnav, 1e-9), cfg.cost_of_equity_min)


def convertible_cost(coupon: np.ndarray, cfg: EquityConfig) -> np.ndarray:
    """Real cost of a listed miner's convertible notes [1/year]: the coupon plus the yearly
    value of the conversion option they give away (``convertible_option_cost_per_year``)."""
    return coupon + cfg.convertible_option_cost_per_year


def weighted_cost_of_capital(
    debt_usd: np.ndarray, nav_usd: np.ndarray, debt_rate: np.ndarray, equity_rate: np.ndarray
) -> np.ndarray:
    """Hurdle rate [1/year]: debt and equity (NAV, at least 0) weighted by their sizes; all
    equity where the firm has neither."""
    nav = np.maximum(nav_usd, 0.0)
    total = debt_usd + nav
    w_debt = np.where(total > 0, debt_usd / np.where(total > 0, total, 1.0), 0.0)
    return w_debt * debt_rate + (1.0 - w_debt) * equity_rate
