"""Scenario schema: TOML round trip, defaults documented, bad input named."""

from __future__ import annotations

import pytest

from abm import Scenario, ScenarioError, load_scenario
from abm.scenario import parameter_table, scenario_from_dict
from tests.conftest import EXPERIMENTS


def test_toml_round_trip(tmp_path):
    sc = Scenario().with_overrides({"price.volatility_per_year": 0.8, "firms.n_firms": 300})
    p = tmp_path / "s.toml"
    sc.save(p)
    assert load_scenario(p) == sc


def test_defaults_are_the_baseline():
    sc = load_scenario(None)
    assert sc.run.start_date.isoformat() == "2026-01-01"
    assert sc.price.initial_usd == 90_000
    assert sc.protocol.initial_difficulty == 148e12


def test_every_parameter_documented():
    rows = parameter_table()
    assert len(rows) > 60
    for r in rows:
        assert r["description"], f"{r['parameter']} has no description"


def test_unknown_key_named(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[price]\nvolatilty_per_year = 0.4\n")
    with pytest.raises(ScenarioError, match=r"price\.volatilty_per_year: unknown parameter"):
        load_scenario(p)


def test_out_of_range_named():
    with pytest.raises(ScenarioError, match=r"firms\.n_firms: .*greater than or equal to 5"):
        scenario_from_dict({"firms": {"n_firms": 2}})
    with pytest.raises(ScenarioError, match=r"protocol\.pool_fee"):
        scenario_from_dict({"protocol": {"pool_fee": 1.5}})


def test_cross_field_checks_named():
    with pytest.raises(ScenarioError, match="energy.*source_mix"):
        scenario_from_dict({"energy": {"source_mix": {"hydro": 0.5}}})
    with pytest.raises(ScenarioError, match="hardware.*release order"):
        scenario_from_dict(
            {
                "hardware": {
                    "generations": [
                        {"name": "a", "release_date": "2024-01-01", "efficiency_j_per_th": 20},
                        {"name": "b", "release_date": "2023-01-01", "efficiency_j_per_th": 10},
                    ]
                }
            }
        )


def test_bad_toml_and_missing_file(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text("[price\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(p)
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nope.toml")


def test_override_unknown_path():
    with pytest.raises(ScenarioError, match="price.nope: no such scenario parameter"):
        Scenario().with_overrides({"price.nope": 1})


def test_contest_experiment_loads():
    sc = load_scenario(EXPERIMENTS / "contest.toml")
    assert sc.behaviour.investment_rule == "best_response"
    assert len(sc.firms.explicit) == 4


def test_parameter_doc_is_current(capsys):
    """docs/PARAMETERS.md is `abm scenario doc`; regenerate it when the schema changes."""
    from abm.cli import main
    from tests.conftest import ROOT

    assert main(["scenario", "doc"]) == 0
    assert (ROOT / "docs" / "PARAMETERS.md").read_text() == capsys.readouterr().out
