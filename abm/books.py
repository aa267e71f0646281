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

from abm import finance
from abm.firms import LISTED, add_capacity

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


LEDGER: dict[str, Entry] = {
    "btc_subsidy": Entry("BTC issued as subsidy", unpaid=+1),
    "btc_fees": Entry("BTC paid as transaction fees", unpaid=+1),
    "btc_to_firms": Entry("BTC paid out by pools to firms", unpaid=-1, btc=+1),
    "btc_pool_fees": Entry("BTC kept by pools", unpaid=-1),
    "btc_sold": Entry("BTC sold by firms (at mining or from treasury)", btc=-1),
    "usd_btc_sales": Entry("USD received for BTC sold", cash=+1),
    "usd_energy": Entry("energy bills", cash=-1),
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
    "usd_capex_rigs": Entry("rigs bought new", cash=-1),
    "usd_capex_infra": Entry("power capacity built", cash=-1),
    "usd_asset_sales": Entry("rigs and sites sold to the outside", cash=+1),
    "usd_to_owners": Entry(
        "paid to former owners (acquisition prices, estates' residuals)", cash=-1
    ),
    "usd_unpaid_liabilities": Entry("operating bills left unpaid by exiting firms", cash=+1),
    "usd_state_budget": Entry("sovereigns' hardware budgets spent", cash=+1),
    "usd_state_support": Entry("sovereigns' cash shortfalls covered by their states", cash=+1),
    "usd_demand_response": Entry("credits paid for capacity released in grid emergencies", cash=+1),
    "usd_relocation": Entry("cost of moving rigs out of banned regions", cash=-1),
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
    the ledger (``model.ledger``) under keys whose declared signs it respects."""

    def __init__(self, m: MiningIndustry) -> None:
        self.m = m
        self.ledger: dict[str, float] = dict.fromkeys(LEDGER_KEYS, 0.0)

    # -- plain cash movements ----------------------------------------------------------------
    def post(self, key: str, amount: float) -> None:
        """Book an amount under `key` whose balances were already moved by the caller."""
        self.ledger[key] += amount

    def receive(self, rows: np.ndarray | int, usd: np.ndarray | float, key: str) -> None:
        """Cash in for distinct `rows` from outside (a key declaring cash +1)."""
        _check(key, "cash", +1)
        self.m.firms.cash_usd[rows] += usd
        self.ledger[key] += float(np.sum(usd))

    def spend(self, rows: np.ndarray | int, usd: np.ndarray | float, key: str) -> None:
        """Cash out of distinct `rows` to the outside (a key declaring cash -1)."""
        _check(key, "cash", -1)
        self.m.firms.cash_usd[rows] -= usd
        self.ledger[key] += float(np.sum(usd))

    # -- the day's operating flows ----------------------------------------------------------
    def post_day(self, op: Operation, blocks: Blocks, f: DayFlows, price_usd: float) -> None:
        """Apply the account phase's flows: BTC kept, cash, debt service and depreciation, the
        firms' flow columns of the day and since entry, and the ledger."""
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
            fin = m.params.finance
            t.fleet_book_usd *= 1.0 - 1.0 / (fin.fleet_depreciation_years * 365)
            t.site_book_usd *= 1.0 - 1.0 / (fin.site_depreciation_years * 365)
        t.cash_usd += f.cash_flow_usd
        revenue = btc_f * price_usd
        t.running_ths, t.revenue_usd, t.energy_cost_usd, t.fixed_cost_usd = (
            op.by_firm_ths,
            revenue,
            f.energy_usd,
            f.fixed_usd,
        )
        t.cum_btc_mined += btc_f
        t.cum_revenue_usd += btc_f * price_usd
        t.cum_energy_cost_usd += f.energy_usd
        t.cum_fixed_cost_usd += f.fixed_usd
        lg["btc_subsidy"] += blocks.chain_day.subsidy_btc
        lg["btc_fees"] += float(blocks.fees_btc)
        lg["btc_to_firms"] += float(btc_f.sum())
        lg["btc_pool_fees"] += float(blocks.reward_btc - blocks.to_firms_btc)
        lg["btc_sold"] += float(f.btc_sold.sum())
        lg["usd_btc_sales"] += float(f.btc_sales_usd.sum())
        lg["usd_energy"] += float(f.energy_usd.sum())
        lg["usd_fixed"] += float(f.fixed_usd.sum())

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
        """Sell treasury BTC at today's price."""
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

    def pay(self, buyer: int, price_usd: float) -> None:
        """The buyer pays `price_usd` from spare cash, borrowing the rest (the money goes to
        whoever the caller books as its recipient)."""
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

    # -- rigs and sites --------------------------------------------------------------------------
    def sell_rigs(
        self, rows: np.ndarray | int, sold_ths: np.ndarray, write_fleet: bool = True
    ) -> np.ndarray | float:
        """Sell rigs (rows x generations, or one row's generations) to the outside at today's
        secondary price; the fleet's book value shrinks by the share of hashrate sold. Returns
        the proceeds [USD]. With `write_fleet` false the caller removes the rigs itself."""
        t = self.m.firms
        _, used = self.m.rig_prices(self.m.day)
        held = t.fleet_ths[rows].sum(axis=-1)
        proceeds = sold_ths @ used
        if np.ndim(rows) == 0:
            proceeds = float(proceeds)
            if held > 0:
                t.fleet_book_usd[rows] *= 1.0 - sold_ths.sum() / held
        else:
            t.fleet_book_usd[rows] *= 1.0 - np.divide(
                sold_ths.sum(axis=1), held, out=np.zeros_like(held), where=held > 0
            )
        if write_fleet:
            t.fleet_ths[rows] -= sold_ths
        self.receive_asset_sales(rows, proceeds)
        return proceeds

    def stop_in_ban(
        self,
        rows: np.ndarray,
        share: float,
        stopped_ths: np.ndarray,
        sold_ths: np.ndarray,
        relocation_usd: np.ndarray,
    ) -> None:
        """A ban stops `share` of each firm's sites: the stopped rigs leave the fleet (the
        sold part at today's secondary price, the rest in transit, paying `relocation_usd`),
        the banned share of sites is lost."""
        t = self.m.firms
        held = t.fleet_ths[rows].sum(axis=1)
        _, used = self.m.rig_prices(self.m.day)
        proceeds = sold_ths @ used
        t.fleet_book_usd[rows] *= 1.0 - np.divide(
            sold_ths.sum(axis=1), held, out=np.zeros(rows.size), where=held > 0
        )
        t.site_book_usd[rows] *= 1.0 - share
        t.fleet_ths[rows] -= stopped_ths
        t.capacity_mw[rows] *= 1.0 - share
        t.cash_usd[rows] += proceeds - relocation_usd
        t.cum_asset_sales_usd[rows] += proceeds
        self.ledger["usd_asset_sales"] += float(proceeds.sum())
        self.ledger["usd_relocation"] += float(relocation_usd.sum())

    def sell_fleet_share(self, rows: np.ndarray, share: np.ndarray, usd: np.ndarray) -> None:
        """Sell `share` of each firm's whole fleet to the outside for `usd` (a fire sale)."""
        t = self.m.firms
        t.fleet_ths[rows] *= (1.0 - share)[:, None]
        t.fleet_book_usd[rows] *= 1.0 - share
        self.receive_asset_sales(rows, usd)

    def receive_asset_sales(self, rows: np.ndarray | int, usd: np.ndarray | float) -> None:
        """Book the proceeds of rigs or sites sold to buyers outside the model."""
        t = self.m.firms
        t.cash_usd[rows] += usd
        t.cum_asset_sales_usd[rows] += usd
        self.ledger["usd_asset_sales"] += float(np.sum(usd))

    def sell_sites(self, rows: np.ndarray | int, mw: np.ndarray | float, usd: np.ndarray | float):
        """Sell `mw` of each firm's sites to the outside for `usd`; the site book shrinks by the
        share of capacity sold."""
        t = self.m.firms
        cap = t.capacity_mw[rows]
        if np.ndim(rows) == 0:
            if cap > 0:
                t.site_book_usd[rows] *= 1.0 - mw / cap
        else:
            share = np.divide(mw, cap, out=np.zeros(np.shape(cap)), where=cap > 0)
            t.site_book_usd[rows] *= 1.0 - share
        t.capacity_mw[rows] -= mw
        self.receive_asset_sales(rows, usd)

    def sell_all_sites(self, r: int) -> None:
        """Firm r sells all its sites at their market value (leaving mining)."""
        m = self.m
        self.receive_asset_sales(r, float(m.site_value_usd(np.array([r]))[0]))
        m.firms.capacity_mw[r] = 0.0

    def install(
        self, rows: np.ndarray, mw: np.ndarray, fleet_ths: np.ndarray, price: np.ndarray
    ) -> np.ndarray:
        """Sites and rigs arriving for `rows` (interconnection queue, relocation): the firms
        still active get the MW at `price` [USD/MWh] and the rigs; the rigs of firms that exited
        meanwhile are sold at today's secondary price for their former owners. Returns the rows
        that received them."""
        t = self.m.firms
        _, used = self.m.rig_prices(self.m.day)
        alive = t.active[rows]
        add_capacity(t, rows[alive], mw[alive], price[alive])
        t.fleet_ths[rows[alive]] += fleet_ths[alive]
        gone = float((fleet_ths[~alive] @ used).sum())
        self.ledger["usd_asset_sales"] += gone
        self.ledger["usd_to_owners"] += gone
        return rows[alive]

    def invest(
        self,
        rows: np.ndarray,
        fleet: np.ndarray,
        plan: InvestmentPlan,
        cash_budget_usd: np.ndarray,
        sovereign: np.ndarray,
        new_mw_price_usd_per_mwh: np.ndarray,
    ) -> None:
        """Carry out a review's investment plan on the reviewed firms' `fleet` (rows x
        generations, after retirements): rigs for spare MW join it; new MW and their rigs join
        at once or wait in the interconnection queue (capabilities); the fleet is written to
        the table; the spend comes from the budget (sovereigns), cash and new debt."""
        m = self.m
        t, caps = m.firms, m.capabilities
        grew = plan.mw_added > 0
        i = np.arange(rows.size)
        fleet[i, plan.generation] += plan.ths_headroom
        if caps.on and grew.any():
            # rigs for new MW wait with them for the interconnection (sites in the queue)
            pending = np.zeros((int(grew.sum()), m.gens.n))
            pending[np.arange(pending.shape[0]), plan.generation_new[grew]] = plan.ths_new[grew]
            t.fleet_ths[rows] = fleet
            price = new_mw_price_usd_per_mwh[grew]
            caps.queue(m.day, rows[grew], plan.mw_added[grew], pending, price)
            caps.connect(m.day)  # zero lead times connect at once
        else:
            fleet[i, plan.generation_new] += plan.ths_new
            if grew.any():
                add_capacity(t, rows[grew], plan.mw_added[grew], new_mw_price_usd_per_mwh[grew])
            t.fleet_ths[rows] = fleet
        spend = plan.rigs_usd + plan.infra_usd
        if sovereign.any():
            from_budget = np.where(sovereign, spend, 0.0)
            t.budget_usd[rows] -= from_budget
            t.cash_usd[rows] += from_budget
            self.ledger["usd_state_budget"] += float(from_budget.sum())
        excess = np.where(sovereign, 0.0, spend - cash_budget_usd)  # new debt (rounding dust stays)
        self.borrow(rows, np.where(excess > 1e-6 * (1.0 + spend), excess, 0.0))
        t.cash_usd[rows] -= spend
        t.cum_capex_usd[rows] += spend
        t.fleet_book_usd[rows] += plan.rigs_usd
        t.site_book_usd[rows] += plan.infra_usd
        self.ledger["usd_capex_rigs"] += float(plan.rigs_usd.sum())
        self.ledger["usd_capex_infra"] += float(plan.infra_usd.sum())
        if grew.any():
            m.refresh_costs()

    def transfer_assets(self, seller: int, buyer: int, price_usd: float) -> None:
        """Move the seller's rigs and sites to the buyer (the buyer's power price becomes the
        capacity-weighted mix of its own and the acquired sites'); the seller receives the
        price, the buyer's books take it split between rigs and sites at market value."""
        m = self.m
        t = m.firms
        mw_b, mw_s = t.capacity_mw[buyer], t.capacity_mw[seller]
        if mw_b + mw_s > 0:
            t.power_price_usd_per_mwh[buyer] = (
                t.power_price_usd_per_mwh[buyer] * mw_b + t.power_price_usd_per_mwh[seller] * mw_s
            ) / (mw_b + mw_s)
        t.capacity_mw[buyer] += mw_s
        t.fleet_ths[buyer] += t.fleet_ths[seller]
        market = m.lot_market_value_usd(seller)
        rig_share = 1.0 - float(m.site_value_usd(seller)) / market if market > 0 else 0.0
        t.fleet_book_usd[buyer] += price_usd * rig_share
        t.site_book_usd[buyer] += price_usd * (1.0 - rig_share)
        t.fleet_ths[seller] = 0.0
        t.capacity_mw[seller] = 0.0
        t.cash_usd[seller] += price_usd
        m.refresh_costs()
