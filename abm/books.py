"""The books: every change to the firms' money and assets, and the ledger of what crossed them.

The ledger cumulates, over the run, every flow that crosses the boundary of the firms' balance
sheets. Each key declares beside its name what it does to the balances (:class:`Entry`): +1 or
-1 on the firms' cash, on their corporate debt, on AI project debt (held by the contracts), on
the BTC they hold, and on the BTC issued by the protocol that is still to be paid out. The
accounting invariants follow from these declarations alone (:func:`expected_balances`), so a
test never copies the list of keys.

:class:`Books` is the only place that moves cash, BTC, debt, rigs or sites between a firm and
the outside world (lenders, owners, rig and site buyers) or between firms. Components call its
named operations (sell rigs, sell sites, buy rigs, add capacity, transfer assets, borrow, repay,
pay, sell BTC, settle an estate) instead of writing to the firm table and the ledger themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from abm import behaviour, finance
from abm.firms import LISTED, SOVEREIGN
from abm.sites import CLOSED, MINING, MINING_OR_CARE, OUTSIDE, STRANDED

if TYPE_CHECKING:
    from abm.behaviour import InvestmentPlan
    from abm.day import Blocks, DayFlows, Operation
    from abm.model import MiningIndustry

__all__ = ["LEDGER", "LEDGER_KEYS", "Books", "Entry", "expected_balances"]


@dataclass(frozen=True)
class Entry:
    """A ledger key: what it is, and the sign of its effect on each balance (+1, -1 or 0)."""

    doc: str
    cash: int = 0  # the firms' cash [USD]
    debt: int = 0  # the firms' corporate debt [USD]
    project_debt: int = 0  # AI project debt, held by the contracts [USD]
    btc: int = 0  # BTC in the firms' treasuries [BTC]
    unpaid: int = 0  # BTC issued by the protocol and not yet paid out [BTC]
    internal: bool = False  # a transfer between firms: no balance of the firms moves


LEDGER: dict[str, Entry] = {
    "btc_subsidy": Entry("BTC issued as subsidy", unpaid=+1),
    "btc_fees": Entry("BTC paid as transaction fees", unpaid=+1),
    "btc_to_firms": Entry("BTC paid out by pools to firms", unpaid=-1, btc=+1),
    "btc_to_world": Entry("BTC paid out by pools to the rest of the world's miners", unpaid=-1),
    "btc_pool_fees": Entry("BTC kept by pools as fees", unpaid=-1),
    "btc_pool_luck": Entry(
        "BTC kept by FPPS pools as luck: blocks found less the expected value paid (may be "
        "negative)",
        unpaid=-1,
    ),
    "btc_sold": Entry("BTC sold by firms (at mining or from treasury)", btc=-1),
    "usd_btc_sales": Entry("USD received for BTC sold", cash=+1),
    "usd_energy": Entry("energy bills of the sites firms hold", cash=-1),
    "usd_fixed": Entry("non-energy operating costs", cash=-1),
    "usd_interest": Entry("interest paid to lenders", cash=-1),
    "usd_principal": Entry("debt principal repaid", cash=-1, debt=-1),
    "usd_debt_drawn": Entry("new debt", cash=+1, debt=+1),
    "usd_debt_recovered": Entry(
        "paid to lenders out of defaulted or liquidated estates", cash=-1, debt=-1
    ),
    "usd_debt_written_off": Entry("lenders' losses at default", debt=-1),
    "usd_equity_raised": Entry("equity issued by listed firms", cash=+1),
    "usd_new_capital": Entry("cash brought by new entrants and outside investors", cash=+1),
    "usd_shares_for_deals": Entry(
        "new shares listed buyers issue to pay for acquisitions (received as cash, paid on)",
        cash=+1,
    ),
    "usd_capex_rigs": Entry("rigs bought new", cash=-1),
    "usd_capex_infra": Entry("power capacity built", cash=-1),
    "usd_asset_sales": Entry(
        "rigs sold to the used-rig dealer, sites and capacity sold to the outside", cash=+1
    ),
    "usd_used_rigs": Entry("used rigs bought from the dealer", cash=-1),
    "usd_to_owners": Entry(
        "paid to former owners (acquisition prices, estates' residuals)", cash=-1
    ),
    "usd_unpaid_liabilities": Entry("operating bills left unpaid by exiting firms", cash=+1),
    "usd_state_budget": Entry("sovereigns' hardware budgets spent", cash=+1),
    "usd_state_support": Entry("sovereigns' cash shortfalls covered by their states", cash=+1),
    "usd_demand_response": Entry("credits paid for capacity released in grid emergencies", cash=+1),
    "usd_relocation": Entry(
        "cost of moving rigs (out of banned regions, between sites, off a failed host)", cash=-1
    ),
    "usd_hosting_fees": Entry(
        "hosting fees clients paid to hosts in the model (a transfer between firms)",
        internal=True,
    ),
    "usd_hosting_outside": Entry("hosting fees paid to providers outside the model", cash=-1),
    "usd_hedge_gains": Entry("BTC-price hedges settled in the firms' favour", cash=+1),
    "usd_hedge_losses": Entry("BTC-price hedges settled against the firms", cash=-1),
    "usd_hedge_costs": Entry("hedge costs paid up front", cash=-1),
    "usd_flex_credits": Entry(
        "demand-response credits earned by flexible firms' hourly curtailment", cash=+1
    ),
    # AI/HPC hosting (abm.contracts); project debt is held by the contracts, not the firms
    "usd_ai_income": Entry("contract income from tenants", cash=+1),
    "usd_ai_opex": Entry("hosting operating costs", cash=-1),
    "usd_ai_capex": Entry("conversion capex paid by firms", cash=-1),
    "usd_ai_debt_drawn": Entry("project debt drawn at awards", cash=+1, project_debt=+1),
    "usd_ai_interest_capitalised": Entry(
        "interest during construction added to project debt", project_debt=+1
    ),
    "usd_ai_interest": Entry("project interest paid", cash=-1),
    "usd_ai_principal": Entry("project principal repaid", cash=-1, project_debt=-1),
    "usd_ai_debt_written_off": Entry(
        "project debt lost by lenders at tenant defaults", project_debt=-1
    ),
    "usd_ai_debt_transferred": Entry(
        "project debt that left with contracts sold by estates", project_debt=-1
    ),
    "usd_ai_spv_sales": Entry("equity value received for contracts sold by estates", cash=+1),
}
LEDGER_KEYS: tuple[str, ...] = tuple(LEDGER)
BALANCES: tuple[str, ...] = ("cash", "debt", "project_debt", "btc", "unpaid")


def expected_balances(ledger: dict[str, float], initial: dict[str, float]) -> dict[str, float]:
    """Each balance implied by the ledger: its initial value plus every key's amount times the
    key's declared sign (initial values missing from `initial` count as 0)."""
    return {
        b: initial.get(b, 0.0) + sum(getattr(LEDGER[k], b) * v for k, v in ledger.items())
        for b in BALANCES
    }


def _check(key: str, balance: str, sign: int) -> None:
    if getattr(LEDGER[key], balance) != sign:
        raise ValueError(f"ledger key {key!r} does not declare {balance} {sign:+d}")


class Books:
    """The firms' books in one run: the operations that move money and assets, each booked in
    the ledger (``model.ledger``) under keys whose declared signs it respects. Cash goes to
    firm rows (a row may repeat: amounts add up); rigs and capacity sit on site rows."""

    def __init__(self, m: MiningIndustry) -> None:
        self.m = m
        self.ledger: dict[str, float] = dict.fromkeys(LEDGER_KEYS, 0.0)

    # -- plain cash movements ----------------------------------------------------------------
    def post(self, key: str, amount: float) -> None:
        """Book an amount under `key` whose balances were already moved by the caller."""
        self.ledger[key] += amount

    def receive(
        self, rows: np.ndarray | int, usd: np.ndarray | float, key: str, distinct: bool = False
    ) -> None:
        """Cash in for firm `rows` (that may repeat, unless `distinct`) from outside (a key
        declaring cash +1)."""
        _check(key, "cash", +1)
        if distinct:
            self.m.firms.cash_usd[rows] += usd
        else:
            np.add.at(self.m.firms.cash_usd, rows, usd)
        self.ledger[key] += float(np.sum(usd))

    def spend(self, rows: np.ndarray | int, usd: np.ndarray | float, key: str) -> None:
        """Cash out of firm `rows` to the outside (a key declaring cash -1)."""
        _check(key, "cash", -1)
        np.subtract.at(self.m.firms.cash_usd, rows, usd)
        self.ledger[key] += float(np.sum(usd))

    # -- the day's operating flows ----------------------------------------------------------
    def post_day(self, op: Operation, blocks: Blocks, f: DayFlows, price_usd: float) -> None:
        """Apply the account phase's flows: BTC kept, cash, debt service and depreciation, the
        firms' and sites' flow columns of the day and since entry, and the ledger."""
        m = self.m
        t, lg = m.firms, self.ledger
        btc_f = blocks.by_firm_btc
        if f.flex_credits_usd is not None:
            lg["usd_flex_credits"] += float(f.flex_credits_usd.sum())
        t.btc_held += btc_f - f.btc_sold
        if f.interest_usd is not None:
            t.debt_usd -= f.principal_usd
            t.cum_interest_usd += f.interest_usd
            lg["usd_interest"] += float(f.interest_usd.sum())
            lg["usd_principal"] += float(f.principal_usd.sum())
            fin, s = m.params.finance, m.sites
            s.rig_book_usd *= 1.0 - 1.0 / (fin.fleet_depreciation_years * 365)
            s.site_book_usd *= 1.0 - 1.0 / (fin.site_depreciation_years * 365)
        t.cash_usd += f.cash_flow_usd
        revenue = btc_f * price_usd
        for col, value in (
            (t.running_ths, op.by_firm_ths),
            (t.revenue_usd, revenue),
            (t.site_cost_usd, f.site_costs_usd),
            (t.hosting_fees_usd, f.hosting_fees_usd),
            (t.hosting_income_usd, f.hosting_income_usd),
            (m.sites.running_ths, op.by_site_ths),
        ):
            np.copyto(col, value)
        t.cum_btc_mined += btc_f
        t.cum_revenue_usd += revenue
        t.cum_operating_cost_usd += f.site_costs_usd + (f.hosting_fees_usd - f.hosting_income_usd)
        lg["btc_subsidy"] += blocks.chain_day.subsidy_btc
        lg["btc_fees"] += float(blocks.fees_btc)
        lg["btc_to_firms"] += float(btc_f.sum())
        lg["btc_to_world"] += blocks.to_world_btc
        lg["btc_pool_fees"] += blocks.pool_fees_btc
        lg["btc_pool_luck"] += blocks.pool_luck_btc
        lg["btc_sold"] += float(f.btc_sold.sum())
        lg["usd_btc_sales"] += float(f.btc_sales_usd.sum())
        lg["usd_energy"] += f.energy_usd
        lg["usd_fixed"] += f.fixed_usd
        lg["usd_hosting_fees"] += float(f.hosting_income_usd.sum())
        lg["usd_hosting_outside"] += f.outside_fees_usd

    def post_contracts_day(
        self,
        firm_rows: np.ndarray,
        net_usd: np.ndarray,
        income_usd: float,
        opex_usd: float,
        interest_usd: np.ndarray,
        principal_usd: np.ndarray,
    ) -> None:
        """The AI contracts' day: each operating contract's income less opex and project debt
        service reaches its firm (`firm_rows` may repeat)."""
        np.add.at(self.m.firms.cash_usd, firm_rows, net_usd)
        lg = self.ledger
        lg["usd_ai_income"] += income_usd
        lg["usd_ai_opex"] += opex_usd
        lg["usd_ai_interest"] += float(interest_usd.sum())
        lg["usd_ai_principal"] += float(principal_usd.sum())

    # -- BTC -----------------------------------------------------------------------------------
    def sell_btc(self, rows: np.ndarray, btc: np.ndarray) -> None:
        """Sell treasury BTC at today's price (distinct rows)."""
        t = self.m.firms
        usd = btc * self.m.price_usd[self.m.day]
        t.btc_held[rows] -= btc
        t.cash_usd[rows] += usd
        self.ledger["btc_sold"] += float(btc.sum())
        self.ledger["usd_btc_sales"] += float(usd.sum())

    # -- debt ----------------------------------------------------------------------------------
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
        m = self.m
        t, fin = m.firms, m.params.finance
        term = np.where(t.kind[rows] == LISTED, fin.term_years_listed, fin.term_years_private)
        term = term * 365
        old = t.debt_usd[rows]
        t.debt_maturity_day[rows] = (
            (old * t.debt_maturity_day[rows] + amount * (m.day + term)) / (old + amount)
        ).astype(np.int32)
        t.debt_usd[rows] += amount
        t.cash_usd[rows] += amount
        self.ledger["usd_debt_drawn"] += float(amount.sum())

    def repay(self, r: int, usd: float) -> None:
        """Firm r repays `usd` of its corporate debt from cash."""
        t = self.m.firms
        t.cash_usd[r] -= usd
        t.debt_usd[r] -= usd
        self.ledger["usd_principal"] += usd

    def fund_entrants(
        self,
        rows: np.ndarray,
        rigs_usd: np.ndarray,
        infra_usd: np.ndarray,
        working_usd: np.ndarray,
        debt_usd: np.ndarray,
    ) -> None:
        """New firms (distinct `rows`, their rigs and sites already in place) are funded: their
        investors bring the equity (rigs + site + working cash - debt), lenders `debt_usd`, and
        the rigs and sites are paid for; each keeps its working cash."""
        t = self.m.firms
        capex = rigs_usd + infra_usd
        equity = capex + working_usd - debt_usd
        t.cash_usd[rows] += equity
        self.ledger["usd_new_capital"] += float(equity.sum())
        self.borrow(rows, debt_usd)
        t.cash_usd[rows] -= capex
        t.cum_capex_usd[rows] += capex
        self.ledger["usd_capex_rigs"] += float(rigs_usd.sum())
        self.ledger["usd_capex_infra"] += float(infra_usd.sum())

    def pay(self, buyer: int, price_usd: float, borrow: bool = True) -> None:
        """The buyer pays `price_usd` from spare cash, borrowing the rest unless `borrow` is
        false (the money goes to whoever the caller books as its recipient)."""
        if borrow:
            spare = float(self.m.spare_cash_usd(np.array([buyer]))[0])
            self.borrow(buyer, max(price_usd - spare, 0.0))
        self.m.firms.cash_usd[buyer] -= price_usd

    def settle_estate(self, r: int) -> None:
        """Firm r's estate (its cash, negative cash being unpaid bills) pays bills, then
        lenders, then owners; what it cannot cover is written off."""
        t = self.m.firms
        bills_unpaid, to_lenders, lender_loss, to_owners = finance.waterfall(
            0.0, float(t.cash_usd[r]), float(t.debt_usd[r])
        )
        lg = self.ledger
        lg["usd_debt_recovered"] += to_lenders
        lg["usd_debt_written_off"] += lender_loss
        lg["usd_to_owners"] += to_owners
        lg["usd_unpaid_liabilities"] += bills_unpaid
        t.debt_usd[r] = 0.0
        t.cash_usd[r] = 0.0

    # -- rigs ----------------------------------------------------------------------------------
    def _book_share(self, site_rows: np.ndarray, ths: np.ndarray) -> np.ndarray:
        """The share of each site's rig book that `ths` (TH/s leaving the site) carry."""
        held = self.m.sites.fleet_ths[site_rows].sum(axis=1)
        return np.minimum(np.divide(ths, held, out=np.zeros_like(held), where=held > 0), 1.0)

    def _sell_to_dealer(self, sold_ths: np.ndarray) -> np.ndarray:
        """The used-rig dealer takes rigs (rows x generations) into stock at its posted prices
        (:mod:`abm.markets.used`); returns each row's proceeds [USD]."""
        sold = np.atleast_2d(sold_ths)
        self.m.used.receive(sold)
        return sold @ self.m.used.prices_usd_per_th

    def sell_rigs(self, site_rows: np.ndarray, sold_ths: np.ndarray) -> np.ndarray:
        """Sell rigs from distinct sites (sites x generations) to the used-rig dealer at its
        posted prices; the owners receive the proceeds and each site's rig book shrinks by the
        share sold. Returns each site's proceeds [USD]."""
        m = self.m
        s = m.sites
        site_rows = np.atleast_1d(site_rows)
        sold_ths = np.atleast_2d(sold_ths)
        owners = s.owner[site_rows]
        s.rig_book_usd[site_rows] *= 1.0 - self._book_share(site_rows, sold_ths.sum(axis=1))
        proceeds = self._sell_to_dealer(sold_ths)
        s.fleet_ths[site_rows] -= sold_ths
        self.receive_asset_sales(owners, proceeds)
        return proceeds

    def sell_fleet_share(self, rows: np.ndarray, share: np.ndarray) -> None:
        """Sell `share` of each firm's rigs on every site to the outside at today's secondary
        price (a fire sale; distinct firm rows)."""
        s = self.m.sites
        frac = np.zeros(self.m.firms.n)
        frac[rows] = share
        on = np.flatnonzero((frac[s.owner] > 0) & s.fleet_ths.any(axis=1))
        if on.size:
            self.sell_rigs(on, s.fleet_ths[on] * frac[s.owner[on]][:, None])

    def sell_rigs_of_gone_firms(self, fleet_ths: np.ndarray) -> None:
        """Rigs arriving for firms that have exited are sold to the dealer for their former
        owners."""
        if fleet_ths.size and fleet_ths.any():
            gone = float(self._sell_to_dealer(fleet_ths).sum())
            self.ledger["usd_asset_sales"] += gone
            self.ledger["usd_to_owners"] += gone

    def sell_queued_rigs(self, r: int, fleet_ths: np.ndarray) -> None:
        """Rigs bought for firm r's queued MW, which it gives up, are sold to the dealer for
        it."""
        if fleet_ths.any():
            self.receive_asset_sales(r, float(self._sell_to_dealer(fleet_ths).sum()))

    def deliver_rigs(
        self,
        site_rows: np.ndarray,
        owners: np.ndarray,
        generation: int,
        ths: np.ndarray,
        usd: np.ndarray,
    ) -> None:
        """New rigs arrive at the sites they were ordered for (rigs and their cost join the
        site and its rig book, as many as fit); rigs whose site its owner no longer mines
        (sold, closed, converted) or no longer has room for, or whose owner has left, are sold
        to the dealer for the owner (or its former owners)."""
        m = self.m
        s, t, g = m.sites, m.firms, m.gens
        ok = (
            (s.owner[site_rows] == owners)
            & np.isin(s.status[site_rows], MINING_OR_CARE)
            & t.active[owners]
        )
        # what still fits the site (its capacity may have shrunk meanwhile: a ban, a sale)
        room = s.capacity_mw[site_rows] - s.fleet_ths[site_rows] @ g.power_mw_per_th
        fits = np.where(ok, np.clip(room / g.power_mw_per_th[generation], 0.0, ths), 0.0)
        if fits.any():
            np.add.at(s.fleet_ths[:, generation], site_rows, fits)
            share = np.divide(fits, ths, out=np.zeros_like(ths), where=ths > 0)
            np.add.at(s.rig_book_usd, site_rows, usd * share)
            m.update_live_columns(m.day)
        left = ths - fits
        lost = left > 1e-9 * ths
        if lost.any():
            fleet = np.zeros((int(lost.sum()), g.n))
            fleet[:, generation] = left[lost]
            alive = t.active[owners[lost]]
            self.sell_rigs_of_gone_firms(fleet[~alive])
            if alive.any():
                self.receive_asset_sales(owners[lost][alive], self._sell_to_dealer(fleet[alive]))

    def buy_used_rigs(
        self, site_rows: np.ndarray, generation: int, ths: np.ndarray, usd: np.ndarray
    ) -> None:
        """Firms buy used rigs from the dealer for their sites (distinct rows), within the
        budget the market allowed: sovereigns from their hardware budget, the others from spare
        cash, then new debt (with finance on)."""
        m = self.m
        s, t = m.sites, m.firms
        owners = s.owner[site_rows]
        s.fleet_ths[site_rows, generation] += ths
        s.rig_book_usd[site_rows] += usd
        pay = np.bincount(owners, weights=usd, minlength=t.n)
        rows = np.flatnonzero(pay > 0)
        cash = m.spare_cash_usd(rows) if m.finance_on else np.maximum(t.cash_usd[rows], 0.0)
        self._pay_capex(rows, pay[rows], cash, t.kind[rows] == SOVEREIGN)
        self.ledger["usd_used_rigs"] += float(usd.sum())
        m.update_live_columns(m.day)

    def fail_rigs(self, keep_share: np.ndarray, live: slice) -> float:
        """Rigs fail: every site keeps `keep_share` of its rigs of each generation in `live`
        (the others hold none), and its rig book shrinks by the share of its TH/s that failed.
        Failed rigs are written off: assets leave, no money moves (no ledger key). Returns the
        hashrate failed [TH/s]."""
        s = self.m.sites
        fleet = s.fleet_ths[:, live]
        held = behaviour.row_sums(fleet)
        fleet *= keep_share
        left = behaviour.row_sums(fleet)
        s.rig_book_usd *= np.divide(left, held, out=np.ones_like(held), where=held > 0)
        return float(held.sum() - left.sum())

    def move_rigs(
        self, src: np.ndarray, dst: np.ndarray, moved_ths: np.ndarray, cost_usd: np.ndarray
    ) -> None:
        """Move rigs (sources x generations) from distinct sites `src` to sites `dst` of the
        same owner, who pays the move; the rigs' share of the book goes with them."""
        s = self.m.sites
        book = s.rig_book_usd[src] * self._book_share(src, moved_ths.sum(axis=1))
        s.rig_book_usd[src] -= book
        np.add.at(s.rig_book_usd, dst, book)
        np.subtract.at(s.fleet_ths, src, moved_ths)
        np.add.at(s.fleet_ths, dst, moved_ths)
        self.spend(s.owner[src], cost_usd, "usd_relocation")

    def receive_asset_sales(self, rows: np.ndarray | int, usd: np.ndarray | float) -> None:
        """Book the proceeds of rigs or sites firms sold to buyers outside the model."""
        t = self.m.firms
        np.add.at(t.cash_usd, rows, usd)
        np.add.at(t.cum_asset_sales_usd, rows, usd)
        self.ledger["usd_asset_sales"] += float(np.sum(usd))

    # -- sites ---------------------------------------------------------------------------------
    def sell_capacity(self, site_rows: np.ndarray, mw: np.ndarray, usd: np.ndarray) -> None:
        """Sell `mw` of distinct sites' capacity to the outside for `usd`: the proceeds go to
        each site's host, and the site's book shrinks by the share of its capacity sold."""
        s = self.m.sites
        cap = s.capacity_mw[site_rows]
        s.site_book_usd[site_rows] *= 1.0 - np.divide(
            mw, cap, out=np.zeros_like(cap), where=cap > 0
        )
        s.capacity_mw[site_rows] -= mw
        self.receive_asset_sales(s.host[site_rows], usd)

    def sell_sites(self, site_rows: np.ndarray) -> None:
        """Sell an owner's sites to the outside: the rigs at the secondary price, the capacity
        of its own sites at market value (they close); hosted sites go back to their hosts."""
        m = self.m
        s = m.sites
        if site_rows.size == 0:
            return
        self.sell_rigs(site_rows, s.fleet_ths[site_rows].copy())
        own = site_rows[s.host[site_rows] == s.owner[site_rows]]
        self.sell_capacity(own, s.capacity_mw[own], m.site_value_usd()[own])
        m.close_sites(own)
        self.release_to_hosts(site_rows[s.host[site_rows] != s.owner[site_rows]])

    def release_to_hosts(self, site_rows: np.ndarray) -> None:
        """Hosted sites whose client has gone (its rigs already moved or sold): the capacity
        returns to the host as an empty own site at its power price; at a host that has left,
        or an outside provider, the site closes."""
        m = self.m
        s, t = m.sites, m.firms
        if site_rows.size == 0:
            return
        host = s.host[site_rows]
        back = site_rows[(host >= 0) & t.active[np.maximum(host, 0)]]
        s.owner[back] = s.host[back]
        s.rate_usd_per_mwh[back] = s.power_price_usd_per_mwh[back]
        s.status[back] = MINING
        s.stranded_until[back] = -1
        s.rig_book_usd[site_rows] = 0.0
        m.close_sites(np.setdiff1d(site_rows, back))
        m.refresh_costs()

    def sell_facilities(self, site_rows: np.ndarray) -> None:
        """A host sells the facilities where it hosts clients to an operator outside the model,
        at their market value; the clients stay, now hosted outside (``host = OUTSIDE``)."""
        m = self.m
        s = m.sites
        if site_rows.size == 0:
            return
        self.receive_asset_sales(s.host[site_rows], m.site_value_usd()[site_rows])
        s.host[site_rows] = OUTSIDE
        s.site_book_usd[site_rows] = 0.0

    def stop_in_ban(
        self,
        site_rows: np.ndarray,
        share: float,
        sold_ths: np.ndarray,
        moved_ths: np.ndarray,
        relocation_usd: np.ndarray,
    ) -> np.ndarray:
        """A ban stops `share` of each site: the sold rigs go at today's secondary price, the
        moved ones leave the site with their share of the book (in transit; their owners pay
        `relocation_usd`), and the banned share of capacity and of its book is lost. Returns the
        moved rigs' book value per site [USD]."""
        s = self.m.sites
        left = s.fleet_ths[site_rows] - (sold_ths + moved_ths)
        book = s.rig_book_usd[site_rows]
        moved_book = book * self._book_share(site_rows, moved_ths.sum(axis=1))
        sold_book = book * self._book_share(site_rows, sold_ths.sum(axis=1))
        self.receive_asset_sales(s.owner[site_rows], self._sell_to_dealer(sold_ths))
        s.rig_book_usd[site_rows] = np.maximum(book - moved_book - sold_book, 0.0)
        s.fleet_ths[site_rows] = np.maximum(left, 0.0)  # exactly 0 when the whole site stops
        s.capacity_mw[site_rows] *= 1.0 - share
        s.site_book_usd[site_rows] *= 1.0 - share
        self.spend(s.owner[site_rows], relocation_usd, "usd_relocation")
        return moved_book

    def transfer_assets(
        self, seller: int, buyer: int, price_usd: float, sites: np.ndarray | None = None
    ) -> np.ndarray:
        """Move everything the seller holds on sites to the buyer (or only the site rows
        `sites`): its rigs (wherever they run) and the sites it hosts, each site keeping its own
        power price; the seller receives the price and the buyer's books take it, split over
        the rigs and sites at market value. Returns the site rows that changed hands."""
        m = self.m
        s, t = m.sites, m.firms
        if sites is None:
            moved = np.flatnonzero(
                ((s.owner == seller) | (s.host == seller)) & (s.status != CLOSED)
            )
        else:
            moved = np.asarray(sites, dtype=np.intp)
        rigs = np.where(s.owner[moved] == seller, m.rig_value_usd()[moved], 0.0)
        facilities = np.where(s.host[moved] == seller, m.site_value_usd()[moved], 0.0)
        market = rigs.sum() + facilities.sum()
        if market > 0:
            s.rig_book_usd[moved] = np.where(
                s.owner[moved] == seller, price_usd * rigs / market, s.rig_book_usd[moved]
            )
            s.site_book_usd[moved] = np.where(
                s.host[moved] == seller, price_usd * facilities / market, s.site_book_usd[moved]
            )
        hosted_others = bool(((s.host[moved] == seller) & (s.owner[moved] != seller)).any())
        if sites is None or np.isin(t.dev_site[seller], moved):
            t.dev_site[seller] = -1  # the buyer keeps building on sites of its own
        s.owner[moved[s.owner[moved] == seller]] = buyer
        s.host[moved[s.host[moved] == seller]] = buyer
        if hosted_others:
            t.hosts[buyer] = True
        # a site that is now the buyer's own pays its power price; a client that buys its
        # failed host's facility runs its rigs there again, as its own
        own = moved[s.host[moved] == s.owner[moved]]
        s.rate_usd_per_mwh[own] = s.power_price_usd_per_mwh[own]
        own = own[s.status[own] == STRANDED]
        s.status[own] = MINING
        s.stranded_until[own] = -1
        t.cash_usd[seller] += price_usd
        m.refresh_costs()
        return moved

    def _pay_capex(
        self,
        rows: np.ndarray,
        spend: np.ndarray,
        cash_budget_usd: np.ndarray,
        sovereign: np.ndarray,
    ) -> None:
        """Firms `rows` (distinct) pay `spend` for assets: sovereigns from their hardware
        budget and, beyond it, from cash and BTC they sell (reinvesting sovereigns), the others
        from cash up to `cash_budget_usd` and new debt beyond it (rounding dust stays in
        cash)."""
        t = self.m.firms
        if sovereign.any():
            from_budget = np.where(
                sovereign, np.minimum(spend, np.maximum(t.budget_usd[rows], 0)), 0
            )
            t.budget_usd[rows] -= from_budget
            t.cash_usd[rows] += from_budget
            self.ledger["usd_state_budget"] += float(from_budget.sum())
            gap = np.where(sovereign, spend - from_budget - np.maximum(t.cash_usd[rows], 0), 0)
            sell = np.flatnonzero(gap > 0)
            if sell.size:
                price = self.m.price_usd[self.m.day]
                r = rows[sell]
                self.sell_btc(r, np.minimum(t.btc_held[r], gap[sell] / price))
        excess = np.where(sovereign, 0.0, spend - cash_budget_usd)
        self.borrow(rows, np.where(excess > 1e-6 * (1.0 + spend), excess, 0.0))
        t.cash_usd[rows] -= spend
        t.cum_capex_usd[rows] += spend

    def invest(
        self,
        rows: np.ndarray,
        site_rows: np.ndarray,
        plan: InvestmentPlan,
        cash_budget_usd: np.ndarray,
        sovereign: np.ndarray,
        new_mw_price_usd_per_mwh: np.ndarray,
    ) -> None:
        """Carry out a review's investment plan: rigs for the spare MW of the firms' sites
        join them; new MW and their rigs go to the interconnection queue (online at once when
        there is no lead time); the spend comes from the budget (sovereigns), cash and new
        debt."""
        m = self.m
        s = m.sites
        for g in np.unique(plan.generation[plan.ths_headroom > 0]):  # ordered, delivered later
            k = (plan.generation == g) & (plan.ths_headroom > 0)
            m.asic.order(
                int(g),
                site_rows[k],
                s.owner[site_rows[k]],
                plan.ths_headroom[k],
                plan.headroom_usd[k],
            )
        grew = plan.mw_added > 0
        if grew.any():
            pending = np.zeros((int(grew.sum()), m.gens.n))
            pending[np.arange(pending.shape[0]), plan.generation_new[grew]] = plan.ths_new[grew]
            book = (
                plan.rigs_usd
                - np.bincount(
                    np.searchsorted(rows, s.owner[site_rows]), plan.headroom_usd, rows.size
                )
            )[grew]
            m.interconnection.queue(
                rows[grew],
                plan.mw_added[grew],
                pending,
                new_mw_price_usd_per_mwh[grew],
                book,
                plan.infra_usd[grew],
            )
        spend = plan.rigs_usd + plan.infra_usd
        self._pay_capex(rows, spend, cash_budget_usd, sovereign)
        self.ledger["usd_capex_rigs"] += float(plan.rigs_usd.sum())
        self.ledger["usd_capex_infra"] += float(plan.infra_usd.sum())
        if grew.any():
            m.interconnection.connect(m.day)  # what has no lead time comes online at once
