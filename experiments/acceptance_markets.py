"""Issue 18 acceptance measurements on the 10-year baseline over seeds (run in a worktree).

usage: python experiments/acceptance_markets.py OUT.json SEEDS [OVERRIDES]
SEEDS: e.g. 1,2,3 or 1-10; OVERRIDES: a JSON object of dotted scenario paths applied to the
baseline, e.g. '{"world.tranches": 20}'. Runs per seed: baseline, energy.price_multiplier =
0.78, a -60% price shock over 30 days in 2026-06 and in 2032-09. Writes every per-seed
number (issue 18, acceptance).
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from seeds import parse_seeds  # the script's folder is on sys.path

from abm import run
from abm.scenario import Scenario

out, seeds = sys.argv[1], parse_seeds(sys.argv[2])
base = Scenario()
if len(sys.argv) > 3:
    base = base.with_overrides(json.loads(sys.argv[3]))


def shock(date: str) -> Scenario:
    return base.with_overrides(
        {"events": [{"kind": "price_shock", "date": date, "change": -0.6, "days": 30}]}
    )


def survival_small(res) -> float:
    return float(res.summary["small_firm_survival"])


def cliff(res) -> float:
    """Largest fall of survival between adjacent $5/MWh bins of initial power price (bins with
    >= 10 initial firms)."""
    fo = res.firm_outcomes
    init = fo[(fo["entry_day"] == 0) & (fo["kind"] != "sovereign")]
    alive = (init["event_day"] < 0).to_numpy()
    price = init["initial_power_price_usd_per_mwh"].to_numpy()
    b = np.floor(price / 5.0).astype(int)
    rows = []
    for k in np.unique(b):
        sel = b == k
        if sel.sum() >= 10:
            rows.append((k, alive[sel].mean()))
    drops = [a[1] - c[1] for a, c in itertools.pairwise(rows) if c[0] == a[0] + 1]
    return float(max(drops)) if drops else 0.0


def exit_waves(res) -> list[dict]:
    ts = res.timeseries.set_index("date")
    fo = res.firm_outcomes
    out = []
    for year in sorted(set(ts.index.year)):
        start = pd.Timestamp(f"{year}-01-01")
        end = pd.Timestamp(f"{year}-12-31")
        d0 = (start - ts.index[0]).days
        d1 = (end - ts.index[0]).days
        active = ((fo["entry_day"] <= d0) & ((fo["exit_day"] < 0) | (fo["exit_day"] > d0))).sum()
        exits = ((fo["exit_day"] > d0) & (fo["exit_day"] <= d1)).sum()
        hp = ts["hashprice_usd_per_ph_day"]
        yr = hp[(hp.index >= start) & (hp.index <= end)]
        # hashprice fell by half from its one-year high within the year
        fell = False
        for d, v in yr.items():
            hi = hp[(hp.index > d - pd.Timedelta(days=365)) & (hp.index <= d)].max()
            if v <= 0.5 * hi:
                fell = True
                break
        out.append(
            {
                "year": year,
                "active": int(active),
                "exits": int(exits),
                "hp_halved": fell,
                "share": float(exits / active) if active else 0.0,
            }
        )
    return out


def halted(res) -> bool:
    b = res.timeseries["blocks_found"].to_numpy(float)
    roll = np.convolve(b, np.ones(90), "valid")
    return bool((roll < 0.5 * 90 * 144).any())


def halving_responses(res) -> list[float]:
    ts = res.timeseries
    h = ts["network_hashrate_ehs"].to_numpy()
    sub = ts["subsidy_btc"].to_numpy()
    out = []
    for i in np.flatnonzero(np.diff(sub) < 0) + 1:
        if i + 30 < len(h) and i >= 7:
            out.append(float(h[i + 24 : i + 31].mean() / h[i - 7 : i].mean() - 1))
    return out


def halving_energy_shares(res) -> list[float]:
    """Hashrate-weighted energy share of revenue over the 30 days before each halving."""
    ts = res.timeseries
    e = ts["energy_share_of_revenue"].to_numpy()
    sub = ts["subsidy_btc"].to_numpy()
    return [
        float(np.nanmean(e[i - 30 : i]))
        for i in np.flatnonzero(np.diff(sub) < 0) + 1
        if i + 30 < len(e) and i >= 30
    ]


def shock_cut(res, date: str) -> float:
    ts = res.timeseries.set_index("date")
    d = pd.Timestamp(date)
    before = ts.loc[
        d - pd.Timedelta(days=7) : d - pd.Timedelta(days=1), "network_hashrate_ehs"
    ].mean()
    after = ts.loc[d : d + pd.Timedelta(days=60), "network_hashrate_ehs"].min()
    return float(after / before - 1)


def energy_share_after(res, date: str) -> float:
    ts = res.timeseries.set_index("date")
    d = pd.Timestamp(date) + pd.Timedelta(days=730)
    return float(ts.loc[d - pd.Timedelta(days=90) : d, "energy_share_of_revenue"].mean())


rows = []
for seed in seeds:
    r0 = run(base, seed=seed)
    r78 = run(base.with_overrides({"energy.price_multiplier": 0.78}), seed=seed)
    s26 = run(shock("2026-06-01"), seed=seed)
    s32 = run(shock("2032-09-01"), seed=seed)
    row = {
        "seed": seed,
        "small_survival": survival_small(r0),
        "small_survival_078": survival_small(r78),
        "cliff": cliff(r0),
        "exit_waves": exit_waves(r0),
        "halted": halted(r0),
        "halted_any": [halted(x) for x in (r0, r78, s26, s32)],
        "halvings": halving_responses(r0),
        "halving_energy_shares": halving_energy_shares(r0),
        "shock_2026": shock_cut(s26, "2026-06-01"),
        "shock_2032": shock_cut(s32, "2032-09-01"),
        "energy_share_2y_after_2026_shock": energy_share_after(s26, "2026-07-01"),
        "energy_share_2y_after_2032_shock": energy_share_after(s32, "2032-10-01"),
        "energy_share_mean": float(r0.timeseries["energy_share_of_revenue"].mean()),
        "hhi_owner_end": r0.summary["hhi_owner_end"],
        "nakamoto_owner_end": r0.summary["nakamoto_owner_end"],
        "share_world_end": r0.summary.get("share_world_end"),
        "hashrate_end": r0.summary["network_hashrate_ehs_end"],
        "exits": r0.summary["exits"],
        "defaults": r0.summary["defaults"],
    }
    rows.append(row)
    print(json.dumps({k: v for k, v in row.items() if k != "exit_waves"}), flush=True)
    Path(out).write_text(json.dumps(rows, indent=1))
