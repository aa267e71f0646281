"""Are the engine's outputs bit-identical to those of a reference git commit? (issue 3)

    python benchmarks/check_identical.py                 # against 8ab218e, all cases
    python benchmarks/check_identical.py --ref HEAD~1 --only baseline
    python benchmarks/check_identical.py --times 2       # also CPU time, old and new alternated
    python benchmarks/check_identical.py --ref bd0129e --set pools.enabled=false
                                         # the new runs with a switch the reference lacks

Cases: the 10-year baseline (seed 42), ``experiments/history.toml``, 3,000 firms for 3 years
of run.py's scaled economy, and 4 years of a busy AI market with every capability on (contract
defaults, renewals, estate sales, deferred handovers). The reference commit's ``abm`` package
is extracted with ``git archive`` into a temporary directory and run there (``PYTHONPATH``);
every case runs in a fresh subprocess, which pickles all outputs of ``abm.run``: daily time
series, firm panel, firm outcomes, survival, acquisitions, contracts, summary (without its wall
time) and ledger.
Reference outputs are cached per commit. Values are compared exactly (NaN equal to NaN); every
difference is reported with its first differing row. Exit status 1 if anything differs.

``--set KEY=VALUE`` (repeatable; VALUE as JSON, else a string) overrides a scenario parameter
of the new runs only: the way to show that a new mechanism switched off is the reference
(issue 20: ``pools.enabled=false``). Outputs the new runs have and the reference lacks are
listed as additions, and count as differences unless they are empty (a ledger key at 0, a
column of NaN).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASES: tuple[str, ...] = ("baseline", "history", "scaled_3000_3y", "ai_capabilities_4y")
# a busy AI market (one-year terms, tenant defaults, renewals) with every capability on
AI_CAPABILITIES: dict = {
    "run.years": 4.0,
    "ai.tender_rate_per_year": 40.0,
    "ai.tender_mw_min": 5.0,
    "ai.tender_mw_max": 60.0,
    "ai.min_award_mw": 2.0,
    "ai.term_years_min": 1,
    "ai.term_years_max": 1,
    "ai.conversion_capex_usd_per_mw": 0.5e6,
    "ai.redundancy_capex_usd_per_mw": 0.0,
    "ai.build_days_min": 30,
    "ai.build_days_max": 60,
    "ai.deadline_days_min": 90,
    "ai.deadline_days_max": 120,
    "ai.strategy_mix_private": {"pure": 0.2, "hybrid": 0.5, "pivot": 0.3},
    "ai.tenant_default_prob_per_year": 0.3,
    "ai.renewal_prob": 0.5,
    "capabilities.enabled": True,
    "capabilities.energy_access_prob_listed": 0.5,
    "capabilities.energy_access_prob_private": 0.5,
    "capabilities.risk_managed_prob_listed": 0.5,
    "capabilities.risk_managed_prob_private": 0.5,
    "capabilities.flexible_prob_listed": 0.5,
    "capabilities.flexible_prob_private": 0.5,
}
CACHE = Path(tempfile.gettempdir()) / "abm_check_identical"
TABLES = ("timeseries", "firms", "firm_outcomes", "survival", "acquisitions", "contracts")


SET_ENV = "ABM_CHECK_SET"  # JSON of the overrides of the new runs (--set)


def run_case(case: str) -> tuple[dict[str, Any], float]:
    """All outputs of one case with the ``abm`` on sys.path, and the run's CPU time [s]."""
    import abm
    from abm.scenario import load_scenario

    extra = json.loads(os.environ.get(SET_ENV, "{}"))
    if case == "baseline":
        sc = abm.Scenario().with_overrides(extra)
        go = lambda: abm.run(sc, seed=42)  # noqa: E731
    elif case == "history":
        sc = load_scenario(ROOT / "experiments" / "history.toml").with_overrides(extra)
        go = lambda: abm.run(sc)  # noqa: E731
    elif case == "scaled_3000_3y":
        sys.path.insert(0, str(HERE))
        from run import scaled_scenario

        sc = scaled_scenario(3000, 3.0).with_overrides(extra)
        go = lambda: abm.run(sc, seed=42)  # noqa: E731
    elif case == "ai_capabilities_4y":
        sc = abm.Scenario().with_overrides({**AI_CAPABILITIES, **extra})
        go = lambda: abm.run(sc, seed=7)  # noqa: E731
    else:
        raise ValueError(f"unknown case {case!r}")
    c0 = time.process_time()
    r = go()
    cpu = time.process_time() - c0
    out: dict[str, Any] = {k: getattr(r, k) for k in TABLES}
    out["summary"] = {k: v for k, v in r.summary.items() if k != "wall_time_s"}
    out["ledger"] = dict(r.ledger)
    out["abm_file"] = abm.__file__
    return out, cpu


def ref_tree(ref: str) -> tuple[Path, str]:
    """(directory holding the reference commit's ``abm`` package, full commit hash)."""
    commit = subprocess.run(
        ["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = CACHE / commit / "tree"
    if not (tree / "abm").is_dir():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", commit, "abm"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree, commit


def dump(case: str, tree: Path, out: Path, overrides: dict[str, Any] | None = None) -> float:
    """Run `case` with the ``abm`` of `tree` in a subprocess (with scenario `overrides`),
    pickle to `out`; CPU time [s]."""
    env = {**os.environ, "PYTHONPATH": str(tree), SET_ENV: json.dumps(overrides or {})}
    cmd = [sys.executable, __file__, "--dump", case, str(out)]
    p = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"{case} in {tree} failed:\n{p.stderr}")
    return float(p.stdout.strip().splitlines()[-1])


def _same(a: Any, b: Any) -> bool:
    """Exact equality, NaN equal to NaN, for scalars and arrays."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (np.isnan(a) and np.isnan(b))
    return bool(a == b)


def diff_column(name: str, a: pd.Series, b: pd.Series) -> str | None:
    """None if the columns are identical, else a description of the first difference."""
    if a.dtype != b.dtype:
        return f"{name}: dtype {a.dtype} != {b.dtype}"
    x, y = a.to_numpy(), b.to_numpy()
    if x.dtype.kind in "fc":
        eq = (x == y) | (np.isnan(x) & np.isnan(y))
    elif x.dtype.kind in "biumM":
        eq = x == y
    else:
        eq = np.array([_same(u, v) for u, v in zip(x, y, strict=True)], dtype=bool)
    if eq.all():
        return None
    i = int(np.flatnonzero(~eq)[0])
    return f"{name}: {int((~eq).sum())} rows differ, first at row {i}: {x[i]!r} != {y[i]!r}"


def _empty(v: Any) -> bool:
    """An added output with nothing in it: 0, NaN, or a column of them."""
    x = np.asarray(v.to_numpy() if isinstance(v, pd.Series) else v)
    if x.dtype.kind not in "fcbiu":
        return False
    x = x.astype(float)
    return bool(np.all((x == 0) | np.isnan(x)))


def additions(ref: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, bool]]:
    """(name, empty) of every column, summary key or ledger key only the new run has."""
    out = [
        (f"{k}.{c}", _empty(new[k][c]))
        for k in TABLES
        for c in new[k].columns
        if c not in ref[k].columns
    ]
    return out + [
        (f"{k}.{key}", _empty(new[k][key]))
        for k in ("summary", "ledger")
        for key in new[k]
        if key not in ref[k]
    ]


def diff_frame(name: str, a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Every difference between two output tables (shape, columns, values); columns only `b`
    has are additions (see :func:`additions`)."""
    b = b[[c for c in b.columns if c in a.columns]]
    if list(a.columns) != list(b.columns):
        return [f"{name}: columns {list(a.columns)} != {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{name}: {len(a)} rows != {len(b)} rows"]
    out = [diff_column(f"{name}.{c}", a[c], b[c]) for c in a.columns]
    return [d for d in out if d]


def diff_dict(name: str, a: dict, b: dict) -> list[str]:
    """Every differing key of two flat dicts (summary, ledger); keys only `b` has are
    additions (see :func:`additions`)."""
    out = [f"{name}: keys missing: {sorted(set(a) - set(b))}"] if set(a) - set(b) else []
    return out + [
        f"{name}.{k}: {a[k]!r} != {b[k]!r}" for k in a if k in b and not _same(a[k], b[k])
    ]


def compare(ref: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """All differences between two runs' outputs (empty: bit-identical), additions that are
    not empty among them."""
    out = [f"added and not empty: {name}" for name, empty in additions(ref, new) if not empty]
    for k in TABLES:
        out += diff_frame(k, ref[k], new[k])
    return (
        out
        + diff_dict("summary", ref["summary"], new["summary"])
        + diff_dict("ledger", ref["ledger"], new["ledger"])
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--dump", nargs=2, metavar=("CASE", "OUT"), help=argparse.SUPPRESS)
    p.add_argument("--ref", default="8ab218e", help="reference git commit (default 8ab218e)")
    p.add_argument("--only", action="append", choices=CASES, help="run only these cases")
    p.add_argument("--times", type=int, default=0, help="rerun old and new N times, CPU times")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override (new runs)"
    )
    a = p.parse_args()
    overrides = dict(_parse_set(x) for x in a.set)
    if a.dump:
        out, cpu = run_case(a.dump[0])
        Path(a.dump[1]).write_bytes(pickle.dumps(out))
        print(cpu)
        return
    tree, commit = ref_tree(a.ref)
    failed = False
    for case in a.only or CASES:
        ref_pkl, new_pkl = tree.parent / f"{case}.pkl", CACHE / f"new_{case}.pkl"
        if not ref_pkl.exists():
            dump(case, tree, ref_pkl)
        cpu = dump(case, ROOT, new_pkl, overrides)
        ref, new = (pickle.loads(f.read_bytes()) for f in (ref_pkl, new_pkl))
        assert Path(new["abm_file"]).is_relative_to(ROOT), new["abm_file"]
        assert Path(ref["abm_file"]).is_relative_to(tree), ref["abm_file"]
        diffs = compare(ref, new)
        failed |= bool(diffs)
        status = "IDENTICAL" if not diffs else f"{len(diffs)} DIFFERENCES"
        print(f"{case}: {status} (ref {commit[:7]}; new run {cpu:.2f} s CPU)", flush=True)
        added = [name for name, empty in additions(ref, new) if empty]
        if added:
            print(f"  added, empty: {', '.join(added)}")
        for d in diffs:
            print(f"  {d}")
        for _ in range(a.times):
            old_cpu = dump(case, tree, CACHE / f"t_{case}.pkl")
            new_cpu = dump(case, ROOT, CACHE / f"t_{case}.pkl", overrides)
            print(f"  CPU s: old {old_cpu:.2f}, new {new_cpu:.2f}", flush=True)
    sys.exit(1 if failed else 0)


def _parse_set(item: str) -> tuple[str, Any]:
    """KEY=VALUE, VALUE as JSON (else the string)."""
    key, _, value = item.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


if __name__ == "__main__":
    main()
