"""Data collection: model-level series every day (vectorised reporters into preallocated
arrays) and a firm-level panel on the scenario's cadence.

Column meanings and units are listed in :data:`DAILY_COLUMNS` and :data:`PANEL_COLUMNS`; they
are the documentation of ``timeseries.parquet`` and ``firms.parquet``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from abm import chain, metrics
from abm.firms import EXIT_CAUSES, KINDS, LISTED, SIZE_CLASSES, SOVEREIGN, SOVEREIGN_CLASS
from abm.markets.ai import STRATEGIES
from abm.markets.energy import SOURCES
from abm.pools import POOL_DAILY_COLUMNS
from abm.sites import CARE, CLOSED, MINING, ORIGINS, STATUSES, STRANDED

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry

DAILY_COLUMNS: dict[str, str] = {
    "date": "simulated day [date]",
    "btc_price_usd": "BTC price [USD]",
    "network_hashrate_ehs": "hashrate running today [EH/s]",
    "installed_hashrate_ehs": "hashrate installed (running or curtailed) [EH/s]",
    "difficulty": "difficulty at the end of the day [-]",
    "height": "block height at the end of the day [blocks]",
    "hashprice_usd_per_ph_day": "(subsidy + fees per block) x 144 x price / difficulty-implied "
    "hashrate: expected revenue per PH/s at the day's difficulty, as hashprice indices measure "
    "it [USD/PH/day]",
    "subsidy_btc": "block subsidy at the day's start height [BTC/block]",
    "fees_btc_per_block": "average transaction fees per block [BTC/block]",
    "blocks_found": "blocks mined that day [blocks]",
    "btc_issued": "subsidy + fees paid out that day [BTC]",
    "security_budget_usd": "value of the day's block rewards [USD/day]",
    "active_firms": "firms operating (not exited) [-]",
    "hhi_firm": "Herfindahl-Hirschman index of hashrate by firm [0-10,000]",
    "nakamoto_firm": "fewest firms holding more than the threshold share of hashrate [-]",
    "cr4_firm": "hashrate share of the four largest firms [0-1]",
    "gini_firm": "Gini coefficient of hashrate across active firms [0-1]",
    "entropy_firm": "Shannon entropy of hashrate shares [bits]",
    "fleet_efficiency_j_per_th": "efficiency of the running fleet [J/TH]",
    "capacity_mw": "power capacity of the mining sites [MW]",
    "energy_cost_usd": "energy of every site at its power price that day [USD]",
    "mining_sites": "sites mining (own and hosted) [-]",
    "hosted_hashrate_share": "share of hashrate run on hosted sites (colocation) [0-1]",
    "stranded_hashrate_ehs": "rigs stopped at failed hosts, waiting to move [EH/s]",
    "frontier_rig_price_usd_per_th": "price of the newest generation on sale [USD/TH]",
    "share_small": "hashrate share of firms in the initial small class [0-1]",
    "share_medium": "hashrate share of the initial medium class [0-1]",
    "share_large": "hashrate share of the initial large class [0-1]",
    "share_sovereign": "hashrate share of sovereign miners (= their share of the security "
    "budget, paid by hash share) [0-1]",
    "share_entrants": "hashrate share of firms that entered after day one [0-1]",
    "share_world": "hashrate share of the rest of the world's miners (atomistic: in the "
    "denominator of every share, HHI, CR4 and Nakamoto coefficient, never an entity) [0-1]",
    "share_listed": "hashrate share of listed firms and the firms they own (by ultimate owner) "
    "[0-1]; observed 17% in January 2022, ~30% at the end of 2024, 33-38% in late 2025 "
    "(CALIBRATION.md)",
    "sector_mnav": "the listed miners' premium of market value to NAV (abm.equity; nan when "
    "the equity market is off) [-]",
    "world_hashrate_ehs": "hashrate the rest of the world runs [EH/s]",
    "energy_share_of_revenue": "energy of every miner (firms and the rest of the world) / the "
    "value of the day's block rewards [0-1]",
    "asic_capacity_ehs_per_year": "manufacturers' capacity for new rigs [EH/s per year]",
    "asic_backlog_ehs": "new rigs ordered and not yet made [EH/s]",
    "asic_cost_usd_per_th": "manufacturing cost of the newest generation [USD/TH]",
    "new_rigs_delivered_ehs": "new rigs delivered that day [EH/s]",
    "used_rig_price_usd_per_th": "the used-rig dealer's posted bid, weighted by the installed "
    "hashrate of each generation [USD/TH]",
    "used_rigs_sold_ehs": "used rigs sold by the dealer that day [EH/s]",
    "used_rigs_scrapped_ehs": "rigs scrapped that day (nobody valued them above scrap) [EH/s]",
    "sovereign_btc_mined_cum": "BTC mined by sovereigns since the start [BTC]",
    "sovereign_btc_held": "BTC held by sovereigns [BTC]",
    "surviving_small": "share of initial small firms still operating independently [0-1]",
    "surviving_medium": "share of initial medium firms still operating independently [0-1]",
    "surviving_large": "share of initial large firms still operating independently [0-1]",
    "exits_cum": "firms that have exited so far (default, voluntary) [-]",
    "hhi_owner": "HHI of hashrate by ultimate owner (after acquisitions) [0-10,000]",
    "nakamoto_owner": "Nakamoto coefficient by ultimate owner [-]",
    "cr4_owner": "hashrate share of the four largest ultimate owners [0-1]",
    "gini_owner": "Gini coefficient of hashrate across ultimate owners [0-1]",
    "entropy_owner": "Shannon entropy of hashrate shares by ultimate owner [bits]",
    "independent_firms": "active firms not owned by another firm [-]",
    "acquisitions_cum": "voluntary acquisitions of whole firms so far [-]",
    "site_purchases_cum": "voluntary purchases of single sites so far [-]",
    "defaults_cum": "defaults so far [-]",
    "entries_cum": "firms that entered after day one so far [-]",
    "entry_capital_usd": "capital new entrants brought that day: rigs, sites and working cash "
    "(equity and debt) [USD/day]",
    "debt_usd": "debt outstanding of active firms [USD]",
    "cash_usd": "cash of active firms [USD]",
    "btc_held": "BTC in firms' treasuries [BTC]",
    "mining_revenue_usd": "BTC mined by firms that day at the day's price [USD/day]",
    "ai_revenue_usd": "AI/HPC contract income of all firms that day [USD/day]",
    "ai_revenue_share": "AI income / (AI income + the firms' mining revenue less their energy) "
    "that day, both net of power (tenants pay the power of AI capacity) [0-1]",
    "mining_energy_usd": "energy the firms bought for the sites they hold that day [USD/day]",
    "mining_margin_usd": "the firms' mining revenue less the energy and fixed costs of the "
    "sites they hold and hosting fees paid outside the model that day [USD/day]",
    "ai_margin_usd": "AI contract income less the opex of the capacity hosting it that day "
    "[USD/day]",
    "ai_mw_contracted": "MW under AI/HPC contracts, building or operating [MW]",
    "ai_mw_operating": "MW hosting AI tenants [MW]",
    "hashrate_to_ai_ehs": "hashrate displaced by conversions to AI since the start "
    "(cumulative) [EH/s]",
    "ai_firms": "firms with MW under AI contracts (including those that left mining) [-]",
    "hashrate_in_transit_ehs": "hashrate of rigs relocating after a regional ban [EH/s]",
    "care_sites": "sites in care and maintenance (idle, at a reduced fixed cost) [-]",
    "rigs_failed_ehs": "hashrate of the rigs that failed that day (age hazard) [EH/s]",
    "fee_backlog_blocks": "transactions waiting for blocks at the end of the day, in blocks' "
    "worth (raises the next day's fees per block) [blocks]",
}

# every daily column a run may have: the recorder's and, with pools on, the pools'
SERIES_DOCS: dict[str, str] = {**DAILY_COLUMNS, **POOL_DAILY_COLUMNS}

PANEL_COLUMNS: dict[str, str] = {
    "day": "day index since the start [day]",
    "date": "date of the snapshot [date]",
    "firm_id": "row of the firm in the model's FirmTable (stable id) [-]",
    "name": "firm name",
    "kind": "private / listed / sovereign",
    "size_class": "initial size class: small / medium / large",
    "source": "primary energy source",
    "power_price_usd_per_mwh": "capacity-weighted price paid per MWh on its mining sites (an "
    "output: each site runs at its own price) [USD/MWh]",
    "capacity_mw": "power capacity of its mining sites [MW]",
    "sites": "mining sites where its rigs run (own and hosted) [-]",
    "hosted_share": "share of its capacity on hosted sites [0-1]",
    "hashrate_ehs": "hashrate running that day [EH/s]",
    "installed_hashrate_ehs": "hashrate installed [EH/s]",
    "fleet_efficiency_j_per_th": "installed fleet efficiency [J/TH]",
    "cash_usd": "cash [USD]",
    "btc_held": "BTC treasury [BTC]",
    "cum_btc_mined": "BTC received from pools since entry [BTC]",
    "cum_revenue_usd": "mining revenue since entry [USD]",
    "cum_operating_cost_usd": "energy and fixed costs of the sites it holds, plus hosting fees "
    "paid less hosting fees received, since entry [USD]",
    "cum_capex_usd": "rigs and power capacity bought since entry [USD]",
    "debt_usd": "debt outstanding [USD]",
    "owner_id": "firm_id of the ultimate owner (itself when independent) [-]",
    "ai_strategy": "AI strategy: pure (miner) / hybrid / pivot",
    "ai_mw": "MW under AI/HPC contracts, building or operating [MW]",
    "ai_mw_operating": "MW hosting AI tenants [MW]",
    "cum_ai_income_usd": "AI contract income since entry [USD]",
    "region": "home region: of its first site, where it builds (scenario.firms.region_mix)",
}

SITE_PANEL_COLUMNS: dict[str, str] = {
    "day": "day index since the start [day]",
    "date": "date of the snapshot [date]",
    "site_id": "row of the site in the model's SiteTable (stable id) [-]",
    "owner_id": "firm_id of the firm whose rigs run there [-]",
    "host_id": "firm_id of the firm holding the facility and power contract (-1: outside) [-]",
    "status": "building / mining / stranded / ai / closed / care (care and maintenance)",
    "origin": "how the site came: initial / built / entrant / relocated / moved / ai_split",
    "region": "region (scenario.firms.region_mix)",
    "source": "primary energy source",
    "power_price_usd_per_mwh": "the host's delivered power price [USD/MWh]",
    "rate_usd_per_mwh": "what the owner pays per MWh its rigs draw (own site: the power price; "
    "hosted: the all-in hosting rate) [USD/MWh]",
    "capacity_mw": "power capacity [MW]",
    "hashrate_ehs": "hashrate run that day [EH/s]",
    "installed_hashrate_ehs": "rigs installed [EH/s]",
    "fleet_efficiency_j_per_th": "installed fleet efficiency [J/TH]",
}

SURVIVAL_COLUMNS: dict[str, str] = {
    "size_class": "initial size class (initial firms only)",
    "time": "days since the start [day]",
    "at_risk": "firms still independent just before `time` [-]",
    "events": "exits (any cause) at `time` [-]",
    "survival": "Kaplan-Meier survival probability [0-1]",
    "ci_low": "95% confidence band, lower (log-log Greenwood) [0-1]",
    "ci_high": "95% confidence band, upper [0-1]",
}

_NUMERIC_DAILY = [c for c in DAILY_COLUMNS if c != "date"]


class Recorder:
    """Collects the model's outputs while it runs."""

    def __init__(self, model: MiningIndustry) -> None:
        self.model = model
        n = model.n_days
        # one row per day, written in one assignment; the columns are contiguous views
        self._table = np.full((n, len(_NUMERIC_DAILY)), np.nan, order="F")
        self.daily = {c: self._table[:, j] for j, c in enumerate(_NUMERIC_DAILY)}
        self._keys_checked = False
        self.panels: list[dict[str, np.ndarray]] = []
        self.site_panels: list[dict[str, np.ndarray]] = []
        t = model.firms
        initial = (t.entry_day == 0) & (t.kind != SOVEREIGN)
        self._initial_rows = np.flatnonzero(initial)
        self._initial_by_class = np.maximum(
            np.bincount(t.size_class[initial], minlength=len(SIZE_CLASSES)), 1
        )
        self._n_initial = self._initial_rows.size
        self._class_key = np.zeros(0, dtype=np.intp)  # size class of initial firms, 3 = entrant
        self._rows = np.zeros(0, dtype=np.intp)
        self._threshold = model.params.run.nakamoto_threshold
        self._cadence = model.params.run.panel_cadence_days

    def record_day(self, today: Today) -> None:
        """The day's row of the model-level series, from the day's records (and the firm
        panel on its cadence)."""
        m, t, st = self.model, self.model.firms, self.model.sites
        d, env, op, blocks = today.day, today.env, today.op, today.blocks
        mining = st.status == MINING
        stranded = st.status == STRANDED
        price_usd, fee_btc_per_block = env.price_usd, env.fee_btc_per_block
        n_blocks = blocks.n_blocks
        running = t.running_ths
        act = t.active
        running_act = running[act]
        world_ths = op.world_ths
        conc = metrics.concentration(running_act, self._threshold, 4, world_ths)
        independent = act & (t.ultimate_owner == self._row_ids())
        n_active, n_independent = np.count_nonzero(act), np.count_nonzero(independent)
        if n_independent < n_active:  # owners differ from firms while an acquired firm runs
            by_owner = np.bincount(t.ultimate_owner[act], weights=running_act, minlength=t.n)
            own = metrics.concentration(by_owner[independent], self._threshold, 4, world_ths)
        else:
            own = conc
        subsidy = chain.subsidy_btc(m.chain.height - n_blocks + 1)
        total = op.total_ths  # the firms' and the rest of the world's
        by_gen = op.running_ths.sum(axis=0) + op.world_running_ths.sum(axis=0)
        eff = by_gen @ m.gens.efficiency_j_per_th[op.live] / total if total > 0 else np.nan
        key = self._class_keys()
        share = np.bincount(key, weights=running, minlength=5)
        alive = np.bincount(key[independent], minlength=5)  # counts (exact in float, too)
        sov = m.sovereigns.rows
        frontier = m.frontier_rig_price_usd_per_th
        row = {
            "btc_price_usd": price_usd,
            "network_hashrate_ehs": op.hashrate_ehs,
            "installed_hashrate_ehs": (st.fleet_ths[:, op.live].sum() + m.world.fleet_ths.sum())
            / 1e6,
            "difficulty": m.chain.difficulty,
            "height": m.chain.height,
            "hashprice_usd_per_ph_day": (
                (subsidy + fee_btc_per_block)
                * chain.BLOCKS_PER_DAY
                * price_usd
                / (chain.implied_hashrate_ehs(blocks.difficulty_start) * 1000.0)
            ),
            "subsidy_btc": subsidy,
            "fees_btc_per_block": fee_btc_per_block,
            "blocks_found": n_blocks,
            "btc_issued": blocks.reward_btc,
            "security_budget_usd": blocks.reward_btc * price_usd,
            "active_firms": n_active,
            "hhi_firm": conc["hhi"],
            "nakamoto_firm": conc["nakamoto"],
            "cr4_firm": conc["cr4"],
            "gini_firm": conc["gini"],
            "entropy_firm": conc["entropy"],
            "fleet_efficiency_j_per_th": eff,
            "capacity_mw": (st.capacity_mw * mining).sum(),
            "energy_cost_usd": today.flows.network_energy_usd,
            "mining_sites": np.count_nonzero(mining),
            "hosted_hashrate_share": (
                (op.by_site_ths * st.hosted()[: op.by_site_ths.size]).sum() / total
                if total > 0
                else 0.0
            ),
            "stranded_hashrate_ehs": st.fleet_ths[stranded].sum() / 1e6 if stranded.any() else 0.0,
            "frontier_rig_price_usd_per_th": frontier,
            "share_small": share[0] / total if total > 0 else 0.0,
            "share_medium": share[1] / total if total > 0 else 0.0,
            "share_large": share[2] / total if total > 0 else 0.0,
            "share_sovereign": share[3] / total if total > 0 else 0.0,
            "share_entrants": share[4] / total if total > 0 else 0.0,
            "share_world": world_ths / total if total > 0 else 0.0,
            "share_listed": (
                running[act & (t.kind[t.ultimate_owner] == LISTED)].sum() / total
                if total > 0
                else 0.0
            ),
            "sector_mnav": today.equity.sector_mnav if today.equity is not None else np.nan,
            "world_hashrate_ehs": world_ths / 1e6,
            "energy_share_of_revenue": today.flows.network_energy_usd / security
            if (security := blocks.reward_btc * price_usd) > 0
            else np.nan,
            "asic_capacity_ehs_per_year": today.asic.capacity_ths_per_day * 365 / 1e6,
            "asic_backlog_ehs": today.asic.backlog_ths / 1e6,
            "asic_cost_usd_per_th": today.asic.cost_usd_per_th,
            "new_rigs_delivered_ehs": today.asic.delivered_ths / 1e6,
            "used_rig_price_usd_per_th": today.used.price_index_usd_per_th,
            "used_rigs_sold_ehs": today.used.sold_ths / 1e6,
            "used_rigs_scrapped_ehs": today.used.scrapped_ths / 1e6,
            "sovereign_btc_mined_cum": t.cum_btc_mined[sov].sum(),
            "sovereign_btc_held": t.btc_held[sov].sum(),
            "surviving_small": alive[0] / self._initial_by_class[0],
            "surviving_medium": alive[1] / self._initial_by_class[1],
            "surviving_large": alive[2] / self._initial_by_class[2],
            "exits_cum": m.n_exits,
            "hhi_owner": own["hhi"],
            "nakamoto_owner": own["nakamoto"],
            "cr4_owner": own["cr4"],
            "gini_owner": own["gini"],
            "entropy_owner": own["entropy"],
            "independent_firms": n_independent,
            "acquisitions_cum": m.n_acquisitions,
            "site_purchases_cum": m.n_site_purchases,
            "defaults_cum": m.n_defaults,
            "entries_cum": t.n - self._initial_rows.size,
            "entry_capital_usd": today.entry.capital_usd if today.entry else 0.0,
            "debt_usd": t.debt_usd.sum(),
            "cash_usd": t.cash_usd.sum(),
            "btc_held": t.btc_held.sum(),
            "mining_revenue_usd": (mining := t.revenue_usd.sum()),
            "ai_revenue_usd": (ai_usd := today.ai.income_usd),
            "ai_revenue_share": metrics.ai_share(ai_usd, mining - today.flows.energy_usd),
            "mining_energy_usd": today.flows.energy_usd,
            "mining_margin_usd": mining
            - today.flows.energy_usd
            - today.flows.fixed_usd
            - today.flows.outside_fees_usd,
            "ai_margin_usd": ai_usd - today.ai.opex_usd,
            "ai_mw_contracted": t.ai_mw.sum(),
            "ai_mw_operating": t.ai_mw_operating.sum(),
            "hashrate_to_ai_ehs": m.ai.hashrate_removed_ths / 1e6,
            "ai_firms": np.count_nonzero(t.ai_mw > 1e-9),
            "hashrate_in_transit_ehs": m.events.in_transit_ths / 1e6,
            "care_sites": np.count_nonzero(st.status == CARE),
            "rigs_failed_ehs": op.failed_ths / 1e6,
            "fee_backlog_blocks": blocks.fee_backlog_blocks,
        }
        if not self._keys_checked:  # the row is stored by position
            if list(row) != _NUMERIC_DAILY:
                raise RuntimeError("record_day's row must list DAILY_COLUMNS in order")
            self._keys_checked = True
        self._table[d] = tuple(row.values())
        if d % self._cadence == 0 or d == m.n_days - 1:
            self.panels.append(self.snapshot(d))
            self.site_panels.append(self.site_snapshot(d))

    def _row_ids(self) -> np.ndarray:
        """0..n-1 for the current table (cached; the table only grows)."""
        n = self.model.firms.n
        if self._rows.size != n:
            self._rows = np.arange(n)
        return self._rows

    def _class_keys(self) -> np.ndarray:
        """Initial size class per row (0-2), 3 for sovereigns, 4 for entrants (cached)."""
        t = self.model.firms
        if self._class_key.size != t.n:
            key = np.full(t.n, 4, dtype=np.intp)
            key[self._initial_rows] = t.size_class[self._initial_rows]
            key[self.model.sovereigns.rows] = SOVEREIGN_CLASS
            self._class_key = key
        return self._class_key

    def snapshot(self, d: int) -> dict[str, np.ndarray]:
        """Firm-level snapshot on day `d` of the active firms and of those that left mining for
        AI but still host tenants, as raw arrays (turned into a DataFrame once, by
        :meth:`panel`)."""
        m, t, st = self.model, self.model.firms, self.model.sites
        rows = np.flatnonzero(t.active | (t.ai_mw > 1e-9))
        fleet = st.firm_fleet_ths(t.n, rows)
        installed = fleet.sum(axis=1)
        cap = st.mining_capacity_mw()
        n_sites = st.by_firm((cap > 0).astype(float), t.n)[rows]
        capacity = st.by_firm(cap, t.n)[rows]
        hosted = st.by_firm(cap * st.hosted(), t.n)[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            eff = (fleet @ m.gens.efficiency_j_per_th) / installed
            hosted_share = hosted / capacity
        return {
            "day": np.full(rows.size, d),
            "firm_id": rows,
            "kind": t.kind[rows],
            "size_class": t.size_class[rows],
            "source": t.source[rows],
            "power_price_usd_per_mwh": m.firm_power_price_usd_per_mwh()[rows],
            "capacity_mw": capacity,
            "sites": n_sites.astype(np.int64),
            "hosted_share": hosted_share,
            "hashrate_ehs": t.running_ths[rows] / 1e6,
            "installed_hashrate_ehs": installed / 1e6,
            "fleet_efficiency_j_per_th": eff,
            "cash_usd": t.cash_usd[rows],
            "btc_held": t.btc_held[rows],
            "cum_btc_mined": t.cum_btc_mined[rows],
            "cum_revenue_usd": t.cum_revenue_usd[rows],
            "cum_operating_cost_usd": t.cum_operating_cost_usd[rows],
            "cum_capex_usd": t.cum_capex_usd[rows],
            "debt_usd": t.debt_usd[rows],
            "owner_id": t.ultimate_owner[rows],
            "ai_strategy": t.ai_strategy[rows],
            "ai_mw": t.ai_mw[rows],
            "ai_mw_operating": t.ai_mw_operating[rows],
            "cum_ai_income_usd": t.cum_ai_income_usd[rows],
            "region": t.region[rows],
        }

    def site_snapshot(self, d: int) -> dict[str, np.ndarray]:
        """Site-level snapshot on day `d` of every site not closed (raw arrays)."""
        m, st = self.model, self.model.sites
        rows = np.flatnonzero(st.status != CLOSED)
        fleet = st.fleet_ths[rows]
        installed = fleet.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            eff = (fleet @ m.gens.efficiency_j_per_th) / installed
        return {
            "day": np.full(rows.size, d),
            "site_id": rows,
            "owner_id": st.owner[rows],
            "host_id": st.host[rows],
            "status": st.status[rows],
            "origin": st.origin[rows],
            "region": st.region[rows],
            "source": st.source[rows],
            "power_price_usd_per_mwh": st.power_price_usd_per_mwh[rows],
            "rate_usd_per_mwh": st.rate_usd_per_mwh[rows],
            "capacity_mw": st.capacity_mw[rows],
            "hashrate_ehs": st.running_ths[rows] / 1e6,
            "installed_hashrate_ehs": installed / 1e6,
            "fleet_efficiency_j_per_th": eff,
        }

    def timeseries(self) -> pd.DataFrame:
        """Daily model-level series for the days simulated so far."""
        n = self.model.day
        df = pd.DataFrame({c: v[:n] for c, v in self.daily.items()})
        df.insert(0, "date", pd.date_range(self.model.start_date, periods=n, freq="D"))
        ints = (
            "height",
            "blocks_found",
            "active_firms",
            "nakamoto_firm",
            "exits_cum",
            "nakamoto_owner",
            "independent_firms",
            "acquisitions_cum",
            "site_purchases_cum",
            "defaults_cum",
            "entries_cum",
            "ai_firms",
            "mining_sites",
        )
        for c in ints:
            df[c] = df[c].astype("int64")
        for c, v in self.model.pools.daily_columns(n).items():  # pools on (abm.pools)
            df[c] = v
        return df

    def panel(self) -> pd.DataFrame:
        """The firm-level panel (all snapshots), columns as in :data:`PANEL_COLUMNS`."""
        snaps = self.panels or [self.snapshot(self.model.day)]
        raw = {k: np.concatenate([p[k] for p in snaps]) for k in snaps[0]}
        if not self.panels:
            raw = {k: v[:0] for k, v in raw.items()}
        t = self.model.firms
        names = np.asarray(t.name, dtype=object)
        df = pd.DataFrame(
            {
                "day": raw["day"],
                "date": pd.Timestamp(self.model.start_date) + pd.to_timedelta(raw["day"], "D"),
                "firm_id": raw["firm_id"],
                "name": names[raw["firm_id"]],
                "kind": pd.Categorical.from_codes(raw["kind"], KINDS),
                "size_class": pd.Categorical.from_codes(raw["size_class"], SIZE_CLASSES),
                "source": pd.Categorical.from_codes(raw["source"], SOURCES),
            }
        )
        for k in list(PANEL_COLUMNS)[7:]:
            df[k] = raw[k]
        df["ai_strategy"] = pd.Categorical.from_codes(raw["ai_strategy"], STRATEGIES)
        df["region"] = pd.Categorical.from_codes(raw["region"], self.model.events.regions)
        return df

    def site_panel(self) -> pd.DataFrame:
        """The site-level panel (all snapshots), columns as in :data:`SITE_PANEL_COLUMNS`."""
        snaps = self.site_panels or [self.site_snapshot(self.model.day)]
        raw = {k: np.concatenate([p[k] for p in snaps]) for k in snaps[0]}
        if not self.site_panels:
            raw = {k: v[:0] for k, v in raw.items()}
        df = pd.DataFrame(
            {
                "day": raw["day"],
                "date": pd.Timestamp(self.model.start_date) + pd.to_timedelta(raw["day"], "D"),
            }
        )
        for k in list(SITE_PANEL_COLUMNS)[2:]:
            df[k] = raw[k]
        df["status"] = pd.Categorical.from_codes(raw["status"], STATUSES)
        df["origin"] = pd.Categorical.from_codes(raw["origin"], ORIGINS)
        df["region"] = pd.Categorical.from_codes(raw["region"], self.model.events.regions)
        df["source"] = pd.Categorical.from_codes(raw["source"], SOURCES)
        return df

    def firm_outcomes(self) -> pd.DataFrame:
        """One row per firm that ever existed: entry, exit day and cause, initial size class."""
        t = self.model.firms
        return pd.DataFrame(
            {
                "firm_id": np.arange(t.n),
                "name": t.name,
                "kind": pd.Categorical.from_codes(t.kind, KINDS),
                "size_class": pd.Categorical.from_codes(t.size_class, SIZE_CLASSES),
                "initial_hashrate_ehs": t.initial_hashrate_ehs,
                "initial_power_price_usd_per_mwh": t.initial_power_price_usd_per_mwh,
                "entry_day": t.entry_day,
                "exit_day": t.exit_day,
                "exit_cause": [EXIT_CAUSES[c] or "active" for c in t.exit_cause],
                "acquired_day": t.acquired_day,
                "owner_id": t.ultimate_owner,
                "event_day": self.event_days(),
                "event": self.events(),
            }
        )

    def event_days(self) -> np.ndarray:
        """Day each firm stopped operating independently (exit or acquisition), -1 if never."""
        t = self.model.firms
        ex, acq = t.exit_day, t.acquired_day
        return np.where((acq >= 0) & ((ex < 0) | (acq <= ex)), acq, ex)

    def events(self) -> list[str]:
        """First event of each firm: its exit cause, 'acquired', or 'active'."""
        t = self.model.firms
        first_acq = (t.acquired_day >= 0) & ((t.exit_day < 0) | (t.acquired_day <= t.exit_day))
        return [
            "acquired" if a else (EXIT_CAUSES[c] or "active")
            for a, c in zip(first_acq, t.exit_cause, strict=True)
        ]

    def survival(self) -> pd.DataFrame:
        """Kaplan-Meier survival of independent operation by initial size class (initial
        firms; exits of any cause and acquisitions are events, the horizon censors)."""
        t = self.model.firms
        ini = self._initial_rows
        day = self.event_days()[ini]
        observed = day >= 0
        duration = np.where(observed, day, self.model.day)
        frames = []
        for k, name in enumerate(SIZE_CLASSES[:3]):
            sel = t.size_class[ini] == k
            if not sel.any():
                continue
            km = metrics.kaplan_meier(duration[sel], observed[sel].astype(int))
            km.insert(0, "size_class", name)
            frames.append(km)
        return pd.concat(frames, ignore_index=True)

    def exit_causes(self) -> dict[str, dict[str, int]]:
        """Counts of first events by initial size class (initial firms)."""
        t = self.model.firms
        ini = self._initial_rows
        ev = np.array(self.events(), dtype=object)[ini]
        out: dict[str, dict[str, int]] = {}
        for k, name in enumerate(SIZE_CLASSES[:3]):
            sel = t.size_class[ini] == k
            causes, counts = np.unique(ev[sel], return_counts=True)
            out[name] = {str(c): int(n) for c, n in zip(causes, counts, strict=True)}
        return out
