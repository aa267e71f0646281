"""Ownership: who owns whom after acquisitions, as a networkx graph and as arrays.

Every transfer of sites is an edge buyer -> seller with its day, price, kind and the number of
sites and MW that changed control. The kinds (``TRANSFER_KINDS``): ``acquisition``, a
voluntary purchase of a firm that keeps operating as a subsidiary, with its sites (part of the
price may be paid in the buyer's shares: ``shares_usd``); ``site_purchase``, one site bought
from a firm that goes on; ``auction``, the sites and rigs of a defaulted firm's estate;
``exit_sale``, those of a firm that exits voluntarily. The graph is a multigraph: a buyer may
buy from the same seller more than once. The ultimate owner of a firm is the root of its chain
of acquirers (acquisitions only). The model keeps an ``ultimate_owner`` array in step with the
graph so owner-level concentration is one bincount per day.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import numpy as np
import pandas as pd

ACQUISITION, SITE_PURCHASE, AUCTION, EXIT_SALE = (
    "acquisition",
    "site_purchase",
    "auction",
    "exit_sale",
)
TRANSFER_KINDS = (ACQUISITION, SITE_PURCHASE, AUCTION, EXIT_SALE)


class Ownership:
    """Graph of site transfers over firm ids (rows of the model's FirmTable)."""

    def __init__(self) -> None:
        self.graph = nx.MultiDiGraph()

    def add_firms(self, firm_ids: Iterable[int], names: Iterable[str]) -> None:
        for i, name in zip(firm_ids, names, strict=True):
            self.graph.add_node(int(i), name=name)

    def record(
        self,
        acquirer: int,
        target: int,
        day: int,
        price_usd: float,
        kind: str,
        sites: int = 0,
        mw: float = 0.0,
        shares_usd: float = 0.0,
    ) -> None:
        """Add the edge acquirer -> target, with the number of sites and the MW that changed
        control and the part of the price paid in shares. An acquisition requires an
        independent target (no current owner) and must not close a cycle of ownership."""
        if kind not in TRANSFER_KINDS:
            raise ValueError(f"unknown kind of transfer {kind!r}; one of {TRANSFER_KINDS}")
        if kind == ACQUISITION:
            if self.owner_of(target) is not None:
                raise ValueError(f"firm {target} already has an owner")
            if acquirer == target or target in self._ancestors(acquirer):
                raise ValueError(f"{acquirer} acquiring {target} would create an ownership cycle")
        self.graph.add_edge(
            int(acquirer),
            int(target),
            day=int(day),
            price_usd=float(price_usd),
            kind=kind,
            sites=int(sites),
            mw=float(mw),
            shares_usd=float(shares_usd),
        )

    def release(self, owner: int, day: int) -> list[int]:
        """The owner exits: its direct subsidiaries lose it as owner (the edges stay, marked
        with the day of release). Returns the released subsidiaries."""
        out = []
        for _, b, d in self.graph.out_edges(owner, data=True):
            if d["kind"] == ACQUISITION and "released_day" not in d:
                d["released_day"] = int(day)
                out.append(int(b))
        return out

    def owner_of(self, firm: int) -> int | None:
        """The current direct owner of `firm` (None when independent)."""
        for a, _, d in self.graph.in_edges(firm, data=True):
            if d["kind"] == ACQUISITION and "released_day" not in d:
                return int(a)
        return None

    def _ancestors(self, firm: int) -> set[int]:
        seen: set[int] = set()
        node = self.owner_of(firm)
        while node is not None and node not in seen:
            seen.add(node)
            node = self.owner_of(node)
        return seen

    def edges_frame(self) -> pd.DataFrame:
        """All transfers as a table: acquirer (buyer), target (seller), day, price_usd, kind,
        sites and mw (the sites and MW that changed control), shares_usd (part of the price
        paid in the buyer's new shares)."""
        rows = [{"acquirer": a, "target": b, **d} for a, b, d in self.graph.edges(data=True)]
        cols = ["acquirer", "target", "day", "price_usd", "kind", "sites", "mw", "shares_usd"]
        return pd.DataFrame(rows, columns=cols)

    def counts_by_kind(self) -> dict[str, dict[str, float]]:
        """Transfers, sites and MW that changed hands, by kind (every kind listed)."""
        out = {k: {"deals": 0, "sites": 0, "mw": 0.0} for k in TRANSFER_KINDS}
        for *_, d in self.graph.edges(data=True):
            c = out[d["kind"]]
            c["deals"] += 1
            c["sites"] += int(d.get("sites", 0))
            c["mw"] += float(d.get("mw", 0.0))
        return out


def ultimate_owners(graph: nx.DiGraph, kinds: tuple[str, ...] = (ACQUISITION,)) -> dict[int, int]:
    """Ultimate owner of every node: follow current (unreleased) edges of the given kinds back
    to a root."""
    parent: dict[int, int] = {}
    for a, b, d in graph.edges(data=True):
        if d.get("kind") in kinds and "released_day" not in d:
            parent[b] = a
    owners: dict[int, int] = {}
    for node in graph.nodes:
        seen = {node}
        root = node
        while root in parent:
            root = parent[root]
            if root in seen:
                raise ValueError(f"ownership cycle through {node}")
            seen.add(root)
        owners[node] = root
    return owners


def reassign_owner(ultimate_owner: np.ndarray, acquirer: int, target: int) -> None:
    """In place: the target and everything it ultimately owned now belong to the acquirer's
    ultimate owner (keeps the array equal to :func:`ultimate_owners` of the graph)."""
    new_root = ultimate_owner[acquirer]
    ultimate_owner[ultimate_owner == ultimate_owner[target]] = new_root
