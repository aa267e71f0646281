"""Calibration specification: a validated TOML document like a sweep's.

    name = "history"
    base = "history.toml"           # scenario file, relative to the spec (omit: the baseline)
    targets = "targets.toml"        # targets file, relative to the spec (omit: abm's own)
    fit = ["replay.difficulty_mape"]  # targets fitted (omit: every target marked use = "fit")
    end = 2026-02-13                # last simulated day (or years = ...; omit: the base's)
    replications = 2                # runs per point (the same seeds at every point)
    root_seed = 2020                # the runs' seeds; stage k's design is drawn with root_seed + k

    [overrides]                     # dotted paths applied to the base for every run
    "firms.n_firms" = 600

    [design]
    n = 24                          # Latin-hypercube points per stage
    stages = 3                      # stage 1 over the bounds, then successive narrowing
    keep = 0.25                     # the best fraction of all points so far bounds the next

    [parameters."asic.initial_capacity_ehs_per_year"]
    low = 40.0
    high = 110.0

    [quick]                         # --quick: a smoke run (each key replaces the one above)
    n = 6
    stages = 2
    replications = 1
    end = 2023-12-31

Unknown keys and bad values are rejected with a message naming the field; every parameter's
bounds and the overrides are applied to the base scenario to check them, as for sweeps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import Field, ValidationError, model_validator

from abm.scenario import Scenario, ScenarioError, load_scenario
from abm.sweeps.spec import ParamRange, SweepSpecError, _format, _Section, resolve_parameters
from abm.validation.targets import TARGETS_FILE, Target, load_targets

__all__ = ["CalibrationSpec", "CalibrationSpecError", "load_calibration_spec", "spec_from_dict"]


class CalibrationSpecError(SweepSpecError):
    """A calibration specification is invalid; the message names the field at fault."""


class Design(_Section):
    n: int = Field(24, ge=2, le=100_000, description="Latin-hypercube points per stage.")
    stages: int = Field(3, ge=1, le=50, description="Stages: the first over the bounds.")
    keep: float = Field(
        0.25, gt=0, le=1, description="Best fraction of all points so far that bounds a stage."
    )


class Quick(_Section):
    n: int | None = Field(None, ge=2, le=100_000)
    stages: int | None = Field(None, ge=1, le=50)
    replications: int | None = Field(None, ge=1, le=1000)
    end: dt.date | None = None
    years: float | None = Field(None, gt=0, le=60)


class CalibrationSpec(_Section):
    name: str = Field("calibration", description="Calibration name.")
    base: str | None = Field(None, description="Base scenario file (relative to the spec).")
    targets: str | None = Field(None, description="Targets file (relative to the spec).")
    fit: list[str] | None = Field(None, description="Targets fitted (default: use = 'fit').")
    overrides: dict[str, Any] = Field({}, description="Dotted-path overrides for every run.")
    parameters: dict[str, ParamRange] = Field(..., min_length=1)
    design: Design = Design()
    replications: int = Field(2, ge=1, le=1000)
    root_seed: int = Field(0, ge=0)
    end: dt.date | None = Field(None, description="Last simulated day.")
    years: float | None = Field(None, gt=0, le=60, description="Horizon [years].")
    quick: Quick = Quick()

    _base_dir: Path = Path()

    @model_validator(mode="after")
    def _check(self) -> CalibrationSpec:
        for path, r in self.parameters.items():
            if r.low is None or r.high is None or r.levels is not None:
                raise ValueError(f"parameters.{path}: give low and high (no levels)")
            if path == "run.seed":
                raise ValueError("parameters.run.seed: seeds are spawned from root_seed")
        if self.end is not None and self.years is not None:
            raise ValueError("give end or years, not both")
        return self

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    def base_path(self) -> Path | None:
        return self._base_dir / self.base if self.base else None

    def targets_path(self) -> Path:
        return self._base_dir / self.targets if self.targets else TARGETS_FILE

    def horizon_years(self, base: Scenario) -> float | None:
        """The run length [years] of `end` (from the base's start date) or `years`."""
        if self.end is not None:
            return ((self.end - base.run.start_date).days + 1) / 365.0
        return self.years

    def sweep_dict(self, base: Scenario) -> dict[str, Any]:
        """The fields a stage's sweep shares (base, overrides, horizon, replications)."""
        out: dict[str, Any] = {"overrides": dict(self.overrides), "replications": self.replications}
        if self.base:
            out["base"] = self.base
        years = self.horizon_years(base)
        if years is not None:
            out["years"] = years
        return out

    def resolved_base(self) -> Scenario:
        base = load_scenario(self.base_path())
        changes = dict(self.overrides)
        years = self.horizon_years(base)
        if years is not None:
            changes["run.years"] = years
        return base.with_overrides(changes) if changes else base

    def fit_targets(self) -> tuple[dict[str, Target], list[str]]:
        """All targets of the targets file and the ids fitted."""
        targets = load_targets(self.targets_path())
        fit = (
            self.fit if self.fit is not None else [k for k, t in targets.items() if t.use == "fit"]
        )
        return targets, fit

    def with_quick(self) -> CalibrationSpec:
        """This spec with its [quick] settings."""
        q = self.quick
        data = self.model_dump(mode="python", exclude_none=True)
        design = {
            **data["design"],
            **({"n": q.n} if q.n else {}),
            **({"stages": q.stages} if q.stages else {}),
        }
        data["design"] = design
        if q.replications:
            data["replications"] = q.replications
        if q.end or q.years:
            data.pop("end", None)
            data.pop("years", None)
            data["end" if q.end else "years"] = q.end or q.years
        data["name"] = f"{self.name}-quick"
        return spec_from_dict(data, self._base_dir, f"{self.name} [quick]")

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))

    def digest(self) -> str:
        """Hash of the spec, base scenario and targets: a directory holds one calibration."""
        text = self.to_toml() + self.resolved_base().to_toml() + self.targets_path().read_text()
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_calibration_spec(path: str | Path) -> CalibrationSpec:
    """Load and validate a calibration TOML (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise CalibrationSpecError(f"{p}: calibration specification not found")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CalibrationSpecError(f"{p}: not valid TOML: {err}") from None
    return spec_from_dict(data, base_dir=p.parent, origin=str(p))


def spec_from_dict(
    data: dict, base_dir: Path = Path(), origin: str = "calibration"
) -> CalibrationSpec:
    """Validate a spec: fields, base, overrides, horizon, parameter bounds and targets."""
    try:
        spec = CalibrationSpec.model_validate(data)
    except ValidationError as err:
        raise CalibrationSpecError(
            _format(err, origin).replace("sweep specification", "calibration specification")
        ) from None
    spec._base_dir = Path(base_dir)
    head = f"{origin}: invalid calibration specification\n  "
    try:
        base = spec.resolved_base()
    except ScenarioError as err:
        raise CalibrationSpecError(f"{head}base, overrides or horizon: {err}") from None
    try:
        resolve_parameters(spec.parameters, base, "lhs", f"{head}parameters")
    except SweepSpecError as err:
        raise CalibrationSpecError(str(err)) from None
    try:
        targets, fit = spec.fit_targets()
    except ValueError as err:
        raise CalibrationSpecError(f"{head}targets: {err}") from None
    unknown = [f for f in fit if f not in targets]
    if unknown:
        raise CalibrationSpecError(
            f"{head}fit: {unknown} not in {spec.targets_path()} (there: {', '.join(targets)})"
        )
    if not fit:
        raise CalibrationSpecError(f"{head}fit: no target to fit (none is marked use = 'fit')")
    return spec
