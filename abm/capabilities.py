"""Firm capabilities (DESIGN.md "The three capabilities"): energy acquisition, risk management,
compute scheduling.

Each capability is a per-firm column of :class:`~abm.firms.FirmTable` drawn when the firm is
created, from its own named random stream, so switching capabilities on or off never shifts
any other draw. With ``capabilities.enabled = false`` every column stays 0 and the model runs
exactly as without this module.

Energy acquisition (``energy_access``, 0 or 1): new MW cost the expansion power price x
(1 - discount x access) and site capex x (1 - capex discount x access), and come online after
an interconnection lead time that is shorter with access (the queue is
:class:`abm.sites.Interconnection`).

Risk management (``risk_managed``): a rolling BTC-price hedge, a leverage cap and a treasury
policy. Every ``hedge_tenor_days`` (the same days for all firms) a risk-managed firm sells
forward, at today's spot (forward = spot, an assumption), ``hedge_ratio`` x the BTC it mined
that day for each day of the tenor: a fixed notional per day, cash-settled daily at
notional x (strike - spot) whatever the firm mines (so it carries basis risk when it curtails).
It pays ``hedge_cost`` x the USD notional up front. A firm's hedge lapses when it exits. Its
loan-to-value limit and initial leverage are x ``leverage_factor`` and it sells all mined BTC.

Compute scheduling (``flexible``): hour-scale economics summarised per day. Each region has an
intraday shape, 24 hourly power-price multipliers with mean 1 (lognormal quantiles with the
region's dispersion). A flexible firm runs a vintage only in the hours where its revenue beats
the hourly price: with x = revenue / cost at the mean price, its run share is F(x) (share of
hours with multiplier < x) and its energy cost is cost x C(x) (sum of those multipliers / 24).
A non-flexible firm runs flat at the mean price (x > 1: all hours). Flexible firms earn the
region's credit per MWh they release in the hours they curtail. Capacity caps the power drawn
in the hours a vintage runs; the merit order is the daily one (an approximation).
"""

from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from abm.components import BaseComponent
from abm.firms import LISTED, SOVEREIGN
from abm.markets.energy import HYDRO, SOURCES

STRANDED = SOURCES.index("stranded")

if TYPE_CHECKING:
    from abm.model import MiningIndustry


HOURS = 24


def intraday_shape(dispersion_log: float, hours: int = HOURS) -> np.ndarray:
    """Hourly power-price multipliers, ascending, mean exactly 1 [-]: lognormal quantiles at
    the hours' mid-points with sd `dispersion_log` of the log."""
    z = np.array([NormalDist().inv_cdf((h + 0.5) / hours) for h in range(hours)])
    m = np.exp(dispersion_log * z)
    return m / m.mean()


def run_share_and_cost(
    hourly: np.ndarray, cum: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """F(x), the share of hours whose multiplier is below x, and C(x), the sum of those
    multipliers over the number of hours (energy relative to running flat) [-].

    `hourly` is ascending; `cum` is [0, cumsum(hourly)] / len(hourly)."""
    k = np.searchsorted(hourly, x, side="left")
    return k / hourly.size, cum[k]


class Capabilities(BaseComponent):
    """Per-firm capabilities of one run: attribute draws, new-MW terms, hourly scheduling and
    hedges (services the phases call; no daily hook of its own)."""

    def __init__(self, m: MiningIndustry) -> None:
        super().__init__(m)
        self.cfg = m.params.capabilities
        self.on = self.cfg.enabled
        # risk-managed firms exist (initial or entrants): hedges settle daily
        self.hedging = False
        self.flexing = False  # flexible firms exist: operate by the hour
        regions = list(m.params.firms.region_mix)
        cfg = self.cfg
        sd = [cfg.intraday_dispersion_log.get(r, cfg.intraday_dispersion_default) for r in regions]
        self.hourly = np.array([intraday_shape(s) for s in sd])  # regions x 24, ascending
        self._cum = (
            np.concatenate([np.zeros((len(regions), 1)), np.cumsum(self.hourly, axis=1)], axis=1)
            / HOURS
        )
        self.credit_usd_per_mwh = np.array(
            [cfg.flex_credit_usd_per_mwh.get(r, 0.0) for r in regions]
        )

    # ----------------------------------------------------------------------------------------
    def on_new_firms(self, rows: np.ndarray) -> None:
        """Draw the capabilities of new firms (initial population, entrants) from their own
        stream; sovereigns have none."""
        if not self.on or rows.size == 0:
            return
        t, cfg = self.m.firms, self.cfg
        listed = t.kind[rows] == LISTED
        p = np.where(listed, cfg.energy_access_prob_listed, cfg.energy_access_prob_private)
        access = self.m.streams["cap_energy"].random(rows.size) < p
        sov = t.kind[rows] == SOVEREIGN
        t.energy_access[rows] = np.where(sov, 0.0, access)
        p = np.where(listed, cfg.risk_managed_prob_listed, cfg.risk_managed_prob_private)
        risk = (self.m.streams["cap_risk"].random(rows.size) < p) & ~sov
        t.risk_managed[rows] = risk
        self.hedging = self.hedging or bool(risk.any())
        p = np.where(listed, cfg.flexible_prob_listed, cfg.flexible_prob_private)
        flex = (self.m.streams["cap_flex"].random(rows.size) < p) & ~sov
        t.flexible[rows] = flex
        self.flexing = self.flexing or bool(flex.any())
        t.ltv_limit[rows] *= np.where(risk, cfg.leverage_factor, 1.0)
        t.hold_fraction[rows] = np.where(risk, 0.0, t.hold_fraction[rows])

    def new_mw_price_usd_per_mwh(self, rows: np.ndarray) -> np.ndarray:
        """Price of power contracted for each firm's new MW [USD/MWh]."""
        base = self.m.params.energy.expansion_price_usd_per_mwh
        if not self.on:
            return np.full(rows.size, base)
        t, cfg = self.m.firms, self.cfg
        access = t.energy_access[rows]
        size_ehs = self.m.firm_installed_ths()[rows] / 1e6
        scale = cfg.energy_scale_discount_per_decade * np.log10(np.maximum(size_ehs, 1.0))
        price = base * (1.0 - np.minimum(cfg.energy_price_discount + scale, 0.9) * access)
        own = (access > 0) & np.isin(t.source[rows], (HYDRO, STRANDED))
        return np.where(own, np.minimum(price, cfg.stranded_price_usd_per_mwh), price)

    def new_mw_capex_usd_per_mw(self, rows: np.ndarray) -> np.ndarray:
        """Site build cost of each firm's new MW [USD/MW]."""
        base = self.m.params.energy.capex_usd_per_mw
        if not self.on:
            return np.full(rows.size, base)
        return base * (1.0 - self.cfg.energy_capex_discount * self.m.firms.energy_access[rows])

    def lead_days(self, rows: np.ndarray) -> np.ndarray:
        """Interconnection lead time of each firm's new MW [days] (0 when capabilities are off)."""
        if not self.on:
            return np.zeros(rows.size, dtype=np.int64)
        access = self.m.firms.energy_access[rows] > 0
        return np.where(access, self.cfg.interconnection_days_access, self.cfg.interconnection_days)

    def leverage_factor(self) -> np.ndarray:
        """Multiplier on each firm's initial leverage [-]."""
        return np.where(self.m.firms.risk_managed, self.cfg.leverage_factor, 1.0)

    def hedge(self, day: int, btc_mined: np.ndarray, price_usd: float) -> np.ndarray:
        """Settle today's hedges and roll them on roll days; each firm's net cash [USD]
        (booked in the ledger)."""
        t, cfg, books = self.m.firms, self.cfg, self.m.books
        payoff, cost, notional, strike = hedge_day(
            day,
            price_usd,
            btc_mined,
            t.hedge_btc_per_day * t.active,
            t.hedge_strike_usd,
            t.risk_managed & t.active,
            cfg.hedge_ratio,
            cfg.hedge_tenor_days,
            cfg.hedge_cost,
        )
        t.hedge_btc_per_day, t.hedge_strike_usd = notional, strike
        # the account phase moves the cash (in the day's cash flow); the ledger records it here
        books.post("usd_hedge_gains", float(np.maximum(payoff, 0.0).sum()))
        books.post("usd_hedge_losses", float(np.maximum(-payoff, 0.0).sum()))
        books.post("usd_hedge_costs", float(cost.sum()))
        return payoff - cost

    def schedule(
        self, cost_usd_per_th_day: np.ndarray, revenue_usd_per_th_day: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Today's hourly scheduling per site and vintage (sites x generations) for the own
        sites of flexible owners, by the site's region: run share of the day [0-1], energy
        multiplier on the flat-price cost [-], and the cost that decides whether a vintage runs
        at all (cost x the cheapest hour's multiplier) [USD/(TH/s)/day]."""
        s = self.m.sites
        share = np.ones_like(cost_usd_per_th_day)
        mult = np.ones_like(cost_usd_per_th_day)
        decide = cost_usd_per_th_day.copy()
        flexible = self._flexible_sites()
        for r in range(self.hourly.shape[0]):
            rows = np.flatnonzero(flexible & (s.region == r))
            if rows.size == 0:
                continue
            c = cost_usd_per_th_day[rows]
            x = np.divide(revenue_usd_per_th_day, c, out=np.full(c.shape, np.inf), where=c > 0)
            share[rows], mult[rows] = run_share_and_cost(self.hourly[r], self._cum[r], x)
            decide[rows] = c * self.hourly[r, 0]
        return share, mult, decide

    def flex_credits(
        self, on_hours_ths: np.ndarray, share: np.ndarray, power_mw_per_th: np.ndarray
    ) -> np.ndarray:
        """Credits for the MWh flexible owners release in the hours they curtail, per site, at
        the site's region's rate [USD/day]."""
        s = self.m.sites
        released_mwh = ((on_hours_ths * (1.0 - share)) @ power_mw_per_th) * HOURS
        return np.where(
            self._flexible_sites(), released_mwh * self.credit_usd_per_mwh[s.region], 0.0
        )

    def _flexible_sites(self) -> np.ndarray:
        """Sites scheduled by the hour: the own sites of flexible owners (a hosted client pays
        a flat rate per MWh, so it has no hours to avoid)."""
        s = self.m.sites
        return self.m.firms.flexible[s.owner] & (s.host == s.owner)


def hedge_day(
    day: int,
    price_usd: float,
    btc_mined: np.ndarray,
    notional_btc_per_day: np.ndarray,
    strike_usd: np.ndarray,
    hedger: np.ndarray,
    ratio: float,
    tenor_days: int,
    cost_share: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One day of rolling forward sales: (payoff [USD], cost [USD], notional [BTC/day],
    strike [USD/BTC]) per firm.

    Today's payoff of the running hedge is notional x (strike - price). On roll days (day a
    multiple of the tenor) hedgers then sell forward ratio x today's mined BTC per day of the
    next tenor at today's price, paying cost_share x notional x tenor x price."""
    payoff = notional_btc_per_day * (strike_usd - price_usd)
    if day % tenor_days:
        return payoff, np.zeros_like(payoff), notional_btc_per_day, strike_usd
    notional = np.where(hedger, ratio * btc_mined, 0.0)
    cost = cost_share * notional * tenor_days * price_usd
    return payoff, cost, notional, np.where(hedger, price_usd, 0.0)
