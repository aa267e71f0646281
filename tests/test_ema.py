"""The EMA workbench connector: a small experiment end to end with the Sequential and the
Multiprocessing evaluator (2 workers), outcomes checked against abm.run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abm import ema, run
from abm.sweeps.spec import SweepSpecError, spec_from_dict
from abm.sweeps.tasks import run_seed
from tests.conftest import small_scenario

DAYS = 30
UNCERTAINTIES = {
    "price.drift_per_year": {"low": -0.5, "high": 0.5},
    "firms.n_firms": {"low": 30, "high": 50},
}
LEVERS = {"finance.rate_small": {"levels": [0.08, 0.24]}}


def small_model(**kwargs):
    return ema.build_model(
        small_scenario(years=DAYS / 365),
        uncertainties=UNCERTAINTIES,
        levers=LEVERS,
        outcomes=["btc_price_usd_end", "small_firm_survival", "active_firms_end"],
        series=["btc_price_usd", "network_hashrate_ehs"],
        replications=2,
        root_seed=5,
        cadence_days=10,
        **kwargs,
    )


def test_parameters_outcomes_and_seeds_follow_the_scenario():
    m = small_model()
    unc = {p.name: p for p in m.uncertainties}
    assert isinstance(unc["price__drift_per_year"], ema.RealParameter)
    assert isinstance(unc["firms__n_firms"], ema.IntegerParameter)  # an integer in the scenario
    assert isinstance(m.levers["finance__rate_small"], ema.CategoricalParameter)
    assert [r["seed"] for r in m.replications] == [run_seed(5, 0, 0), run_seed(5, 0, 1)]
    names = [o.name for o in m.outcomes]
    assert names == [
        "btc_price_usd_end",
        "small_firm_survival",
        "active_firms_end",
        "TIME",
        "btc_price_usd",
        "network_hashrate_ehs",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcomes": ["no_such_metric"]}, "not numeric summary metrics"),
        ({"series": ["no_such_column"]}, "unknown series"),
        ({"uncertainties": {"price.no_such": {"low": 0, "high": 1}}}, "price.no_such"),
        ({"uncertainties": {"price.volatility_per_year": {"low": -1.0, "high": 1.0}}}, "low"),
    ],
)
def test_bad_names_and_values_are_rejected(kwargs, message):
    args = {"uncertainties": UNCERTAINTIES, **kwargs}
    with pytest.raises(SweepSpecError, match=message):
        ema.build_model(small_scenario(years=DAYS / 365), **args)


def test_sequential_and_multiprocessing_experiments_match_abm_run():
    sampling = {"uncertainty_sampling_kwargs": {"rng": 7}, "lever_sampling_kwargs": {"rng": 7}}
    seq_x, seq_y = ema.perform(small_model(), scenarios=3, policies=2, **sampling)
    mp_x, mp_y = ema.perform(small_model(), scenarios=3, policies=2, workers=2, **sampling)
    assert len(seq_x) == 6 and set(seq_x["finance__rate_small"]) == {0.08, 0.24}
    order = np.lexsort((seq_x["finance__rate_small"], seq_x["price__drift_per_year"]))
    mp_order = np.lexsort((mp_x["finance__rate_small"], mp_x["price__drift_per_year"]))
    for k in seq_y:
        np.testing.assert_array_equal(seq_y[k][order], mp_y[k][mp_order], err_msg=k)
    assert seq_y["btc_price_usd"].shape == (6, 3)  # days 0, 10, 20
    np.testing.assert_array_equal(seq_y["TIME"][0], [0, 10, 20])
    # each outcome is the mean over the two seeds of abm.run with the same parameters
    seeds = [run_seed(5, 0, 0), run_seed(5, 0, 1)]
    for i in (0, 5):
        row = seq_x.iloc[i]
        sc = small_scenario(years=DAYS / 365).with_overrides(
            {
                "price.drift_per_year": float(row["price__drift_per_year"]),
                "firms.n_firms": int(row["firms__n_firms"]),
                "finance.rate_small": float(row["finance__rate_small"]),
            }
        )
        runs = [run(sc, seed=s) for s in seeds]
        expect = np.mean([r.summary["btc_price_usd_end"] for r in runs])
        assert seq_y["btc_price_usd_end"][i] == pytest.approx(expect, rel=1e-12)
        hashrate = np.mean([r.timeseries["network_hashrate_ehs"].to_numpy()[::10] for r in runs], 0)
        np.testing.assert_allclose(seq_y["network_hashrate_ehs"][i], hashrate, rtol=1e-12)
        assert seq_y["active_firms_end"][i] == np.mean(
            [r.summary["active_firms_end"] for r in runs]
        )


def test_replications_kept_without_aggregate_and_model_from_a_sweep_spec():
    m = ema.build_model(
        small_scenario(years=DAYS / 365),
        uncertainties=UNCERTAINTIES,
        outcomes=["btc_price_usd_end"],  # the names of small_model's aggregated outcomes
        series=["btc_price_usd"],
        replications=2,
        cadence_days=10,
        aggregate=None,
    )
    _, y = ema.perform(m, scenarios=2)
    assert y["btc_price_usd_end"].shape == (2, 2)  # experiments x replications
    assert y["btc_price_usd"].shape == (2, 2, 3)
    assert not np.array_equal(y["btc_price_usd"][0, 0], y["btc_price_usd"][0, 1])  # 2 seeds
    spec = spec_from_dict(
        {
            "name": "spe",
            "replications": 3,
            "root_seed": 9,
            "years": DAYS / 365,
            "overrides": {
                "firms.n_firms": 40,
                "firms.n_large": 5,
                "firms.initial_hashrate_ehs": 1130.0,
                "firms.tail_max_ehs": 1130.0,
            },
            "design": {"kind": "lhs", "n": 4},
            "parameters": {"price.volatility_per_year": {"low": 0.3, "high": 0.9}},
        }
    )
    m = ema.from_spec(spec, outcomes=["btc_price_usd_end"])
    _, y = ema.perform(m, scenarios=1)  # aggregated again, in the same process
    assert y["btc_price_usd_end"].shape == (1,)
    assert [p.name for p in m.uncertainties] == ["price__volatility_per_year"]
    assert (
        m.uncertainties["price__volatility_per_year"].lower_bound,
        m.uncertainties["price__volatility_per_year"].upper_bound,
    ) == (0.3, 0.9)
    assert [r["seed"] for r in m.replications] == [run_seed(9, 0, i) for i in range(3)]
    assert m.function.base.run.years == DAYS / 365 and m.function.base.firms.n_firms == 40


def test_example_script_runs(tmp_path, capsys):
    import importlib.util

    from tests.conftest import EXPERIMENTS

    spec = importlib.util.spec_from_file_location(
        "ema_example", EXPERIMENTS / "ema_small_miners.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    args = ["--scenarios", "3", "--replications", "1", "--years", "0.02", "--out", str(tmp_path)]
    assert example.main(args) == 0
    assert len(pd.read_csv(tmp_path / "outcomes.csv")) == 3
    assert "small_firm_survival" in capsys.readouterr().out
