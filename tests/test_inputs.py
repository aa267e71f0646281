"""Scenario input rules: finite, bounded numbers everywhere (named by their dotted path), a
horizon of at least a day, a named scenario file, and the plausibility rules of
abm.plausibility (refusals and warnings)."""

from __future__ import annotations

import datetime as dt
import json
import math
import types
import typing
import warnings

import numpy as np
import pytest

from abm import Scenario, ScenarioError, load_scenario
from abm.jsonio import json_text
from abm.plausibility import ScenarioWarning, warnings_of
from abm.scenario import Section
from tests.conftest import EXPERIMENTS, small_scenario


def _float_leaves(model: type[Section], prefix: str = ""):
    """(dotted path, annotation, default) of every float-valued field, at any depth of the
    sections, including dicts and lists of floats."""
    for name, field in model.model_fields.items():
        ann, path = field.annotation, f"{prefix}{name}"
        if isinstance(ann, type) and issubclass(ann, Section):
            yield from _float_leaves(ann, f"{path}.")
            continue
        args = typing.get_args(ann)
        origin = typing.get_origin(ann)
        if ann is float or (origin in (typing.Union, types.UnionType) and float in args):
            yield path, "scalar", field.default
        elif origin is dict and args[1] is float:
            yield path, "dict", field.default
        elif origin is list and args == (float,):
            yield path, "list", field.default


FLOAT_FIELDS = list(_float_leaves(Scenario))


def test_the_schema_has_many_float_fields():
    kinds = {k for _, k, _ in FLOAT_FIELDS}
    assert len(FLOAT_FIELDS) > 80 and kinds == {"scalar", "dict", "list"}


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, 1e300])
@pytest.mark.parametrize(
    ("path", "kind", "default"), FLOAT_FIELDS, ids=[p for p, _, _ in FLOAT_FIELDS]
)
def test_every_number_is_finite_and_bounded(path, kind, default, bad):
    if kind == "scalar":
        value, where = bad, path
    elif kind == "dict":
        key = next(iter(default))
        value, where = {**default, key: bad}, path
    else:
        value, where = [bad, *default[1:]], path
    with pytest.raises(ScenarioError) as err:
        Scenario().with_overrides({path: value})
    line = next(ln for ln in str(err.value).splitlines() if ln.strip().startswith(f"{where}"))
    # NaN and inf: refused as such; 1e300: by the field's own range, else as beyond 1e18
    assert "finite number" in line if math.isinf(bad) or math.isnan(bad) else line


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (
            {
                "sovereigns": [
                    {"name": "s", "capacity_path": [{"date": "2026-01-01", "mw": math.inf}]}
                ]
            },
            "sovereigns.0.capacity_path.0.mw",
        ),
        (
            {"events": [{"kind": "price_shock", "date": "2026-02-01", "change": math.nan}]},
            "events.0.price_shock.change",
        ),
        ({"firms": {"n_firms": 10**30}}, "firms.n_firms"),
        ({"protocol": {"initial_difficulty": math.inf}}, "protocol.initial_difficulty"),
        ({"price": {"initial_usd": 1e300}}, "price.initial_usd"),
    ],
)
def test_numbers_inside_lists_of_sections_are_named_too(data, where):
    from abm.scenario import scenario_from_dict

    with pytest.raises(ScenarioError, match=rf"  {where.replace('.', r'\.')}: "):
        scenario_from_dict({"name": "x", **data})


def test_the_horizon_is_at_least_one_day():
    with pytest.raises(ScenarioError, match=r"run\.years: horizon shorter than one day"):
        Scenario().with_overrides({"run.years": 0.001})
    assert Scenario().with_overrides({"run.years": 1 / 365}).run.years == 1 / 365


def test_a_scenario_file_needs_a_name(tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text("# nothing but a comment\n")
    with pytest.raises(ScenarioError, match="empty scenario: give at least `name"):
        load_scenario(empty)
    unnamed = tmp_path / "unnamed.toml"
    unnamed.write_text("[price]\nvolatility_per_year = 0.7\n")
    with pytest.raises(ScenarioError, match="no `name`"):
        load_scenario(unnamed)
    unnamed.write_text('name = "v"\n[price]\nvolatility_per_year = 0.7\n')
    assert load_scenario(unnamed).price.volatility_per_year == 0.7


# ---------------------------------------------------------------------------------------------
# plausibility
SOVEREIGN = {"name": "big", "capacity_path": [{"date": "2026-01-01", "mw": 1_000_000.0}]}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"sovereigns": [SOVEREIGN]},
            r"sovereigns: together they reach 1,000,000 MW on 2026-01-01, more than the 12,430 MW",
        ),
        ({"sovereign_scale": 20.0}, r"15,019 MW on 2026-07-01, more than the 12,430 MW"),
        (
            {"run.start_date": "2200-01-01"},
            r"2200-01-01 is more than 10 years after .*S23 Hydro.*latest start 2036-03-01",
        ),
        ({"run.start_date": "2010-01-01"}, r"2010-01-01 is before the first hardware generation"),
        (
            {"price.model": "replay"},
            r"2026-01-01 \.\. 2026-07-01 \(182 days\) are outside the packaged BTC prices "
            r"2015-01-01 \.\. 2026-02-13",
        ),
        (
            {"price.model": "replay", "run.start_date": "2026-02-01", "run.years": 0.1},
            r"2026-02-01 \.\. 2026-03-08 \(36 days\)",
        ),
        (
            {
                "firms.population": "explicit",
                "firms.explicit": [
                    {
                        "name": "a",
                        "hashrate_ehs": 10.0,
                        "power_price_usd_per_mwh": 40.0,
                        "generation": "S99",
                    }
                ],
            },
            r"firms\.explicit\[0\]\.generation 'S99' is not a hardware generation",
        ),
    ],
    ids=[
        "sovereign-1GW",
        "sovereign-scale",
        "start-2200",
        "start-2010",
        "replay-2026",
        "replay-end",
        "generation",
    ],
)
def test_contradictory_scenarios_are_refused(overrides, message):
    with pytest.raises(ScenarioError, match=message):
        small_scenario(**overrides)


def test_plausible_neighbours_of_the_refused_are_accepted():
    # (400 + 200 x 181/364) + 250 + 1.5 MW on the last day of half a year, x 16 = 12,015 MW
    small_scenario(**{"sovereign_scale": 16.0})
    small_scenario(**{"run.start_date": "2036-03-01", "run.years": 0.1})
    small_scenario(**{"run.start_date": "2016-06-01", "run.years": 0.1})
    small_scenario(
        **{"price.model": "replay", "run.start_date": "2026-02-01", "run.years": 13 / 365}
    )
    # a sovereign that outgrows the network only after the horizon is not refused
    late = {
        "name": "late",
        "capacity_path": [{"date": "2027-01-01", "mw": 0.0}, {"date": "2030-01-01", "mw": 1e6}],
    }
    small_scenario(years=0.5, sovereigns=[late])
    with pytest.raises(ScenarioError, match="sovereigns: together"):
        small_scenario(years=5.0, sovereigns=[late])
    # every shipped scenario passes
    for path in EXPERIMENTS.glob("*.toml"):
        text = path.read_text()
        if "[parameters" not in text:  # (sweep specifications are checked in test_sweeps_spec)
            load_scenario(path)


def test_events_outside_the_horizon_are_warned_about():
    sc = load_scenario(EXPERIMENTS / "crash.toml")  # price shock on 2026-03-01
    assert warnings_of(sc) == []
    short = sc.with_overrides({"run.years": 0.1})  # ends 2026-02-06
    (msg,) = warnings_of(short)
    assert "price.shocks[0] (price_shock, 2026-03-01) is outside the simulated days" in msg
    assert msg.endswith("it has no effect")
    history = load_scenario(EXPERIMENTS / "history.toml").with_overrides(
        {"run.start_date": "2022-01-01", "run.years": 1.0}
    )
    found = warnings_of(history)
    assert any("events[0] (regional_ban, 2021-06-21)" in m and "no effect" in m for m in found)
    assert any("events[1] (grid_emergency, 2026-01-24)" in m for m in found)
    from abm.plausibility import warn

    with pytest.warns(ScenarioWarning, match="scenario 'crash': price.shocks"):
        warn(short)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn(sc)  # nothing to say


# ---------------------------------------------------------------------------------------------
# JSON
def _strict(text: str):
    def refuse(name: str):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_json_has_no_nan_or_infinity():
    value = {
        "nan": math.nan,
        "inf": math.inf,
        "ninf": -math.inf,
        "np": np.float32("nan"),
        "int": np.int64(3),
        "bool": np.bool_(True),
        "nested": [1.5, (math.nan, {"x": np.float64(math.inf)})],
        "array": np.array([1.0, np.nan]),
        "date": "2026-01-01",
    }
    back = _strict(json_text(value))
    assert back == {
        "nan": None,
        "inf": None,
        "ninf": None,
        "np": None,
        "int": 3,
        "bool": True,
        "nested": [1.5, [None, {"x": None}]],
        "array": [1.0, None],
        "date": "2026-01-01",
    }
    assert isinstance(back["int"], int)


def test_a_runs_json_files_are_strict_json_with_null_for_undefined(tmp_path):
    from abm.runner import run

    r = run(small_scenario(years=3 / 365), seed=1)
    r.summary["hashprice_usd_per_ph_day_end"] = float("nan")  # as with no hashrate
    r.summary["ledger"] = {"x": np.float64("inf")}
    out = r.save(tmp_path / "run")
    summary = _strict((out / "summary.json").read_text())
    assert summary["hashprice_usd_per_ph_day_end"] is None and summary["ledger"] == {"x": None}
    manifest = _strict((out / "manifest.json").read_text())
    assert manifest["kind"] == "run" and manifest["package"] == "abm-mining"
    assert dt.date.fromisoformat(summary["end_date"]) == dt.date(2026, 1, 3)
