#!/usr/bin/env bash
# Runs `strata advise` on generated key logs of the seed's four use cases and writes each
# report (text) and chart (SVG) to docs/advisor/. Usage:
#   examples/hybrid/advise_scenarios.sh [path/to/strata]   (default build/release/strata)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
STRATA="$(realpath "${1:-$ROOT/build/release/strata}")"
OUT="$ROOT/docs/advisor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
# Cost figures: the XGBoost example's single-row latency on this machine is measured by
# --repository/--model when the trained example exists; otherwise 200 µs per row.
FIGURES=(--model-us-per-row 200 --model-p99-us 600 --memory-budget 4GiB)
declare -A EXTRA=(
  [spam]=""
  [next_word]=""
  [ad_ctr]=""
  [sales]="--key-domain store_id=100 product_id=1000 day=7"
)
for scenario in spam next_word ad_ctr sales; do
  /usr/bin/python3 "$ROOT/examples/hybrid/workloads.py" "$scenario" "$WORK/$scenario.jsonl" \
      --requests 500000
  # shellcheck disable=SC2086
  (cd "$WORK" && "$STRATA" advise --key-log "$scenario.jsonl" "${FIGURES[@]}" \
      ${EXTRA[$scenario]} --chart "$OUT/$scenario.svg" > "$OUT/$scenario.txt" 2>/dev/null)
  echo "$scenario: $(grep '^recommendation:' "$OUT/$scenario.txt")"
done
