"""Tables of results: the fixed-width summary printed by ``abm run`` and the report tables
(:class:`Table`: CSV, Markdown, LaTeX)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SUMMARY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("btc_price_usd", "BTC price", "USD"),
    ("network_hashrate_ehs", "Network hashrate", "EH/s"),
    ("difficulty", "Difficulty", "-"),
    ("hashprice_usd_per_ph_day", "Hashprice", "USD/PH/day"),
    ("active_firms", "Active firms", "-"),
    ("hhi_firm", "HHI (by firm)", "0-10,000"),
    ("nakamoto_firm", "Nakamoto coefficient (by firm)", "firms"),
    ("cr4_firm", "CR4 (by firm)", "share"),
    ("gini_firm", "Gini (by firm)", "-"),
    ("fleet_efficiency_j_per_th", "Fleet efficiency", "J/TH"),
    ("share_small", "Hashrate share, initially small firms", "share"),
    ("share_large", "Hashrate share, initially large firms", "share"),
    ("surviving_small", "Surviving small firms", "share"),
    ("surviving_large", "Surviving large firms", "share"),
    ("hhi_owner", "HHI (by ultimate owner)", "0-10,000"),
    ("nakamoto_owner", "Nakamoto coefficient (by owner)", "owners"),
    ("hhi_pool", "HHI (by pool: who builds the blocks)", "0-10,000"),
    ("nakamoto_pool", "Nakamoto coefficient (by pool)", "pools"),
    ("debt_usd", "Debt outstanding", "USD"),
    ("share_sovereign", "Sovereign hashrate share", "share"),
    ("ai_mw_contracted", "AI/HPC capacity under contract", "MW"),
    ("hashrate_to_ai_ehs", "Hashrate displaced by AI conversions", "EH/s"),
)

# metrics of run summaries that are not start/horizon pairs of SUMMARY_ROWS
EXTRA_METRICS: dict[str, tuple[str, str]] = {
    "small_firm_survival": ("Surviving small firms at the horizon", "share"),
    "ai_revenue_share_first_year": ("AI share of revenue net of power, first year", "share"),
    "ai_margin_share_first_year": ("AI share of gross margin, first year", "share"),
    "ai_revenue_share_last_year": ("AI share of revenue net of power, last year", "share"),
    "ai_margin_share_last_year": ("AI share of gross margin, last year", "share"),
    "cr4_owner": ("CR4 (by owner)", "share"),
    "gini_owner": ("Gini (by owner)", "-"),
    "share_medium": ("Hashrate share, initially medium firms", "share"),
    "surviving_medium": ("Surviving medium firms", "share"),
    "independent_firms": ("Independent firms", "-"),
    "sovereign_btc_held": ("BTC held by sovereigns", "BTC"),
    "exits": ("Exits over the run", "firms"),
    "defaults": ("Defaults over the run", "firms"),
    "acquisitions": ("Acquisitions over the run", "firms"),
    "site_purchases": ("Site purchases over the run", "sites"),
    "deals_per_year_first_3y": ("Deals (acquisitions and site purchases), first 3 years", "1/yr"),
    "transfers_auction": ("Auctions of defaulted estates over the run", "deals"),
    "transfers_exit_sale": ("Sales by exiting firms over the run", "deals"),
    "entries": ("Entries over the run", "firms"),
    "max_hhi_firm": ("Highest HHI (by firm) over the run", "0-10,000"),
    "max_hhi_pool": ("Highest HHI (by pool) over the run", "0-10,000"),
    "cr4_pool": ("CR4 (by pool)", "share"),
    "top_pool_share": ("Hashrate share of the largest pool", "share"),
    "pool_fee_mean": ("Mean pool fee (hashrate-weighted)", "share"),
    "top_pool_block_share_last_year": ("Blocks found by the largest pool, last year", "share"),
    "top_pool_block_share_first_year": ("Blocks found by the largest pool, first year", "share"),
    "mean_hashprice_usd_per_ph_day": ("Mean hashprice over the run", "USD/PH/day"),
}


def metric_label(key: str) -> tuple[str, str]:
    """(label, unit) of a run-summary metric such as ``hhi_owner_end`` (unknown: the key)."""
    base, when = key, ""
    for suffix, text in (("_end", " at the horizon"), ("_start", " at the start")):
        if key.endswith(suffix):
            base, when = key.removesuffix(suffix), text
    for k, label, unit in SUMMARY_ROWS:
        if k == base:
            return label + when, unit
    if base in EXTRA_METRICS:
        label, unit = EXTRA_METRICS[base]
        return label + when, unit
    return key, "-"


#: Recorded quantities that can be negative (cash goes below 0 before a firm sells or defaults).
SIGNED: frozenset[str] = frozenset({"cash_usd"})
_UNIT_BOUNDS: dict[str, tuple[float, float]] = {
    "share": (0.0, 1.0),
    "0-1": (0.0, 1.0),
    "0-10,000": (0.0, 10_000.0),
}


def value_bounds(key: str) -> tuple[float, float]:
    """Physical range (low, high) of a run-summary metric (:func:`metric_label`) or a daily
    series (:data:`abm.recorder.DAILY_COLUMNS`), from its unit: [0, 1] for shares and 0-1
    indices, [0, 10,000] for HHI, [0, inf) for every other known quantity (prices, hashrate,
    counts, MW, BTC, USD, ...) except those of :data:`SIGNED`; (-inf, inf) for unknown keys."""
    from abm.recorder import SERIES_DOCS

    base = key.removesuffix("_end").removesuffix("_start")
    label, unit = metric_label(key)
    units = [unit] if label != key else []
    if base in SERIES_DOCS:
        units.append(SERIES_DOCS[base].rpartition("[")[2].rstrip("]"))
    if not units or base in SIGNED:
        return (-np.inf, np.inf)
    return next((_UNIT_BOUNDS[u] for u in units if u in _UNIT_BOUNDS), (0.0, np.inf))


def with_unit(label: str, unit: str) -> str:
    """'label [unit]' (unit '-' for dimensionless)."""
    return f"{label} [{unit}]"


@cache
def _parameter_units() -> dict[str, str]:
    from abm.scenario import parameter_table

    units = {}
    for row in parameter_table():
        m = re.search(r"\[([^\]]*)\]", row["description"])
        units[row["parameter"]] = m.group(1) if m else "-"
    return units


def parameter_unit(path: str) -> str:
    """The unit of a scenario parameter, from its documentation ('-' if none is given)."""
    return _parameter_units().get(path, "-")


def parameter_label(path: str) -> str:
    """'dotted.path [unit]' of a scenario parameter."""
    return with_unit(path, parameter_unit(path))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if abs(v) >= 1e6:
            return f"{v:,.3g}"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.3f}"
    return str(v)


def summary_table(summary: dict[str, Any]) -> str:
    """Start-vs-horizon table of the headline figures of one run (fixed-width text)."""
    head = (
        f"{summary.get('scenario', '')}  seed {summary.get('seed')}  "
        f"{summary.get('start_date')} -> {summary.get('end_date')}"
    )
    lines = [head, f"{'metric':<40} {'unit':>10} {'start':>12} {'end':>12}"]
    for key, label, unit in SUMMARY_ROWS:
        if f"{key}_start" in summary:
            lines.append(
                f"{label:<40} {unit:>10} {_fmt(summary[f'{key}_start']):>12} "
                f"{_fmt(summary[f'{key}_end']):>12}"
            )
    for key, label in (
        ("defaults", "Defaults"),
        ("acquisitions", "Acquisitions"),
        ("site_purchases", "Site purchases"),
        ("entries", "Entries"),
        ("exits", "Exits (default, voluntary)"),
    ):
        lines.append(
            f"{label + ' over the run':<40} {'firms':>10} {'':>12} {summary.get(key, 0):>12}"
        )
    for key, label in (
        ("ai_revenue_share", "AI share of revenue net of power"),
        ("ai_margin_share", "AI share of gross margin"),
    ):  # over the first year (start column) and the last year (horizon column)
        if f"{key}_last_year" in summary:
            first = _fmt(summary[f"{key}_first_year"]) if f"{key}_first_year" in summary else ""
            last = _fmt(summary[f"{key}_last_year"])
            lines.append(f"{label + ' (year)':<40} {'share':>10} {first:>12} {last:>12}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# report tables: one frame, written as CSV (full precision), Markdown and LaTeX (4 significant
# digits)
@dataclass
class Table:
    """A report table: `data` is written as is to CSV and formatted for Markdown and LaTeX.

    Attributes:
        name: file stem (``tables/<name>.csv|md|tex``).
        caption: one-line caption, units in brackets.
        data: the rows.
        labels: display header of each column (default: the column name).
        csv_only: columns written to the CSV only (not to Markdown and LaTeX).
    """

    name: str
    caption: str
    data: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)
    csv_only: tuple[str, ...] = ()

    @property
    def shown(self) -> pd.DataFrame:
        """The columns of the Markdown and LaTeX tables."""
        return self.data.drop(columns=list(self.csv_only))

    def header(self) -> list[str]:
        return [self.labels.get(c, c) for c in self.shown.columns]

    def cells(self) -> list[list[str]]:
        """Rows of formatted cells (numbers with 4 significant digits, NaN as 'n/a')."""
        return [[format_number(v) for v in row] for row in self.shown.itertuples(index=False)]

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown table (numbers right-aligned)."""
        numeric = self._numeric()
        head = "| " + " | ".join(_md_escape(h) for h in self.header()) + " |"
        rule = "|" + "|".join("---:" if n else "---" for n in numeric) + "|"
        body = ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in self.cells()]
        return "\n".join([head, rule, *body])

    def to_latex(self) -> str:
        """A ``table`` float with a booktabs ``tabular`` (needs ``\\usepackage{booktabs}``)."""
        align = "".join("r" if n else "l" for n in self._numeric())
        rows = [" & ".join(_tex_cell(c) for c in row) + r" \\" for row in self.cells()]
        return "\n".join(
            [
                r"% generated by abm report; needs \usepackage{booktabs}",
                r"\begin{table}[htbp]",
                r"\centering",
                rf"\caption{{{tex_escape(self.caption)}}}",
                rf"\label{{tab:{self.name}}}",
                rf"\begin{{tabular}}{{{align}}}",
                r"\toprule",
                " & ".join(tex_escape(h) for h in self.header()) + r" \\",
                r"\midrule",
                *rows,
                r"\bottomrule",
                r"\end{tabular}",
                r"\end{table}",
                "",
            ]
        )

    def write(self, folder: Path) -> list[Path]:
        """Write ``<name>.csv``, ``<name>.md`` and ``<name>.tex`` into `folder`."""
        paths = [folder / f"{self.name}.{ext}" for ext in ("csv", "md", "tex")]
        self.data.to_csv(paths[0], index=False)
        paths[1].write_text(f"{self.caption}\n\n{self.to_markdown()}\n")
        paths[2].write_text(self.to_latex())
        return paths

    def _numeric(self) -> list[bool]:
        shown = self.shown
        return [pd.api.types.is_numeric_dtype(shown[c]) for c in shown.columns]


def format_number(v: Any) -> str:
    """A table cell: integers as they are, other numbers with 4 significant digits."""
    if v is None or (isinstance(v, float | np.floating) and np.isnan(v)):
        return "n/a"
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}"
    return str(v)


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def tex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(text))


def _tex_cell(cell: str) -> str:
    """A formatted cell in LaTeX: 1.234e+05 as $1.234\\times10^{5}$."""
    mantissa, e, exponent = cell.partition("e")
    if e and _is_number(mantissa) and _is_number(exponent):
        return rf"${mantissa}\times10^{{{int(exponent)}}}$"
    if cell.startswith("-") and _is_number(cell):
        return f"${cell}$"  # a minus sign, not a hyphen
    return tex_escape(cell)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _md_escape(text: str) -> str:
    return str(text).replace("|", r"\|")
