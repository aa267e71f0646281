"""Issue 20 acceptance measurements: the 10-year baseline with pools on and off (the default),
paired by seed.

usage: python experiments/acceptance_pools.py OUT.json SEEDS (e.g. 1-12)
Per seed: the first-year mean hashrate and block shares of the three largest pools against
their calibrated 2026 shares, the pool Nakamoto coefficient on day one, and the firm-level
outcomes (owner HHI, small-firm survival, network hashrate at the horizon) with pools on and
off; then the paired differences (on - off) with their 95% t intervals beside the seed-to-seed
spread of the pools-off runs.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from abm import run
from abm.scenario import Scenario
from abm.stats import t_interval

out, spec = sys.argv[1], sys.argv[2]
lo, _, hi = spec.partition("-")
seeds = list(range(int(lo), int(hi) + 1)) if hi else [int(s) for s in spec.split(",")]
on = Scenario().with_overrides({"pools.enabled": True})
off = on.with_overrides({"pools.enabled": False})
calibrated = {p.name: p.share for p in on.pools.pools}
TOP3 = ("Foundry USA", "AntPool", "ViaBTC")
OUTCOMES = ("hhi_owner_end", "small_firm_survival", "network_hashrate_ehs_end")

rows = []
for s in seeds:
    a, b = run(on, seed=s), run(off, seed=s)
    first = a.pools[a.pools["day"] < 365]
    row = {
        "seed": s,
        "nakamoto_pool_day1": float(a.timeseries["nakamoto_pool"].iloc[0]),
        "nakamoto_owner_day1": float(a.timeseries["nakamoto_owner"].iloc[0]),
        "hhi_pool_start": a.summary["hhi_pool_start"],
        "hhi_pool_end": a.summary["hhi_pool_end"],
        "nakamoto_pool_end": a.summary["nakamoto_pool_end"],
        "mean_fee_end": a.summary["pool_fee_mean_end"],
        "cpu_wall_on_s": a.summary["wall_time_s"],
        "cpu_wall_off_s": b.summary["wall_time_s"],
    }
    for name in TOP3:
        row[f"share_{name}"] = float(first[first["pool"] == name]["share"].mean())
        row[f"blocks_{name}"] = a.summary["pool_block_shares_first_year"][name]
    for k in OUTCOMES:
        row[f"{k}_on"], row[f"{k}_off"] = float(a.summary[k]), float(b.summary[k])
    rows.append(row)
    print(json.dumps(row), flush=True)

res: dict = {"seeds": seeds, "runs": rows, "first_year": {}, "paired": {}}
for name in TOP3:
    x = np.array([r[f"share_{name}"] for r in rows])
    y = np.array([r[f"blocks_{name}"] for r in rows])
    res["first_year"][name] = {
        "calibrated": calibrated[name],
        "hashrate_share_mean": float(x.mean()),
        "hashrate_share_min": float(x.min()),
        "hashrate_share_max": float(x.max()),
        "block_share_mean": float(y.mean()),
        "gap_points": float(100 * (x.mean() - calibrated[name])),
    }
res["nakamoto_pool_day1"] = sorted({r["nakamoto_pool_day1"] for r in rows})
for k in OUTCOMES:
    a = np.array([r[f"{k}_on"] for r in rows])
    b = np.array([r[f"{k}_off"] for r in rows])
    mean, lo95, hi95 = t_interval(a - b, 0.95)
    res["paired"][k] = {
        "mean_on": float(a.mean()),
        "mean_off": float(b.mean()),
        "diff_on_minus_off": float(mean),
        "ci_low": float(lo95),
        "ci_high": float(hi95),
        "sd_off_seed_to_seed": float(b.std(ddof=1)),
    }
with open(out, "w") as f:
    json.dump(res, f, indent=2)
print(json.dumps({k: res[k] for k in ("first_year", "nakamoto_pool_day1", "paired")}, indent=2))
