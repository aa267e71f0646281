"""The idiomatic-Mesa reference (benchmarks/reference_mesa.py) and the vectorised engine
produce the same aggregate trajectory on a small deterministic case."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from abm import run
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from reference_mesa import reference_case, run_reference


@pytest.mark.parametrize("n_firms", [12, 40])
def test_reference_matches_engine(n_firms):
    sc = reference_case(n_firms=n_firms, years=1.0)
    engine = run(sc, seed=3).timeseries
    ref = run_reference(sc, seed=3).datacollector.get_model_vars_dataframe()
    # the run exercises the review (investment, retirement) and insolvent exits
    assert engine["installed_hashrate_ehs"].iloc[-1] != engine["installed_hashrate_ehs"].iloc[0]
    if n_firms == 40:
        assert engine["exits_cum"].iloc[-1] > 0
    for col in ("network_hashrate_ehs", "hashprice_usd_per_ph_day", "difficulty", "active_firms"):
        np.testing.assert_allclose(engine[col], ref[col], rtol=1e-6, err_msg=col)
    engine_cash = run(sc, seed=3, keep_model=True).model
    np.testing.assert_allclose(
        engine_cash.recorder.timeseries()["cash_usd"], ref["cash_usd"], rtol=1e-6
    )
    np.testing.assert_allclose(engine["hhi_firm"], ref["hhi_firm"], rtol=1e-6)
