"""Observed moments as data: ``abm/data/targets.toml`` (each with its value or range, dates,
source, tolerance, and whether the replay was fitted on it or holds it out)."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RULES", "TARGETS_FILE", "USES", "Target", "load_targets"]

TARGETS_FILE = Path(__file__).resolve().parents[1] / "data" / "targets.toml"
RULES = ("within", "at_most", "at_least")
USES = ("fit", "holdout")


@dataclass(frozen=True)
class Target:
    """One observed moment."""

    check: str
    rule: str
    low: float
    high: float
    unit: str
    first: dt.date
    last: dt.date
    use: str
    source: str
    tolerance: float = 0.0

    @property
    def mid(self) -> float:
        return (self.low + self.high) / 2.0

    @property
    def half_width(self) -> float:
        """Tolerance plus half the observed range (the pass distance of a 'within' rule)."""
        return (self.high - self.low) / 2.0 + self.tolerance


def load_targets(path: Path = TARGETS_FILE) -> dict[str, Target]:
    """The targets by check id; a clear ValueError naming the file and target on bad input."""
    raw = tomllib.loads(Path(path).read_text())
    out: dict[str, Target] = {}
    for i, t in enumerate(raw.get("target", [])):
        where = f"{path}: target {i + 1} ({t.get('check', '?')})"
        try:
            target = Target(**t)
        except TypeError as e:
            raise ValueError(f"{where}: {e}") from None
        if target.rule not in RULES:
            raise ValueError(f"{where}: rule must be one of {RULES}, got {target.rule!r}")
        if target.use not in USES:
            raise ValueError(f"{where}: use must be one of {USES}, got {target.use!r}")
        if target.low > target.high or target.tolerance < 0 or target.first > target.last:
            raise ValueError(f"{where}: needs low <= high, tolerance >= 0 and first <= last")
        if target.check in out:
            raise ValueError(f"{where}: check {target.check!r} appears twice")
        out[target.check] = target
    return out
