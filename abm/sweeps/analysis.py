"""Analysis of a sweep's runs: per-point intervals of headline metrics, paired effects against a
reference point (common seeds), Sobol indices. Runs whose chain halted are counted per point
and listed (:func:`halted_runs`); the concentration metrics' statistics leave them out
(:func:`abm.stats.for_metric`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from abm.metrics import is_concentration_metric
from abm.stats import for_metric, halted, t_interval
from abm.sweeps import designs
from abm.sweeps.spec import SweepSpec

__all__ = [
    "HEADLINE",
    "halted_runs",
    "halving_steps",
    "paired_effects",
    "points_table",
    "reference_point",
    "sobol_indices",
    "summarise_points",
]

HEADLINE = (
    "hhi_firm_end",
    "nakamoto_firm_end",
    "small_firm_survival",
    "network_hashrate_ehs_end",
    "hashprice_usd_per_ph_day_end",
    "hhi_owner_end",
    "hhi_pool_end",  # pools on (abm.pools)
    "nakamoto_pool_end",
)


def summarise_points(runs: pd.DataFrame, params: list[str], level: float = 0.95) -> pd.DataFrame:
    """Per design point: its parameters, runs ok and failed, runs whose chain halted (count and
    share of the runs ok), and for each headline metric the mean and t interval across the
    successful replications (for a concentration metric, those whose chain did not halt)."""
    rows = []
    metrics = [k for k in HEADLINE if k in runs]  # the pool metrics only where pools ran
    for pid, g in runs.groupby("point_id", sort=True):
        ok = g[g["status"] == "ok"]
        n_halted = int(halted(ok).sum())
        row: dict[str, Any] = {
            "point_id": pid,
            **g.iloc[0][params].to_dict(),
            "n_ok": len(ok),
            "n_failed": len(g) - len(ok),
            "n_halted": n_halted,
            "halted_share": n_halted / len(ok) if len(ok) else np.nan,
        }
        for k in metrics:
            x = for_metric(ok, k)[k].to_numpy(float) if k in ok else np.array([])
            row[f"{k}_mean"], row[f"{k}_ci_low"], row[f"{k}_ci_high"] = t_interval(x, level)
        rows.append(row)
    return pd.DataFrame(rows)


def reference_point(runs: pd.DataFrame, params: list[str], base: dict[str, Any]) -> int:
    """The design point whose parameters equal the base scenario's (`base`: parameter -> value,
    missing for parameters the scenario does not hold), else the first point."""
    points = runs.drop_duplicates("point_id").sort_values("point_id")
    if params and all(p in base for p in params):
        match = np.logical_and.reduce(
            [np.isclose(points[p].to_numpy(float), float(base[p])) for p in params]
        )
        if match.any():
            return int(points["point_id"].to_numpy()[np.flatnonzero(match)[0]])
    return int(points["point_id"].iloc[0])


def paired_effects(
    runs: pd.DataFrame,
    params: list[str],
    reference: int,
    metrics: list[str],
    level: float = 0.95,
) -> pd.DataFrame:
    """Per design point other than `reference` and per metric: the mean difference point -
    reference over the replications that share a seed (common random numbers), with its t
    interval. Replications that failed at either point, or whose metric is not finite, are
    left out, and for a concentration metric those whose chain halted at either point (n_pairs
    counts the rest). Empty if the points do not share seeds."""
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    ref = ok[ok["point_id"] == reference].set_index("seed")
    rows = []
    for pid, g in ok[ok["point_id"] != reference].groupby("point_id", sort=True):
        g = g.set_index("seed")
        common = g.index.intersection(ref.index)
        if common.empty:
            continue
        either = halted(g.loc[common]) | halted(ref.loc[common])
        for m in metrics:
            seeds = common[~either] if is_concentration_metric(m) else common
            d = (g.loc[seeds, m] - ref.loc[seeds, m]).to_numpy(float)
            mean, low, high = t_interval(d, level)
            rows.append(
                {
                    "point_id": pid,
                    **g.iloc[0][params].to_dict(),
                    "metric": m,
                    "n_pairs": int(np.isfinite(d).sum()),
                    "effect_mean": mean,
                    "effect_ci_low": low,
                    "effect_ci_high": high,
                    "reference_mean": float(np.nanmean(ref.loc[seeds, m].to_numpy(float))),
                }
            )
    return pd.DataFrame(rows)


def halted_runs(runs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The runs whose chain halted: the columns `by` (e.g. point and parameters, or scenario),
    the seed and the fewest blocks found in 90 days, in the order of `runs`."""
    cols = [c for c in (*by, "seed", "min_blocks_90d") if c in runs]
    return runs.loc[halted(runs), cols].reset_index(drop=True)


def halving_steps(
    series: pd.DataFrame,
    by: str,
    columns: list[str],
    halvings: list[pd.Timestamp],
    window_days: int = 365,
    level: float = 0.95,
) -> pd.DataFrame:
    """Change of each kept series across each halving, per group of `by`: for every run
    (``run_id``), the mean over the `window_days` after the halving minus the mean over the
    `window_days` before it, then the mean and t interval of that step across the group's runs.
    Halvings without a full window on both sides inside the data are skipped. The step includes
    whatever trend the series has over the two windows."""
    dates = pd.to_datetime(series["date"])
    first, last = dates.min(), dates.max()
    win = pd.Timedelta(days=window_days)
    rows = []
    for h in halvings:
        if h - win < first or h + win > last + pd.Timedelta(days=1):
            continue
        before = series[(dates >= h - win) & (dates < h)]
        after = series[(dates >= h) & (dates < h + win)]
        for col in columns:
            b = before.groupby([by, "run_id"])[col].mean()
            a = after.groupby([by, "run_id"])[col].mean()
            step = (a - b).dropna()
            for group, x in step.groupby(level=0):
                mean, low, high = t_interval(x.to_numpy(float), level)
                rows.append(
                    {
                        by: group,
                        "halving": h.date().isoformat(),
                        "series": col,
                        "n_runs": int(x.size),
                        "before_mean": float(b.loc[group].mean()),
                        "after_mean": float(a.loc[group].mean()),
                        "step_mean": mean,
                        "step_ci_low": low,
                        "step_ci_high": high,
                    }
                )
    return pd.DataFrame(rows)


def points_table(by_point: pd.DataFrame, params: list[str], max_rows: int = 60) -> str:
    """Fixed-width text: parameters, runs, and 'mean ± half-width' of each headline metric."""
    cols: dict[str, list[str]] = {"point": by_point["point_id"].astype(str).tolist()}
    short = [p.rsplit(".", 1)[-1] for p in params]
    for p, name in zip(params, short, strict=True):
        cols[name if short.count(name) == 1 else p] = [_fmt(v) for v in by_point[p]]
    cols["ok/fail"] = [
        f"{a}/{b}" for a, b in zip(by_point["n_ok"], by_point["n_failed"], strict=True)
    ]
    if "n_halted" in by_point:  # runs whose chain halted (not in the concentration metrics)
        cols["halted"] = by_point["n_halted"].astype(int).astype(str).tolist()
    for k in (k for k in HEADLINE if f"{k}_mean" in by_point):
        mean, lo, hi = (by_point[f"{k}_{s}"] for s in ("mean", "ci_low", "ci_high"))
        cols[k.removesuffix("_end")] = [
            _fmt(m) + ("" if np.isnan(h) else f" ± {_fmt((h - lo_) / 2)}")
            for m, lo_, h in zip(mean, lo, hi, strict=True)
        ]
    frame = pd.DataFrame(cols)
    if len(frame) > max_rows:
        frame = pd.concat([frame.head(max_rows // 2), frame.tail(max_rows // 4)])
    return frame.to_string(index=False)


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "nan" if np.isnan(v) else f"{v:.4g}"
    return str(v)


def sobol_indices(spec: SweepSpec, runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """First-order and total Sobol indices with 95% confidence half-widths (SALib), per
    sensitivity output, of its mean over replications at each Saltelli point (for a
    concentration output, over the replications whose chain did not halt).

    Returns (indices: output, parameter, S1, S1_conf, ST, ST_conf; notes on skipped outputs).
    """
    from SALib.analyze import sobol

    bounds = {k: (r.low, r.high) for k, r in spec.parameters.items()}
    prob = designs.problem(bounds)
    n_points = len(designs.points(spec))
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs.iloc[:0]
    rows, notes = [], []
    for out in spec.outputs.sensitivity:
        if out not in ok:
            notes.append(f"{out}: no successful run, no Sobol indices")
            continue
        y = for_metric(ok, out).groupby("point_id")[out].mean()
        y = y.reindex(range(n_points)).to_numpy(float)
        missing = int(np.isnan(y).sum())
        if missing:
            notes.append(f"{out}: {missing} of {n_points} points without a value, no indices")
            continue
        res = sobol.analyze(
            prob, y, calc_second_order=spec.design.second_order, seed=spec.root_seed
        )
        for i, name in enumerate(prob["names"]):
            rows.append(
                {
                    "output": out,
                    "parameter": name,
                    "S1": res["S1"][i],
                    "S1_conf": res["S1_conf"][i],
                    "ST": res["ST"][i],
                    "ST_conf": res["ST_conf"][i],
                }
            )
    cols = ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    return pd.DataFrame(rows, columns=cols), notes
