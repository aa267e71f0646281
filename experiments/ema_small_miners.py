"""Under which conditions do small miners survive? An EMA workbench experiment on the model.

Samples the median power price, the BTC price drift and small firms' cost of debt (EMA's Latin
hypercube), runs each sample on common seeds, and finds with PRIM the box of conditions where
fewer than a fifth of the initially small firms survive:

    python experiments/ema_small_miners.py --scenarios 40 --replications 3 --years 5 --workers 2

Writes experiments.csv and outcomes.csv (one row per sample, outcomes averaged over the seeds)
to --out. On a Dask cluster, run the same ranges as a sweep (abm sweep --scheduler ...) and
`abm discover` it; see abm.ema.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from abm import ema
from abm.discovery import DiscoveryError, cases_of_interest, prim_box

UNCERTAINTIES = {
    "energy.median_price_usd_per_mwh": {"low": 30.0, "high": 65.0},
    "price.drift_per_year": {"low": -0.2, "high": 0.5},
    "finance.rate_small": {"low": 0.06, "high": 0.28},
}
OUTCOMES = ["small_firm_survival", "hhi_owner_end", "share_small_end"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", type=int, default=40, help="EMA samples (default 40)")
    p.add_argument("--replications", type=int, default=3, help="seeds per sample (default 3)")
    p.add_argument("--years", type=float, default=5.0, help="horizon [years] (default 5)")
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    p.add_argument("--below", type=float, default=0.2, help="small-firm survival threshold")
    p.add_argument("--out", default="results/ema_small_miners", help="output folder")
    args = p.parse_args(argv)

    model = ema.build_model(
        uncertainties=UNCERTAINTIES,
        outcomes=OUTCOMES,
        replications=args.replications,
        root_seed=2026,
        years=args.years,
    )
    experiments, outcomes = ema.perform(
        model,
        scenarios=args.scenarios,
        workers=args.workers,
        uncertainty_sampling_kwargs={"rng": 2026},
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    params = [ema.kwarg_name(k) for k in UNCERTAINTIES]
    experiments[params].to_csv(out / "experiments.csv", index=False)
    frame = pd.DataFrame(outcomes)
    frame.to_csv(out / "outcomes.csv", index=False)
    print(pd.concat([experiments[params], frame], axis=1).describe().T.round(3).to_string())

    try:
        y, kept = cases_of_interest(frame, "small_firm_survival", below=args.below)
    except DiscoveryError as err:
        print(f"no PRIM box: {err}")
        return 0
    traj, box, chosen = prim_box(experiments.loc[kept.index, params], y)
    stats = traj.set_index("id").loc[chosen]
    print(
        f"\nPRIM: small_firm_survival < {args.below} in {int(y.sum())} of {len(y)} samples; "
        f"box {chosen}: coverage {stats['coverage']:.2f}, density {stats['density']:.2f}"
    )
    print(box.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"wrote {out}/experiments.csv, outcomes.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
