"""Observed moments as data: ``abm/data/targets.toml`` (each with its value or range, dates,
source, tolerance, and whether the replay was fitted on it or holds it out).

A target names the simulated quantity it is compared with either by its check id (the replay's
checks, :func:`abm.validation.replay.target_value`) or, for a new target, by a daily column of
the recorder and a statistic over the target's dates (``column``, ``stat``: "mean" of the
column, "rate" of a cumulated count per year, "change" from the first to the last date).

Standardised error (:meth:`Target.z`, the calibration's distance, :mod:`abm.calibration`):
``(x - mid) / half_width`` for "within", ``x / limit`` for "at_most" and ``limit / x`` for
"at_least"; a value passes its rule exactly when ``|z| <= 1``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RULES", "STATS", "TARGETS_FILE", "USES", "Target", "load_targets"]

TARGETS_FILE = Path(__file__).resolve().parents[1] / "data" / "targets.toml"
RULES = ("within", "at_most", "at_least")
USES = ("fit", "holdout")
STATS = ("mean", "rate", "change")


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
    column: str | None = None  # a daily column of the recorder (a new target), or None
    stat: str | None = None  # with `column`: one of STATS

    @property
    def mid(self) -> float:
        return (self.low + self.high) / 2.0

    @property
    def half_width(self) -> float:
        """Tolerance plus half the observed range (the pass distance of a 'within' rule)."""
        return (self.high - self.low) / 2.0 + self.tolerance

    def z(self, x: float) -> float:
        """Standardised error of a simulated value: passes the rule exactly when |z| <= 1
        (nan for nan; inf for "at_least" at x <= 0)."""
        if x != x:
            return float("nan")
        if self.rule == "within":
            return (x - self.mid) / self.half_width
        if self.rule == "at_most":
            return x / self.low
        return self.low / x if x > 0 else float("inf")


def load_targets(path: Path = TARGETS_FILE) -> dict[str, Target]:
    """The targets by check id; a clear ValueError naming the file and target on bad input."""
    try:
        raw = tomllib.loads(Path(path).read_text())
    except OSError as e:
        raise ValueError(f"{path}: targets file cannot be read ({e.strerror or e})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid TOML: {e}") from None
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
        if target.rule == "within" and target.half_width <= 0:
            raise ValueError(f"{where}: a 'within' target needs a range or a tolerance > 0")
        if target.rule != "within" and target.low <= 0:
            raise ValueError(f"{where}: an {target.rule!r} limit must be positive")
        if (target.column is None) != (target.stat is None) or (
            target.stat is not None and target.stat not in STATS
        ):
            raise ValueError(f"{where}: give column and stat together, stat one of {STATS}")
        if target.check in out:
            raise ValueError(f"{where}: check {target.check!r} appears twice")
        out[target.check] = target
    return out
