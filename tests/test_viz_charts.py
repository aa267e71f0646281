"""Plotly chart builders (abm.viz.charts): traces, titles and axis titles, without a browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from abm import MiningIndustry
from abm.firms import KINDS
from abm.sites import CLOSED
from abm.viz import charts
from tests.conftest import small_scenario

TIME_SERIES = {
    "price": charts.price_figure,
    "hashrate": charts.hashrate_figure,
    "hashprice": charts.hashprice_figure,
    "share": charts.share_figure,
    "concentration": charts.concentration_figure,
    "survival": charts.survival_figure,
    "events": charts.events_figure,
    "ai": charts.ai_figure,
}


@pytest.fixture(scope="module")
def stepped() -> MiningIndustry:
    """A small model run for 120 days, across a halving (start 700 blocks before it)."""
    sc = small_scenario(
        n_firms=40, years=0.5, **{"protocol.start_height": 1_049_300, "pools.enabled": True}
    )
    m = MiningIndustry(sc, seed=5)
    for _ in range(120):
        m.step()
    return m


def _title(fig: go.Figure) -> str:
    return fig.layout.title.text


def _names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data]


def _has_unit(text: str | None) -> bool:
    return bool(text) and "[" in text and "]" in text


@pytest.mark.parametrize("key", sorted(TIME_SERIES))
def test_time_series_figures_have_titles_units_and_full_series(stepped, key):
    ts = stepped.recorder.timeseries()
    fig = TIME_SERIES[key](ts)
    assert isinstance(fig, go.Figure)
    assert _title(fig)
    assert fig.layout.xaxis.title.text == "date"
    assert _has_unit(fig.layout.yaxis.title.text)
    assert fig.data and all(len(t.x) == len(ts) for t in fig.data)
    if "yaxis2" in fig.layout:
        assert _has_unit(fig.layout.yaxis2.title.text)


def test_hashrate_figure_traces_and_halving_mark(stepped):
    ts = stepped.recorder.timeseries()
    fig = charts.hashrate_figure(ts)
    assert _names(fig) == ["installed", "running", "implied by difficulty"]
    assert fig.layout.yaxis.title.text == "hashrate [EH/s]"
    np.testing.assert_allclose(fig.data[1].y, ts["network_hashrate_ehs"])
    halvings = charts.halving_dates(ts)
    assert len(halvings) == 1  # the subsidy dropped from 3.125 to 1.5625 once
    day = ts.loc[ts["subsidy_btc"].diff() < 0, "date"].iloc[0]
    assert halvings[0] == day
    assert [s.x0 for s in fig.layout.shapes] == [day.strftime("%Y-%m-%d")]
    assert [a.text for a in fig.layout.annotations] == ["halving"]


def test_hashprice_against_breakeven_by_class(stepped):
    ts = stepped.recorder.timeseries()
    be = pd.DataFrame(
        {"date": ts["date"], "small": 20.0, "medium": 15.0, "large": 12.0, "sovereign": np.nan}
    )
    fig = charts.hashprice_figure(ts, be)
    assert _names(fig) == ["hashprice", "small", "medium", "large"]  # no sovereign data
    assert fig.layout.yaxis.title.text == "hashprice, energy cost [USD/PH/day]"
    assert all(t.line.dash == "dash" for t in fig.data[1:])
    assert _names(charts.hashprice_figure(ts)) == ["hashprice"]


def test_breakeven_is_energy_cost_of_the_running_fleet(stepped):
    m, t, s = stepped, stepped.firms, stepped.sites
    got = charts.breakeven_by_class(m)
    running = m.running_by_gen_ths
    ths = running.sum(axis=1)
    eff = np.divide(
        running @ m.gens.efficiency_j_per_th, ths, out=np.zeros_like(ths), where=ths > 0
    )
    # each site at the rate its owner pays (own: power price; hosted: the hosting rate)
    per_site = charts.energy_cost_usd_per_ph_day(s.rate_usd_per_mwh, eff)
    cls = t.size_class[s.owner]
    for k, name in enumerate(charts.BREAKEVEN_CLASSES):
        sel = (cls == k) & (ths > 0)
        if not sel.any():
            assert np.isnan(got[k])
            continue
        expected = np.average(per_site[sel], weights=ths[sel])
        assert got[k] == pytest.approx(expected, rel=1e-9), name
    # $45/MWh at 20 J/TH: 45 x 20 x 24e-6 x 1000 = 21.6 USD/PH/day
    assert charts.energy_cost_usd_per_ph_day(45.0, 20.0) == pytest.approx(21.6)


def test_share_figure_stacks_to_the_whole(stepped):
    ts = stepped.recorder.timeseries()
    fig = charts.share_figure(ts)
    assert _names(fig) == ["small", "medium", "large", "sovereign", "entrants", "world"]
    assert all(t.stackgroup == "share" for t in fig.data)
    total = np.sum([t.y for t in fig.data], axis=0)
    np.testing.assert_allclose(total[ts["network_hashrate_ehs"].to_numpy() > 0], 100.0)
    assert fig.layout.yaxis.title.text == "share of hashrate [%]"


def test_concentration_figure_two_axes(stepped):
    fig = charts.concentration_figure(stepped.recorder.timeseries())
    assert [t.yaxis or "y" for t in fig.data] == ["y", "y", "y2", "y2"]
    assert fig.layout.yaxis.title.text == "HHI [0-10,000]"
    assert fig.layout.yaxis2.title.text == "Nakamoto coefficient [entities]"


def test_survival_figure_by_initial_class(stepped):
    ts = stepped.recorder.timeseries()
    fig = charts.survival_figure(ts)
    assert _names(fig) == ["small", "medium", "large"]
    np.testing.assert_allclose(fig.data[0].y, ts["surviving_small"] * 100)


def test_site_scatter_one_marker_per_site_with_rigs(stepped):
    sites = charts.site_frame(stepped)
    s = stepped.sites
    assert len(sites) == int((s.status != CLOSED).sum())
    assert set(sites["kind"]) <= set(KINDS)
    assert sites["hosted"].sum() == int(s.hosted()[s.status != CLOSED].sum())
    fig = charts.site_scatter_figure(sites, "2026-05-01")
    shown = sites["fleet_efficiency_j_per_th"].notna().sum()
    assert sum(len(t.x) for t in fig.data) == shown
    assert {t.name for t in fig.data} <= {k for k in KINDS} | {f"{k}, hosted" for k in KINDS}
    assert fig.layout.xaxis.title.text == "power price or hosting rate [USD/MWh]"
    assert fig.layout.yaxis.title.text == "installed fleet efficiency [J/TH]"
    assert "2026-05-01" in _title(fig)
    big = max(fig.data, key=lambda t: max(t.marker.size))
    assert max(big.marker.size) == pytest.approx(40.0)  # the largest site
    # hosted sites are drawn open (the small case hosts nobody: mark two sites as hosted)
    with_rigs = sites.index[sites["fleet_efficiency_j_per_th"].notna()][:2]
    sites.loc[with_rigs, "hosted"] = True
    fig = charts.site_scatter_figure(sites)
    hosted = [t for t in fig.data if t.name.endswith("hosted")]
    assert sum(len(t.x) for t in hosted) == 2
    assert all(t.marker.symbol == "circle-open" for t in hosted)


def test_acquirers_figure_stacks_by_kind():
    edges = pd.DataFrame(
        {
            "acquirer": [0, 0, 1, 2],
            "target": [5, 6, 7, 8],
            "day": [10, 20, 30, 40],
            "price_usd": [100e6, 50e6, 30e6, 5e6],
            "kind": ["acquisition", "auction", "auction", "exit_sale"],
        }
    )
    names = ["Listed-01", "Listed-02", "Private-0003"] + [f"x{i}" for i in range(6)]
    fig = charts.acquirers_figure(edges, names)
    assert _names(fig) == ["acquisition", "auction", "exit_sale"]
    assert list(fig.data[0].y) == ["Private-0003", "Listed-02", "Listed-01"]  # largest on top
    np.testing.assert_allclose(fig.data[1].x, [0.0, 30.0, 50.0])
    assert fig.layout.barmode == "stack"
    assert fig.layout.xaxis.title.text == "paid [USD M]"
    assert "1 firms, 0 sites, 3 estates" in _title(fig)
    empty = charts.acquirers_figure(edges.iloc[:0], names)
    assert not empty.data and "No acquisitions" in empty.layout.annotations[0].text


def test_ownership_network_draws_the_graph():
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(6))
    g.add_edge(0, 1, kind="acquisition", day=5)
    g.add_edge(0, 2, kind="auction", day=9)
    g.add_edge(3, 4, kind="auction", day=12)
    names = [f"F{i}" for i in range(6)]
    hr = np.array([4.0, 1.0, 0.0, 2.0, 0.0, 9.0])
    active = np.array([True, True, False, True, False, True])
    fig = charts.ownership_network_figure(g, names, hr, active)
    lines = {t.name: t for t in fig.data if t.mode == "lines"}
    assert set(lines) == {"acquisition", "auction"}
    assert len(lines["auction"].x) == 6  # two edges: (x0, x1, None) each
    nodes = fig.data[-1]
    assert sorted(nodes.text) == ["F0", "F1", "F2", "F3", "F4"]  # firm 5 made no deal
    by_name = dict(zip(nodes.text, nodes.marker.color, strict=True))
    assert by_name["F2"] == "#ffffff" and by_name["F0"] != "#ffffff"  # exited: open
    assert max(nodes.marker.size) == pytest.approx(36.0)  # the largest dealer, F0
    empty = charts.ownership_network_figure(nx.DiGraph(), names, hr, active)
    assert "No acquisitions" in empty.layout.annotations[0].text


def test_empty_run_shows_a_hint():
    m = MiningIndustry(small_scenario(n_firms=40), seed=1)
    fig = charts.hashrate_figure(m.recorder.timeseries())
    assert fig.layout.annotations[0].text == charts.EMPTY_TEXT


def test_display_rows_thin_long_runs_but_keep_halvings_and_the_last_day():
    n = 3650
    ts = pd.DataFrame(
        {
            "date": pd.date_range("2026-01-01", periods=n, freq="D"),
            "subsidy_btc": np.where(np.arange(n) < 853, 3.125, 1.5625),
        }
    )
    rows = charts.display_rows(ts, 1000)
    assert len(rows) <= 1002
    assert {0, 853, n - 1} <= set(rows)
    thinned = ts.iloc[rows]
    assert charts.halving_dates(thinned) == charts.halving_dates(ts)
    assert list(charts.display_rows(ts.iloc[:500], 1000)) == list(range(500))


def test_figures_serialise_compactly(stepped):
    """Dates go to the browser as days, floats as typed arrays."""
    js = charts.hashrate_figure(stepped.recorder.timeseries()).to_json()
    assert '"2026-01-01"' in js and "T00:00:00" not in js


def test_pools_figure_stacks_pool_shares_and_three_nakamoto_lines(stepped):
    ts = stepped.recorder.timeseries()
    fig = charts.pools_figure(ts, stepped.pools.share_frame())
    assert _title(fig).startswith("Who builds the blocks")
    stacked = [t for t in fig.data if t.stackgroup == "pools"]
    assert {"Foundry USA", "AntPool", "ViaBTC"} <= {t.name for t in stacked}
    np.testing.assert_allclose(np.sum([t.y for t in stacked], axis=0), 100.0)
    right = [t for t in fig.data if t.yaxis == "y2"]
    assert [t.name for t in right] == [
        "Nakamoto, pools (right axis)",
        "Nakamoto, owners (right axis)",
        "Nakamoto, firms (right axis)",
    ]
    np.testing.assert_allclose(right[0].y, ts["nakamoto_pool"])
    assert all(len(t.x) == len(ts) for t in fig.data)
    assert fig.layout.yaxis.title.text == "share of hashrate [%]"


def test_pools_figure_says_when_pools_are_off():
    m = MiningIndustry(small_scenario(years=0.1, **{"pools.enabled": False}), seed=5)
    m.step()
    fig = charts.pools_figure(m.recorder.timeseries(), m.pools.share_frame())
    assert not fig.data and "pools are off" in fig.layout.annotations[0].text
