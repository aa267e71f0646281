"""The protocol of the model's components (AI market, capabilities, events, sovereigns,
consolidation).

A component owns one mechanism. The model keeps its components in a list and calls, for each:

- ``on_new_firms(rows)`` when firms are added (initial population, entrants), to draw the
  component's own attributes of those firms from its own random stream;
- ``daily(phase, today)`` at the points of the day named in ``phases`` (see
  :data:`abm.day.PHASES` and ARCHITECTURE.md), with the day's records so far;
- ``on_liquidate(row)`` when a firm's estate is being sold (before its assets are auctioned),
  and ``on_exit(row)`` when a firm has left;
- ``on_acquired(buyer, members)`` when firm `buyer`'s group has just taken over the firms
  `members` (the target and what it owned, their ultimate owner already the buyer's);
- ``summary()`` for the run's summary.json.

Components read and change the model only through its public attributes and methods and move
money and assets only through :class:`abm.books.Books`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

if TYPE_CHECKING:
    from abm.day import Today
    from abm.model import MiningIndustry


class Component(Protocol):
    """What the model calls on each of its components."""

    phases: ClassVar[tuple[str, ...]]

    def on_new_firms(self, rows: np.ndarray) -> None: ...

    def daily(self, phase: str, today: Today) -> None: ...

    def on_liquidate(self, row: int) -> None: ...

    def on_exit(self, row: int) -> None: ...

    def on_acquired(self, buyer: int, members: np.ndarray) -> None: ...

    def summary(self) -> dict[str, Any]: ...


class BaseComponent:
    """A component that does nothing at each hook (subclasses override what they need)."""

    phases: ClassVar[tuple[str, ...]] = ()

    def __init__(self, m: MiningIndustry) -> None:
        self.m = m

    def on_new_firms(self, rows: np.ndarray) -> None:
        return None

    def daily(self, phase: str, today: Today) -> None:
        return None

    def on_liquidate(self, row: int) -> None:
        return None

    def on_exit(self, row: int) -> None:
        return None

    def on_acquired(self, buyer: int, members: np.ndarray) -> None:
        return None

    def summary(self) -> dict[str, Any]:
        return {}
