"""The idiomatic-Mesa reference (benchmarks/reference_mesa.py) and the vectorised engine
produce the same aggregate trajectory on a small deterministic case (reference_case)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from abm import run
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from reference_mesa import check_covered, reference_case, run_reference

COLUMNS = (
    "network_hashrate_ehs",
    "hashprice_usd_per_ph_day",
    "difficulty",
    "cash_usd",
    "active_firms",
    "exits_cum",
    "hhi_firm",
)


def _reference(n_firms: int, seed: int, shuffle_seed: int | None = None) -> pd.DataFrame:
    sc = reference_case(n_firms=n_firms, years=1.0)
    return run_reference(sc, seed, shuffle_seed).datacollector.get_model_vars_dataframe()


@pytest.mark.parametrize("n_firms", [12, 40])
def test_reference_matches_engine(n_firms: int) -> None:
    sc = reference_case(n_firms=n_firms, years=1.0)
    engine = run(sc, seed=3).timeseries
    ref = _reference(n_firms, seed=3)
    assert len(engine) == len(ref) == 365
    # the case exercises curtailment, the review (retirement, investment) and exits
    assert engine["network_hashrate_ehs"].min() < engine["network_hashrate_ehs"].iloc[0]
    assert engine["installed_hashrate_ehs"].iloc[-1] != engine["installed_hashrate_ehs"].iloc[0]
    assert engine["difficulty"].nunique() > 5
    if n_firms == 40:
        assert engine["exits_cum"].iloc[-1] > 0
    for col in COLUMNS:
        np.testing.assert_allclose(
            engine[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-6, err_msg=col
        )


def test_reference_is_order_independent() -> None:
    """shuffle_do's random order does not change the trajectory (agents read only state fixed
    before each phase; the model aggregates after it)."""
    a, b = _reference(40, seed=3, shuffle_seed=1), _reference(40, seed=3, shuffle_seed=2)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_reference_rejects_features_it_lacks() -> None:
    check_covered(reference_case())
    with pytest.raises(ValueError, match="finance.enabled"):
        check_covered(reference_case().with_overrides({"finance.enabled": True}))
