"""Sovereign participants and paired counterfactuals."""

from __future__ import annotations

import numpy as np
import pytest

from abm import MiningIndustry, load_scenario, run
from abm.compare import compare
from abm.firms import SovereignMiner
from tests.conftest import EXPERIMENTS, small_scenario


def sovereign(name="S", mw=100.0, **kw):
    return {"name": name, "capacity_path": [{"date": "2026-01-01", "mw": mw}], **kw}


def test_sovereign_contest_extension():
    """Tullock contest with a fixed exogenous hashrate H_s: total X solves
    (sum_A c) X^2 / V - (m-1) X - H_s = 0 and private shares are 1 - c_i X / V.

    Hand computation: V = 144 x 3.125 x 90,000 = 40.5e6 USD/day; c_i = 13.5 x 24e-6 x p_i for
    p = 30, 45, 60 USD/MWh -> c = 0.00972, 0.01458, 0.01944 (sum 0.04374); H_s = 200 EH/s =
    2e8 TH/s (2,200 MW of 11 J/TH rigs). a = 0.04374 / 40.5e6 = 1.08e-9, so
    X = (2 + sqrt(4 + 4 x 1.08e-9 x 2e8)) / (2 x 1.08e-9) = 4.205449 / 2.16e-9 = 1.946967e9 TH/s
    = 1946.97 EH/s; shares 1 - c_i X / V = 0.53273, 0.29909, 0.06545 and H_s / X = 0.10272."""
    sc = load_scenario(EXPERIMENTS / "contest.toml")
    firms = [
        {
            "name": f"F{i}",
            "hashrate_ehs": 200.0,
            "power_price_usd_per_mwh": p,
            "generation": "S21 XP",
        }
        for i, p in enumerate([30.0, 45.0, 60.0])
    ]
    sov = sovereign(mw=2200.0, power_cost_usd_per_mwh=0.0)
    r = run(sc.with_overrides({"firms.explicit": firms, "sovereigns": [sov]}), keep_model=True)
    x = r.model.firm_installed_ths()
    assert x.sum() / 1e6 == pytest.approx(1946.97, rel=0.05)
    np.testing.assert_allclose(x / x.sum(), [0.53273, 0.29909, 0.06545, 0.10272], atol=0.02)


def test_seasonal_availability_removes_exactly_its_hashrate():
    base = small_scenario(years=0.1, **{"sovereigns": [sovereign(mw=300.0)]})
    off = base.with_overrides(
        {"sovereigns": [sovereign(mw=300.0, off_season_months=[1], off_season_availability=0.0)]}
    )
    a, b = MiningIndustry(base, seed=4), MiningIndustry(off, seed=4)
    a.step()
    b.step()
    (row,) = b.sovereigns.rows
    installed_ths = b.firm_installed_ths()[row]
    assert installed_ths > 0 and b.firms.running_ths[row] == 0  # January: off season
    # the same day with the same random numbers: the network loses exactly its hashrate
    assert a.firms.running_ths[row] == pytest.approx(installed_ths)
    ha = a.recorder.timeseries()["network_hashrate_ehs"].iloc[0]
    hb = b.recorder.timeseries()["network_hashrate_ehs"].iloc[0]
    assert ha - hb == pytest.approx(installed_ths / 1e6, rel=1e-9)


def test_sovereigns_never_default_nor_overspend():
    specs = [
        sovereign("poor", mw=50.0, power_cost_usd_per_mwh=90.0, budget_usd=1e6),
        sovereign("rich", mw=50.0, budget_usd=5e7, sell_down_per_year=2.0, initial_btc=100.0),
    ]
    sc = small_scenario(
        years=1.5,
        **{"sovereigns": specs, "price.drift_per_year": -1.5, "price.initial_usd": 40_000.0},
    )
    m = MiningIndustry(sc, seed=2)
    budgets = [m.firms.budget_usd[m.sovereigns.rows].copy()]
    while m.running:
        m.step()
        budgets.append(m.firms.budget_usd[m.sovereigns.rows].copy())
        assert m.firms.active[m.sovereigns.rows].all()
        assert (m.firms.cash_usd[m.sovereigns.rows] >= 0).all()
    b = np.array(budgets)
    assert (b >= -1e-6).all() and (np.diff(b, axis=0) <= 1e-9).all()
    assert m.ledger["usd_state_support"] > 0  # the dear-power sovereign needed its state
    assert len(m.agents_by_type[SovereignMiner]) == 2
    # sell-down: the rich sovereign sold most of its initial 100 BTC
    assert m.ledger["btc_sold"] > 50


def test_pairing_shrinks_the_confidence_interval():
    a = small_scenario(years=0.5, **{"sovereigns": []})
    b = small_scenario(years=0.5, **{"sovereigns": [sovereign(mw=2000.0, budget_usd=1e8)]})
    c = compare(a, b, seeds=6)
    eff = c.effects.set_index("metric")
    for k in ("network_hashrate_ehs_end", "hashprice_usd_per_ph_day_end"):
        paired = eff.loc[k, "ci_high"] - eff.loc[k, "ci_low"]
        unpaired = eff.loc[k, "unpaired_ci_high"] - eff.loc[k, "unpaired_ci_low"]
        # common random numbers: the paired interval is the narrower one (the runs' outcomes
        # are positively correlated across the two scenarios)
        assert paired < unpaired, k
    # the sovereign adds hashrate and takes a share
    assert eff.loc["share_sovereign_end", "ci_low"] > 0
    assert eff.loc["network_hashrate_ehs_end", "diff_b_minus_a"] > 0


def test_compare_cli_writes_outputs(tmp_path, capsys):
    from abm.cli import main

    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    small_scenario(years=0.1, **{"sovereigns": []}).save(a)
    small_scenario(years=0.1).save(b)
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--seeds", "3", "--out", str(out)]) == 0
    assert {
        "runs.parquet",
        "effects.csv",
        "summary.json",
        "manifest.json",
        "scenario_a.toml",
        "scenario_b.toml",
    } <= {p.name for p in out.iterdir()}
    assert "95% CI (paired)" in capsys.readouterr().out
    assert main(["compare", str(a), str(b), "--seeds", "1"]) == 2


def test_sovereign_scale_multiplies_capacity():
    sc = small_scenario(years=0.05, **{"sovereigns": [sovereign(mw=100.0, budget_usd=1e6)]})
    one = MiningIndustry(sc, seed=1)
    three = MiningIndustry(sc.with_overrides({"sovereign_scale": 3.0}), seed=1)
    (r,) = one.sovereigns.rows
    assert three.firm_capacity_mw()[r] == pytest.approx(300.0)
    assert three.firms.budget_usd[r] == pytest.approx(3e6)
    assert one.firm_capacity_mw()[r] == pytest.approx(100.0)


def _programme(funding: str) -> MiningIndustry:
    """A profitable programme ($20/MWh hydro all year, no hardware budget, no BTC on day one)
    whose policy path grows from 400 to 600 MW over 2026, run for two years."""
    spec = sovereign(
        "Programme",
        power_cost_usd_per_mwh=20.0,
        funding=funding,
        capacity_path=[{"date": "2026-01-01", "mw": 400.0}, {"date": "2026-12-31", "mw": 600.0}],
    )
    m = MiningIndustry(small_scenario(years=2.0, **{"sovereigns": [spec]}), seed=3)
    return m


def _filled_with_frontier_rigs(m: MiningIndustry, frontier: int) -> float:
    """Share of the programme's MW that rigs of generation `frontier` or newer fill [0-1]."""
    (site,) = m.sovereigns.site_rows
    g = m.gens
    mw = m.sites.fleet_ths[site, frontier:] @ g.power_mw_per_th[frontier:]
    return float(mw / m.sites.capacity_mw[site])


@pytest.mark.parametrize("funding", ["reinvest", "budget"])
def test_a_profitable_programme_keeps_its_mw_path_filled_when_it_reinvests(funding):
    m = _programme(funding)
    frontier = m.gens.newest_released(0)  # the generation its day-one rigs are
    assert _filled_with_frontier_rigs(m, frontier) == pytest.approx(1.0)
    filled = []
    for day in range(730):
        m.step()
        if day + 1 in (365, 730):
            filled.append(_filled_with_frontier_rigs(m, frontier))
    (row,) = m.sovereigns.rows
    if funding == "reinvest":
        # within a year the path's 600 MW are at least 90% filled, and they stay filled as
        # rigs fail, paid for by selling mined BTC (no state budget: none was spent)
        assert min(filled) >= 0.9, filled
        assert m.ledger["usd_state_budget"] == 0.0 and m.firms.cum_capex_usd[row] > 0
    else:
        # on a one-off budget of 0 nothing is bought: 400 of 600 MW at best, less failures
        assert max(filled) < 400.0 / 600.0, filled
        assert m.firms.cum_capex_usd[row] == 0.0
