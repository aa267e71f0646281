"""Run a scenario to its horizon and write the standard outputs.

Outputs of one run (all in one directory, written atomically: a run that fails writes nothing):
``timeseries.parquet`` (daily model-level series), ``firms.parquet`` (firm panel on the
scenario's cadence), ``sites.parquet`` (site panel on the same cadence),
``firm_outcomes.parquet`` (one row per firm: entry, exit, cause), ``survival.parquet``
(Kaplan-Meier survival by initial size class), ``acquisitions.parquet`` (every transfer of sites:
acquirer, target, day, price, kind (acquisition, site_purchase, auction, exit_sale), sites, MW
and the part paid in shares), ``contracts.parquet``
(every AI/HPC hosting contract, columns in :data:`abm.contracts.CONTRACT_COLUMNS`),
``summary.json`` (headline figures at the horizon; ``null`` where a figure is not defined, e.g.
the hashprice of a network with no hashrate; ``chain_halted``: some 90-day window found fewer
than half the blocks expected, :func:`abm.metrics.chain_halted`), ``scenario.toml`` (resolved
scenario) and ``manifest.json`` (kind "run", versions, git commit, seed, timings).
"""

from __future__ import annotations

import functools
import hashlib
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from abm import chain, metrics
from abm.jsonio import write_json
from abm.model import MiningIndustry
from abm.outputs import replacing
from abm.scenario import Scenario, load_scenario

__all__ = ["RunResult", "code_digest", "engine_identity", "manifest", "run", "write_outputs"]

HEADLINE = (
    "btc_price_usd",
    "network_hashrate_ehs",
    "difficulty",
    "hashprice_usd_per_ph_day",
    "active_firms",
    "hhi_firm",
    "nakamoto_firm",
    "cr4_firm",
    "gini_firm",
    "fleet_efficiency_j_per_th",
    "share_small",
    "share_large",
    "surviving_small",
    "surviving_medium",
    "surviving_large",
    "hhi_owner",
    "nakamoto_owner",
    "cr4_owner",
    "gini_owner",
    "independent_firms",
    "debt_usd",
    "share_sovereign",
    "share_world",
    "share_listed",
    "world_hashrate_ehs",
    "energy_share_of_revenue",
    "frontier_rig_price_usd_per_th",
    "used_rig_price_usd_per_th",
    "asic_capacity_ehs_per_year",
    "sovereign_btc_held",
    "ai_mw_contracted",
    "ai_mw_operating",
    "hashrate_to_ai_ehs",
    "mining_sites",
    "hosted_hashrate_share",
)
# with pools on (abm.pools), their concentration beside the firms' and owners'
POOL_HEADLINE = ("hhi_pool", "nakamoto_pool", "cr4_pool", "top_pool_share", "pool_fee_mean")


@dataclass
class RunResult:
    """Tables and headline figures of one run."""

    scenario: Scenario
    seed: int
    timeseries: pd.DataFrame
    firms: pd.DataFrame
    sites: pd.DataFrame
    firm_outcomes: pd.DataFrame
    survival: pd.DataFrame
    acquisitions: pd.DataFrame
    contracts: pd.DataFrame
    summary: dict[str, Any]
    ledger: dict[str, float]
    wall_time_s: float
    model: MiningIndustry | None = field(default=None, repr=False)
    pools: pd.DataFrame = field(default_factory=pd.DataFrame)  # pool x day (pools on)

    def save(self, out_dir: str | Path) -> Path:
        return write_outputs(self, out_dir)


def summarise(model: MiningIndustry, ts: pd.DataFrame) -> dict[str, Any]:
    """Headline figures: values on the first and last day, plus run-level totals."""
    first, last = ts.iloc[0], ts.iloc[-1]
    s: dict[str, Any] = {
        "scenario": model.params.name,
        "seed": model.seed,
        "start_date": str(ts["date"].iloc[0].date()),
        "end_date": str(ts["date"].iloc[-1].date()),
        "days": len(ts),
    }
    for k in HEADLINE:
        s[f"{k}_start"] = _py(first[k])
        s[f"{k}_end"] = _py(last[k])
    s["small_firm_survival"] = s["surviving_small_end"]
    s["exits"] = int(last["exits_cum"])
    s["defaults"] = int(last["defaults_cum"])
    s["acquisitions"] = int(last["acquisitions_cum"])
    s["site_purchases"] = int(last["site_purchases_cum"])
    for kind, c in model.ownership.counts_by_kind().items():
        s[f"transfers_{kind}"] = int(c["deals"])
        s[f"sites_transferred_{kind}"] = int(c["sites"])
        s[f"mw_transferred_{kind}"] = float(c["mw"])
    deals = ts["acquisitions_cum"].to_numpy() + ts["site_purchases_cum"].to_numpy()
    first_years = min(3 * 365, len(ts))
    s["deals_per_year_first_3y"] = float(deals[first_years - 1]) / (first_years / 365.0)
    s["entries"] = int(last["entries_cum"])
    s["exit_causes"] = model.recorder.exit_causes()
    s["btc_issued"] = float(ts["btc_issued"].sum())
    blocks = ts["blocks_found"].to_numpy(float)
    s["chain_halted"] = metrics.chain_halted(blocks, chain.BLOCKS_PER_DAY)
    s["min_blocks_90d"] = metrics.min_window_blocks(blocks)
    s["max_hhi_firm"] = float(ts["hhi_firm"].max())
    s["mean_hashprice_usd_per_ph_day"] = float(ts["hashprice_usd_per_ph_day"].mean())
    for label, year in (("first", ts.iloc[:365]), ("last", ts.iloc[-365:])):
        ai_usd = float(year["ai_revenue_usd"].sum())
        net_of_power = float((year["mining_revenue_usd"] - year["mining_energy_usd"]).sum())
        s[f"ai_revenue_share_{label}_year"] = metrics.ai_share(ai_usd, net_of_power)
        s[f"ai_margin_share_{label}_year"] = metrics.ai_share(
            float(year["ai_margin_usd"].sum()), float(year["mining_margin_usd"].sum())
        )
    s.update(model.ai.summary())
    s.update(model.entry.summary())
    s.update(model.equity.summary())
    if model.pools.enabled:
        for k in POOL_HEADLINE:
            s[f"{k}_start"] = _py(first[k])
            s[f"{k}_end"] = _py(last[k])
        s["max_hhi_pool"] = float(ts["hhi_pool"].max())
        s.update(model.pools.summary())
    return s


def _py(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def run(
    scenario: Scenario | str | Path | None = None,
    seed: int | None = None,
    years: float | None = None,
    progress: bool = False,
    keep_model: bool = False,
) -> RunResult:
    """Simulate a scenario (default: the calibrated baseline) and return its tables.

    Args:
        scenario: Scenario, path to a scenario TOML, or None for the baseline.
        seed: root seed (default: ``scenario.run.seed``).
        years: horizon override [years].
        progress: show a progress bar on stderr.
        keep_model: keep the model object on the result (for inspection).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if years is not None:
        sc = sc.with_overrides({"run.years": years})
    if seed is not None:
        sc = sc.with_overrides({"run.seed": seed})
    t0 = time.perf_counter()
    model = MiningIndustry(sc)
    if progress:
        from tqdm.auto import tqdm

        with tqdm(total=model.n_days, unit="day", desc=sc.name, file=sys.stderr) as bar:
            while model.running:
                model.step()
                bar.update(1)
    else:
        model.run_model()
    ts = model.recorder.timeseries()
    result = RunResult(
        scenario=sc,
        seed=model.seed,
        timeseries=ts,
        firms=model.recorder.panel(),
        sites=model.recorder.site_panel(),
        firm_outcomes=model.recorder.firm_outcomes(),
        survival=model.recorder.survival(),
        acquisitions=model.ownership.edges_frame(),
        contracts=model.ai.book.frame(model.start_date, model.firms.name),
        summary=summarise(model, ts),
        ledger=dict(model.ledger),
        wall_time_s=time.perf_counter() - t0,
        model=model if keep_model else None,
        pools=model.pools.table() if model.pools.enabled else pd.DataFrame(),
    )
    result.summary["wall_time_s"] = round(result.wall_time_s, 4)
    return result


def git_commit() -> str:
    """The git commit of the working tree the package runs from ('unknown' outside git)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        commit = out.stdout.strip() if out.returncode == 0 else "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return f"{commit}-dirty" if dirty and commit != "unknown" else commit
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# what cannot change a run's outputs: presentation, command lines, validation, the analysis and
# orchestration of sweeps and comparisons (paths relative to abm/), and documentation files
_NOT_ENGINE = (
    "report/",
    "viz/",
    "validation/",
    "cli.py",
    "compare.py",
    "discovery.py",
    "ema.py",
    "stats.py",
    "sweeps/cli.py",
    "sweeps/store.py",
    "sweeps/backends.py",
    "sweeps/analysis.py",
    "sweeps/sweep.py",
    "sweeps/lock.py",
    "outputs.py",
    "jsonio.py",
    "plausibility.py",
    "calibration/",
    "data/targets.toml",
)


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 (first 16 hex digits) of the package's files that can change a run's outputs:
    the engine's source (model, markets, agents, scenario, runner, sweep tasks, specs and
    designs) and its data tables; not the modules in ``_NOT_ENGINE`` nor ``*.md``/``*.txt``.

    Unlike the git commit it is known for an installed package and sees uncommitted edits; a
    sweep uses it to refuse mixing runs made by different engines in one results directory.
    Computed once per process (restart a notebook's kernel after editing the package).
    """
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root).as_posix()
        if (
            not f.is_file()
            or "__pycache__" in rel
            or rel.startswith(_NOT_ENGINE)
            or f.suffix in (".md", ".txt")
        ):
            continue
        h.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def engine_identity() -> dict[str, str]:
    """What a run's outputs depend on besides its scenario and seed: the code digest, and the
    numpy and Python versions (another numpy build may round differently); plus the git commit
    for the record."""
    return {
        "code_digest": code_digest(),
        "numpy": metadata.version("numpy"),
        "python": sys.version.split()[0],
        "git_commit": git_commit(),
    }


def manifest(seed: int | list[int], wall_time_s: float, **extra: Any) -> dict[str, Any]:
    """Provenance of a result: versions, git commit, seed(s), timings, platform."""
    pkgs = {}
    for p in ("abm-mining", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "networkx", "plotly"):
        try:
            pkgs[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pkgs[p] = None
    return {
        "package": "abm-mining",
        "version": pkgs["abm-mining"],
        "git_commit": git_commit(),
        "code_digest": code_digest(),
        "seed": seed,
        "wall_time_s": round(wall_time_s, 4),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": pkgs,
        "command": " ".join(sys.argv),
        **extra,
    }


def write_outputs(result: RunResult, out_dir: str | Path) -> Path:
    """Write the run's tables, summary, resolved scenario and manifest to `out_dir` (by the
    rule of :mod:`abm.outputs`: a new or empty directory, or an earlier run's, replaced
    atomically)."""
    with replacing(out_dir, "run") as staging:
        result.timeseries.to_parquet(staging / "timeseries.parquet", index=False)
        result.firms.to_parquet(staging / "firms.parquet", index=False)
        result.sites.to_parquet(staging / "sites.parquet", index=False)
        result.firm_outcomes.to_parquet(staging / "firm_outcomes.parquet", index=False)
        result.survival.to_parquet(staging / "survival.parquet", index=False)
        result.acquisitions.to_parquet(staging / "acquisitions.parquet", index=False)
        result.contracts.to_parquet(staging / "contracts.parquet", index=False)
        if len(result.pools):
            result.pools.to_parquet(staging / "pools.parquet", index=False)
        write_json(staging / "summary.json", result.summary)
        result.scenario.save(staging / "scenario.toml")
        info = manifest(
            result.seed,
            result.wall_time_s,
            kind="run",
            scenario=result.scenario.name,
            ledger=result.ledger,
        )
        write_json(staging / "manifest.json", info)
    return Path(out_dir)
