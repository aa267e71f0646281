#!/usr/bin/env bash
# Copy the small, citable part of each headline study's output into results/reference/<study>/:
# the resolved spec, the manifest, the per-point summary, the report's report.md and tables
# (CSV + Markdown), and the key figures as PNG. Run after `make studies`; with study names as
# arguments, only those (e.g. scripts/copy-reference.sh study_pools).
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A FIGURES=(
  [study_centralisation]="series_hhi_owner series_share_small points_hhi_owner_end points_small_firm_survival"
  [study_small_miners]="points_small_firm_survival points_hhi_owner_end"
  [sovereign_entry]="points_hhi_owner_end points_small_firm_survival"
  [study_pools]="series_hhi_pool series_hhi_owner points_hhi_pool_end points_nakamoto_pool_end"
)
studies=("$@")
[[ ${#studies[@]} -gt 0 ]] || studies=(study_centralisation study_small_miners sovereign_entry study_pools)
for study in "${studies[@]}"; do
  src="results/$study"
  dst="results/reference/$study"
  [[ -f "$src/report/report.md" ]] || { echo "copy-reference: $src/report/report.md missing (run make studies)" >&2; exit 1; }
  rm -rf "$dst"
  mkdir -p "$dst/tables" "$dst/figures"
  cp "$src/spec.toml" "$src/manifest.json" "$src/summary_by_point.csv" "$dst/"
  cp "$src/report/report.md" "$dst/report.md"
  cp "$src"/report/tables/*.csv "$src"/report/tables/*.md "$dst/tables/"
  for f in ${FIGURES[$study]}; do cp "$src/report/figures/$f.png" "$dst/figures/"; done
  echo "copied $dst"
done
