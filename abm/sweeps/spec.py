"""Sweep specification: a validated TOML document like a scenario.

    name = "price_energy"
    base = "baseline.toml"          # scenario file, relative to the spec (omit: the baseline)
    replications = 5                # runs per design point
    root_seed = 2026                # every run's seed is spawned from this SeedSequence
    common_seeds = false            # same seeds at every point (default: true for Sobol)
    years = 5.0                     # horizon [years] (omit: the scenario's run.years)

    [overrides]                     # dotted paths applied to the base for every run
    "firms.n_firms" = 300

    [design]
    kind = "lhs"                    # grid | lhs | sobol
    n = 40                          # LHS points, or Sobol base samples N (a power of 2)
    second_order = false            # Sobol: N (2D + 2) points if true, N (D + 2) if false
    seed = 7                        # seed of the sample (omit: root_seed)

    [parameters."price.volatility_per_year"]
    low = 0.3                       # lhs, sobol: sampled in [low, high]
    high = 0.9                      # grid: levels = [0.3, 0.6, 0.9]

    [outputs]
    keep = "summary"                # or "timeseries": also keep per-run series
    cadence_days = 30               # every 30th day of the series [days]
    columns = ["network_hashrate_ehs", "hhi_owner"]
    sensitivity = ["hhi_firm_end", "small_firm_survival"]   # Sobol indices of these

Unknown keys and bad values are rejected with a message naming the field; numbers must be
finite and at most 1e18 in magnitude, as in scenarios; every parameter path and value (levels,
low, high), the overrides and the horizon are applied to the base scenario to check them.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from abm.recorder import SERIES_DOCS
from abm.scenario import Numbers, Scenario, ScenarioError, load_scenario

__all__ = [
    "ParamRange",
    "SweepSpec",
    "SweepSpecError",
    "load_spec",
    "resolve_parameters",
    "spec_from_dict",
    "summary_metrics",
]


class SweepSpecError(ValueError):
    """A sweep specification is invalid; the message names the field at fault."""


class _Section(Numbers):
    """Unknown keys are errors; numbers are finite and bounded, as in scenarios."""

    model_config = ConfigDict(extra="forbid")


class ParamRange(_Section):
    low: float | None = Field(None, description="Lower bound (lhs, sobol).")
    high: float | None = Field(None, description="Upper bound (lhs, sobol).")
    levels: list[Any] | None = Field(None, description="Values (grid).", min_length=1)
    integer: bool | None = Field(
        None, description="Round sampled values to integers (default: if the parameter is one)."
    )

    @model_validator(mode="after")
    def _check(self) -> ParamRange:
        if self.levels is None and (self.low is None or self.high is None):
            raise ValueError("give either levels = [...] or low and high")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def values_to_check(self, kind: str) -> dict[str, Any]:
        """{field: value} to apply to the base scenario when validating."""
        if kind == "grid":
            return {f"levels[{i}]": v for i, v in enumerate(self.levels or [])}
        vals = {"low": self.low, "high": self.high}
        return {k: round(v) if self.integer else v for k, v in vals.items()}


class Design(_Section):
    kind: Literal["grid", "lhs", "sobol"] = Field("grid", description="Design of experiments.")
    n: int = Field(16, ge=1, description="LHS points, or Sobol base samples N (a power of 2).")
    second_order: bool = Field(False, description="Sobol: second-order indices too.")
    seed: int | None = Field(
        None, ge=0, description="Seed of the LHS / Sobol sample (default: root_seed)."
    )

    @model_validator(mode="after")
    def _check(self) -> Design:
        if self.kind == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"n: Sobol designs need a power of 2 (got {self.n})")
        return self


class Outputs(_Section):
    keep: Literal["summary", "timeseries"] = Field(
        "summary", description="summary: one row per run; timeseries: also per-run series."
    )
    cadence_days: int = Field(30, ge=1, description="Keep every N-th day of the series [days].")
    columns: list[str] = Field(
        ["network_hashrate_ehs", "hashprice_usd_per_ph_day", "hhi_firm", "surviving_small"],
        description="Daily columns to keep (abm.recorder.DAILY_COLUMNS; with pools on, "
        "abm.pools.POOL_DAILY_COLUMNS).",
    )
    sensitivity: list[str] = Field(
        ["hhi_firm_end", "small_firm_survival"],
        description="Summary metrics whose Sobol indices are computed (Sobol designs).",
    )

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, cols: list[str]) -> list[str]:
        unknown = [c for c in cols if c not in SERIES_DOCS]
        if unknown:
            raise ValueError(f"unknown time-series columns {unknown} (see abm.recorder, abm.pools)")
        return cols


class SweepSpec(_Section):
    name: str = Field("sweep", description="Sweep name.")
    base: str | None = Field(None, description="Base scenario file (relative to the spec).")
    overrides: dict[str, Any] = Field({}, description="Dotted-path overrides for every run.")
    parameters: dict[str, ParamRange] = Field(..., min_length=1)
    design: Design = Design()
    replications: int = Field(1, ge=1, le=10_000)
    root_seed: int = Field(0, ge=0)
    common_seeds: bool | None = Field(
        None,
        description="Use the same seeds at every design point (replication r gets the same "
        "seed everywhere), so points are paired comparisons with common random numbers. "
        "Default: true for Sobol designs (Saltelli's estimators difference outputs between "
        "points, and different seeds would add each run's own noise to every index), false "
        "otherwise (independent replications per point).",
    )
    years: float | None = Field(None, gt=0, le=60, description="Horizon [years].")
    outputs: Outputs = Outputs()

    # resolved at load time (not part of the TOML)
    _base_dir: Path = Path()

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        kind = self.design.kind
        for path, r in self.parameters.items():
            if path == "run.seed":
                raise ValueError("parameters.run.seed: seeds are spawned from root_seed")
            if kind == "grid" and r.levels is None:
                raise ValueError(f"parameters.{path}: a grid needs levels = [...]")
            if kind != "grid" and (r.low is None or r.high is None):
                raise ValueError(f"parameters.{path}: {kind} needs low and high")
        return self

    def base_scenario(self) -> Scenario:
        """The base scenario with the spec's overrides and horizon (validated)."""
        return self.resolve(load_scenario(self.base_path()))

    @property
    def base_dir(self) -> Path:
        """Directory that a relative `base` is resolved against (the spec file's)."""
        return self._base_dir

    def base_path(self) -> Path | None:
        return self._base_dir / self.base if self.base else None

    def resolve(self, base: Scenario) -> Scenario:
        """`base` with the spec's overrides and horizon applied (together: each may need the
        other, e.g. a replayed price series and a horizon within its data)."""
        changes = {**self.overrides, **({"run.years": self.years} if self.years else {})}
        return base.with_overrides(changes) if changes else base

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))

    def digest(self) -> str:
        """Hash of the resolved spec and base scenario: a results directory holds one sweep."""
        text = self.to_toml() + self.base_scenario().to_toml()
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _format(err: ValidationError, origin: str) -> str:
    lines = [f"{origin}: invalid sweep specification"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        msg = msg.removeprefix("Value error, ")
        lines.append(f"  {loc}: {msg}" if loc else f"  {msg}")
    return "\n".join(lines)


def _detail(err: ScenarioError) -> str:
    """The field-level lines of a ScenarioError, without its origin header."""
    lines = [ln.strip() for ln in str(err).splitlines()]
    return "; ".join(lines[1:]) if len(lines) > 1 else lines[0]


def load_spec(path: str | Path) -> SweepSpec:
    """Load and validate a sweep TOML (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise SweepSpecError(f"{p}: sweep specification not found")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SweepSpecError(f"{p}: not valid TOML: {err}") from None
    return spec_from_dict(data, base_dir=p.parent, origin=str(p))


def spec_from_dict(data: dict, base_dir: Path = Path(), origin: str = "sweep") -> SweepSpec:
    """Validate a spec; resolve `integer` flags; apply every parameter value to the base."""
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        raise SweepSpecError(_format(err, origin)) from None
    spec._base_dir = Path(base_dir)
    head = f"{origin}: invalid sweep specification\n  "
    try:
        base = load_scenario(spec.base_path())
    except ScenarioError as err:
        raise SweepSpecError(f"{head}base: {err}") from None
    try:
        base = spec.resolve(base)
    except ScenarioError as err:
        why = _detail(err)
        key = "years" if spec.years and why.startswith("run.years") else "overrides"
        raise SweepSpecError(f"{head}{key}: {why}") from None
    if spec.common_seeds is None:
        spec.common_seeds = spec.design.kind == "sobol"
    resolve_parameters(spec.parameters, base, spec.design.kind, f"{head}parameters")
    if spec.design.kind == "sobol":
        _check_metrics(spec.outputs.sensitivity, base, f"{head}outputs.sensitivity")
    return spec


def resolve_parameters(
    parameters: dict[str, ParamRange], base: Scenario, kind: str | None, where: str
) -> None:
    """Resolve each range's `integer` flag from the base scenario's value and apply each of its
    values (levels; low and high) to `base`, raising SweepSpecError naming ``where.path.key``.
    `kind` is the design's kind; None checks levels where given, else low and high."""
    dumped = base.model_dump(mode="python")
    for path, r in parameters.items():
        current = lookup(dumped, path)
        if r.integer is None:
            r.integer = isinstance(current, int) and not isinstance(current, bool)
        k = kind or ("grid" if r.levels is not None else "lhs")
        for key, value in r.values_to_check(k).items():
            try:
                base.with_overrides({path: value})
            except ScenarioError as err:
                why = _detail(err).removeprefix(f"{path}: ")
                raise SweepSpecError(f"{where}.{path}.{key}: {why}") from None


def lookup(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a nested dict (a scenario's TOML tree), None if absent."""
    node: Any = data
    for k in path.split("."):
        node = node.get(k) if isinstance(node, dict) else None
    return node


def summary_metrics(base: Scenario) -> set[str] | None:
    """Names of the numeric metrics of a run summary, from a one-day run of `base` (None if
    that run fails: the runs themselves will record why)."""
    from abm.runner import run

    try:
        summary = run(base, years=1 / 365).summary
    except Exception:
        return None
    return {k: v for k, v in summary.items() if isinstance(v, int | float)}.keys() - {"seed"}


def _check_metrics(names: list[str], base: Scenario, where: str) -> None:
    """Each of `names` must be a numeric summary metric: checked on a one-day run."""
    numeric = summary_metrics(base)
    if numeric is None:
        return
    for name in names:
        if name not in numeric:
            raise SweepSpecError(
                f"{where}: {name!r} is not a numeric summary metric "
                f"(e.g. {', '.join(sorted(numeric)[:6])}, ...)"
            )
