#!/bin/bash
# The batch benchmark of issue 5: the weekly forecast (7,000,000 rows: 1,000
# stores x 1,000 products x 7 days) from CSV into a published RocksDB table,
# against XGBoost's pure in-process prediction over the same rows and a
# Python peer (pandas + xgboost, writing a CSV file); then the hourly variant
# (16,800,000 rows: 100 stores x 1,000 products x 7 days x 24 hours). Wall
# time and peak memory from /usr/bin/time.
#
#   bench/batch_forecast.sh [WORK_DIR]      (needs build/release/strata or STRATA_BIN)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/strata-batch-bench}
STRATA_BIN=${STRATA_BIN:-$ROOT/build/release/strata}
PY=/usr/bin/python3
EX=$ROOT/examples/sales_forecast
MAP=features=store_size,price,popularity,category,weekday,hour
mkdir -p "$WORK"
cd "$WORK"
if [ ! -f repository/models/sales_gbdt/1/model.json ]; then
  $PY "$EX/sales_data.py" history --out history.npz
  (cd "$EX" && $PY train_sales_model.py --history "$WORK/history.npz" --out "$WORK/repository")
fi
[ -f weekly7m.csv ] || $PY "$EX/sales_data.py" forecast --stores 1000 --out weekly7m.csv
[ -f hourly.csv ] || $PY "$EX/sales_data.py" forecast --hourly --out hourly.csv
MODEL=repository/models/sales_gbdt/1/model.json

measure() {  # NAME COMMAND...
  echo "== $1"; shift
  /usr/bin/time -f "wall %e s, user %U s, sys %S s, peak RSS %M KiB" "$@" 2>&1 |
    grep -E "^(rows|rate|wall|pure|python)" || true
}
rm -rf repository/tables
measure "strata batch, 7M rows -> RocksDB table" "$STRATA_BIN" batch -r repository \
  -m sales_gbdt -i weekly7m.csv -k store_id:INT64,product_id:INT64,date --map $MAP \
  -t sales_forecast --progress off --job-id "bench-$(date +%s)"
measure "XGBoost pure inference, 7M rows" $PY "$ROOT/bench/batch_pure_inference.py" $MODEL weekly7m.csv
measure "Python peer (pandas + xgboost -> CSV), 7M rows" \
  $PY "$ROOT/bench/batch_peer.py" $MODEL weekly7m.csv peer.csv
measure "strata batch, 16.8M hourly rows -> RocksDB table" "$STRATA_BIN" batch -r repository \
  -m sales_gbdt -i hourly.csv -k store_id:INT64,product_id:INT64,date --map $MAP \
  -t sales_forecast_hourly --progress off --job-id "bench-$(date +%s)"
measure "XGBoost pure inference, 16.8M rows" $PY "$ROOT/bench/batch_pure_inference.py" $MODEL hourly.csv
