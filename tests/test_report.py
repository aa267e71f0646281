"""`abm report`: folder detection, report files, table numbers recomputed by hand from the
source tables, bad input, atomic writing, and (slow) static export through Kaleido."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from abm.cli import main
from abm.compare import compare
from abm.outputs import ENTRIES
from abm.report import builder
from abm.report.export import ExportError
from abm.report.inputs import ReportError, detect
from abm.report.tables import Table, format_number, metric_label
from abm.runner import run
from abm.sweeps.sweep import sweep
from tests.conftest import small_scenario

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<svg"}


# ---------------------------------------------------------------------------------------------
# results folders (small, real)
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    return run(small_scenario(n_firms=80, years=1.0), seed=3).save(out)


@pytest.fixture(scope="module")
def cmp_dir(tmp_path_factory) -> Path:
    a = small_scenario(years=0.25)
    b = small_scenario(years=0.25, **{"price.volatility_per_year": 0.8})
    out = tmp_path_factory.mktemp("cmp") / "cmp"
    return compare(a, b, seeds=4).save(out)


def _sweep_dir(factory: pytest.TempPathFactory, name: str, body: str) -> Path:
    """Run a tiny sweep of the small scenario (3 months) from a spec TOML `body`."""
    folder = factory.mktemp(name)
    small_scenario(years=0.25).save(folder / "small.toml")
    spec = folder / "spec.toml"
    spec.write_text(f'name = "{name}"\nbase = "small.toml"\nroot_seed = 5\nyears = 0.25\n{body}')
    return sweep(spec, folder / "out", progress=False).out_dir


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory) -> Path:
    return _sweep_dir(
        tmp_path_factory,
        "tiny_grid",
        'replications = 3\ncommon_seeds = true\n[design]\nkind = "grid"\n'
        '[parameters."price.volatility_per_year"]\nlevels = [0.3, 0.9]\n'
        '[outputs]\nkeep = "timeseries"\ncadence_days = 7\n',
    )


@pytest.fixture(scope="module")
def sobol_dir(tmp_path_factory) -> Path:
    return _sweep_dir(
        tmp_path_factory,
        "tiny_sobol",
        'replications = 1\n[design]\nkind = "sobol"\nn = 2\n'
        '[parameters."price.volatility_per_year"]\nlow = 0.2\nhigh = 0.9\n'
        '[parameters."energy.median_price_usd_per_mwh"]\nlow = 35.0\nhigh = 60.0\n',
    )


def _report(results: Path, *extra: str) -> Path:
    assert main(["report", str(results), "--formats", "none", "--quiet", *extra]) == 0
    return results / "report"


def _md_rows(path: Path) -> list[dict[str, str]]:
    """Rows of the Markdown table in `path`, as {header: cell}."""
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("|")]
    split = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]
    head = split[0]
    return [dict(zip(head, row, strict=True)) for row in split[2:]]


def _num(cell: str) -> float:
    return math.nan if cell == "n/a" else float(cell)


def _close(cell: str, value: float) -> bool:
    """A 4-significant-digit cell matches `value`."""
    if math.isnan(value):
        return cell == "n/a"
    return _num(cell) == pytest.approx(value, rel=6e-4, abs=1e-12)


def _hand_t_interval(x: np.ndarray) -> tuple[float, float, float, float]:
    """mean, sd, low, high by the textbook formulas (n - 1 degrees of freedom)."""
    n = len(x)
    mean = sum(x) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


# ---------------------------------------------------------------------------------------------
def test_detect_recognises_each_kind(run_dir, cmp_dir, grid_dir):
    assert detect(run_dir).kind == "run"
    assert detect(cmp_dir).kind == "compare"
    assert detect(grid_dir).kind == "sweep"


def test_run_report_files_and_provenance(run_dir):
    rep = _report(run_dir)
    figs = {
        "price",
        "hashrate",
        "hashprice",
        "share",
        "concentration",
        "survival",
        "events",
        "km_survival",
        "sites",
        "acquirers",
        "ai",
    }
    assert {p.stem for p in (rep / "figures").glob("*.html")} == figs
    assert (rep / "figures" / "plotly.min.js").exists()
    assert not list((rep / "figures").glob("*.png"))  # --formats none
    for t in ("summary", "survival", "events"):
        for ext in ("csv", "md", "tex"):
            assert (rep / "tables" / f"{t}.{ext}").stat().st_size > 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    md = (rep / "report.md").read_text()
    for text in ("small", "seed 3", manifest["version"], manifest["git_commit"]):
        assert text in md
    html = (rep / "index.html").read_text()
    assert html.count('src="figures/plotly.min.js"') == 1 and html.count("plotly-graph-div") >= 10
    assert {p.name for p in rep.iterdir()} == ENTRIES["report"] - {"discovery.json"}  # a run
    made = json.loads((rep / "manifest.json").read_text())
    assert made["kind"] == "report" and made["source"] == str(run_dir)
    # each interactive figure file references the one plotly.js copy, not an inline one
    price = (rep / "figures" / "price.html").read_text()
    assert 'src="plotly.min.js"' in price and len(price) < 1_000_000


def test_run_tables_match_the_run_outputs(run_dir):
    rep = _report(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    rows = {r["metric"]: r for r in _md_rows(rep / "tables" / "summary.md")}
    label = metric_label("hhi_owner")[0]
    assert _close(rows[label][f"end ({summary['end_date']})"], summary["hhi_owner_end"])
    assert _close(rows[label][f"start ({summary['start_date']})"], summary["hhi_owner_start"])
    km = pd.read_parquet(run_dir / "survival.parquet")
    surv = {r["initial size class"]: r for r in _md_rows(rep / "tables" / "survival.md")}
    assert set(surv) == set(km["size_class"].astype(str))
    for cls, g in km.groupby("size_class", observed=True):
        last = g.sort_values("time").iloc[-1]
        assert _close(surv[str(cls)]["survival [0-1]"], last["survival"])
        assert _close(surv[str(cls)]["95% CI low"], last["ci_low"])
        assert int(surv[str(cls)]["firms [-]"]) == int(g["at_risk"].max())
    events = {r["event"]: r for r in _md_rows(rep / "tables" / "events.md")}
    assert int(events["Entries"]["count"]) == summary["entries"]
    sales = events["Sites changing hands: sales by exiting firms"]
    assert int(sales["count"]) == summary["transfers_exit_sale"]
    assert int(sales["sites"]) == summary["sites_transferred_exit_sale"]
    tex = (rep / "tables" / "summary.tex").read_text()
    assert r"\begin{tabular}" in tex and r"\toprule" in tex and r"\bottomrule" in tex


def test_compare_tables_match_hand_computed_intervals(cmp_dir):
    rep = _report(cmp_dir)
    runs = pd.read_parquet(cmp_dir / "runs.parquet")
    arms = _md_rows(rep / "tables" / "arms.md")
    csv = pd.read_csv(rep / "tables" / "arms.csv")
    tex = (rep / "tables" / "arms.tex").read_text()
    metric = "network_hashrate_ehs_end"
    label = metric_label(metric)[0]
    for arm in ("A", "B"):
        x = runs.loc[runs["scenario"] == arm, metric].to_numpy(float)
        mean, sd, lo, hi = _hand_t_interval(x)
        (row,) = [r for r in arms if r["metric"] == label and r["scenario"].startswith(f"{arm}:")]
        assert int(row["seeds"]) == 4
        for col, value in (("mean", mean), ("sd", sd), ("95% CI low", lo), ("95% CI high", hi)):
            assert _close(row[col], value), (arm, col)
        assert f"{mean:.4g} & {sd:.4g} & {lo:.4g} & {hi:.4g}" in tex
        # the CSV keeps the unclipped t interval beside the (clipped at 0) shown one
        raw = csv[(csv["metric"] == label) & csv["scenario"].str.startswith(f"{arm}:")].iloc[0]
        assert (raw["ci_low_raw"], raw["ci_high_raw"]) == pytest.approx((lo, hi), rel=1e-9)
        assert raw["ci_low"] == pytest.approx(max(lo, 0.0), rel=1e-9)
    assert "ci_low_raw" not in tex and "ci_low_raw" in (rep / "report.md").read_text()
    # the paired effect B - A: t interval of the per-seed differences
    a = runs[runs["scenario"] == "A"].set_index("seed")[metric]
    b = runs[runs["scenario"] == "B"].set_index("seed")[metric]
    d = (b - a).to_numpy(float)
    mean, _, lo, hi = _hand_t_interval(d)
    (eff,) = [r for r in _md_rows(rep / "tables" / "effects.md") if r["metric"] == label]
    assert _close(eff["B - A"], mean)
    assert _close(eff["paired CI low"], lo) and _close(eff["paired CI high"], hi)
    stems = {p.stem for p in (rep / "figures").glob("*.html")}
    assert {"effects", "arms", "series_hhi_owner", "series_network_hashrate_ehs"} <= stems
    assert "no series.parquet" not in (rep / "report.md").read_text()


def test_compare_series_bands_by_hand(cmp_dir, tmp_path):
    series = pd.read_parquet(cmp_dir / "series.parquet")
    assert set(series["scenario"]) == {"A", "B"} and series["seed"].nunique() == 4
    col = "hashprice_usd_per_ph_day"
    (item,) = [i for i in builder.build(cmp_dir).figures if i.name == f"series_{col}"]
    last = series[series["date"] == series["date"].max()]
    for arm in ("A", "B"):
        upper, lower, mean_line = [t for t in item.figure.data if t.legendgroup.startswith(arm)]
        mean, _, lo, hi = _hand_t_interval(last.loc[last["scenario"] == arm, col].to_numpy())
        assert mean_line.y[-1] == pytest.approx(mean, rel=1e-9)
        assert (lower.y[-1], upper.y[-1]) == pytest.approx((lo, hi), rel=1e-9)
    # an older comparison without series: horizon outcomes only, and a note saying so
    old = tmp_path / "old"
    shutil.copytree(cmp_dir, old, ignore=shutil.ignore_patterns("series.parquet", "report"))
    rep = _report(old)
    assert not list((rep / "figures").glob("series_*"))
    assert "no series.parquet" in (rep / "report.md").read_text()


def test_sweep_tables_match_hand_computed_intervals(grid_dir):
    rep = _report(grid_dir)
    runs = pd.read_parquet(grid_dir / "runs.parquet")
    metric = "hhi_firm_end"
    rows = _md_rows(rep / "tables" / f"points_{metric}.md")
    csv = pd.read_csv(rep / "tables" / f"points_{metric}.csv").set_index("point_id")
    assert len(rows) == 2
    for row in rows:
        x = runs.loc[runs["point_id"] == int(row["point"]), metric].to_numpy(float)
        assert len(x) == 3
        mean, _, lo, hi = _hand_t_interval(x)
        assert _close(row["mean"], mean)
        # shown: clipped to HHI's range [0, 10,000]; the CSV keeps the raw t interval
        assert _close(row["95% CI low"], max(lo, 0.0)) and _close(row["95% CI high"], hi)
        raw = csv.loc[int(row["point"])]
        assert raw[f"{metric}_ci_low_raw"] == pytest.approx(lo, rel=1e-9)
        assert raw[f"{metric}_ci_high_raw"] == pytest.approx(hi, rel=1e-9)
        assert raw[f"{metric}_ci_low"] == max(raw[f"{metric}_ci_low_raw"], 0.0)
        level = runs.loc[runs["point_id"] == int(row["point"]), "price.volatility_per_year"]
        assert _close(row["price.volatility_per_year [1/sqrt(year)]"], level.iloc[0])
    stems = {p.stem for p in (rep / "figures").glob("*.html")}
    assert f"points_{metric}" in stems
    assert "series_hhi_firm" in stems  # kept series: bands across replications
    assert "sobol" not in stems


def test_sweep_paired_effects_by_hand(grid_dir):
    # common seeds: point 1 - point 0 per seed (the base scenario's volatility is neither
    # level, so the first point is the reference)
    rep = _report(grid_dir)
    runs = pd.read_parquet(grid_dir / "runs.parquet")
    csv = pd.read_csv(rep / "tables" / "paired_effects.csv")
    metric = "network_hashrate_ehs_end"
    by_seed = runs.pivot(index="seed", columns="point_id", values=metric)
    assert len(by_seed) == 3  # the same three seeds at both points
    mean, _, lo, hi = _hand_t_interval((by_seed[1] - by_seed[0]).to_numpy(float))
    row = csv[csv["metric_label"].str.startswith("Network hashrate")].iloc[0]
    assert row["point_id"] == 1 and row["n_pairs"] == 3
    assert row["effect_mean"] == pytest.approx(mean, rel=1e-9)
    assert row["effect_ci_low"] == pytest.approx(lo, rel=1e-9)
    assert row["effect_ci_high"] == pytest.approx(hi, rel=1e-9)
    assert "reference point 0" in (rep / "report.md").read_text()


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide")
def test_sobol_report_table_and_figure(sobol_dir):
    rep = _report(sobol_dir)
    src = pd.read_csv(sobol_dir / "sobol_indices.csv")
    rows = _md_rows(rep / "tables" / "sobol.md")
    assert len(rows) == len(src) > 0
    for row, (_, s) in zip(rows, src.iterrows(), strict=True):
        assert row["parameter"] == s["parameter"]
        assert _close(row["S1"], s["S1"]) and _close(row["ST ±95%"], s["ST_conf"])
    assert (rep / "figures" / "sobol.html").exists()


def test_every_report_figure_has_a_title_and_axis_units(run_dir, cmp_dir, grid_dir):
    for folder in (run_dir, cmp_dir, grid_dir):
        for item in builder.build(folder).figures:
            fig = item.figure
            assert fig.layout.title.text, item.name
            titles = [
                ax.title.text
                for ax in (fig.layout[k] for k in fig.layout if k.startswith(("xaxis", "yaxis")))
                if ax.title.text
            ]
            assert any("[" in t and "]" in t for t in titles), (item.name, titles)


# ---------------------------------------------------------------------------------------------
# bad input
def test_missing_or_unrecognised_folder_exits_2_and_writes_nothing(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("hello")
    assert main(["report", str(junk)]) == 2
    assert "not a results folder" in capsys.readouterr().err
    assert sorted(p.name for p in junk.iterdir()) == ["notes.txt"]
    unfinished = tmp_path / "unfinished"
    (unfinished / "parts").mkdir(parents=True)
    assert main(["report", str(unfinished)]) == 2
    assert "unfinished sweep" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk", "unfinished"]


def test_bad_out_and_formats(run_dir, tmp_path, capsys):
    assert main(["report", str(run_dir), "--out", str(run_dir), "--formats", "none"]) == 2
    assert "results folder itself" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert main(["report", str(run_dir), "--out", str(other), "--formats", "none"]) == 2
    assert (other / "keep.txt").read_text() == "mine"
    with pytest.raises(SystemExit) as exc:
        main(["report", str(run_dir), "--formats", "png,bmp"])
    assert exc.value.code == 2
    with pytest.raises(ReportError, match="gif"):
        builder.write_report(builder.build(run_dir), tmp_path / "r", ("gif",))
    assert not (tmp_path / "r").exists()


def test_failed_export_leaves_the_earlier_report(run_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "rep"
    assert main(["report", str(run_dir), "--out", str(out), "--formats", "none", "--quiet"]) == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))

    def fail(jobs, progress=True):
        raise ExportError("no browser")

    monkeypatch.setattr(builder, "export_static", fail)
    assert main(["report", str(run_dir), "--out", str(out), "--formats", "png", "--quiet"]) == 1
    assert "no browser" in capsys.readouterr().err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_table_formats():
    t = Table(
        "t",
        "Costs in $ & 100% share_x",
        pd.DataFrame({"name": ["a_b", "c"], "v": [123456.0, -0.5], "n": [3, 4]}),
        {"v": "value [USD]"},
    )
    md = t.to_markdown()
    assert md.splitlines()[0] == "| name | value [USD] | n |"
    assert "| a_b | 1.235e+05 | 3 |" in md
    tex = t.to_latex()
    assert r"Costs in \$ \& 100\% share\_x" in tex
    assert r"a\_b & $1.235\times10^{5}$ & 3 \\" in tex and r"c & $-0.5$ & 4 \\" in tex
    assert format_number(float("nan")) == "n/a" and format_number(np.int64(7)) == "7"


# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_static_export_png_svg_pdf(run_dir, tmp_path, capsys):
    out = tmp_path / "static"
    t0 = time.perf_counter()
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    seconds = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert "static images exported" in err  # progress output
    figs = sorted(p.stem for p in (out / "figures").glob("*.html"))
    for name in figs:
        for fmt, magic in MAGIC.items():
            data = (out / "figures" / f"{name}.{fmt}").read_bytes()
            assert data.startswith(magic), (name, fmt)
            assert len(data) > 1000
    assert "![" in (out / "report.md").read_text()
    print(f"static export of {3 * len(figs)} images: {seconds:.1f} s")
    assert seconds < 120


def test_breakeven_from_the_panel_by_hand(run_dir):
    sites = pd.read_parquet(run_dir / "sites.parquet")
    outcomes = pd.read_parquet(run_dir / "firm_outcomes.parquet")
    be = builder.rf.panel_breakeven(sites, outcomes)
    large = outcomes.loc[outcomes["size_class"] == "large", "firm_id"]
    last = sites[(sites["date"] == sites["date"].max()) & sites["owner_id"].isin(large)]
    last = last[last["hashrate_ehs"] > 0]
    # J/TH x 1,000 TH/s per PH/s = W per PH/s; x 24 h / 1e6 = MWh per PH-day; x USD/MWh
    cost = last["rate_usd_per_mwh"] * last["fleet_efficiency_j_per_th"] * 0.024
    expected = (cost * last["hashrate_ehs"]).sum() / last["hashrate_ehs"].sum()
    assert be["large"].iloc[-1] == pytest.approx(expected, rel=1e-12)
    (item,) = [i for i in builder.build(run_dir).figures if i.name == "hashprice"]
    assert {"hashprice", "large"} <= {t.name for t in item.figure.data}
