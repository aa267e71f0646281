"""Sweep specifications and designs: validation naming the field, point counts, strata."""

from __future__ import annotations

import numpy as np
import pytest
import tomli_w

from abm.sweeps import SweepSpecError, load_spec
from abm.sweeps.designs import grid, latin_hypercube, points
from abm.sweeps.tasks import run_seed, tasks_of

TINY = {"firms.n_firms": 20, "firms.n_large": 5, "firms.tail_max_ehs": 1130.0, "sovereigns": []}


def write_spec(tmp_path, **kw) -> str:
    data = {
        "name": "t",
        "years": 0.05,
        "overrides": TINY,
        "replications": 2,
        "root_seed": 7,
        "design": {"kind": "grid"},
        "parameters": {"price.volatility_per_year": {"levels": [0.3, 0.6]}},
    }
    data.update(kw)
    p = tmp_path / "spec.toml"
    p.write_text(tomli_w.dumps(data))
    return str(p)


def test_grid_count_is_the_product_of_levels(tmp_path):
    pts = grid({"a": [1, 2, 3], "b": [10, 20], "c": ["x", "y"]})
    assert len(pts) == 3 * 2 * 2
    assert {(p["a"], p["b"], p["c"]) for p in pts} == {
        (a, b, c) for a in (1, 2, 3) for b in (10, 20) for c in ("x", "y")
    }
    spec = load_spec(
        write_spec(
            tmp_path,
            replications=3,
            parameters={
                "price.volatility_per_year": {"levels": [0.3, 0.5, 0.7]},
                "energy.dispersion_log": {"levels": [0.1, 0.3]},
                "consolidation.auctions": {"levels": [True, False]},
            },
        )
    )
    assert len(points(spec)) == 12
    assert len(tasks_of(spec)) == 36


def test_lhs_one_point_per_stratum(tmp_path):
    n = 17
    x = latin_hypercube({"a": (0.0, 1.0), "b": (10.0, 30.0)}, n, seed=3)
    for j, (lo, hi) in enumerate([(0.0, 1.0), (10.0, 30.0)]):
        strata = np.floor((x[:, j] - lo) / (hi - lo) * n).astype(int)
        assert sorted(strata) == list(range(n))
    bounds = {"price.drift_per_year": (-0.2, 0.4), "energy.median_price_usd_per_mwh": (30, 65)}
    spec = load_spec(
        write_spec(
            tmp_path,
            design={"kind": "lhs", "n": 25},
            parameters={k: {"low": lo, "high": hi} for k, (lo, hi) in bounds.items()},
        )
    )
    pts = points(spec)
    assert len(pts) == 25
    for k, (lo, hi) in bounds.items():
        strata = sorted(int((p[k] - lo) / (hi - lo) * 25) for p in pts)
        assert strata == list(range(25))


@pytest.mark.parametrize(("second", "expected"), [(True, 8 * (2 * 3 + 2)), (False, 8 * (3 + 2))])
def test_saltelli_sample_size(tmp_path, second, expected):
    spec = load_spec(
        write_spec(
            tmp_path,
            design={"kind": "sobol", "n": 8, "second_order": second},
            parameters={
                "price.volatility_per_year": {"low": 0.2, "high": 0.8},
                "energy.median_price_usd_per_mwh": {"low": 35, "high": 55},
                "firms.hurdle_rate_private": {"low": 0.12, "high": 0.25},
            },
        )
    )
    assert len(points(spec)) == expected


def test_integer_parameters_are_rounded(tmp_path):
    spec = load_spec(
        write_spec(
            tmp_path,
            design={"kind": "lhs", "n": 6},
            parameters={"firms.n_firms": {"low": 15, "high": 30}},
        )
    )
    assert spec.parameters["firms.n_firms"].integer is True
    assert all(isinstance(p["firms.n_firms"], int) for p in points(spec))


def test_seeds_are_spawned_per_point_and_replication(tmp_path):
    tasks = tasks_of(load_spec(write_spec(tmp_path, replications=3)))
    assert [t.seed for t in tasks] == [run_seed(7, t.point_id, t.replication) for t in tasks]
    assert len({t.seed for t in tasks}) == len(tasks)
    paired = tasks_of(load_spec(write_spec(tmp_path, replications=3, common_seeds=True)))
    assert [t.seed for t in paired[:3]] == [t.seed for t in paired[3:]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"parameters": {"price.nope": {"levels": [1]}}}, r"parameters\.price\.nope"),
        ({"design": {"kind": "random"}}, r"design\.kind"),
        ({"design": {"kind": "grid", "samples": 3}}, r"design\.samples: unknown key"),
        ({"replicates": 3}, r"replicates: unknown key"),
        ({"design": {"kind": "lhs", "n": 4}}, r"parameters\.price\.volatility_per_year: lhs"),
        (
            {
                "design": {"kind": "lhs", "n": 4},
                "parameters": {"price.volatility_per_year": {"low": 0.2, "high": 7.0}},
            },
            r"parameters\.price\.volatility_per_year\.high: .*less than or equal to 3",
        ),
        (
            {"parameters": {"price.model": {"levels": ["gbm_jump", "garch"]}}},
            r"parameters\.price\.model\.levels\[1\]",
        ),
        ({"design": {"kind": "sobol", "n": 30}}, r"design: n: Sobol designs need a power of 2"),
        ({"overrides": {"firms.n_firms": 2}}, r"overrides: firms\.n_firms"),
        ({"base": "missing.toml"}, r"base: .*missing\.toml"),
        ({"outputs": {"columns": ["hhi_nope"]}}, r"outputs\.columns: .*hhi_nope"),
        ({"parameters": {"run.seed": {"levels": [1, 2]}}}, r"parameters\.run\.seed"),
        (
            {
                "design": {"kind": "sobol", "n": 4},
                "parameters": {"price.volatility_per_year": {"low": 0.2, "high": 0.8}},
                "outputs": {"sensitivity": ["hhi_nope_end"]},
            },
            r"outputs\.sensitivity: 'hhi_nope_end'",
        ),
    ],
)
def test_spec_errors_name_the_field(tmp_path, change, message):
    with pytest.raises(SweepSpecError, match=message):
        load_spec(write_spec(tmp_path, **change))


def test_base_is_relative_to_the_spec(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "calm.toml").write_text('name = "calm"\n[price]\ndrift_per_year = 0.0\n')
    spec_path = tmp_path / "sub" / "s.toml"
    spec_path.write_text(
        tomli_w.dumps(
            {
                "base": "calm.toml",
                "overrides": TINY,
                "parameters": {"energy.dispersion_log": {"levels": [0.1]}},
            }
        )
    )
    base = load_spec(spec_path).base_scenario()
    assert base.name == "calm" and base.price.drift_per_year == 0.0 and base.firms.n_firms == 20


@pytest.mark.parametrize(
    ("name", "runs"),
    [
        ("sweep_price_energy", 200),
        ("sobol_baseline", 32 * (5 + 2) * 2),
        ("sovereign_entry", 6 * 6),
        ("study_centralisation", 3 * 10),
        ("study_small_miners", 3 * 3 * 8),
        ("study_pools", 3 * 2 * 8),
    ],
)
def test_experiment_sweeps_load(name, runs):
    from tests.conftest import EXPERIMENTS

    assert len(tasks_of(load_spec(EXPERIMENTS / f"{name}.toml"))) == runs


def test_sobol_indices_recover_a_known_function(tmp_path):
    """The pipeline (point order, replication means, SALib) on y = 4 a + b, c inert."""
    import pandas as pd

    from abm.sweeps.analysis import sobol_indices

    params = {
        "price.volatility_per_year": {"low": 0.0, "high": 1.0},
        "energy.dispersion_log": {"low": 0.0, "high": 1.0},
        "firms.hurdle_rate_private": {"low": 0.1, "high": 0.3},
    }
    spec = load_spec(write_spec(tmp_path, design={"kind": "sobol", "n": 256}, parameters=params))
    spec.outputs.sensitivity = ["y"]  # a synthetic output, not a model metric
    tasks = tasks_of(spec)
    assert len({t.seed for t in tasks if t.replication == 0}) == 1  # common seeds for Sobol
    a, b = (np.array([t.params[k] for t in tasks]) for k in list(params)[:2])
    runs = pd.DataFrame(
        {
            "point_id": [t.point_id for t in tasks],
            "status": "ok",
            # replications differ by noise that averages out per point
            "y": 4 * a + b + np.where([t.replication for t in tasks], 0.01, -0.01),
        }
    )
    sob, notes = sobol_indices(spec, runs)
    s = sob.set_index("parameter")
    assert not notes
    assert s.loc["price.volatility_per_year", "S1"] == pytest.approx(16 / 17, abs=0.05)
    assert s.loc["energy.dispersion_log", "S1"] == pytest.approx(1 / 17, abs=0.03)
    assert abs(s.loc["firms.hurdle_rate_private", "ST"]) < 0.01
