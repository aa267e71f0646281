"""Plausibility rules: scenarios whose parts contradict each other, found before a run.

Refused (the scenario does not validate; the ScenarioError names the rule and the values):

- **Horizon** shorter than one day: ``run.years`` < 1/365 (checked by the schema itself).
- **Start before the hardware**: ``run.start_date`` before the first listed generation's
  release: no rigs exist to make the day-one fleet.
- **Start beyond the hardware table**: ``run.start_date`` more than
  10 years (``MAX_START_AFTER_TABLE_YEARS``) after the newest listed generation's release (e.g.
  2200): the whole fleet and its efficiency would be extrapolated from the table. List newer
  generations in ``hardware.generations`` to start later.
- **Replay outside the data**: ``price.model = "replay"`` with a simulated day outside the
  packaged daily BTC prices (2015-01-01 .. 2026-02-13).
- **Unknown generation**: an explicit firm's ``generation`` that is not in the generation
  table of the run.
- **Sovereigns larger than the network**: on some day of the horizon the enabled sovereigns
  together hold more capacity (their capacity paths x ``sovereign_scale`` x their
  ``sovereign_programme`` events, as the model computes it) than the private network draws on
  day one: its hashrate (``firms.initial_hashrate_ehs``, or the explicit firms') times the
  efficiency of its rigs (EH/s x J/TH = MW), counted with the newest generation released by
  the start for a calibrated population (a lower bound: older rigs draw more) and with each
  explicit firm's own generation. Sovereigns fill their capacity with the newest generation,
  so beyond this bound they alone would out-hash every other miner from the start.

Warned about (``warning:`` lines from the CLI, a ``ScenarioWarning`` from Python; the run
goes on, since one scenario file is often run over several horizons):

- **Event outside the horizon**: an ``[[events]]`` entry or a ``[[price.shocks]]`` entry dated
  after the last simulated day has no effect; one dated before the first day has none either
  (regional bans, tariff changes), lasts only into the run (grid emergencies) or applies from
  the first day as far as it has built up (price shocks, sovereign programmes, AI demand
  shocks).
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from abm.scenario import Scenario

__all__ = ["MAX_START_AFTER_TABLE_YEARS", "ScenarioWarning", "problems", "warn", "warnings_of"]

MAX_START_AFTER_TABLE_YEARS = 10

_BEFORE_START = {
    "regional_ban": "has no effect (bans dated before the start never take effect)",
    "tariff_change": "has no effect (changes dated before the start never take effect)",
    "grid_emergency": "lasts only for its days inside the run, if any",
    "price_shock": "applies from the first day, as far as it has built up",
    "sovereign_programme": "applies from the first day",
    "ai_demand_shock": "applies from the first day",
}


class ScenarioWarning(UserWarning):
    """A scenario part that will not act as its date suggests (see the module docstring)."""


def _days(sc: Scenario) -> tuple[dt.date, int, dt.date]:
    """(first day, number of days, last day) of the run, as the model counts them."""
    n_days = round(sc.run.years * 365)
    start = sc.run.start_date
    return start, n_days, start + dt.timedelta(days=n_days - 1)


def _plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def problems(sc: Scenario) -> list[str]:
    """Every refusal rule of the module docstring that `sc` breaks (empty: none)."""
    from abm.markets.hardware import build_generations

    start, n_days, end = _days(sc)
    gens = sc.hardware.generations
    out = []
    if start < gens[0].release_date:
        out.append(
            f"run.start_date {start} is before the first hardware generation ({gens[0].name!r}, "
            f"released {gens[0].release_date}): there are no rigs for the day-one fleet"
        )
    latest = _plus_years(gens[-1].release_date, MAX_START_AFTER_TABLE_YEARS)
    if start > latest:
        out.append(
            f"run.start_date {start} is more than {MAX_START_AFTER_TABLE_YEARS} years after the "
            f"newest hardware generation ({gens[-1].name!r}, released {gens[-1].release_date}; "
            f"latest start {latest}): list newer generations in hardware.generations"
        )
    if sc.price.model == "replay":
        out += _replay_problems(start, end, n_days)
    table = build_generations(sc.hardware, start, n_days)
    unknown = [
        (i, f.generation)
        for i, f in enumerate(sc.firms.explicit)
        if f.generation is not None and f.generation not in table.names
    ]
    for i, name in unknown:
        out.append(
            f"firms.explicit[{i}].generation {name!r} is not a hardware generation of this run "
            f"({', '.join(table.names)})"
        )
    if not out:
        out += _sovereign_problems(sc, table, start, n_days)
    return out


def _replay_problems(start: dt.date, end: dt.date, n_days: int) -> list[str]:
    from abm.data_io import price_history

    prices = price_history().index
    first, last = prices[0].date(), prices[-1].date()
    if first <= start and end <= last:
        return []
    return [
        f"price.model = 'replay': the run's days {start} .. {end} ({n_days} days) are outside "
        f"the packaged BTC prices {first} .. {last}; change run.start_date or run.years"
    ]


def _sovereign_problems(sc: Scenario, table, start: dt.date, n_days: int) -> list[str]:
    from abm.sovereigns import capacity_mw, enabled

    specs = enabled(sc)
    if not specs:
        return []
    total = np.sum([capacity_mw(sc, s, start, n_days) for s in specs], axis=0)
    day = int(np.argmax(total))
    peak = float(total[day])
    newest = table.newest_released(0)
    if sc.firms.population == "explicit":
        pairs = [
            (f.hashrate_ehs, table.efficiency_j_per_th[table.index_of(f.generation)])
            if f.generation
            else (f.hashrate_ehs, table.efficiency_j_per_th[newest])
            for f in sc.firms.explicit
        ]
        hashrate_ehs = sum(h for h, _ in pairs)
        network_mw = float(sum(h * e for h, e in pairs))
        rigs = "their own generations"
    else:
        hashrate_ehs = sc.firms.initial_hashrate_ehs
        network_mw = float(hashrate_ehs * table.efficiency_j_per_th[newest])
        rigs = f"{table.efficiency_j_per_th[newest]:g} J/TH ({table.names[newest]})"
    if peak <= network_mw:
        return []
    return [
        f"sovereigns: together they reach {peak:,.0f} MW on {start + dt.timedelta(days=day)}, "
        f"more than the {network_mw:,.0f} MW the private network draws on day one "
        f"({hashrate_ehs:,.0f} EH/s at {rigs}): they alone would out-hash every other miner; "
        "lower their capacity_path or sovereign_scale, or raise the network's hashrate"
    ]


def warnings_of(sc: Scenario) -> list[str]:
    """Every warning rule of the module docstring that `sc` meets (empty: none)."""
    start, _, end = _days(sc)
    dated = [(f"price.shocks[{i}]", "price_shock", x.date) for i, x in enumerate(sc.price.shocks)]
    dated += [(f"events[{i}]", e.kind, e.date) for i, e in enumerate(sc.events)]
    out = []
    for where, kind, day in dated:
        if day > end:
            effect = "has no effect"
        elif day < start:
            effect = _BEFORE_START[kind]
        else:
            continue
        out.append(
            f"{where} ({kind}, {day}) is outside the simulated days {start} .. {end}: it {effect}"
        )
    return out


def warn(sc: Scenario) -> None:
    """Issue a :class:`ScenarioWarning` for each of :func:`warnings_of`."""
    for message in warnings_of(sc):
        warnings.warn(f"scenario {sc.name!r}: {message}", ScenarioWarning, stacklevel=2)
