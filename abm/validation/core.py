"""The result of one validation check and the comparisons that decide it.

A check compares a number measured on the engine (or on its protocol functions) with a value
worked out independently (closed form, published figure, observed series), under a stated
tolerance. Tolerances are looked up by check id, so a caller can override any of them (the
tests inject an impossible one to see the suite fail).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["EXPERIMENTS", "Check", "Tolerances", "at_least", "at_most", "info", "within"]

#: Scenario files of the validation experiments (contest.toml, history.toml).
EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"

Tolerances = Mapping[str, float]


@dataclass(frozen=True)
class Check:
    """One row of the validation table.

    ``passed`` is None for rows that only report a number (predictions) and never fail.
    """

    family: str
    check: str  # id, "<family>.<name>"
    measured: float
    unit: str
    criterion: str  # the pass rule with its tolerance, human readable
    passed: bool | None
    detail: str = ""

    @property
    def status(self) -> str:
        return "info" if self.passed is None else ("PASS" if self.passed else "FAIL")

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


def _num(v: float) -> str:
    """A target value for a criterion: all digits of large numbers, negatives in brackets."""
    text = f"{v:.12g}" if abs(v) >= 1e6 else f"{v:.6g}"
    return f"({text})" if v < 0 else text


def _tol(tolerances: Tolerances, check: str, default: float) -> float:
    return float(tolerances.get(check, default))


def within(
    check: str,
    measured: float,
    target: float,
    default_tol: float,
    tolerances: Tolerances,
    relative: bool = False,
    **text: str,
) -> Check:
    """Pass when |measured - target| <= tol (or |measured / target - 1| <= tol if relative).

    ``text`` holds the row's ``unit`` and ``detail``."""
    tol = _tol(tolerances, check, default_tol)
    err = abs(measured / target - 1.0) if relative else abs(measured - target)
    t = _num(target)
    rule = f"|x / {t} - 1| <= {tol:.3g}" if relative else f"|x - {t}| <= {tol:.3g}"
    return _row(check, measured, rule, err <= tol, **text)


def at_most(
    check: str, measured: float, default_limit: float, tolerances: Tolerances, **text: str
) -> Check:
    """Pass when measured <= limit."""
    limit = _tol(tolerances, check, default_limit)
    return _row(check, measured, f"x <= {limit:.4g}", measured <= limit, **text)


def at_least(
    check: str, measured: float, default_limit: float, tolerances: Tolerances, **text: str
) -> Check:
    """Pass when measured >= limit."""
    limit = _tol(tolerances, check, default_limit)
    return _row(check, measured, f"x >= {limit:.4g}", measured >= limit, **text)


def _row(
    check: str, measured: float, rule: str, passed: bool, unit: str = "", detail: str = ""
) -> Check:
    return Check(check.split(".")[0], check, float(measured), unit, rule, bool(passed), detail)


def info(check: str, measured: float, unit: str = "", detail: str = "") -> Check:
    """A reported number without a pass rule (e.g. a prediction beyond the observed data)."""
    return Check(check.split(".")[0], check, measured, unit, "reported", None, detail)
