"""The buyers' side of the rig markets: each firm's and the rest of the world's bids.

A firm bids for rigs at each of its mining sites up to the site's spare MW (capacity less the
rigs there and on order), valuing a rig at the PV of its margin at the power price it pays
there and its own hurdle rate (:func:`abm.markets.hardware.rig_value_usd_per_th`), and for new
MW (up to ``behaviour.max_capacity_growth_per_review`` of its capacity, at the price of its next
MW and its capex per MW); its budget is what its review may spend (spare cash, new debt; a
sovereign's hardware budget). New-rig bids are flows per day (a firm buys at its review, every
``behaviour.review_cadence_days``); used-rig bids are for the dealer's stock of the day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm import operation
from abm.firms import SOVEREIGN
from abm.markets import hardware
from abm.markets.clearing import Asks, Bids

if TYPE_CHECKING:
    from abm.model import MiningIndustry

__all__ = ["UsedRigBuyers", "UsedRigSellers", "firm_new_rig_bids", "new_rig_bids"]

SPARE_MW_EPS = 1e-9  # spare MW at or below this are none: the site cannot bid [MW]
BUDGET_EPS_USD = 1e-6  # a budget at or below this is spent [USD]


def _buying_sites(m: MiningIndustry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(site rows, their firms' rows, the firms) of the mining sites (or in care and
    maintenance) of active firms."""
    s, t = m.sites, m.firms
    sites = np.flatnonzero(s.mining_or_care() & t.active[s.owner])
    owners = s.owner[sites]
    firms = np.unique(owners)
    return sites, owners, firms


def _with_room(
    m: MiningIndustry, sites: np.ndarray, planned: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The `sites` with spare MW, and their spare MW (the others cannot bid for rigs); see
    :func:`spare_mw` for `planned`."""
    spare = spare_mw(m, sites, planned)
    keep = spare > SPARE_MW_EPS
    return sites[keep], spare[keep]


def spare_mw(m: MiningIndustry, sites: np.ndarray, planned: bool = False) -> np.ndarray:
    """MW of each site not taken by its rigs or by rigs on order for it [MW] (0 up to
    :data:`SPARE_MW_EPS`: the rounding residue of a full site, for which nobody orders rigs);
    for new rigs ordered today (`planned`), a reinvesting sovereign's site counts the capacity
    its path plans for when they arrive (:meth:`abm.sovereigns.Sovereigns.planned_capacity_mw`)."""
    s = m.sites
    used = s.fleet_ths[sites] @ m.gens.power_mw_per_th
    capacity = s.capacity_mw[sites]
    if planned:
        capacity = m.sovereigns.planned_capacity_mw(sites, capacity)
    spare = capacity - used - m.asic.pending_mw(sites)
    return np.where(spare > SPARE_MW_EPS, spare, 0.0)


def _site_values(
    m: MiningIndustry, sites: np.ndarray, owners: np.ndarray, generation: int, life: float
) -> np.ndarray:
    return hardware.rig_value_usd_per_th(
        m.valuation_hashprice_usd_per_th_day,
        m.cost_usd_per_th_day[sites, generation],
        m.firms.hurdle_rate[owners],
        m.params.behaviour.expected_hashprice_decline_per_year,
        life,
    )


def firm_new_rig_bids(m: MiningIndustry, generation: int) -> Bids:
    """The firms' bids for new rigs of `generation`, per day (see the module docstring)."""
    from abm.review import investment_budgets  # the review's own budget rule

    sites, owners, firms = _buying_sites(m)
    if firms.size == 0:
        return Bids.empty()
    sc, g = m.params, m.gens
    cadence = float(sc.behaviour.review_cadence_days)
    life = sc.hardware.economic_life_years
    w = float(g.power_mw_per_th[generation])
    capacity = np.bincount(
        np.searchsorted(firms, owners), weights=m.sites.capacity_mw[sites], minlength=firms.size
    )
    sites, spare = _with_room(m, sites, planned=True)
    owners = m.sites.owner[sites]
    pos = np.searchsorted(firms, owners)
    v_head = _site_values(m, sites, owners, generation, life)
    q_head = spare / w / cadence
    # new MW: at the price of each firm's next MW and its capex (sovereigns build none)
    price_new = m.interconnection.new_mw_price_usd_per_mwh(firms)
    v_new = hardware.rig_value_usd_per_th(
        m.valuation_hashprice_usd_per_th_day,
        price_new * g.energy_mwh_per_th_day[generation],
        m.firms.hurdle_rate[firms],
        sc.behaviour.expected_hashprice_decline_per_year,
        life,
    )
    growth = np.where(
        m.firms.kind[firms] == SOVEREIGN, 0.0, sc.behaviour.max_capacity_growth_per_review
    )
    q_new = capacity * growth / w / cadence
    capex = m.capabilities.new_mw_capex_usd_per_mw(firms) * w
    cash, debt = investment_budgets(m, firms)
    return Bids(
        np.concatenate([v_head, v_new]),
        np.concatenate([q_head, q_new]),
        np.concatenate([np.zeros(sites.size), np.broadcast_to(capex, firms.shape)]),
        np.concatenate([pos, np.arange(firms.size)]),
        (cash + debt) / cadence,
    )


def new_rig_bids(m: MiningIndustry) -> Bids:
    """Every buyer's bids for the newest generation, per day: the firms' and the world's."""
    g = m.gens.newest_released(m.day)
    world = m.world.bids(
        g, m.params.hardware.economic_life_years, float(m.params.asic.pricing_period_days)
    )
    return Bids.concat([firm_new_rig_bids(m, g), world])


class UsedRigBuyers:
    """The buyers of one clearing of the used market: firms' mining sites with spare MW and the
    world's tranches; spare MW and budgets shrink as generations are sold (newest first)."""

    def __init__(self, m: MiningIndustry) -> None:
        from abm.review import investment_budgets

        self.m = m
        sites, _, firms = _buying_sites(m)
        sites, spare = _with_room(m, sites, planned=False)
        firms = np.unique(m.sites.owner[sites])
        cash, debt = investment_budgets(m, firms)
        budget = cash + debt
        # only the sites with room, of firms that can pay, bid
        pays = budget[np.searchsorted(firms, m.sites.owner[sites])] > 0
        self.sites, self.spare_mw = sites[pays], spare[pays]
        self.owners = m.sites.owner[self.sites]
        self.firms = np.unique(self.owners)
        self.budget = budget[np.searchsorted(firms, self.firms)]
        self.pos = np.searchsorted(self.firms, self.owners)
        self.life_years = m.valuation_life_years()
        life = self.life_years[None, :]
        held = m.installed_ths_by_generation() + m.used.stock_ths > 0
        # every generation's value at every bidding site, at once (sites x generations)
        self.values = np.zeros((self.sites.size, m.gens.n))
        self.values[:, held] = hardware.rig_value_usd_per_th(
            m.valuation_hashprice_usd_per_th_day,
            m.cost_usd_per_th_day[np.ix_(self.sites, np.flatnonzero(held))],
            m.firms.hurdle_rate[self.owners][:, None],
            m.params.behaviour.expected_hashprice_decline_per_year,
            life[:, held],
        )
        w = m.world
        self.world_spare_mw = w.spare_mw() if w.enabled else np.zeros(0)
        period = float(m.params.used_rigs.clearing_period_days)
        self.world_build_mw = w.buildable_mw_per_day() * period if w.enabled else np.zeros(0)
        self._world_value: tuple[int, np.ndarray | None] = (-1, None)
        # the parts of every generation's bids that do not change in the clearing: the items'
        # groups (the firms', then each tranche's, as Bids.concat numbers them) and the
        # world's unlimited budgets
        k = self.world_spare_mw.size
        world_group = np.arange(k) + self.firms.size
        self._group = np.concatenate([self.pos, world_group, world_group])
        self._world_budget = np.full(k, np.inf)
        self._no_extra_cost = np.zeros(self.sites.size + k)  # the sites' and spare MW's

    def world_value(self, generation: int) -> np.ndarray:
        """The rest of the world's value of a rig of `generation` in each tranche [USD/TH]
        (:meth:`abm.world.RestOfWorld.value` at the generation's valuation life; cached for the
        last generation: its bids and its asks use the same)."""
        g, v = self._world_value
        if g != generation or v is None:
            v = self.m.world.value(generation, float(self.life_years[generation]))
            self._world_value = (generation, v)
        return v

    def bids(self, generation: int) -> Bids:
        """The bids for `generation`: the firms' sites' (one group per firm), then the
        world's spare MW and buildable MW (one group per tranche), as
        ``Bids.concat([firms, world])`` assembles them."""
        m = self.m
        w = float(m.gens.power_mw_per_th[generation])
        if not m.world.enabled:
            return Bids(
                self.values[:, generation],
                self.spare_mw / w,
                np.zeros(self.sites.size),
                self.pos,
                self.budget,
            )
        k = self.world_spare_mw.size
        v = self.world_value(generation)
        return Bids(
            np.concatenate([self.values[:, generation], v, v]),
            np.concatenate([self.spare_mw / w, self.world_spare_mw / w, self.world_build_mw / w]),
            np.concatenate([self._no_extra_cost, np.full(k, w * m.params.world.capex_usd_per_mw)]),
            self._group,
            np.concatenate([self.budget, self._world_budget]),
        )

    def take(self, generation: int, got_ths: np.ndarray, price_usd_per_th: float) -> None:
        """Deliver what each item bought and charge its buyer."""
        m = self.m
        w = float(m.gens.power_mw_per_th[generation])
        n = self.sites.size
        firm_ths = got_ths[:n]
        some = firm_ths > 0
        if some.any():
            usd = firm_ths[some] * price_usd_per_th
            m.books.buy_used_rigs(self.sites[some], generation, firm_ths[some], usd)
            self.spare_mw[some] = np.maximum(self.spare_mw[some] - firm_ths[some] * w, 0.0)
            np.subtract.at(self.budget, self.pos[some], usd)
            # what a buyer filled or spent in full is gone, not a rounding residue of it (a
            # residue would keep the buyer in the next clearing: its value bounds the price)
            self.spare_mw[self.spare_mw <= SPARE_MW_EPS] = 0.0
            self.budget[self.budget <= BUDGET_EPS_USD] = 0.0
        if m.world.enabled:
            k = self.world_spare_mw.size
            spare, build = got_ths[n : n + k], got_ths[n + k :]
            ths = spare + build
            if (ths > 0).any():
                tranche = np.flatnonzero(ths > 0)
                mw = build[tranche] * w
                m.world.install_used(tranche, generation, ths[tranche], mw)
                m.world.cum_capex_usd += float(
                    ths.sum() * price_usd_per_th + mw.sum() * m.params.world.capex_usd_per_mw
                )
                self.world_spare_mw = np.maximum(self.world_spare_mw - spare * w, 0.0)
                self.world_build_mw = np.maximum(self.world_build_mw - build * w, 0.0)


class UsedRigSellers:
    """The firms' side of one clearing of the used market as sellers: every rig at a mining
    site (or in care) of an active firm is offered at the price whose dealer's bid equals what
    it is worth to keep (:func:`abm.operation.keep_values`; economic retirement)."""

    def __init__(self, m: MiningIndustry) -> None:
        s, t = m.sites, m.firms
        self.m = m
        self.sites = np.flatnonzero(
            s.mining_or_care() & t.active[s.owner] & s.fleet_ths.any(axis=1)
        )
        self.keep = operation.keep_values(m, self.sites)

    def asks(self, generation: int, net_share: float) -> Asks:
        """Reservation prices (keep value / `net_share`) and quantities of `generation`."""
        q = self.m.sites.fleet_ths[self.sites, generation]
        return Asks(self.keep[:, generation] / net_share, q)

    def sell(self, generation: int, ths: np.ndarray) -> None:
        """The sites sell `ths` of `generation` (per site) to the dealer (abm.books)."""
        some = np.flatnonzero(ths > 0)
        if some.size:
            sold = np.zeros((some.size, self.m.gens.n))
            sold[:, generation] = np.minimum(
                ths[some], self.m.sites.fleet_ths[self.sites[some], generation]
            )
            self.m.books.sell_rigs(self.sites[some], sold)
