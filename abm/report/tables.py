"""Plain-text and Markdown tables of results."""

from __future__ import annotations

from typing import Any

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
    ("debt_usd", "Debt outstanding", "USD"),
)


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
        ("entries", "Entries"),
        ("exits", "Exits (default, voluntary)"),
    ):
        lines.append(
            f"{label + ' over the run':<40} {'firms':>10} {'':>12} {summary.get(key, 0):>12}"
        )
    return "\n".join(lines)
