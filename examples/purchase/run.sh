#!/bin/bash
# The purchase example, end to end (docs/features.md): synthetic users,
# products and purchase events; the model trained in Python through the
# feature pipeline's binding (point-in-time training set, fitted features);
# the feature tables materialized into RocksDB; a hot head of (user,
# product) pairs precomputed by `strata batch` through the same pipeline;
# then key-only requests to `strata serve`.
#
#   examples/purchase/run.sh [OUT]     (default OUT: build/examples/purchase)
#
# Needs a built tree (STRATA_BIN, default build/release/strata; the binding
# in build/release/python) and Debian's python3-xgboost and python3-numpy.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/build/examples/purchase}
STRATA_BIN=${STRATA_BIN:-$ROOT/build/release/strata}
export PYTHONPATH=${STRATA_PYTHON:-$(dirname "$STRATA_BIN")/python}${PYTHONPATH:+:$PYTHONPATH}
PYTHON=/usr/bin/python3
mkdir -p "$OUT"
rm -rf "$OUT/tables" "$OUT/repo"

echo "== data"
"$PYTHON" "$HERE/make_data.py" "$OUT/data" ${PURCHASE_DATA_ARGS:-}

echo "== train (python, through the strata_features binding)"
"$PYTHON" "$HERE/train.py" "$OUT/data" "$OUT"
DEFINITION=$OUT/repo/models/purchase/1/features.yaml

echo "== materialize the feature tables"
for t in user_stats:users product_info:products; do
  "$STRATA_BIN" features materialize --definition "$DEFINITION" --table "${t%%:*}" \
    --source "$OUT/data/${t##*:}.csv" --tables "$OUT/tables"
done

echo "== precompute the hot head with strata batch (keys + request fields -> features -> model)"
"$STRATA_BIN" batch --repository "$OUT/repo" --model purchase --input "$OUT/data/requests.csv" \
  --key user_id:INT64,product_id:INT64 --table purchase_head --tables "$OUT/tables" \
  --staging "$OUT/staging" --job-id "purchase-head-$(date +%s)" --progress off \
  --expect-min 0 --expect-max 1
"$STRATA_BIN" table list --tables "$OUT/tables"
IFS=, read -r USER PRODUCT _ < <(sed -n 2p "$OUT/data/requests.csv")
echo "the hottest pair, user $USER and product $PRODUCT, from the head:"
"$STRATA_BIN" table get --tables "$OUT/tables" purchase_head "user_id=$USER" "product_id=$PRODUCT"

echo "== serve: key-only requests"
"$PYTHON" "$HERE/ask.py" --strata "$STRATA_BIN" --repository "$OUT/repo" --tables "$OUT/tables" \
  --endpoints "$HERE/endpoints.yaml"
