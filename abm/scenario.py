"""Typed scenario schema: every model parameter with its unit, default and source.

A scenario is data. It is a pydantic model that loads from and saves to TOML; unknown keys and
out-of-range values are rejected with a message naming the field. Every number, wherever it
sits (a field, a mix table, a list), must be finite and at most 1e18 in magnitude
(:class:`Numbers`): NaN and +-inf mean nothing here, and larger values overflow the model's
float arithmetic. A scenario file must give its ``name`` (the default output folder is named
after it). Scenarios whose parts contradict each other are refused too
(:mod:`abm.plausibility`). The defaults *are* the calibrated baseline (2026-01-01), sourced from
../shared/CALIBRATION.md; ``abm scenario show`` prints it and ``abm scenario doc`` prints the
parameter table and the plausibility rules.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parameter_table",
    "scenario_from_dict",
]


class ScenarioError(ValueError):
    """A scenario file or override is invalid; the message names the field(s) at fault."""


MAX_MAGNITUDE = 1e18  # largest |number| accepted in a scenario or a sweep specification
DAYS_PER_YEAR = 365  # the horizon is run.years x 365 days


class Numbers(BaseModel):
    """Every number of the model, wherever it sits (a field, a dict such as a mix table, a
    list), is finite and at most :data:`MAX_MAGNITUDE` in magnitude; errors name the field."""

    model_config = ConfigDict(allow_inf_nan=False)  # NaN, inf: "Input should be a finite number"

    @field_validator("*", mode="after")
    @classmethod
    def _not_huge(cls, value: Any) -> Any:
        for where, v in _numbers(value, ""):
            if abs(v) > MAX_MAGNITUDE:
                at = f"entry {where} = {v!r} " if where else ""
                raise ValueError(
                    f"{at}is beyond +-{MAX_MAGNITUDE:g}, the largest magnitude accepted "
                    "(larger values overflow the model's arithmetic)"
                )
        return value


def _numbers(value: Any, where: str) -> list[tuple[str, float]]:
    """(position, number) of every int or float in `value`, through dicts and lists (nested
    models check their own fields)."""
    if isinstance(value, bool | BaseModel):
        return []
    if isinstance(value, int | float):
        return [(where, value)]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return []
    return [n for k, v in items for n in _numbers(v, f"{where}[{k!r}]")]


class Section(Numbers):
    """Base of every scenario section: unknown keys are errors, assignments are validated,
    numbers are finite (:class:`Numbers`)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


def _f(default: Any, desc: str, **kw: Any) -> Any:
    """Field with a description of the form 'what [unit]. Source: ...'."""
    return Field(default, description=desc, **kw)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


class RunConfig(Section):
    start_date: dt.date = _f(dt.date(2026, 1, 1), "First simulated day [date].")
    years: float = _f(10.0, "Horizon [years of 365 days], at least one day (1/365).", gt=0, le=60)
    seed: int = _f(42, "Root seed of the run's SeedSequence [integer].", ge=0)
    panel_cadence_days: int = _f(30, "Firm-level panel is recorded every N days [days].", ge=1)
    nakamoto_threshold: float = _f(
        0.5, "Share that the Nakamoto coefficient's entities must exceed [0-1].", gt=0, lt=1
    )

    @field_validator("years")
    @classmethod
    def _at_least_a_day(cls, years: float) -> float:
        if years * DAYS_PER_YEAR < 1:
            raise ValueError(
                f"horizon shorter than one day ({years:g} years = {years * DAYS_PER_YEAR:.3g} "
                f"days); give at least 1/{DAYS_PER_YEAR} = {1 / DAYS_PER_YEAR:.5f} years"
            )
        return years


class ProtocolConfig(Section):
    start_height: int = _f(
        929_100,
        "Block height on the start date [blocks]. Source: 840,000 on 2024-04-20 plus "
        "~144/day (derived; puts halving 1,050,000 in ~April 2028 per CALIBRATION.md).",
        ge=0,
    )
    initial_difficulty: float = _f(
        148e12, "Difficulty on the start date [-]. Source: Hashrate Index, 2026-01-01.", gt=0
    )
    block_luck: bool = _f(
        True, "Blocks per day ~ Poisson(expected); false = expected count (deterministic)."
    )
    pool_fee: float = _f(
        0.02,
        "Pool fee taken from the pooled payout when pools are off (pools.enabled = false) "
        "[0-1]. Source: FPPS/PPLNS fees 0-4% (assumption).",
        ge=0,
        lt=1,
    )


class FeeConfig(Section):
    base_btc_per_block: float = _f(
        0.03,
        "Mean transaction fees per block outside spikes [BTC/block]. Source: CALIBRATION.md "
        "(2025 avg ~0.036; base 0.02-0.10).",
        ge=0,
    )
    volatility: float = _f(0.5, "Stationary sd of log fees [-].", ge=0, le=5)
    persistence: float = _f(0.95, "Daily AR(1) coefficient of log fees [-].", ge=0, lt=1)
    spike_rate_per_year: float = _f(3.0, "Fee spike days per year [1/year].", ge=0)
    spike_mean_btc_per_block: float = _f(
        0.3,
        "Mean extra fee per block on a spike day [BTC/block]. Source: spikes of 10-40 BTC on "
        "single blocks (CALIBRATION.md), spread over a day's blocks.",
        ge=0,
    )
    backlog_decay_per_day: float = _f(
        0.2,
        "Share of the fee backlog (transactions waiting for blocks that were not found) that "
        "leaves the mempool each day, dropped or abandoned [1/day]: B' = max(0, (B + 144 - "
        "blocks found) x (1 - decay)). Assumption (a backlog clears in about a week).",
        gt=0,
        le=1,
    )
    backlog_elasticity: float = _f(
        1.0,
        "Fees per block = the fee path x (1 + B / 144)^elasticity, B the backlog [blocks]: a "
        "day's worth of waiting transactions doubles the fee per block at 1. Assumption "
        "(0 = fees ignore the block rate).",
        ge=0,
        le=5,
    )


class PriceConfig(Section):
    model: Literal["gbm_jump", "replay"] = _f(
        "gbm_jump", "BTC price process: Merton jump-diffusion, or replay of observed prices."
    )
    initial_usd: float = _f(90_000.0, "BTC price on day one (gbm_jump) [USD].", gt=0)
    drift_per_year: float = _f(
        0.15, "Expected growth rate of the price, mu [1/year]. Assumption.", ge=-2, le=2
    )
    volatility_per_year: float = _f(
        0.50,
        "Diffusive volatility, sigma [1/sqrt(year)]. Source: realised BTC vol 2023-25 ~45-60%.",
        ge=0,
        le=3,
    )
    jump_rate_per_year: float = _f(2.0, "Jump arrivals [1/year]. Assumption.", ge=0)
    jump_mean_log: float = _f(-0.05, "Mean log jump size [-]. Assumption.", ge=-3, le=3)
    jump_std_log: float = _f(0.10, "Sd of log jump size [-]. Assumption.", ge=0, le=3)
    shocks: list[PriceShock] = _f(
        [], "Scheduled price shocks applied on top of the path ([[price.shocks]])."
    )


class PriceShock(Section):
    """A scheduled move of the price path: the path is multiplied by (1 + change) spread evenly
    (in log terms) over `days` days from `date` on, and stays shifted afterwards."""

    date: dt.date = _f(..., "First day of the shock [date].")
    change: float = _f(..., "Total relative change, e.g. -0.6 for a 60% crash [-].", gt=-1)
    days: int = _f(1, "Days over which the change builds up [days].", ge=1)


class Generation(Section):
    name: str = _f(..., "ASIC model name.")
    release_date: dt.date = _f(..., "Date of first volume shipments [date].")
    efficiency_j_per_th: float = _f(..., "Energy per hash [J/TH].", gt=0)


DEFAULT_GENERATIONS: list[dict[str, Any]] = [
    # Source: CALIBRATION.md hardware table (Hashrate Index, MiningStore, TheMinerMag).
    {"name": "Antminer S9", "release_date": dt.date(2016, 6, 1), "efficiency_j_per_th": 98.0},
    {"name": "S17 Pro", "release_date": dt.date(2019, 4, 1), "efficiency_j_per_th": 40.0},
    {"name": "S19 Pro", "release_date": dt.date(2020, 5, 1), "efficiency_j_per_th": 29.5},
    {"name": "S19 XP", "release_date": dt.date(2022, 7, 1), "efficiency_j_per_th": 21.5},
    {"name": "S21", "release_date": dt.date(2023, 11, 1), "efficiency_j_per_th": 17.5},
    {"name": "S21 XP", "release_date": dt.date(2024, 6, 1), "efficiency_j_per_th": 13.5},
    {"name": "S21 XP+ Hydro", "release_date": dt.date(2025, 6, 1), "efficiency_j_per_th": 11.0},
    {"name": "S23 Hydro", "release_date": dt.date(2026, 3, 1), "efficiency_j_per_th": 9.5},
]


class HardwareConfig(Section):
    generations: list[Generation] = _f(
        [Generation(**g) for g in DEFAULT_GENERATIONS],
        "ASIC generations in release order, efficiency improving. Source: CALIBRATION.md.",
        min_length=1,
    )
    frontier_improvement_per_year: float = _f(
        0.12,
        "Efficiency gain of synthetic generations after the last listed one [1/year]. Source: "
        "17-20%/yr historically (derived), assumed slowing as chips near process limits.",
        ge=0,
        lt=1,
    )
    new_generation_interval_years: float = _f(
        1.0, "Spacing of synthetic future generations [years].", gt=0, le=5
    )
    economic_life_years: float = _f(
        5.0,
        "Horizon of rig valuation: a rig is valued as if it runs at most this many more years, "
        "switched off for good once its margin is gone [years]. Source: depreciation over 3-5 "
        "years, average life ~7 years with repairs (CALIBRATION.md).",
        gt=0,
        le=15,
    )

    @model_validator(mode="after")
    def _ordered(self) -> HardwareConfig:
        gens = self.generations
        for a, b in itertools.pairwise(gens):
            if b.release_date <= a.release_date:
                raise ValueError(
                    f"generations must be in release order: {b.name!r} is not after {a.name!r}"
                )
            if b.efficiency_j_per_th >= a.efficiency_j_per_th:
                raise ValueError(
                    f"generations must improve in efficiency: {b.name!r} is not below {a.name!r}"
                )
        return self


class AsicConfig(Section):
    """The market for new rigs (abm/markets/asic.py): manufacturers make the newest generation
    only; its price clears the buyers' demand against what the factories can deliver."""

    pricing_period_days: int = _f(
        14, "The price of new rigs is set every N days [days]. Assumption.", ge=1, le=90
    )
    initial_capacity_ehs_per_year: float = _f(
        400.0,
        "Manufacturing capacity on day one [EH/s per year]. Source: new shipments ~350-450 "
        "EH/s a year in 2024-25 (derived, CALIBRATION.md).",
        gt=0,
    )
    unit_cost_usd_per_w: float = _f(
        0.65,
        "Manufacturers' cost per watt of rig draw [USD/W]; per TH it is this x J/TH, so it "
        "falls as chips improve; the price never falls below it (idle factories instead). "
        "Source: Canaan's derived cost of revenue ~$9.8/TH (Q3 2025) on ~15 J/TH rigs.",
        gt=0,
    )
    lead_time_days: int = _f(
        120,
        "Delivery after production starts [days]; orders wait for capacity before that. "
        "Source: orders delivered 3-6 months after purchase (CALIBRATION.md).",
        ge=0,
        le=720,
    )
    capacity_response_per_year: float = _f(
        0.5,
        "Growth of capacity per year at a lagged gross margin of 100%, and its shrinkage "
        "when factories idle [1/year]: dK/dt = K x this x tanh(margin). Assumption "
        "(capacity grew from ~400 EH/s-yr in 2024 with margins of 17-68%).",
        ge=0,
        le=5,
    )
    margin_lag_days: float = _f(
        180.0,
        "Half-life of the manufacturers' margin that capacity responds to [days] (wafers are "
        "prepaid 5-6 months ahead, CALIBRATION.md).",
        gt=0,
    )
    backlog_days: float = _f(
        60.0,
        "A backlog beyond the capacity of this many days lowers what the next period can sell "
        "(the price rises until it clears) [days]. Assumption.",
        gt=0,
    )


class UsedRigConfig(Section):
    """The market for used rigs (abm/markets/used.py): a dealer buys what firms sell at its
    posted price and resells it each period at the price that clears its stock against the
    buyers in the model and the rest of the world; what nobody values above scrap is scrapped."""

    clearing_period_days: int = _f(
        28, "The dealer clears its stock every N days [days]. Assumption.", ge=1, le=3650
    )
    scrap_usd_per_th: float = _f(
        0.5,
        "Scrap value of a rig [USD/TH]. Assumption (an S9-class unit sells for parts at "
        "~$5-10, 0.4-0.7 $/TH).",
        ge=0,
    )
    dealer_spread: float = _f(
        0.15,
        "The dealer pays sellers this share less than the price it sells at [0-1]. "
        "Assumption (brokers' margins on used rigs, ~10-20%).",
        ge=0,
        lt=1,
    )
    depth_share: float = _f(
        0.01,
        "Posted prices are those that would clear a lot of this share of the generation's "
        "installed hashrate (or the stock, if larger) [0-1]: the market's depth. Assumption.",
        gt=0,
        le=1,
    )


class WorldConfig(Section):
    """The rest of the world's miners (abm/world.py): the many small and remote operations
    outside the modelled firms (stranded gas, curtailed renewables, cheap-power
    jurisdictions), as a supply curve of MW by power price. Atomistic in the concentration
    metrics."""

    enabled: bool = _f(True, "Model the rest of the world; false: the firms are the network.")
    initial_share: float = _f(
        0.30,
        "Rest of the world's share of the installed hashrate on day one [0-1]. Assumption: "
        "the CCAF 2025 survey's 49 firms hold ~48% and listed miners 33-38%, so the 600 "
        "modelled firms are taken to hold ~70%.",
        ge=0,
        lt=1,
    )
    tranches: int = _f(
        20,
        "Price tranches of its supply curve [-] (each ~5% of its MW, so that no one tranche "
        "switching on or off moves the network by much).",
        ge=1,
        le=100,
    )
    median_price_usd_per_mwh: float = _f(
        42.0,
        "Median power price of its supply curve [USD/MWh]. Source: Paraguay ~$56-65, "
        "Ethiopia ~$32, Irkutsk ~$33, stranded gas $10-30 (CALIBRATION.md); assumption "
        "between them.",
        gt=0,
    )
    dispersion_log: float = _f(
        0.55,
        "Sd of log power price across its supply curve [-]. With the median $42 its 10th-90th "
        "percentiles are $21-85/MWh: the CCAF's range of $20-80 with stranded gas ($10-30) "
        "below and retail grids ($60-80+) above (CALIBRATION.md). Assumption within that; "
        "0.40 ($25-70) left too little cheap power, so that a halving or a -60% shock in a "
        "bear market switched nearly all of it off at once (issue 18).",
        ge=0,
        le=2,
    )
    hurdle_rate: float = _f(
        0.25,
        "Return it asks of new rigs and MW [1/year]. Assumption (small private miners).",
        gt=0,
        le=2,
    )
    potential_headroom: float = _f(
        0.5,
        "MW it could still build on day one, as a share of what it runs [-]. Assumption.",
        ge=0,
        le=20,
    )
    potential_growth_per_year: float = _f(
        0.10,
        "Growth of the MW it could build (new stranded sites, grids) [1/year]. Assumption.",
        ge=0,
        le=2,
    )
    build_speed_per_year: float = _f(
        0.5,
        "Share of the profitable unbuilt MW it builds in a year [1/year]. Assumption.",
        ge=0,
        le=10,
    )
    capex_usd_per_mw: float = _f(
        300_000.0,
        "What its new MW cost [USD/MW]: containers on stranded power. Assumption (below the "
        "firms' built sites).",
        ge=0,
    )


class EnergyConfig(Section):
    median_price_usd_per_mwh: float = _f(
        45.0,
        "Median delivered power price for a firm of reference size [USD/MWh]. Source: CCAF 2025.",
        gt=0,
    )
    reference_size_ehs: float = _f(
        0.5,
        "Firm size at which the median applies [EH/s]: with 0.5 the median own-site price "
        "across the firms is ~$45/MWh (CCAF 2025).",
        gt=0,
    )
    size_elasticity: float = _f(
        0.10,
        "Power price falls as size^-elasticity [-]. Source: listed miners $20-50/MWh vs small "
        "$60-80+ (CALIBRATION.md).",
        ge=0,
        le=1,
    )
    dispersion_log: float = _f(0.30, "Sd of log power price across firms [-].", ge=0, le=2)
    min_price_usd_per_mwh: float = _f(15.0, "Lower clip of power prices [USD/MWh].", ge=0)
    max_price_usd_per_mwh: float = _f(120.0, "Upper clip of power prices [USD/MWh].", gt=0)
    source_mix: dict[Literal["hydro", "wind", "solar", "gas", "grid", "stranded"], float] = _f(
        {"hydro": 0.23, "wind": 0.15, "solar": 0.03, "gas": 0.30, "grid": 0.21, "stranded": 0.08},
        "Share of firms by primary source [0-1]. Source: CCAF 2025 mix (nuclear+coal as grid, "
        "off-grid gas as stranded).",
    )
    outage_prob_per_day: dict[
        Literal["hydro", "wind", "solar", "gas", "grid", "stranded"], float
    ] = _f(
        {
            "hydro": 0.002,
            "wind": 0.01,
            "solar": 0.01,
            "gas": 0.003,
            "grid": 0.002,
            "stranded": 0.02,
        },
        "Probability that a site is down for a whole day, by source [1/day]. Assumption.",
    )
    dry_season_months: list[int] = _f(
        [12, 1, 2, 3], "Months when hydro sites run at reduced availability [1-12]."
    )
    seasonal_share_of_hydro: float = _f(
        0.4,
        "Share of hydro sites that are seasonal (run-of-river) [0-1]. Assumption.",
        ge=0,
        le=1,
    )
    dry_season_availability: float = _f(
        0.5,
        "Share of hydro capacity available in the dry season [0-1]. Source: Bhutan's hydro "
        "mining stops in winter (CALIBRATION.md).",
        ge=0,
        le=1,
    )
    fixed_opex_usd_per_mw_day: float = _f(
        270.0,
        "Non-energy operating cost per MW of capacity [USD/MW/day]. Source: electricity ~80% "
        "of opex (CCAF) -> 0.25 x $45/MWh x 24 h.",
        ge=0,
    )
    expansion_price_usd_per_mwh: float = _f(
        45.0,
        "Price of power contracted for new capacity [USD/MWh]: cheap power is a scarce "
        "endowment, so new MW cost the market price whoever builds them (a firm's price becomes "
        "the capacity-weighted mix). Source: CCAF 2025 median delivered price.",
        gt=0,
    )
    capex_usd_per_mw: float = _f(
        330_000.0,
        "Cost of new mining power capacity (site build) [USD/MW]. Source: $0.3-0.35M/MW.",
        ge=0,
    )
    price_multiplier: float = _f(
        1.0,
        "Multiplier on every power price of the model [-]: when the model is built, every "
        "parameter priced per MWh (name ending in _usd_per_mwh, in any section: the sites' "
        "price distribution and its clips, new contracts, hosting rates and margins, the "
        "rest of the world's supply curve, energy-access and stranded prices, credits, levies, "
        "relocation prices, sovereigns' and explicit firms' prices) is multiplied by it, so "
        "initial "
        "sites, new contracts, entrants' draws and hosting rates all scale "
        "(abm.markets.energy.scale_power_prices). 1 = the calibrated prices. Assumption: a "
        "counterfactual knob (issue 18: 0.78).",
        gt=0,
        le=10,
    )

    @model_validator(mode="after")
    def _check(self) -> EnergyConfig:
        total = sum(self.source_mix.values())
        if abs(total - 1.0) > 1e-6 or any(v < 0 for v in self.source_mix.values()):
            raise ValueError(f"source_mix must be non-negative shares summing to 1 (got {total})")
        missing = set(self.source_mix) - set(self.outage_prob_per_day)
        if missing:
            raise ValueError(f"outage_prob_per_day lacks sources {sorted(missing)}")
        if any(not 0 <= v <= 1 for v in self.outage_prob_per_day.values()):
            raise ValueError("outage_prob_per_day values must be in [0, 1]")
        if any(not 1 <= m <= 12 for m in self.dry_season_months):
            raise ValueError("dry_season_months must be month numbers 1-12")
        if self.min_price_usd_per_mwh >= self.max_price_usd_per_mwh:
            raise ValueError("min_price_usd_per_mwh must be below max_price_usd_per_mwh")
        return self


class SitesConfig(Section):
    """How firms' capacity is spread over sites, hosting (colocation), and moving rigs."""

    site_size_ehs_listed: float = _f(
        5.0,
        "Typical site of a listed firm on day one [EH/s]: a listed firm runs about its "
        "hashrate / this sites (2 to max_sites_per_firm). Source: MARA, Riot and CleanSpark "
        "operate 5-15 sites each at ~50 EH/s (CALIBRATION.md; derived).",
        gt=0,
    )
    max_sites_per_firm: int = _f(15, "Most sites of one firm on day one [-].", ge=1, le=100)
    two_sites_min_ehs: float = _f(
        3.0,
        "Private firms of at least this size run two sites on day one [EH/s]. Assumption.",
        gt=0,
    )
    site_share_concentration: float = _f(
        2.0,
        "Concentration of the Dirichlet (gamma) shares of a firm's capacity across its sites "
        "[-]: lower spreads sizes more. Assumption.",
        gt=0,
    )
    within_firm_dispersion_log: float = _f(
        0.25,
        "Sd of log power price across one firm's sites [-]; the capacity-weighted mean stays "
        "the firm's drawn price. Source: Riot's Rockdale ~$20/MWh within a ~$34/MWh fleet "
        "(CALIBRATION.md); assumption.",
        ge=0,
        le=2,
    )
    hosted_share_small: float = _f(
        0.4,
        "Share of small firms whose rigs are hosted at a listed host's facility on day one "
        "[0-1]. Source: no public figure; small miners often host (CALIBRATION.md), Core "
        "Scientific hosted ~100k rigs beside ~143k of its own (2022). Assumption.",
        ge=0,
        le=1,
    )
    host_share_listed: float = _f(
        0.5, "Share of listed firms that host other firms' rigs [0-1]. Assumption.", ge=0, le=1
    )
    hosting_rate_min_usd_per_mwh: float = _f(
        60.0,
        "Lowest all-in hosting rate a client pays per MWh its rigs draw [USD/MWh] (the host "
        "carries power and site costs). Source: $60-80/MWh (CALIBRATION.md).",
        gt=0,
    )
    hosting_rate_max_usd_per_mwh: float = _f(
        80.0, "Highest all-in hosting rate [USD/MWh]. Source: CALIBRATION.md.", gt=0
    )
    min_host_margin_usd_per_mwh: float = _f(
        5.0,
        "A host charges at least its power price plus its fixed site cost per MWh at full load "
        "plus this margin, whatever rate is drawn [USD/MWh]. Assumption: hosts do not sign "
        "contracts that lose money at full load.",
        ge=0,
    )
    host_default_recovery_days: int = _f(
        60,
        "Days a defaulted host's clients' rigs stay stopped before they move [days]. Source: "
        "Compute North's clients were stranded for weeks to months (Sep 2022).",
        ge=0,
    )
    move_cost_usd_per_th: float = _f(
        0.5,
        "Cost of moving rigs to another site (shipping, installation) [USD/TH]. Assumption: "
        "~$30-60 per rig of 100-200 TH/s.",
        ge=0,
    )
    max_site_mw: float = _f(
        300.0,
        "New MW join the firm's site under build-out until it holds this much; then a new site "
        "opens at the price of a new contract [MW]. Assumption: large sites hold 100-700 MW.",
        gt=0,
    )
    buildout_years: float = _f(
        2.0,
        "A site takes new MW at its contract price for this long after it opens [years]. "
        "Assumption: a power contract covers a site's build-out.",
        ge=0,
    )

    @model_validator(mode="after")
    def _check(self) -> SitesConfig:
        if self.hosting_rate_min_usd_per_mwh > self.hosting_rate_max_usd_per_mwh:
            raise ValueError("hosting_rate_min_usd_per_mwh must not exceed the max")
        return self


class FirmSpec(Section):
    """One explicitly listed firm (used by the contest limit and hand-built studies)."""

    name: str = _f(..., "Firm name.")
    hashrate_ehs: float = _f(..., "Installed hashrate on day one [EH/s].", gt=0)
    power_price_usd_per_mwh: float = _f(..., "Delivered power price [USD/MWh].", gt=0)
    generation: str | None = _f(
        None, "Generation of its whole fleet (name); default: newest released by start."
    )
    capacity_mw: float | None = _f(
        None, "Power capacity [MW]; default: fleet draw x (1 + mean headroom).", gt=0
    )
    cash_usd: float = _f(0.0, "Cash on day one [USD].", ge=0)
    kind: Literal["private", "listed"] = _f("private", "Ownership type.")
    source: Literal["hydro", "wind", "solar", "gas", "grid", "stranded"] = _f(
        "grid", "Primary energy source."
    )


class FirmsConfig(Section):
    population: Literal["calibrated", "explicit"] = _f(
        "calibrated",
        "calibrated: draw the baseline population below; explicit: use `explicit` firms only.",
    )
    n_firms: int = _f(600, "Number of firms on day one (calibrated population) [-].", ge=5)
    initial_hashrate_ehs: float = _f(
        1130.0,
        "Hashrate installed on day one, running or curtailed [EH/s]. Source: ~1,000-1,150 EH/s "
        "running in 2025-26; ~7% of installed rigs are off on day one (old rigs, dry season).",
        gt=0,
    )
    n_large: int = _f(
        14, "Number of large (listed) firms [-]. Source: ~15 listed miners of size.", ge=4
    )
    n_listed: int | None = _f(
        None,
        "How many of the large firms are listed on day one; the listed are the smallest of "
        "them, the rest large private firms (None: all n_large). For starts before the 2021 "
        "listing wave, when the largest miners were private [-].",
        ge=0,
    )
    large_share: float = _f(
        0.35,
        "Listed/large firms' share of hashrate [0-1]. Source: 33-38% (Sep-Oct 2025).",
        gt=0,
        lt=1,
    )
    top4_share: float = _f(
        0.20,
        "Top four firms' share of hashrate [0-1]. Source: ~20% of 874 EH/s (mid 2025).",
        gt=0,
        lt=1,
    )
    tail_pareto_alpha: float = _f(
        1.1, "Pareto tail index of private firm sizes [-]. Assumption.", gt=0.2, le=5
    )
    tail_max_ehs: float = _f(8.0, "Largest private firm on day one [EH/s].", gt=0)
    small_max_ehs: float = _f(1.0, "Size-class threshold: small below this [EH/s].", gt=0)
    large_min_ehs: float = _f(10.0, "Size-class threshold: large at or above this [EH/s].", gt=0)
    capacity_headroom_max: float = _f(
        0.15, "Spare power capacity on day one ~ U(0, max) of fleet draw [0-1].", ge=0, le=2
    )
    fleet_age_years_large: float = _f(
        2.0,
        "Mean fleet age of large firms [years]. Source: fleet avg 28.2 J/TH in 2024 "
        "(CCAF), listed fleets newer.",
        ge=0,
    )
    fleet_age_years_small: float = _f(3.5, "Mean fleet age of private firms [years].", ge=0)
    hurdle_rate_listed: float = _f(
        0.12, "Hurdle (cost of capital) of listed firms [1/year]. Source: CALIBRATION.md.", gt=0
    )
    hurdle_rate_private: float = _f(
        0.18, "Hurdle of private firms [1/year]. Source: cost of equity 15-25% (derived).", gt=0
    )
    cash_days_listed: float = _f(
        180.0, "Cash on day one in days of gross revenue, listed firms [days].", ge=0
    )
    cash_days_private: float = _f(60.0, "Cash on day one, private firms [days].", ge=0)
    explicit: list[FirmSpec] = _f([], "Explicit firms (population = 'explicit').")
    region_mix: dict[str, float] = _f(
        {
            "us": 0.38,
            "russia": 0.15,
            "china": 0.12,
            "canada": 0.06,
            "ethiopia": 0.03,
            "paraguay": 0.03,
            "kazakhstan": 0.02,
            "other": 0.21,
        },
        "Share of firms by region [0-1] (regions are free names; events refer to them). "
        "Sources: Ethiopia ~2.3%, Paraguay >700 MW, Kazakhstan ~1.4% of hashrate (2025, "
        "CALIBRATION.md); US, Russia, China, Canada: public hashrate maps (assumption).",
    )

    @model_validator(mode="after")
    def _check(self) -> FirmsConfig:
        if self.population == "explicit" and not self.explicit:
            raise ValueError("population = 'explicit' needs at least one [[firms.explicit]]")
        if self.population == "calibrated":
            if self.top4_share >= self.large_share:
                raise ValueError("top4_share must be below large_share")
            if self.n_large >= self.n_firms:
                raise ValueError("n_large must be below n_firms")
            if self.n_listed is not None and self.n_listed > self.n_large:
                raise ValueError(
                    f"n_listed ({self.n_listed}) must not exceed n_large ({self.n_large})"
                )
        if self.small_max_ehs >= self.large_min_ehs:
            raise ValueError("small_max_ehs must be below large_min_ehs")
        total = sum(self.region_mix.values())
        if abs(total - 1.0) > 1e-6 or any(v < 0 for v in self.region_mix.values()):
            raise ValueError(f"region_mix must be non-negative shares summing to 1 (got {total})")
        return self


class BehaviourConfig(Section):
    investment_rule: Literal["npv", "best_response"] = _f(
        "npv",
        "npv: buy rigs when their NPV at the firm's hurdle is positive; best_response: the "
        "contest limit (costless hashrate, no capacity or cash limits, Tullock best response).",
    )
    review_cadence_days: int = _f(30, "Each firm reviews its fleet every N days [days].", ge=1)
    review_stagger_days: int = _f(
        7,
        "Review days are staggered across firms in steps of N days (reviews are batched) [days].",
        ge=1,
    )
    hashprice_ema_halflife_days: float = _f(
        30.0, "Half-life of adaptive hashprice expectations [days].", gt=0
    )
    expected_hashprice_decline_per_year: float = _f(
        0.30,
        "Decline of hashprice per BTC of block reward that firms expect (network growth; "
        "halvings are anticipated separately) [1/year]. Source: hashprice 315 (2021) -> 124 -> "
        "75 -> ~55 (2024), -40%/yr with two halvings' worth of decline in it (CALIBRATION.md); "
        "0.30 fits the history replay's difficulty best of 0.2, 0.3, 0.4 (docs/validation.md).",
        ge=0,
        le=2,
    )
    reinvest_fraction: float = _f(
        0.5, "Share of cash above the reserve spent at a review [0-1].", ge=0, le=1
    )
    cash_reserve_days: float = _f(
        60.0, "Cash kept back from investment, in days of operating cost [days].", ge=0
    )
    max_capacity_growth_per_review: float = _f(
        0.04, "Largest power-capacity addition at one review [share of capacity].", ge=0, le=5
    )
    best_response_speed: float = _f(
        0.2,
        "Partial-adjustment speed towards the best response (contest limit) [0-1].",
        gt=0,
        le=1,
    )


class OperationConfig(Section):
    """How sites run their rigs from day to day (abm/operation.py): curtailment with
    hysteresis, care and maintenance of idle sites, and failures of rigs by age."""

    off_after_loss_days: int = _f(
        5,
        "A running vintage at a site switches off after it has not covered its energy cost "
        "(expected revenue per TH-day <= energy cost per TH-day at the site's rate) for this "
        "many days in a row [days]. Assumption (3-7 days; 1 = off on the first losing day).",
        ge=1,
        le=365,
    )
    on_margin: float = _f(
        0.05,
        "An idle vintage switches back on when expected revenue per TH-day exceeds its energy "
        "cost by this margin [-]. Assumption (5-10%; 0 = on as soon as it pays).",
        ge=0,
        le=2,
    )
    start_delay_max_days: int = _f(
        10,
        "An idle vintage starts once its expected revenue has beaten its energy cost by the "
        "on margin for its site's start delay in days in a row: 1 .. this, spread evenly over "
        "sites and fixed per site (restart crews, firmware, grid notice) [days]. Assumption "
        "(restarts from care and maintenance take days to weeks); 1 = on the first such day "
        "(every site at once).",
        ge=1,
        le=60,
    )
    outlook_days: float = _f(
        60.0,
        "Miners judge whether a vintage covers its energy cost by its revenue over the next N "
        "days: today's until the retarget projected at the period's average pace so far "
        "(mining dashboards' estimated next difficulty), today's / that factor after it "
        "[days]. Assumption (a curtailment decision looks weeks ahead); 0 = "
        "today's revenue only.",
        ge=0,
        le=365,
    )
    care_after_idle_days: int = _f(
        30,
        "A mining site none of whose rigs has been switched on for this many days goes into "
        "care and maintenance [days]. Assumption.",
        ge=1,
        le=3650,
    )
    care_fixed_cost_share: float = _f(
        0.3,
        "Fixed opex of a site in care and maintenance, as a share of a mining site's "
        "(security, insurance, minimum power charges, a skeleton crew) [0-1]. Assumption.",
        ge=0,
        le=1,
    )
    failure_rate_young_per_year: float = _f(
        0.04,
        "Failure hazard of new rigs (Gompertz h(age) = young x exp(b x age)) [1/year]. "
        "Source: ~3-5%/yr normal failure rate (Bitmain, Soluna; CALIBRATION.md).",
        ge=0,
        le=5,
    )
    failure_rate_old_per_year: float = _f(
        0.25,
        "Failure hazard at `failure_old_age_years` (sets b) [1/year]. Source: 20-30%/yr for "
        "S17/T17-era rigs; average life ~7 years with repairs (CALIBRATION.md).",
        ge=0,
        le=5,
    )
    failure_old_age_years: float = _f(
        7.0,
        "Age at which the hazard reaches `failure_rate_old_per_year` [years] (age counted "
        "from the generation's release).",
        gt=0,
        le=30,
    )

    @model_validator(mode="after")
    def _hazard(self) -> OperationConfig:
        young, old = self.failure_rate_young_per_year, self.failure_rate_old_per_year
        if old < young:
            raise ValueError(
                "failure_rate_old_per_year must be at least failure_rate_young_per_year"
            )
        if young == 0 and old > 0:
            raise ValueError(
                "failure_rate_young_per_year must be > 0 when failure_rate_old_per_year is "
                "(the hazard grows exponentially from it); set both to 0 for no failures"
            )
        return self


class EquityConfig(Section):
    """The equity market for listed miners (abm.equity, abm.markets.equity): premium to NAV
    (mNAV), at-the-market issuance, listings, and hurdle rates derived from the cost of
    capital. On by default; the two sensitivities of the premium and the listing rule were
    fitted on the history replay's listed share (abm/data/targets.toml, docs/validation.md),
    the rest are assumptions."""

    enabled: bool = _f(
        True,
        "Equity market on/off (it needs finance.enabled: without finance it stays off); on, "
        "its at-the-market issuance replaces finance's equity "
        "window and listed firms' hurdle rates follow their cost of capital; off, listed "
        "firms keep their set hurdle rate and raise equity in finance's window, for AI "
        "conversions and in share-paid deals.",
    )
    base_mnav: float = _f(
        1.0, "Sector premium to NAV with flat BTC and the reference margin [-]. Assumption.", gt=0
    )
    momentum_beta: float = _f(
        0.75,
        "Log premium per unit of BTC's 90-day log return [-]: miners trade as leveraged BTC "
        "(2021 and 2024 re-ratings). Fitted on the history replay's listed share (1.5 put it "
        "at 50-70% in 2024-25 against ~30-38%).",
    )
    margin_beta: float = _f(
        1.0,
        "Log premium per unit of the sector's gross mining margin share above the reference "
        "[-]. Fitted with momentum_beta (halved together from 2.0).",
    )
    reference_margin_share: float = _f(
        0.4, "Gross mining margin share at which the premium is base_mnav [0-1].", ge=-1, le=1
    )
    ai_rerating: float = _f(
        2.0,
        "A firm's premium x (1 + this x its AI share of revenue) [-]. Assumption: the 2024-25 "
        "re-rating of miners that signed HPC leases (CALIBRATION.md).",
        ge=0,
    )
    mnav_min: float = _f(0.3, "Lowest premium [-].", gt=0)
    mnav_max: float = _f(4.0, "Highest premium [-].", gt=0)
    issue_period_days: int = _f(
        30, "Days between at-the-market issuance rounds (and hurdle updates) [days].", ge=1
    )
    atm_share_per_year: float = _f(
        0.2,
        "Most a listed firm issues at the market in a year, as a share of its market value, "
        "reached at a premium of 2 (none at or below 1) [1/year]. Source: billions of USD of "
        "2023-24 ATM raises (CALIBRATION.md); level an assumption.",
        ge=0,
        le=5,
    )
    atm_cash_target_days: float = _f(
        365.0,
        "A listed firm issues at the market only while its cash is below this many days of "
        "its income (mining and AI, today's), and at most up to it [days]. Assumption: ATM "
        "programmes fund rigs, sites and conversions (the firms spend cash above their "
        "reserve at their reviews) rather than pile up idle cash.",
        ge=0,
    )
    ipo_rate_per_year: float = _f(
        0.1,
        "Probability per year that an eligible private firm lists while the sector's premium "
        "is at least ipo_min_mnav [1/year]: the listings and SPACs of existing miners in "
        "2021-23 (Core Scientific, Greenidge, Bitdeer); new builders list at entry "
        "(consolidation.entrant_listed_share). Fitted with ipo_min_mnav on the replay.",
        ge=0,
    )
    ipo_min_mnav: float = _f(
        2.0, "Sector premium from which private firms list [-]. Fitted on the replay.", gt=0
    )
    ipo_min_ehs: float = _f(
        2.0, "Smallest installed hashrate of a private firm that can list [EH/s].", ge=0
    )
    ipo_raise_share: float = _f(
        0.2, "Cash raised at listing, as a share of the new market value [0-1].", ge=0, le=1
    )
    cost_of_equity: float = _f(
        0.15,
        "Required return on a listed miner's market value [1/year]; on its NAV this over the "
        "premium. Assumption.",
        gt=0,
        le=1,
    )
    cost_of_equity_min: float = _f(0.05, "Floor of the cost of equity on NAV [1/year].", ge=0, le=1)
    convertible_option_cost_per_year: float = _f(
        0.06,
        "What a listed miner's convertible note gives away in its conversion option, per year "
        "of its term, added to the coupon (finance.rate_listed) in its cost of capital: the "
        "notes' real cost [1/year]. Derived: a 5-year note convertible at a ~30% premium on a "
        "stock of ~80-100% volatility carries an option worth ~25-35% of its face "
        "(Black-Scholes), ~5-7% a year; assumption. The cash interest stays the coupon.",
        ge=0,
        le=1,
    )

    @model_validator(mode="after")
    def _check(self) -> EquityConfig:
        if self.mnav_min > self.mnav_max:
            raise ValueError("mnav_min must not exceed mnav_max")
        return self


class FinanceConfig(Section):
    enabled: bool = _f(
        True,
        "Debt, equity raises, treasury holding and credit limits; false = all-cash firms that "
        "sell all mined BTC (the core engine's rules).",
    )
    rate_listed: float = _f(
        0.03,
        "Cost of debt of listed firms [1/year]. Source: 2024-25 convertibles at 0-3%.",
        ge=0,
        le=1,
    )
    rate_private: float = _f(
        0.12,
        "Cost of debt of private medium/large firms [1/year]. Source: equipment loans 9.7-13%.",
        ge=0,
        le=1,
    )
    rate_small: float = _f(
        0.16,
        "Cost of debt of small firms [1/year]. Source: 12-20%, distressed 15-20% (2022).",
        ge=0,
        le=1,
    )
    term_years_listed: float = _f(5.0, "Maturity of new debt, listed firms [years].", gt=0)
    term_years_private: float = _f(
        3.0, "Maturity of new debt, private firms (equipment loans) [years].", gt=0
    )
    initial_leverage_listed: float = _f(
        0.35,
        "Debt on day one / collateral value, listed firms [-]. Source: sector debt $12.7B "
        "(Oct 2025) mostly at listed miners.",
        ge=0,
        le=2,
    )
    initial_leverage_private: float = _f(
        0.15, "Debt on day one / collateral value, private firms [-].", ge=0, le=2
    )
    ltv_limit_listed: float = _f(
        0.6, "Largest debt / collateral lenders accept, listed firms [-].", ge=0, le=2
    )
    ltv_limit_private: float = _f(
        0.4, "Largest debt / collateral lenders accept, private firms [-].", ge=0, le=2
    )
    credit_sensitivity: float = _f(
        2.0,
        "Lenders cut the LTV by (hashprice 30-day / 365-day average) ** this when hashprice "
        "falls [-]; 0 = credit never tightens.",
        ge=0,
        le=10,
    )
    treasury_hold_fraction_listed: float = _f(
        0.5,
        "Share of mined BTC kept in treasury, listed firms [0-1]. Source: listed miners "
        "accumulated while smaller miners sold (CALIBRATION.md).",
        ge=0,
        le=1,
    )
    treasury_hold_fraction_private: float = _f(
        0.0,
        "Share of mined BTC kept in treasury, private firms [0-1] (0 = sell all).",
        ge=0,
        le=1,
    )
    equity_window_threshold: float = _f(
        0.3,
        "Listed firms raise equity when BTC is this much above its 200-day average [-].",
        ge=0,
    )
    equity_raise_fraction: float = _f(
        0.02,
        "Equity raised at a review in an open window, share of net asset value [-].",
        ge=0,
        le=1,
    )
    fleet_depreciation_years: float = _f(
        5.0,
        "Straight-line life of rigs in the books [years]. Source: listed miners ~5 years.",
        gt=0,
    )
    site_depreciation_years: float = _f(20.0, "Book life of sites [years].", gt=0)
    site_value_usd_per_mw: float = _f(
        450_000.0,
        "Market value of a powered mining site at the median power price [USD/MW]; cheaper sites "
        "are worth more, sites that cannot cover energy nothing. Source: MARA purchases "
        "$0.44-0.46M/MW (2023-24).",
        ge=0,
    )


class ConsolidationConfig(Section):
    auctions: bool = _f(True, "Defaulted firms' sites and rigs are auctioned (false: scrapped).")
    fire_sale_discount: float = _f(
        0.5,
        "Reserve price of an auction = (1 - discount) x market value of the lot [0-1].",
        ge=0,
        le=1,
    )
    max_bidders: int = _f(20, "Solvent firms invited to bid, largest budgets first [-].", ge=1)
    acquisitions: bool = _f(True, "Voluntary deals (acquisitions and site purchases) on/off.")
    deal_rate_per_year: float = _f(
        6.0,
        "Deal opportunities per year (Poisson) [1/year]: each is done as the buyer-seller "
        "pair with the largest gain (abm.deals), so realised deals follow this rate whenever "
        "some pair gains. Calibrated to realised public-miner deals of roughly 5-8 a year in "
        "2023-25 (CALIBRATION.md: Hut 8 - US Bitcoin, CleanSpark - GRIID, Riot - Block Mining, "
        "Bitfarms - Stronghold, MARA's and Galaxy's site purchases).",
        ge=0,
    )
    site_purchase_share: float = _f(
        0.5,
        "Share of deal opportunities that are purchases of one site rather than of a whole "
        "firm [0-1]. Source: about half of the 2023-25 deals in CALIBRATION.md were sites "
        "(MARA's 390 MW, Argo's Helios to Galaxy) rather than firms.",
        ge=0,
        le=1,
    )
    acquisition_synergy: float = _f(
        0.2,
        "Share of a target's energy costs a buyer (of a firm or a site) expects to save through "
        "scale (procurement, negotiated power, shared overhead) [0-1]. 0 = no cost synergies.",
        ge=0,
        lt=1,
    )
    acquisition_premium: float = _f(
        0.3,
        "Premium over the seller's own valuation (of the firm or the site) that a deal pays "
        "[-]. Fitted on the history replay's listed share (0.1 made listed buyers snowball: "
        "32% of hashrate in January 2022 against 17%); within the 20-40% control premia usual "
        "in public-company takeovers (assumption).",
        ge=0,
        le=5,
    )
    voluntary_exit_idle_days: int = _f(
        180,
        "A firm with no rigs for this long sells its sites and exits, unless it can pay their "
        "fixed costs for as long again and rigs on them have a positive NPV (then it waits, "
        "its sites in care and maintenance, and re-equips at its reviews) [days].",
        ge=1,
    )
    entry: bool = _f(True, "Entry of new firms on/off.")
    entry_rate_per_year: float = _f(
        40.0,
        "Potential entrants arriving per year (Poisson) [1/year]; each draws a project (size, "
        "power price, financing) and builds it only if its NPV at the entrant's own cost of "
        "capital is positive (abm.entry). Calibrated to the capital new firms brought into "
        "mining (no figure in CALIBRATION.md; assumption from public deals): 2021 ~$2-5B "
        "(Cipher Mining's $425M PIPE, Iris Energy's $232M IPO and $116M notes with $533M of rig "
        "commitments, Stronghold's $127M IPO, institutional bulk pre-orders >$500M for ~20 EH/s; "
        "2021 mining revenue ~$16B), 2024 ~$0.5-2B (Tether ~$500M over six months from Nov "
        "2023, new sites in Ethiopia ~600 MW; listed miners' $5B of 2024 raises went mostly to "
        "incumbents, TheMinerMag). See docs/model.md.",
        ge=0,
    )
    entrant_min_mw: float = _f(
        2.0, "Smallest potential entrant's site [MW]. Assumption: a few containers.", gt=0
    )
    entrant_max_mw: float = _f(
        400.0,
        "Largest potential entrant's site [MW]: builders of 5-20 EH/s at 20-25 J/TH. Source: "
        "Iris Energy ordered 14.5 EH/s (2021), Cipher planned ~745 MW, Tether 120 MW (2023) "
        "-> 450 MW planned by 2025; large sites hold 100-700 MW.",
        gt=0,
    )
    entrant_size_alpha: float = _f(
        0.5,
        "Pareto index of potential entrants' site sizes in MW, truncated to entrant_min_mw .. "
        "entrant_max_mw [-]: 0.5 makes ~7% of them 100 MW or more, mean ~28 MW. Assumption.",
        gt=0,
        le=5,
    )
    entrant_listed_min_mw: float = _f(
        100.0,
        "Entrants of at least this size raise public or institutional capital (kind listed: "
        "hurdle_rate_listed, listed debt terms); smaller ones are private (hurdle_rate_private) "
        "[MW]. Source: the 2021 builders of this size listed (Cipher, Iris Energy, TeraWulf, "
        "Stronghold); assumption.",
        ge=0,
    )
    entrant_listed_share: float = _f(
        0.5,
        "Share of the entrants of at least entrant_listed_min_mw that are listed; the rest are "
        "large private builders [0-1]. Source: of the large builders of 2021, about half "
        "listed (Cipher, Iris Energy, TeraWulf, Stronghold, Greenidge) and half stayed "
        "private for years (Core Scientific until 2022, Bitdeer until 2023, Rhodium, Compute "
        "North, US Bitcoin); assumption.",
        ge=0,
        le=1,
    )

    @model_validator(mode="after")
    def _check(self) -> ConsolidationConfig:
        if self.entrant_min_mw >= self.entrant_max_mw:
            raise ValueError("entrant_min_mw must be below entrant_max_mw")
        return self


class CapabilitiesConfig(Section):
    """Firm capabilities of the source essay (DESIGN.md): each a per-firm attribute drawn at
    creation from its own random stream, with a measurable effect. On in the baseline at the
    adoption shares below; ``enabled = false`` is the counterfactual without them."""

    enabled: bool = _f(
        True,
        "Master switch: false = no firm has any capability (the counterfactual without "
        "capabilities; the baseline has them at the adoption shares below).",
    )
    energy_access_prob_listed: float = _f(
        0.6,
        "Probability that a listed firm has energy access (wins power by negotiation) [0-1]. "
        "Assumption: most listed miners own or co-own sites with negotiated PPAs.",
        ge=0,
        le=1,
    )
    energy_access_prob_private: float = _f(
        0.15,
        "Probability that a private firm has energy access [0-1]. Assumption.",
        ge=0,
        le=1,
    )
    energy_price_discount: float = _f(
        0.25,
        "Discount on the expansion power price for new MW of a firm with energy access [0-1]. "
        "Source: listed miners' new sites at ~$30-35/MWh vs the ~$45 median (CALIBRATION.md).",
        ge=0,
        le=1,
    )
    energy_scale_discount_per_decade: float = _f(
        0.05,
        "Extra discount on new-MW power per tenfold of installed hashrate above 1 EH/s, for a "
        "firm with energy access (negotiated with scale) [0-1]. Assumption.",
        ge=0,
        le=0.5,
    )
    stranded_price_usd_per_mwh: float = _f(
        25.0,
        "Price of new MW for a firm with energy access whose source is stranded/flared gas or "
        "hydro, when lower than its discounted price [USD/MWh]. Source: own-plant and hydro "
        "miners at ~$18-32/MWh (Stronghold, Ethiopia; CALIBRATION.md); assumption.",
        ge=0,
    )
    energy_capex_discount: float = _f(
        0.10,
        "Discount on site capex per new MW for a firm with energy access [0-1]. Assumption: "
        "owned substations and scale in procurement.",
        ge=0,
        le=1,
    )
    interconnection_days: int = _f(
        365,
        "Interconnection lead time of new MW without energy access [days]; rigs bought for them "
        "wait. Assumption: large-load queues of 1-3 years (ERCOT, 2024-25).",
        ge=0,
        le=3650,
    )
    interconnection_days_access: int = _f(
        120,
        "Interconnection lead time of new MW with energy access [days]. Assumption: sites "
        "with power already secured (expansions behind existing interconnects).",
        ge=0,
        le=3650,
    )
    risk_managed_prob_listed: float = _f(
        0.5,
        "Probability that a listed firm is risk-managed (hedges, caps leverage, sells all "
        "mined BTC) [0-1]. Assumption: some listed miners hedge, most hold BTC (CALIBRATION.md).",
        ge=0,
        le=1,
    )
    risk_managed_prob_private: float = _f(
        0.1, "Probability that a private firm is risk-managed [0-1]. Assumption.", ge=0, le=1
    )
    hedge_ratio: float = _f(
        0.5,
        "Share of expected BTC production sold forward at each roll [0-1]: the firm sells "
        "ratio x the BTC it mined on the roll day, per day of the tenor. Assumption.",
        ge=0,
        le=1,
    )
    hedge_tenor_days: int = _f(
        90,
        "Tenor of each forward sale; hedges roll every tenor, all on the same days [days]. "
        "Assumption: quarterly programmes.",
        ge=1,
        le=3650,
    )
    hedge_cost: float = _f(
        0.01,
        "Cost of a hedge paid up front, as a share of its USD notional [0-1]. Assumption: "
        "spread and margin cost of OTC BTC forwards; forward price = spot (no carry).",
        ge=0,
        le=1,
    )
    leverage_factor: float = _f(
        0.5,
        "Risk-managed firms' loan-to-value limit and initial leverage x this factor [0-1]. "
        "Assumption.",
        ge=0,
        le=1,
    )
    flexible_prob_listed: float = _f(
        0.5,
        "Probability that a listed firm schedules compute by the hour (flexible) [0-1]. "
        "Assumption: Riot-style curtailment programmes at listed miners.",
        ge=0,
        le=1,
    )
    flexible_prob_private: float = _f(
        0.2, "Probability that a private firm is flexible [0-1]. Assumption.", ge=0, le=1
    )
    intraday_dispersion_log: dict[str, float] = _f(
        {"us": 0.5},
        "Sd of log hourly power-price multipliers by region [-] (regions not listed use "
        "intraday_dispersion_default). Assumption: ERCOT real-time prices swing widely.",
    )
    intraday_dispersion_default: float = _f(
        0.2, "Sd of log hourly power-price multipliers elsewhere [-]. Assumption.", ge=0, le=3
    )
    flex_credit_usd_per_mwh: dict[str, float] = _f(
        {"us": 10.0},
        "Demand-response credit earned by flexible firms per MWh released in the hours they "
        "curtail, by region (others: 0) [USD/MWh]. Source: ERCOT credits, Riot $31.7M in Aug "
        "2023 (CALIBRATION.md); level an assumption.",
    )

    @model_validator(mode="after")
    def _check_flex(self) -> CapabilitiesConfig:
        if any(v < 0 for v in self.intraday_dispersion_log.values()):
            raise ValueError("intraday_dispersion_log values must be >= 0")
        if any(v < 0 for v in self.flex_credit_usd_per_mwh.values()):
            raise ValueError("flex_credit_usd_per_mwh values must be >= 0")
        return self


class PoolSpec(Section):
    """A mining pool on day one: its calibrated share, payout scheme, fee, headquarters and owner
    (abm/pools.py)."""

    name: str = _f(..., "Pool name.")
    share: float = _f(
        0.0,
        "Share of network hashrate on day one [0-1]; public pools' shares are scaled to what the "
        "owned pools leave (an owned pool holds its owner's hashrate, whatever this says).",
        ge=0,
        le=1,
    )
    scheme: Literal["fpps", "pplns"] = _f(
        "fpps",
        "Payout scheme: fpps (full pay per share: the expected value of the miners' shares "
        "at the day's difficulty, subsidy and fees, whatever the pool finds; the pool carries "
        "the luck) or pplns (the blocks the pool found, shared by hashrate; miners carry the "
        "luck).",
    )
    fee: float = _f(
        0.02,
        "Fee on what the scheme pays [0-1]. Source: FPPS ~2-4%, PPLNS ~0-2% (CALIBRATION.md).",
        ge=0,
        lt=1,
    )
    region: str = _f(
        "other",
        "Headquarters region (a key of firms.region_mix; a region not in it is touched by no ban).",
    )
    owner: str = _f(
        "",
        "Name of the firm that runs the pool for itself and its subsidiaries ('' = an "
        "independent pool open to all); left out if no firm of the population has the name.",
    )
    templates_of: str = _f(
        "",
        "Name of the pool whose block templates this pool relays (a proxy pool; '' = builds "
        "its own); pool concentration counts it with that pool.",
    )


DEFAULT_POOLS: list[PoolSpec] = [
    PoolSpec(name="Foundry USA", share=0.304, scheme="fpps", fee=0.020, region="us"),
    PoolSpec(name="AntPool", share=0.214, scheme="fpps", fee=0.025, region="china"),
    PoolSpec(name="ViaBTC", share=0.137, scheme="fpps", fee=0.030, region="china"),
    PoolSpec(name="F2Pool", share=0.090, scheme="fpps", fee=0.025, region="china"),
    PoolSpec(name="SpiderPool", share=0.075, scheme="fpps", fee=0.020, region="china"),
    PoolSpec(
        name="AntPool proxies",
        share=0.070,
        scheme="fpps",
        fee=0.025,
        region="china",
        templates_of="AntPool",
    ),
    PoolSpec(name="MARA Pool", scheme="pplns", fee=0.005, region="us", owner="Listed-01"),
    PoolSpec(name="Others", share=0.060, scheme="pplns", fee=0.010, region="other"),
]


class PoolsConfig(Section):
    """Mining pools (abm/pools.py): where each firm's hashrate points, who finds the blocks, and
    how each pool pays. Off: every miner is paid by hash share less ``protocol.pool_fee``."""

    enabled: bool = _f(
        False,
        "Model pools; false: one pooled payout by hash share less protocol.pool_fee. Off by "
        "default until the headline studies are re-run with them (the baseline with pools "
        "off is the engine of README's findings (a)-(c) bit for bit); study (d) turns them on.",
    )
    pools: list[PoolSpec] = _f(
        list(DEFAULT_POOLS),
        "The pools on day one ([[pools.pools]]). Sources: 20 Mar 2025 (mempool.space) Foundry "
        "246, AntPool 173, ViaBTC 111 of 809.65 EH/s; Foundry 36.5% at end 2024; several small "
        "pools relay AntPool's templates; FPPS 2-4%, PPLNS 0-2% (CALIBRATION.md). F2Pool, "
        "SpiderPool, the proxies' shares and each pool's fee within its scheme's range: "
        "assumption (public pool charts, 2025). MARA Pool: the largest firm's own pool "
        "(fee: its running cost).",
    )
    choice_noise: float = _f(
        0.01,
        "Scale of the idiosyncratic part of a pool's value to a miner (logit) [share of "
        "revenue]. Assumption.",
        gt=0,
        le=1,
    )
    switch_prob: float = _f(
        0.1,
        "Probability that a firm reconsiders its pool at a fleet review (inertia) [0-1]. "
        "Assumption.",
        ge=0,
        le=1,
    )
    switching_cost: float = _f(
        0.01,
        "Value of staying in the current pool (reconfiguration, relationship) [share of "
        "revenue]. Assumption.",
        ge=0,
        le=1,
    )
    risk_aversion_small: float = _f(
        2.0,
        "Small firms' aversion to the variance of a day's payout relative to its expectation "
        "(mean-variance, per unit of expected revenue) [-]. Assumption: thin cash buffers.",
        ge=0,
        le=1000,
    )
    risk_aversion_medium: float = _f(
        0.5, "Medium firms' aversion to payout variance [-]. Assumption.", ge=0, le=1000
    )
    risk_aversion_large: float = _f(
        0.1, "Large firms' aversion to payout variance [-]. Assumption.", ge=0, le=1000
    )
    risk_aversion_sovereign: float = _f(
        0.5,
        "Sovereigns' aversion to payout variance [-]. Assumption: states' budgets absorb it.",
        ge=0,
        le=1000,
    )
    own_pool_min_share: float = _f(
        0.06,
        "Share of network hashrate an owner (with its subsidiaries) needs before running its "
        "own pool [0-1]. Assumption: MARA (~5-6%) runs one; firms of ~4-5% use Foundry.",
        gt=0,
        le=1,
    )
    own_pool_cost: float = _f(
        0.005,
        "Cost of running an own pool (staff, servers), the fee it charges its owner [share of "
        "revenue]. Assumption.",
        ge=0,
        lt=1,
    )
    fee_period_days: int = _f(
        30, "Pools revise their fees every N days [days]. Assumption.", ge=1, le=3650
    )
    fee_size_slope: float = _f(
        0.05,
        "Fee change per unit change of a pool's share since day one [fee per share]. Source: "
        "larger pools charge higher fees and grow more slowly (Cong, He & Li 2021); slope an "
        "assumption.",
        ge=0,
        le=1,
    )
    fee_competition: float = _f(
        0.5,
        "Fee change per unit change of the competitors' mean fee since day one [-]. Assumption.",
        ge=0,
        le=1,
    )
    fee_adjust: float = _f(
        0.5,
        "Share of the gap to its target fee a pool closes at each revision [0-1]. Assumption.",
        ge=0,
        le=1,
    )
    fee_max: float = _f(0.05, "Highest fee a pool charges [0-1]. Assumption.", ge=0, lt=1)
    reserve_days: float = _f(
        30.0,
        "An FPPS pool's reserve on day one, in days of its expected payout; it fails when fees "
        "and luck have run the reserve below 0 [days]. Assumption.",
        ge=0,
        le=3650,
    )
    world_fee_sensitivity: float = _f(
        20.0,
        "The rest of the world's miners spread their hashrate over the open public pools by "
        "their day-one weights x exp(-sensitivity x fee change since day one) [1/fee]. "
        "Assumption.",
        ge=0,
        le=1000,
    )

    @model_validator(mode="after")
    def _check_pools(self) -> PoolsConfig:
        names = [p.name for p in self.pools]
        if len(set(names)) != len(names):
            raise ValueError("pool names must be distinct")
        public = [p for p in self.pools if not p.owner]
        if self.enabled and not public:
            raise ValueError("pools.enabled needs at least one independent pool")
        if self.enabled and sum(p.share for p in public) <= 0:
            raise ValueError("the independent pools' shares must sum to more than 0")
        for p in self.pools:
            if p.templates_of and p.templates_of not in names:
                raise ValueError(f"pool {p.name!r}: templates_of {p.templates_of!r} is no pool")
        return self


class DemandPoint(Section):
    date: dt.date = _f(..., "Date of this point of the AI demand path [date].")
    multiplier: float = _f(..., "Tender arrival rate relative to the base rate [-].", ge=0)


class InitialContract(Section):
    """A miner-HPC hosting contract signed before the run starts (initial state)."""

    deal: str = _f(..., "Label of the deal (who signed with whom).")
    signed: dt.date = _f(
        ..., "Signing date [date]; deals signed on or after the start are left out."
    )
    mw: float = _f(..., "Contracted critical-IT capacity [MW].", gt=0)
    term_years: int = _f(..., "Contract term from the first operating day [years].", ge=1, le=40)
    price_usd_per_mw_year: float = _f(..., "Contracted price [USD/MW-year].", gt=0)


# The 2024-25 miner-HPC leases of CALIBRATION.md (MW, term, value -> USD per MW-year). Years
# and figures from CALIBRATION.md; months from the deals' announcements (approximate).
# Left out: IREN - Microsoft (a GPU cloud service priced with the hardware, not a lease of
# powered shell) and Cipher - Fluidstack +39 MW (term not documented).
_INITIAL_CONTRACTS_2024_25: list[dict[str, Any]] = [
    {
        "deal": "Core Scientific - CoreWeave",
        "signed": dt.date(2024, 6, 1),
        "mw": 500.0,
        "term_years": 12,
        "price_usd_per_mw_year": 1.45e6,
    },
    {
        "deal": "Galaxy - CoreWeave",
        "signed": dt.date(2025, 5, 1),
        "mw": 800.0,
        "term_years": 15,
        "price_usd_per_mw_year": 1.25e6,
    },
    {
        "deal": "Applied Digital - CoreWeave",
        "signed": dt.date(2025, 6, 1),
        "mw": 400.0,
        "term_years": 15,
        "price_usd_per_mw_year": 1.8e6,
    },
    {
        "deal": "TeraWulf - Fluidstack (Google backstop)",
        "signed": dt.date(2025, 8, 1),
        "mw": 360.0,
        "term_years": 10,
        "price_usd_per_mw_year": 1.85e6,
    },
    {
        "deal": "Cipher - Fluidstack (Google backstop)",
        "signed": dt.date(2025, 9, 1),
        "mw": 168.0,
        "term_years": 10,
        "price_usd_per_mw_year": 1.8e6,
    },
    {
        "deal": "Cipher - AWS",
        "signed": dt.date(2025, 11, 1),
        "mw": 300.0,
        "term_years": 15,
        "price_usd_per_mw_year": 1.2e6,
    },
    {
        "deal": "Hut 8 - Fluidstack (Anthropic)",
        "signed": dt.date(2025, 12, 1),
        "mw": 245.0,
        "term_years": 15,
        "price_usd_per_mw_year": 1.9e6,
    },
]


Strategy = Literal["pure", "hybrid", "pivot"]


class AIConfig(Section):
    """AI/HPC hosting: tenders for powered, reliable capacity on long contracts (abm.contracts)."""

    enabled: bool = _f(True, "AI/HPC hosting market on/off.")
    tender_rate_per_year: float = _f(
        5.0,
        "Tenders offered to miners per year at the start [1/year]. Source: seven 168-800 MW "
        "miner deals in 2024-25 (CALIBRATION.md).",
        ge=0,
    )
    demand_growth_per_year: float = _f(
        0.15, "Growth of the tender arrival rate [1/year]. Assumption.", ge=-0.9, le=5
    )
    demand_path: list[DemandPoint] = _f(
        [],
        "Optional multiplier path on the arrival rate (linear between points, flat outside; "
        "applied on top of the growth) ([[ai.demand_path]]).",
    )
    tender_mw_min: float = _f(100.0, "Smallest tender (log-uniform) [MW].", gt=0)
    tender_mw_max: float = _f(800.0, "Largest tender [MW]. Source: 2024-25 deals 168-800 MW.", gt=0)
    term_years_min: int = _f(10, "Shortest contract term [years].", ge=1, le=40)
    term_years_max: int = _f(15, "Longest contract term [years]. Source: 10-15 years.", ge=1, le=40)
    price_min_usd_per_mw_year: float = _f(
        1.2e6,
        "Lowest tenant maximum price (uniform) [USD/MW-year]. Source: Cipher-AWS ~1.2.",
        gt=0,
    )
    price_max_usd_per_mw_year: float = _f(
        1.9e6,
        "Highest tenant maximum price [USD/MW-year]. Source: Hut 8-Anthropic ~1.9.",
        gt=0,
    )
    deadline_days_min: int = _f(
        450, "Shortest delivery deadline from the tender [days]. Assumption.", ge=1
    )
    deadline_days_max: int = _f(730, "Longest delivery deadline [days]. Assumption.", ge=1)
    uptime_options: list[float] = _f(
        [0.9998],
        "Uptime a tender requires, drawn uniformly from this list per tender [0-1]. Source: "
        "Tier III 99.98%.",
        min_length=1,
    )
    redundancy_capex_usd_per_mw: float = _f(
        1.0e6,
        "Redundancy (backup power, dual feeds) a site needs when its daily outage probability "
        "exceeds 1 - the tender's uptime requirement [USD/MW]. Assumption.",
        ge=0,
    )
    max_outage_prob_with_redundancy: float = _f(
        0.015,
        "Sites with a higher daily outage probability cannot qualify at all [1/day] "
        "(default: stranded, off-grid sites).",
        ge=0,
        le=1,
    )
    reliability_weight: float = _f(
        5.0,
        "Tenants score bids as price x (1 + weight x site outage probability per day) [-].",
        ge=0,
    )
    conversion_capex_usd_per_mw: float = _f(
        9.5e6, "Conversion capex per critical-IT MW [USD/MW]. Source: $8-11M/MW.", ge=0
    )
    tenant_capex_share: float = _f(
        0.3,
        "Share of the conversion capex the tenant funds [0-1]. Source: 'tenant sometimes "
        "funds most of it' (CALIBRATION.md); assumption.",
        ge=0,
        le=1,
    )
    listed_equity_share_of_nav: float = _f(
        0.5,
        "Listed firms may fund their equity share of a conversion by issuing shares worth up "
        "to this share of their net asset value [0-1]. Source: 2024-25 equity and convertible "
        "raises for HPC (CALIBRATION.md); assumption.",
        ge=0,
        le=5,
    )
    loan_to_cost: float = _f(
        0.8, "Project debt as a share of the miner's capex [0-1]. Source: 80-85%.", ge=0, lt=1
    )
    project_rate: float = _f(
        0.075, "Coupon of project debt [1/year]. Source: HPC notes 7.1-7.75%.", ge=0, le=1
    )
    build_days_min: int = _f(365, "Fastest conversion [days]. Source: 12-18 months.", ge=1)
    build_days_max: int = _f(545, "Slowest conversion [days].", ge=1)
    opex_usd_per_mw_year: float = _f(
        0.2e6,
        "Operating cost of hosted capacity [USD/MW-year] (power passes through to the tenant). "
        "Source: NOI margins 80-90% at $1.2-1.9M/MW-year.",
        ge=0,
    )
    tenant_default_prob_per_year: float = _f(
        0.01,
        "Probability that a tenant defaults, per contract-year [1/year]. Assumption.",
        ge=0,
        le=1,
    )
    renewal_prob: float = _f(
        0.6,
        "Probability that a contract is renewed at its end (same price, same term) [0-1].",
        ge=0,
        le=1,
    )
    min_award_mw: float = _f(50.0, "Smallest block of MW a firm offers [MW].", gt=0)
    hybrid_max_share: float = _f(
        0.2,
        "Share of a hybrid firm's sites it may convert [0-1]. Source: ~20% of a mining "
        "portfolio is convertible.",
        ge=0,
        le=1,
    )
    pivot_max_share: float = _f(
        1.0, "Share of an AI-pivot firm's sites it may convert [0-1].", ge=0, le=1
    )
    strategy_mix_listed: dict[Strategy, float] = _f(
        {"pure": 0.4, "hybrid": 0.45, "pivot": 0.15},
        "Strategy shares of listed firms [0-1]. Source: 2025 listed miners with HPC deals "
        "(Core Scientific, TeraWulf, Cipher, Hut 8, IREN, Galaxy, Applied Digital) vs "
        "mining-focused ones (CALIBRATION.md); assumption.",
    )
    strategy_mix_private: dict[Strategy, float] = _f(
        {"pure": 0.9, "hybrid": 0.1, "pivot": 0.0},
        "Strategy shares of private firms and entrants [0-1]. Assumption.",
    )
    initial_contracts: list[InitialContract] = _f(
        [InitialContract(**c) for c in _INITIAL_CONTRACTS_2024_25],
        "Hosting contracts signed before the start, held on day one by listed firms of the "
        "calibrated population drawn in proportion to their eligible MW (one deal each), on a "
        "site of their own beside their "
        "mining sites (the observed hashrate excludes them); a deal operates from signing + "
        "the firm's build time; holders pivot to AI (abm.contracts.seed_contracts) "
        "([[ai.initial_contracts]]). "
        "Source: the seven 2024-25 miner-HPC leases, 2,773 MW (CALIBRATION.md).",
    )

    @model_validator(mode="after")
    def _check(self) -> AIConfig:
        for lo, hi in (
            ("tender_mw_min", "tender_mw_max"),
            ("term_years_min", "term_years_max"),
            ("price_min_usd_per_mw_year", "price_max_usd_per_mw_year"),
            ("deadline_days_min", "deadline_days_max"),
            ("build_days_min", "build_days_max"),
        ):
            if getattr(self, lo) > getattr(self, hi):
                raise ValueError(f"{lo} must not exceed {hi}")
        for name in ("strategy_mix_listed", "strategy_mix_private"):
            mix = getattr(self, name)
            total = sum(mix.values())
            if abs(total - 1.0) > 1e-6 or any(v < 0 for v in mix.values()):
                raise ValueError(f"{name} must be non-negative shares summing to 1 (got {total})")
        dates = [p.date for p in self.demand_path]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("demand_path dates must be strictly increasing")
        if any(not 0 < u < 1 for u in self.uptime_options):
            raise ValueError("uptime_options must lie strictly between 0 and 1")
        return self


# --------------------------------------------------------------------------------------------
# Scheduled events ([[events]], each with a `kind`)
class RegionalBan(Section):
    """Mining is banned in a region: a share of each firm's sites there stops on the date; part
    of the stopped rigs relocates (back after `relocation_days`, at a cost per MW, into
    `to_region`), the rest is sold abroad at the secondary price; banned sites are worthless."""

    kind: Literal["regional_ban"] = "regional_ban"
    date: dt.date = _f(..., "Date the ban takes effect [date].")
    region: str = _f(..., "Region banned (a key of firms.region_mix).")
    share: float = _f(1.0, "Share of each firm's capacity in the region stopped [0-1].", ge=0, le=1)
    relocate_share: float = _f(
        0.5, "Share of the stopped rigs that relocates rather than being sold [0-1].", ge=0, le=1
    )
    relocation_days: int = _f(120, "Days until relocated rigs run again [days].", ge=1)
    relocation_cost_usd_per_mw: float = _f(
        150_000.0, "Cost of moving rigs and building new sites per MW moved [USD/MW].", ge=0
    )
    to_region: str = _f("other", "Region that relocated rigs move to.")
    shut_pools: bool = _f(
        False, "A full ban (share 1) also shuts the pools headquartered in the region."
    )
    relocated_price_usd_per_mwh: float | None = _f(
        None,
        "Power price of the sites the relocated rigs move to [USD/MWh]; default: the market "
        "price of new power (energy.expansion_price_usd_per_mwh).",
        gt=0,
    )


class GridEmergency(Section):
    """A storm or grid emergency: a region's sites are curtailed for some days; firms are paid
    demand-response credits for the MW they release."""

    kind: Literal["grid_emergency"] = "grid_emergency"
    date: dt.date = _f(..., "First day of the emergency [date].")
    region: str = _f(..., "Region curtailed (a key of firms.region_mix).")
    days: int = _f(3, "Duration [days].", ge=1)
    curtailed_share: float = _f(1.0, "Share of capacity curtailed [0-1].", ge=0, le=1)
    credit_usd_per_mwh: float = _f(
        0.0, "Demand-response credit per MWh of curtailed capacity [USD/MWh].", ge=0
    )


class PriceShockEvent(Section):
    """A jump in the BTC price path (as [[price.shocks]])."""

    kind: Literal["price_shock"] = "price_shock"
    date: dt.date = _f(..., "First day of the shock [date].")
    change: float = _f(..., "Total relative change, e.g. -0.5 [-].", gt=-1)
    days: int = _f(1, "Days over which the change builds up [days].", ge=1)


class TariffChange(Section):
    """From the date, power in a region (or everywhere) costs (1 + price_change) x the old
    price plus a levy."""

    kind: Literal["tariff_change"] = "tariff_change"
    date: dt.date = _f(..., "Date of the change [date].")
    region: str = _f("all", "Region (a key of firms.region_mix) or 'all'.")
    price_change: float = _f(0.0, "Relative change of power prices [-].", gt=-1, le=10)
    levy_usd_per_mwh: float = _f(0.0, "Levy added per MWh [USD/MWh].", ge=-1000, le=1000)


class SovereignProgramme(Section):
    """A sovereign programme starts, stops or changes scale: from the date its capacity path is
    multiplied by `scale` (0 stops it)."""

    kind: Literal["sovereign_programme"] = "sovereign_programme"
    date: dt.date = _f(..., "Date of the change [date].")
    name: str = _f(..., "Name of the sovereign ([[sovereigns]] name).")
    scale: float = _f(0.0, "Multiplier on its capacity path from the date [-].", ge=0, le=100)


class AIDemandShock(Section):
    """AI tender arrivals are multiplied by `multiplier` from the date."""

    kind: Literal["ai_demand_shock"] = "ai_demand_shock"
    date: dt.date = _f(..., "Date of the shock [date].")
    multiplier: float = _f(..., "Multiplier on the tender arrival rate [-].", ge=0, le=100)


class PoolExit(Section):
    """A pool closes on the date (it fails, or its operator quits); its miners choose again."""

    kind: Literal["pool_exit"] = "pool_exit"
    date: dt.date = _f(..., "Date the pool closes [date].")
    pool: str = _f(..., "Name of the pool (a [[pools.pools]] name).")


class PoolFeeWar(Section):
    """From the date the named pools (none named: every independent pool) charge `fee` for
    `days` days; then their fee rule resumes from it."""

    kind: Literal["pool_fee_war"] = "pool_fee_war"
    date: dt.date = _f(..., "First day of the fee war [date].")
    pools: list[str] = _f([], "Pools that cut their fees ([] = every independent pool).")
    fee: float = _f(0.0, "Fee they charge meanwhile [0-1].", ge=0, lt=1)
    days: int = _f(365, "Duration [days].", ge=1)


class PoolShareCap(Section):
    """A policy: from the date no pool may hold more than `cap` of the network hashrate; a pool
    at the cap turns hashrate away (the rest of the world's first, then its smallest firms)."""

    kind: Literal["pool_share_cap"] = "pool_share_cap"
    date: dt.date = _f(..., "Date the cap applies from [date].")
    cap: float = _f(..., "Largest share of network hashrate any pool may hold [0-1].", gt=0, le=1)


Event = Annotated[
    RegionalBan
    | GridEmergency
    | PriceShockEvent
    | TariffChange
    | SovereignProgramme
    | AIDemandShock
    | PoolExit
    | PoolFeeWar
    | PoolShareCap,
    Field(discriminator="kind"),
]


class CapacityPoint(Section):
    date: dt.date = _f(..., "Date of this point of the policy path [date].")
    mw: float = _f(..., "Power capacity committed to mining from this date [MW].", ge=0)


class SovereignSpec(Section):
    """A state participant mining with surplus energy (a Mesa SovereignMiner agent)."""

    name: str = _f(..., "Name.")
    enabled: bool = _f(True, "Include this sovereign (false: the counterfactual without it).")
    capacity_path: list[CapacityPoint] = _f(
        ...,
        "Policy path of capacity: linear between points, 0 before the first, flat after.",
        min_length=1,
    )
    power_cost_usd_per_mwh: float = _f(
        20.0,
        "Opportunity cost of its energy (0 for stranded surplus, else export price) [USD/MWh].",
        ge=0,
    )
    source: Literal["hydro", "wind", "solar", "gas", "grid", "stranded"] = _f(
        "hydro", "Primary energy source."
    )
    region: str = _f("other", "Region (a key of firms.region_mix).")
    off_season_months: list[int] = _f([], "Months when its energy is (partly) unavailable.")
    off_season_availability: float = _f(
        0.0, "Share of capacity available in the off season [0-1].", ge=0, le=1
    )
    budget_usd: float = _f(
        0.0, "Hardware budget for procurement at market prices over the run [USD].", ge=0
    )
    yearly_budget_usd: float = _f(
        0.0, "Added to the hardware budget at each anniversary of the start date [USD/year].", ge=0
    )
    funding: Literal["budget", "reinvest"] = _f(
        "budget",
        "How the programme pays for rigs: 'budget' from its hardware budget only (when that is "
        "spent, the programme shrinks as its rigs fail); 'reinvest' from the budget and then "
        "by selling BTC it holds (mined or initial), so a profitable programme keeps its MW "
        "path filled with frontier rigs.",
    )
    hurdle_rate: float = _f(0.05, "Discount rate of the state's patient capital [1/year].", gt=0)
    hold_fraction: float = _f(1.0, "Share of mined BTC kept [0-1].", ge=0, le=1)
    sell_down_per_year: float = _f(
        0.0, "Share of BTC holdings sold per year [1/year].", ge=0, le=10
    )
    initial_btc: float = _f(0.0, "BTC held on the start date [BTC].", ge=0)

    @model_validator(mode="after")
    def _check(self) -> SovereignSpec:
        dates = [p.date for p in self.capacity_path]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError(f"{self.name}: capacity_path dates must be strictly increasing")
        if any(not 1 <= mth <= 12 for mth in self.off_season_months):
            raise ValueError(f"{self.name}: off_season_months must be month numbers 1-12")
        return self


def _cp(points: list[tuple[dt.date, float]]) -> list[CapacityPoint]:
    return [CapacityPoint(date=d, mw=mw) for d, mw in points]


DEFAULT_SOVEREIGNS: list[SovereignSpec] = [
    SovereignSpec(
        name="Bhutan-like hydro",
        capacity_path=_cp([(dt.date(2026, 1, 1), 400.0), (dt.date(2026, 12, 31), 600.0)]),
        power_cost_usd_per_mwh=20.0,
        source="hydro",
        off_season_months=[12, 1, 2],
        off_season_availability=0.0,
        budget_usd=300e6,
        funding="reinvest",
        hold_fraction=1.0,
        sell_down_per_year=0.5,
        initial_btc=6000.0,
    ),
    SovereignSpec(
        name="UAE-like",
        capacity_path=_cp([(dt.date(2026, 1, 1), 250.0)]),
        power_cost_usd_per_mwh=25.0,
        source="gas",
        budget_usd=200e6,
        funding="reinvest",
        initial_btc=9300.0,
    ),
    SovereignSpec(
        name="El Salvador-like geothermal",
        capacity_path=_cp([(dt.date(2026, 1, 1), 1.5)]),
        power_cost_usd_per_mwh=0.0,
        source="stranded",
        budget_usd=2e6,
        initial_btc=474.0,
    ),
]


class Scenario(Section):
    """A complete, validated simulation scenario (defaults = the calibrated 2026 baseline)."""

    name: str = _f("baseline", "Scenario name.")
    description: str = _f(
        "Calibrated baseline: the Bitcoin mining industry on 2026-01-01 (CALIBRATION.md).",
        "Free text.",
    )
    run: RunConfig = RunConfig()
    protocol: ProtocolConfig = ProtocolConfig()
    fees: FeeConfig = FeeConfig()
    price: PriceConfig = PriceConfig()
    hardware: HardwareConfig = HardwareConfig()
    asic: AsicConfig = AsicConfig()
    used_rigs: UsedRigConfig = UsedRigConfig()
    world: WorldConfig = WorldConfig()
    energy: EnergyConfig = EnergyConfig()
    firms: FirmsConfig = FirmsConfig()
    sites: SitesConfig = SitesConfig()
    behaviour: BehaviourConfig = BehaviourConfig()
    operation: OperationConfig = OperationConfig()
    finance: FinanceConfig = FinanceConfig()
    equity: EquityConfig = EquityConfig()
    consolidation: ConsolidationConfig = ConsolidationConfig()
    ai: AIConfig = AIConfig()
    capabilities: CapabilitiesConfig = CapabilitiesConfig()
    pools: PoolsConfig = PoolsConfig()
    sovereign_scale: float = _f(
        1.0,
        "Multiplier on every sovereign's capacity path and hardware budget [-]; 0 removes "
        "them, ~5 takes the default ones to ~20% of hashrate (a knob for sweeps).",
        ge=0,
        le=100,
    )
    events: list[Event] = _f(
        [],
        "Scheduled events ([[events]] with kind = regional_ban, grid_emergency, price_shock, "
        "tariff_change, sovereign_programme, ai_demand_shock, pool_exit, pool_fee_war or "
        "pool_share_cap); see abm/events.py and abm/pools.py.",
    )
    sovereigns: list[SovereignSpec] = _f(
        list(DEFAULT_SOVEREIGNS),
        "State participants ([[sovereigns]]). Sources: Bhutan ~100 -> 600 MW hydro with a "
        "winter shutdown, ~13,000 BTC (Sep 2024) sold down to ~5,700 (Feb 2026); UAE ~9,300 "
        "BTC mined since 2022, ~0.9% of hashrate; El Salvador 1.5 MW geothermal, ~474 BTC "
        "(CALIBRATION.md).",
    )

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        regions = set(self.firms.region_mix)
        names = {s.name for s in self.sovereigns}
        pool_names = {p.name for p in self.pools.pools}
        for i, e in enumerate(self.events):
            for field in ("region", "to_region"):
                r = getattr(e, field, None)
                if r is not None and r != "all" and r not in regions:
                    raise ValueError(
                        f"events[{i}] ({e.kind}): {field} {r!r} is not a region of "
                        f"firms.region_mix {sorted(regions)}"
                    )
            if isinstance(e, SovereignProgramme) and e.name not in names:
                raise ValueError(f"events[{i}]: no sovereign named {e.name!r}")
            named = [e.pool] if isinstance(e, PoolExit) else getattr(e, "pools", [])
            for pool in named:
                if pool not in pool_names:
                    raise ValueError(f"events[{i}] ({e.kind}): no pool named {pool!r}")
        for s in self.sovereigns:
            if s.region not in regions:
                raise ValueError(f"sovereign {s.name!r}: region {s.region!r} not in region_mix")
        return self

    @model_validator(mode="after")
    def _plausible(self) -> Scenario:
        from abm.plausibility import problems  # (it uses the model's own path functions)

        found = problems(self)
        if found:
            raise ValueError("; ".join(found))
        return self

    # -- I/O -------------------------------------------------------------------------------
    def to_toml(self) -> str:
        """Serialise the resolved scenario (every parameter) as TOML."""
        data = self.model_dump(mode="json", exclude_none=True)
        return tomli_w.dumps(data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_toml())

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A copy with dotted-path overrides, e.g. {'price.volatility_per_year': 0.6}."""
        data = self.model_dump(mode="python")
        for path, value in overrides.items():
            node = data
            keys = path.split(".")
            for k in keys[:-1]:
                if not isinstance(node, dict) or k not in node:
                    raise ScenarioError(f"{path}: no such scenario parameter")
                node = node[k]
            if not isinstance(node, dict) or keys[-1] not in node:
                raise ScenarioError(f"{path}: no such scenario parameter")
            node[keys[-1]] = value
        return scenario_from_dict(data, origin="overrides")


def _format_errors(err: ValidationError, origin: str) -> str:
    lines = [f"{origin}: invalid scenario"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "scenario"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown parameter"
        got = e.get("input")
        shown = "" if isinstance(got, dict | BaseModel) else f" (got {got!r})"  # (a section)
        lines.append(f"  {loc}: {msg}{shown}")
    return "\n".join(lines)


def scenario_from_dict(data: dict[str, Any], origin: str = "scenario") -> Scenario:
    """Validate a nested dict into a Scenario, raising ScenarioError naming each bad field."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_format_errors(err, origin)) from None


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Load a scenario TOML file (missing keys take the baseline defaults); None = baseline.

    A file must give at least the scenario's ``name``: an empty file, or one without a name,
    would otherwise run as (and write over the results of) the baseline.
    """
    if path is None:
        return Scenario()
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"{p}: scenario file not found")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{p}: not valid TOML: {err}") from None
    if not data:
        raise ScenarioError(f'{p}: empty scenario: give at least `name = "..."`')
    sc = scenario_from_dict(data, origin=str(p))
    if "name" not in data:
        raise ScenarioError(
            f'{p}: no `name`: give the scenario a name (name = "..."); without one it would '
            "run as, and write over the results of, the baseline"
        )
    return sc


def parameter_table(model: type[BaseModel] = Scenario, prefix: str = "") -> list[dict[str, str]]:
    """Rows (parameter, default, description) for every leaf parameter, for documentation."""
    rows: list[dict[str, str]] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        path = f"{prefix}{name}"
        if isinstance(ann, type) and issubclass(ann, Section):
            rows.extend(parameter_table(ann, prefix=f"{path}."))
            continue
        default = field.default
        if isinstance(default, list) and default and isinstance(default[0], BaseModel):
            shown = f"{len(default)} entries"
        elif isinstance(default, dict):
            shown = ", ".join(f"{k}={v}" for k, v in default.items())
        elif isinstance(default, dt.date):
            shown = default.isoformat()
        else:
            shown = repr(default) if not isinstance(default, str) else default
        rows.append({"parameter": path, "default": shown, "description": field.description or ""})
    return rows
