"""Issue 19 acceptance measurements on the 10-year baseline over seeds.

usage: python experiments/acceptance_consolidation.py OUT.json SEEDS [OVERRIDES]
SEEDS: e.g. 1,2,3 or 1-10; OVERRIDES: a JSON object of dotted scenario paths applied to the
baseline. One baseline run per seed; writes per seed the realised deals per year in 2026-2028,
the transfers of sites by kind, day one's AI capacity under contract, AI's shares of revenue
and of gross margin (first and last year), owner HHI, small-firm survival and the sovereign
share at the horizon, and prints the medians over seeds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from seeds import parse_seeds  # the script's folder is on sys.path

from abm import run
from abm.ownership import TRANSFER_KINDS
from abm.scenario import Scenario

KEYS = (
    "deals_per_year_first_3y",
    "ai_mw_initial",
    "ai_mw_awarded",
    "ai_revenue_share_first_year",
    "ai_margin_share_first_year",
    "ai_revenue_share_last_year",
    "ai_margin_share_last_year",
    "hhi_owner_end",
    "small_firm_survival",
    "share_sovereign_end",
    "acquisitions",
    "site_purchases",
)


def measure(base: Scenario, seed: int) -> dict:
    res = run(base, seed=seed)
    s = res.summary
    row = {"seed": seed, **{k: s.get(k) for k in KEYS}}
    row["ai_mw_contracted_day_one"] = float(res.timeseries["ai_mw_contracted"].iloc[0])
    for kind in TRANSFER_KINDS:
        row[f"transfers_{kind}"] = s.get(f"transfers_{kind}", 0)
    return row


def main(argv: list[str]) -> None:
    out, seeds = argv[1], parse_seeds(argv[2])
    base = Scenario()
    if len(argv) > 3:
        base = base.with_overrides(json.loads(argv[3]))
    rows = []
    for seed in seeds:
        rows.append(measure(base, seed))
        print(json.dumps(rows[-1]), flush=True)
        Path(out).write_text(json.dumps(rows, indent=1))
    for k in rows[0]:
        if k != "seed" and all(isinstance(r[k], int | float) for r in rows):
            v = np.array([r[k] for r in rows], float)
            print(f"{k:32} median {np.median(v):10.4g}  range {v.min():10.4g} .. {v.max():10.4g}")


if __name__ == "__main__":
    main(sys.argv)
