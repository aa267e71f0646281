"""Mesa's conventions: scenario overrides as keyword arguments, model.datacollector, and
mesa.batch_run sweeping scenario parameters, checked against abm.run."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest

from abm import MiningIndustry, run
from abm.mesa_compat import kwarg_name, overrides_from_kwargs
from abm.scenario import ScenarioError
from tests.conftest import small_scenario

STEPS = 20
# small_scenario's overrides (40 firms) as keyword arguments
SMALL = {
    "firms.n_firms": 40,
    "firms.n_large": 5,
    "firms.initial_hashrate_ehs": 1130.0,
    "firms.tail_max_ehs": 1130.0,
}
SMALL_KW = {kwarg_name(k): v for k, v in SMALL.items()}


def test_kwargs_are_dotted_overrides():
    assert kwarg_name("price.drift_per_year") == "price__drift_per_year"
    assert overrides_from_kwargs({"price__drift_per_year": 0.3, "sovereign_scale": 2}) == {
        "price.drift_per_year": 0.3,
        "sovereign_scale": 2,
    }
    m = MiningIndustry(price__drift_per_year=0.3, run__years=0.1, **SMALL_KW)
    assert m.params.price.drift_per_year == 0.3
    assert m.params.firms.n_firms == 40
    assert m.n_days == 36  # round(0.1 x 365)
    with pytest.raises(ScenarioError, match="no_such"):
        MiningIndustry(price__no_such=1.0)


def test_datacollector_reads_the_recorder_without_collecting():
    m = MiningIndustry(small_scenario(years=STEPS / 365), seed=3)
    collected = {c: [] for c in m.datacollector.model_reporters}
    while m.running:
        m.step()
        m.datacollector.collect(m)  # what a Mesa model does each step: a no-op here
        for c, reporter in m.datacollector.model_reporters.items():  # Mesa's reporter form
            collected[c].append(reporter[0](*reporter[1]))
    frame = m.datacollector.get_model_vars_dataframe()
    ts = m.recorder.timeseries()
    assert len(frame) == STEPS == len(ts)
    assert m.datacollector._collection_steps == list(range(1, STEPS + 1))
    for c in ("network_hashrate_ehs", "hhi_owner", "btc_price_usd", "surviving_small"):
        np.testing.assert_array_equal(frame[c].to_numpy(), ts[c].to_numpy(float))
        np.testing.assert_array_equal(frame[c].to_numpy(), np.asarray(collected[c]))


def test_batch_run_two_parameters_two_seeds_match_abm_run():
    base = {**SMALL_KW, "run__years": STEPS / 365}
    params = {
        "rng": [1, 2],
        "price__drift_per_year": [0.1, 0.3],
        "energy__median_price_usd_per_mwh": [40.0, 60.0],
        **base,
    }
    rows = mesa.batch_run(
        MiningIndustry, parameters=params, max_steps=STEPS, display_progress=False
    )
    out = pd.DataFrame(rows)
    assert len(out) == 8 and set(out["Step"]) == {STEPS}
    for r in out.itertuples():
        overrides = {
            "price.drift_per_year": r.price__drift_per_year,
            "energy.median_price_usd_per_mwh": r.energy__median_price_usd_per_mwh,
            **SMALL,
        }
        ref = run(small_scenario().with_overrides(overrides), seed=r.rng, years=STEPS / 365)
        ref = ref.timeseries.iloc[-1]
        for c in ("network_hashrate_ehs", "hhi_owner", "btc_price_usd", "cash_usd"):
            assert getattr(r, c) == ref[c], (c, r)
    # the parameters do move the outputs: the price path differs with the drift
    by_drift = out.groupby("price__drift_per_year")["btc_price_usd"].mean()
    assert by_drift[0.3] > by_drift[0.1]
