"""Ownership resolution and survival bookkeeping on hand-built cases."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from abm import MiningIndustry
from abm.ownership import Ownership, reassign_owner, ultimate_owners
from tests.conftest import small_scenario


def test_ultimate_owners_through_chains():
    # 0 -> 1 -> 2 (chain), 3 -> 4, 5 alone; auction edges do not create ownership
    g = nx.DiGraph()
    g.add_nodes_from(range(7))
    for a, b in [(0, 1), (1, 2), (3, 4)]:
        g.add_edge(a, b, kind="acquisition")
    g.add_edge(5, 6, kind="auction")
    owners = ultimate_owners(g)
    assert owners == {0: 0, 1: 0, 2: 0, 3: 3, 4: 3, 5: 5, 6: 6}


def test_reassign_matches_graph_resolution():
    own = Ownership()
    own.add_firms(range(6), [f"f{i}" for i in range(6)])
    arr = np.arange(6)
    for a, b in [(1, 2), (3, 4), (0, 1), (0, 3), (5, 0)]:  # 5 ends up owning everyone
        own.record(a, b, day=1, price_usd=1.0, kind="acquisition")
        reassign_owner(arr, a, b)
        expected = ultimate_owners(own.graph)
        assert arr.tolist() == [expected[i] for i in range(6)]
    assert set(arr.tolist()) == {5}


def test_no_cycles_or_second_owner():
    own = Ownership()
    own.add_firms(range(3), ["a", "b", "c"])
    own.record(0, 1, 1, 1.0, "acquisition")
    with pytest.raises(ValueError, match="already has an owner"):
        own.record(2, 1, 1, 1.0, "acquisition")
    with pytest.raises(ValueError, match="cycle"):
        own.record(1, 0, 1, 1.0, "acquisition")


def test_survival_by_class_hand_computed():
    """Six initial small firms: events (exit or acquisition) on days 10, 20, 20, 30 and two
    censored at the horizon (day 40). KM: S(10) = 5/6, S(20) = 5/6 x 2/4... computed below."""
    sc = small_scenario(years=40 / 365)
    m = MiningIndustry(sc, seed=1)
    m.run_model()
    t = m.firms
    small = np.flatnonzero(t.entry_day == 0)[:6]
    t.size_class[:] = 1  # only our six firms are 'small'
    t.size_class[small] = 0
    rec = m.recorder
    rec._initial_rows = np.flatnonzero(t.entry_day == 0)
    t.exit_day[:] = -1
    t.acquired_day[:] = -1
    t.exit_cause[:] = 0
    t.exit_day[small[0]], t.exit_cause[small[0]] = 10, 1  # insolvent
    t.acquired_day[small[1]] = 20  # acquired
    t.exit_day[small[2]], t.exit_cause[small[2]] = 20, 3  # voluntary
    t.acquired_day[small[3]], t.exit_day[small[3]], t.exit_cause[small[3]] = 30, 35, 1
    km = rec.survival()
    km = km[km["size_class"] == "small"].set_index("time")
    # at risk 6 at day 10, 1 event: S = 5/6; day 20: 5 at risk, 2 events: S = 5/6 x 3/5 = 1/2;
    # day 30: 3 at risk, 1 event (acquired before it exited): S = 1/2 x 2/3 = 1/3
    assert km.loc[10, "survival"] == pytest.approx(5 / 6)
    assert km.loc[20, "survival"] == pytest.approx(0.5)
    assert km.loc[30, "survival"] == pytest.approx(1 / 3)
    assert km.loc[30, "at_risk"] == 3
    causes = rec.exit_causes()["small"]
    assert causes == {"insolvent": 1, "acquired": 2, "voluntary": 1, "active": 2}
