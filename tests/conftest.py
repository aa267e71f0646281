"""Shared fixtures: small, fast scenarios built from the baseline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from abm import Scenario

# no per-example time limit: wall-clock deadlines fail spuriously on a loaded machine, and
# performance is measured in benchmarks/, never asserted in tests
# CI draws the same examples on every run (a red CI must be reproducible); locally each run
# draws new ones, which is how bugs are found
settings.register_profile("abm", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "abm")

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"


# New rigs delivered at the next day's markets phase (no lead time, no wait for capacity): for
# tests of what firms do with rigs rather than of the rig market (abm/markets/asic.py)
INSTANT_RIGS: dict[str, float] = {
    "asic.lead_time_days": 0,
    "asic.initial_capacity_ehs_per_year": 1e9,
}
# the modelled firms alone, without the rest of the world's miners (abm/world.py)
ALONE: dict[str, bool] = {"world.enabled": False}
# rigs that never fail (the age hazard off), for tests that follow a fleet exactly
NO_FAILURES: dict[str, float] = {
    "operation.failure_rate_young_per_year": 0.0,
    "operation.failure_rate_old_per_year": 0.0,
}


def small_scenario(n_firms: int = 40, years: float = 0.5, **overrides) -> Scenario:
    """The baseline scaled down: fewer firms (same shares), a shorter horizon."""
    sc = Scenario().with_overrides(
        {
            "firms.n_firms": n_firms,
            "firms.n_large": 5,
            "run.years": years,
            "firms.initial_hashrate_ehs": 1130.0,
            "firms.tail_max_ehs": 1130.0,
        }
    )
    return sc.with_overrides(overrides) if overrides else sc


@pytest.fixture
def small() -> Scenario:
    return small_scenario()
