#!/bin/bash
# The weekly sales forecast, end to end: synthetic history for 100 stores x
# 1,000 products, an XGBoost regressor trained on it, the forecast input for
# every store x product x day of next week, `strata batch` into a verified,
# published RocksDB table, and a few lookups from it.
#
#   examples/sales_forecast/run.sh [WORK_DIR] [--stores N] [--hourly]
#
# 100 stores give 700,000 predictions a week (16,800,000 with --hourly);
# --stores 1000 gives 7,000,000. Needs a built binary (STRATA_BIN, default
# build/release/strata) and Debian's python3-xgboost, python3-numpy.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${1:-/tmp/strata-sales-forecast}
shift || true
STRATA_BIN=${STRATA_BIN:-$ROOT/build/release/strata}
PYTHON=/usr/bin/python3
mkdir -p "$WORK"

if [ ! -f "$WORK/repository/models/sales_gbdt/1/model.json" ]; then
  "$PYTHON" "$HERE/sales_data.py" history --out "$WORK/history.npz"
  (cd "$HERE" && "$PYTHON" train_sales_model.py --history "$WORK/history.npz" \
     --out "$WORK/repository")
fi
"$PYTHON" "$HERE/sales_data.py" forecast --out "$WORK/forecast.csv" "$@"
echo "forecast input: $(($(wc -l < "$WORK/forecast.csv") - 1)) rows"

"$STRATA_BIN" batch --repository "$WORK/repository" --model sales_gbdt \
  --input "$WORK/forecast.csv" \
  --key store_id:INT64,product_id:INT64,date \
  --map features=store_size,price,popularity,category,weekday,hour \
  --table sales_forecast --job-id "$(date +%s)" \
  --expect-min 0 --expect-max 1000 --expect-max-nan 0

"$STRATA_BIN" table list --repository "$WORK/repository" sales_forecast
echo "store 7, product 42, Saturday:"
"$STRATA_BIN" table get --repository "$WORK/repository" sales_forecast \
  store_id=7 product_id=42 date=2026-11-28
