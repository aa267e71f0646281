"""Validation suite: protocol identities, contest limit, sovereign extension, history replay.

``abm validate [--quick] [--out DIR]`` runs :func:`run_suite` and prints :func:`format_table`;
any failed check makes the command exit with status 1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from abm.jsonio import write_json
from abm.outputs import replacing
from abm.validation import contest, protocol, replay
from abm.validation.core import Check, Tolerances

__all__ = ["Check", "Suite", "format_table", "run_suite"]


@dataclass
class Suite:
    """Checks in order, the replay's daily comparison table, and the wall time [s]."""

    checks: list[Check]
    replay: pd.DataFrame
    quick: bool
    wall_time_s: float

    @property
    def passed(self) -> bool:
        return all(c.passed is not False for c in self.checks)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([c.record() for c in self.checks])

    def save(self, out_dir: str | Path) -> Path:
        """Write validation.csv, validation.json, replay.csv and manifest.json into `out_dir`
        (by the rule of :mod:`abm.outputs`: a new or empty directory, or an earlier
        validation's, replaced atomically)."""
        from abm.runner import manifest

        seeds = list(replay.QUICK_SEEDS if self.quick else replay.FULL_SEEDS)
        info = manifest(seeds, self.wall_time_s, kind="validate", quick=self.quick)
        with replacing(out_dir, "validate") as staging:
            self.frame().to_csv(staging / "validation.csv", index=False)
            doc = {
                "passed": self.passed,
                "quick": self.quick,
                "checks": [c.record() for c in self.checks],
                "manifest": info,
            }
            write_json(staging / "validation.json", doc)
            self.replay.to_csv(staging / "replay.csv", index_label="date")
            write_json(staging / "manifest.json", info)
        return Path(out_dir)


def run_suite(quick: bool = False, tolerances: Tolerances | None = None) -> Suite:
    """Run every check family; `tolerances` overrides a check's tolerance by its id."""
    tol = dict(tolerances or {})
    t0 = time.perf_counter()
    checks = protocol.checks(tol) + contest.checks(tol, quick=quick)
    replay_checks, table = replay.checks(tol, quick=quick)
    return Suite(checks + replay_checks, table, quick, time.perf_counter() - t0)


def _fmt(x: float) -> str:
    """Measured value: 4 decimals below 100, thousands separators up to 1e9, else 4 digits."""
    if x == 0 or 1e-3 <= abs(x) < 100:
        return f"{x:.4f}".rstrip("0").rstrip(".")
    if 100 <= abs(x) < 1e9:
        return f"{x:,.4f}".rstrip("0").rstrip(".")
    return f"{x:.4g}"


def format_table(checks: list[Check], details: bool = False) -> str:
    """Plain-text table: status, check, measured, unit, criterion (details below each row)."""
    rows = [(c.status, c.check, _fmt(c.measured), c.unit, c.criterion) for c in checks]
    head = ("status", "check", "measured", "unit", "criterion")
    w = [max(len(r[i]) for r in [*rows, head]) for i in range(len(head))]
    line = "  ".join(h.ljust(w[i]) for i, h in enumerate(head))
    out = [line, "-" * len(line)]
    for r, c in zip(rows, checks, strict=True):
        out.append("  ".join(v.ljust(w[i]) for i, v in enumerate(r)).rstrip())
        if details and c.detail:
            out.append(" " * (w[0] + 2) + f"  {c.detail}")
    return "\n".join(out)
