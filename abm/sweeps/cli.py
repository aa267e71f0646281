"""`abm sweep SPEC.toml --out DIR [--workers N] [--scheduler ADDRESS] [--force]`."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def cmd_sweep(args: argparse.Namespace) -> int:
    from abm.sweeps.sweep import HEADLINE, sweep

    out = Path(args.out) if args.out else Path("results") / Path(args.spec).stem
    res = sweep(
        args.spec,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        force=args.force,
        retry_failed=args.retry_failed,
    )
    cols = ["point_id", "n", *[c for c in res.summary_by_point.columns if c.startswith("param:")]]
    show = res.summary_by_point[
        cols + [f"{k}_mean" for k in HEADLINE if f"{k}_mean" in res.summary_by_point]
    ]
    with pd.option_context("display.width", 200, "display.max_rows", 40):
        print(show.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if res.sobol is not None and not res.sobol.empty:
        print("\nSobol indices (95% confidence half-widths):")
        print(res.sobol.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\n{res.done} runs done, {res.failed} failed; results in {res.out_dir}/")
    return 0 if res.failed == 0 else 1


def register(sub: argparse._SubParsersAction) -> None:
    from abm.cli import _seed

    s = sub.add_parser("sweep", help="run (or resume) a parameter sweep")
    s.add_argument("spec", help="sweep specification (TOML)")
    s.add_argument("--out", help="results directory (default: results/<spec name>)")
    s.add_argument("--workers", type=_seed, help="local processes, or Dask workers")
    s.add_argument("--scheduler", help="'local' (Dask LocalCluster) or a scheduler address")
    s.add_argument("--force", action="store_true", help="overwrite another spec's results")
    s.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    s.set_defaults(func=cmd_sweep)
