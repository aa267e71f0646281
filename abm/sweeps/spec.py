"""Sweep specification: a validated TOML document like a scenario.

base = "baseline.toml"            # scenario file, relative to the spec (omit: baseline)
replications = 5                  # runs per design point
root_seed = 2026                  # every run's seed is spawned from this SeedSequence
years = 5.0                       # horizon override (omit: the scenario's)

[overrides]                       # dotted paths applied to the base for every run
"firms.n_firms" = 300

[design]
kind = "lhs"                      # grid | lhs | sobol
n = 40                            # LHS points, or Sobol base samples N
second_order = false              # Sobol: N (2D + 2) points if true, N (D + 2) if false

[parameters."price.volatility_per_year"]
low = 0.3
high = 0.9                        # (grid: levels = [0.3, 0.6, 0.9])

[outputs]
timeseries = false                # also keep per-run time series
cadence_days = 30
columns = ["network_hashrate_ehs", "hhi_owner"]
sensitivity = ["hhi_owner_end", "small_firm_survival"]   # Sobol indices of these
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from abm.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["SweepSpec", "SweepSpecError", "load_spec"]


class SweepSpecError(ValueError):
    """A sweep specification is invalid; the message names the field at fault."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParamRange(_Section):
    low: float | None = Field(None, description="Lower bound (lhs, sobol).")
    high: float | None = Field(None, description="Upper bound (lhs, sobol).")
    levels: list[Any] | None = Field(None, description="Values (grid).", min_length=1)
    integer: bool = Field(False, description="Round sampled values to integers.")

    @model_validator(mode="after")
    def _check(self) -> ParamRange:
        if self.levels is None and (self.low is None or self.high is None):
            raise ValueError("give either levels = [...] or low and high")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class Design(_Section):
    kind: Literal["grid", "lhs", "sobol"] = Field("grid", description="Design of experiments.")
    n: int = Field(16, ge=1, description="LHS points, or Sobol base samples N (a power of 2).")
    second_order: bool = Field(False, description="Sobol: second-order indices too.")


class Outputs(_Section):
    timeseries: bool = Field(False, description="Keep per-run time series.")
    cadence_days: int = Field(30, ge=1, description="Keep every N-th day of the time series.")
    columns: list[str] = Field(
        ["network_hashrate_ehs", "hashprice_usd_per_ph_day", "hhi_owner", "surviving_small"],
        description="Time-series columns to keep.",
    )
    sensitivity: list[str] = Field(
        ["hhi_owner_end", "small_firm_survival"], description="Outputs for Sobol indices."
    )


class SweepSpec(_Section):
    name: str = Field("sweep", description="Sweep name.")
    base: str | None = Field(None, description="Base scenario file (relative to the spec).")
    overrides: dict[str, Any] = Field({}, description="Dotted-path overrides for every run.")
    parameters: dict[str, ParamRange] = Field(..., min_length=1)
    design: Design = Design()
    replications: int = Field(1, ge=1, le=10_000)
    root_seed: int = Field(0, ge=0)
    common_seeds: bool = Field(
        False,
        description="Use the same seeds at every design point (replication r gets the same "
        "seed everywhere), so points are paired comparisons with common random numbers.",
    )
    years: float | None = Field(None, gt=0, le=60)
    outputs: Outputs = Outputs()

    # resolved at load time (not part of the TOML)
    _base_dir: Path = Path()

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        kind = self.design.kind
        for path, r in self.parameters.items():
            if kind == "grid" and r.levels is None:
                raise ValueError(f"parameters.{path}: a grid needs levels = [...]")
            if kind != "grid" and (r.low is None or r.high is None):
                raise ValueError(f"parameters.{path}: {kind} needs low and high")
        return self

    def base_scenario(self) -> Scenario:
        """The base scenario with the spec's overrides (validated)."""
        base = load_scenario(self._base_dir / self.base if self.base else None)
        sc = base.with_overrides(self.overrides) if self.overrides else base
        return sc.with_overrides({"run.years": self.years}) if self.years else sc

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))

    def digest(self) -> str:
        """Hash of the resolved spec: a results directory belongs to exactly one spec."""
        return hashlib.sha256(self.to_toml().encode()).hexdigest()[:16]


def _format(err: ValidationError, origin: str) -> str:
    lines = [f"{origin}: invalid sweep specification"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def load_spec(path: str | Path) -> SweepSpec:
    """Load and validate a sweep TOML; every parameter path must exist in the scenario."""
    p = Path(path)
    if not p.is_file():
        raise SweepSpecError(f"{p}: sweep specification not found")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as err:
        raise SweepSpecError(f"{p}: not valid TOML: {err}") from None
    return spec_from_dict(data, base_dir=p.parent, origin=str(p))


def spec_from_dict(data: dict, base_dir: Path = Path(), origin: str = "sweep") -> SweepSpec:
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        raise SweepSpecError(_format(err, origin)) from None
    spec._base_dir = Path(base_dir)
    try:
        base = spec.base_scenario()
        for path, r in spec.parameters.items():
            value = r.levels[0] if r.levels is not None else r.low
            base.with_overrides({path: int(value) if r.integer else value})
    except ScenarioError as err:
        raise SweepSpecError(f"{origin}: {err}") from None
    return spec
