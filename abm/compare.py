"""Paired counterfactuals: two scenarios on the same seeds, with common random numbers.

Every random stream is keyed by the run's seed and the stream's name (:mod:`abm.rng`), and the
outage draws by the day, so two scenarios run on the same seed see the same price path, fee
path, block luck and energy outages wherever they do not differ. The paired difference
B - A per seed then removes most of the run-to-run noise: its confidence interval is much
narrower than the one from comparing independent runs. Runs whose chain halted are counted and
listed per scenario; the effects on concentration metrics are taken over the seeds where
neither run halted (:func:`abm.stats.for_metric`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.jsonio import write_json
from abm.metrics import is_concentration_metric
from abm.outputs import replacing
from abm.runner import manifest, run
from abm.scenario import Scenario, load_scenario
from abm.stats import HALTED, halted, t_interval, welch_interval
from abm.sweeps.backends import execute

__all__ = ["COMPARE_METRICS", "SERIES_COLUMNS", "Comparison", "compare", "paired_effects"]

COMPARE_METRICS: tuple[str, ...] = (
    "hhi_owner_end",
    "nakamoto_owner_end",
    "small_firm_survival",
    "network_hashrate_ehs_end",
    "hashprice_usd_per_ph_day_end",
    "share_sovereign_end",
    "ai_revenue_share_last_year",
    "ai_margin_share_last_year",
    "ai_mw_contracted_end",
    "hashrate_to_ai_ehs_end",
    "hhi_pool_end",  # pools on (abm.pools); NaN with pools off
    "nakamoto_pool_end",
)
# daily columns kept per run (series.parquet), every SERIES_CADENCE_DAYS-th day and the last
SERIES_COLUMNS: tuple[str, ...] = (
    "hhi_owner",
    "nakamoto_owner",
    "network_hashrate_ehs",
    "hashprice_usd_per_ph_day",
    "surviving_small",
    "share_sovereign",
    "hhi_pool",  # pools on
    "nakamoto_pool",
)
SERIES_CADENCE_DAYS = 7


@dataclass
class Comparison:
    """Per-seed results of both scenarios and the paired effects B - A."""

    scenario_a: Scenario
    scenario_b: Scenario
    runs: pd.DataFrame  # one row per (scenario, seed)
    effects: pd.DataFrame  # one row per metric
    wall_time_s: float
    series: pd.DataFrame | None = None  # scenario, seed, date, SERIES_COLUMNS (weekly)

    def save(self, out_dir: str | Path) -> Path:
        """Write the comparison to `out_dir` (by the rule of :mod:`abm.outputs`)."""
        with replacing(out_dir, "compare") as staging:
            self.runs.to_parquet(staging / "runs.parquet", index=False)
            self.effects.to_csv(staging / "effects.csv", index=False)
            if self.series is not None:
                self.series.to_parquet(staging / "series.parquet", index=False)
            self.scenario_a.save(staging / "scenario_a.toml")
            self.scenario_b.save(staging / "scenario_b.toml")
            seeds = sorted(int(s) for s in self.runs["seed"].unique())
            summary = {
                "scenario_a": self.scenario_a.name,
                "scenario_b": self.scenario_b.name,
                "seeds": seeds,
                "halted": halted_by_scenario(self.runs),
                "effects": self.effects.to_dict(orient="records"),
            }
            write_json(staging / "summary.json", summary)
            write_json(staging / "manifest.json", manifest(seeds, self.wall_time_s, kind="compare"))
        return Path(out_dir)


def _one(args: tuple[Scenario, int, float | None, str]) -> dict[str, Any]:
    """One run: {"row": its summary metrics, "series": its weekly key series}."""
    sc, seed, years, label = args
    r = run(sc, seed=seed, years=years)
    row = {"scenario": label, "seed": seed}
    row.update({k: float(r.summary.get(k, np.nan)) for k in COMPARE_METRICS})
    row[HALTED] = bool(r.summary[HALTED])
    row["min_blocks_90d"] = float(r.summary["min_blocks_90d"])
    n = len(r.timeseries)
    days = np.union1d(np.arange(0, n, SERIES_CADENCE_DAYS), [n - 1])
    cols = [c for c in SERIES_COLUMNS if c in r.timeseries]  # (no pool columns with pools off)
    series = r.timeseries.iloc[days][["date", *cols]].reset_index(drop=True)
    series.insert(0, "seed", seed)
    series.insert(0, "scenario", label)
    return {"row": row, "series": series}


def paired_effects(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean of each metric under A and B, the paired difference B - A with its t interval, and
    for contrast the unpaired (Welch) interval of the same difference; all over the seeds where
    both runs have the metric, and for a concentration metric where neither chain halted
    (`n_pairs`)."""
    a = runs[runs["scenario"] == "A"].set_index("seed").sort_index()
    b = runs[runs["scenario"] == "B"].set_index("seed").sort_index()
    either = halted(a) | halted(b)  # (both arms ran the same seeds)
    rows = []
    for k in COMPARE_METRICS:
        xa, xb = a[k].to_numpy(float), b[k].to_numpy(float)
        pair = np.isfinite(xa) & np.isfinite(xb)  # seeds where both runs have the metric
        if is_concentration_metric(k):
            pair &= ~either
        xa, xb = xa[pair], xb[pair]
        d = xb - xa
        _, lo, hi = t_interval(d, level)
        ulo, uhi = welch_interval(xa, xb, level)
        rows.append(
            {
                "metric": k,
                "mean_a": xa.mean(),
                "mean_b": xb.mean(),
                "diff_b_minus_a": d.mean(),
                "ci_low": lo,
                "ci_high": hi,
                "unpaired_ci_low": ulo,
                "unpaired_ci_high": uhi,
                "n_pairs": int(d.size),
            }
        )
    return pd.DataFrame(rows)


def halted_by_scenario(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per scenario arm ("A", "B"): runs, how many halted, their share and seeds."""
    out = {}
    for arm, g in runs.groupby("scenario", sort=True):
        stop = halted(g)
        out[str(arm)] = {
            "runs": len(g),
            "halted": int(stop.sum()),
            "halted_share": float(stop.mean()) if len(g) else 0.0,
            "halted_seeds": sorted(int(x) for x in g["seed"][stop]),
        }
    return out


def compare(
    a: Scenario | str | Path | None,
    b: Scenario | str | Path | None,
    seeds: int | list[int] = 30,
    years: float | None = None,
    workers: int = 1,
    progress: bool = False,
) -> Comparison:
    """Run scenarios A and B on the same seeds and return the paired effects B - A."""
    sa = a if isinstance(a, Scenario) else load_scenario(a)
    sb = b if isinstance(b, Scenario) else load_scenario(b)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    jobs = [(sa, s, years, "A") for s in seed_list] + [(sb, s, years, "B") for s in seed_list]
    t0 = time.perf_counter()
    results = list(_progress(execute(_one, jobs, workers=workers), len(jobs), progress))
    results.sort(key=lambda r: (r["row"]["scenario"], r["row"]["seed"]))
    runs = pd.DataFrame([r["row"] for r in results])
    series = pd.concat([r["series"] for r in results], ignore_index=True)
    wall = time.perf_counter() - t0
    return Comparison(sa, sb, runs, paired_effects(runs), wall, series)


def _progress(it, total: int, show: bool):
    if not show:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, total=total, unit="run", desc="compare", file=sys.stderr)


def halted_lines(runs: pd.DataFrame) -> str:
    """One line per scenario arm: how many of its runs halted, and their seeds."""
    return "\n".join(
        f"halted chains, {arm}: {h['halted']} of {h['runs']} runs ({h['halted_share']:.0%})"
        + (f", seeds {h['halted_seeds']}" if h["halted"] else "")
        for arm, h in halted_by_scenario(runs).items()
    )


def effects_table(effects: pd.DataFrame) -> str:
    """Fixed-width text table of the paired effects."""
    head = (
        f"{'metric':<30} {'mean A':>12} {'mean B':>12} {'B - A':>12} "
        f"{'95% CI (paired)':>26} {'95% CI (unpaired)':>26}"
    )
    lines = [head]
    for r in effects.itertuples():
        lines.append(
            f"{r.metric:<30} {r.mean_a:>12.4g} {r.mean_b:>12.4g} {r.diff_b_minus_a:>12.4g} "
            f"{f'[{r.ci_low:.4g}, {r.ci_high:.4g}]':>26} "
            f"{f'[{r.unpaired_ci_low:.4g}, {r.unpaired_ci_high:.4g}]':>26}"
        )
    return "\n".join(lines)
