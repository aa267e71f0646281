"""The equity market in the model (``[equity]``; abm.markets.equity holds the pricing).

Each day (phase ``markets``) the sector's premium to NAV follows BTC's 90-day momentum and the
firms' gross mining margin (a 30-day average); a listed firm's premium adds the re-rating of
its AI revenue. Every ``issue_period_days`` independent listed firms issue at the market when
their premium exceeds 1 and their cash is below ``atm_cash_target_days`` of their income (cash
in, shares out at the day's price, booked as ``usd_equity_raised``), and their hurdle rate
becomes their weighted cost of capital (debt at its real cost, the coupon plus the conversion
option of convertible notes; equity at the cost of equity on NAV, which is low when the premium
is high). While the sector's premium is at least
``ipo_min_mnav``, large enough private firms list at ``ipo_rate_per_year`` and raise a share of
their new market value. Firms that list take the
listed kind (shares at $1 on their first market value). Draws come from their own stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from abm.components import BaseComponent
from abm.firms import LISTED, PRIVATE
from abm.markets import equity

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry

MARGIN_HALFLIFE_DAYS = 30.0  # smoothing of the sector's daily gross margin
MOMENTUM_DAYS = 90


@dataclass(frozen=True)
class EquityDay:
    """The equity market's record of a day."""

    sector_mnav: float  # the sector's premium to NAV [-]
    raised_usd: float = 0.0  # cash raised at the market and at listings today [USD]
    listings: int = 0  # private firms that listed today


class EquityMarket(BaseComponent):
    """Premiums, at-the-market issuance, listings and derived hurdle rates of one run."""

    phases: ClassVar[tuple[str, ...]] = ("markets",)

    def __init__(self, m: MiningIndustry) -> None:
        super().__init__(m)
        self.cfg = m.params.equity
        self.on = self.cfg.enabled and m.finance_on
        self.margin_share = self.cfg.reference_margin_share  # smoothed sector margin
        self._alpha = 1.0 - 0.5 ** (1.0 / MARGIN_HALFLIFE_DAYS)
        self.raised_usd = 0.0
        self.listings = 0

    def daily(self, phase: str, today: Today) -> None:
        if self.on:
            today.equity = self.run_day(today.day)

    def run_day(self, d: int) -> EquityDay:
        """Day `d`: the premiums; on issuance days ATM raises and hurdle rates; listings."""
        m, t, cfg = self.m, self.m.firms, self.cfg
        act = t.active & (t.ultimate_owner == np.arange(t.n))
        revenue = float(t.revenue_usd[act].sum())
        if revenue > 0:
            margin = 1.0 - float(t.site_cost_usd[act].sum()) / revenue
            self.margin_share += self._alpha * (margin - self.margin_share)
        price = m.price_usd
        r90 = float(np.log(price[d] / price[max(d - MOMENTUM_DAYS, 0)]))
        sector = equity.sector_mnav(r90, self.margin_share, cfg)
        listed = np.flatnonzero(act & (t.kind == LISTED))
        income = t.revenue_usd[listed] + t.ai_income_usd[listed]
        ai_share = np.where(income > 0, t.ai_income_usd[listed] / np.maximum(income, 1e-300), 0.0)
        t.mnav[listed] = equity.firm_mnav(sector, ai_share, cfg)
        raised = 0.0
        new = self._new_shares(listed)
        if d % cfg.issue_period_days == 0 and listed.size:
            raised += self._issue(listed[~new])
        listings, listed_usd = self._list(act, sector)
        raised += listed_usd
        self.raised_usd += raised
        self.listings += listings
        return EquityDay(sector, raised, listings)

    def _market_cap(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(NAV, market value = premium x NAV, at least 0) of the firms in `rows` [USD]."""
        nav = self.m.nav_usd(rows)
        return nav, self.m.firms.mnav[rows] * np.maximum(nav, 0.0)

    def _new_shares(self, rows: np.ndarray) -> np.ndarray:
        """Listed firms without shares yet (day one, new listed entrants) get shares at $1 on
        their market value (at least one share). Returns the mask of those firms."""
        t = self.m.firms
        new = t.shares[rows] <= 0
        if new.any():
            _, cap = self._market_cap(rows[new])
            t.shares[rows[new]] = np.maximum(cap, 1.0)
        return new

    def _issue(self, rows: np.ndarray) -> float:
        """An issuance round: ATM raises at premiums above 1, then hurdle rates from the cost
        of capital. Returns the cash raised [USD]."""
        if rows.size == 0:
            return 0.0
        m, t, cfg = self.m, self.m.firms, self.cfg
        nav, cap = self._market_cap(rows)
        income = t.revenue_usd[rows] + t.ai_income_usd[rows]  # today's [USD/day]
        room = cfg.atm_cash_target_days * income - t.cash_usd[rows]
        usd = equity.atm_usd(cap, t.mnav[rows], cfg.issue_period_days, room, cfg)
        t.shares[rows], _ = equity.issue_shares(t.shares[rows], cap, usd)
        m.books.receive(rows, usd, "usd_equity_raised", distinct=True)
        coe = equity.cost_of_equity(t.mnav[rows], cfg)
        t.hurdle_rate[rows] = equity.weighted_cost_of_capital(
            t.debt_usd[rows], nav + usd, equity.convertible_cost(t.debt_rate[rows], cfg), coe
        )
        return float(usd.sum())

    def _list(self, act: np.ndarray, sector: float) -> tuple[int, float]:
        """Listings of the day: eligible private firms list with probability rate/365 while
        the sector's premium is high. Returns (listings, cash raised [USD])."""
        m, t, cfg = self.m, self.m.firms, self.cfg
        if sector < cfg.ipo_min_mnav or cfg.ipo_rate_per_year <= 0:
            return 0, 0.0
        ehs = m.firm_installed_ths() / 1e6
        rows = np.flatnonzero(act & (t.kind == PRIVATE) & (ehs >= cfg.ipo_min_ehs))
        if rows.size == 0:
            return 0, 0.0
        u = m.streams["equity"].random(rows.size)
        rows = rows[u < cfg.ipo_rate_per_year / 365.0]
        if rows.size == 0:
            return 0, 0.0
        t.kind[rows] = LISTED
        t.mnav[rows] = sector
        _, cap = self._market_cap(rows)
        usd = cfg.ipo_raise_share * cap
        t.shares[rows] = np.maximum(cap, 1.0) + usd  # $1 a share, the new shares at $1
        m.books.receive(rows, usd, "usd_equity_raised", distinct=True)
        return int(rows.size), float(usd.sum())

    def summary(self) -> dict[str, Any]:
        if not self.on:
            return {}
        return {"equity_raised_usd": self.raised_usd, "listings": self.listings}
