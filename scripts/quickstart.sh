#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running server: installs the
# Debian packages, builds strata (Release), trains the example models and
# serves examples/repository on 127.0.0.1:8000 until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${STRATA_PORT:-8000}"

scripts/install-deps.sh
echo "strata: building (Release)..."
scripts/build.sh release --target strata
echo "strata: training the example models..."
examples/train_all.sh

cat <<MSG

strata is starting on http://127.0.0.1:${PORT} with the example repository.
In another terminal, try:

  curl -s http://127.0.0.1:${PORT}/v2/models/breast_cancer_xgb/infer \\
    -H 'Content-Type: application/json' \\
    -d '{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 30], "data": [13.68, 16.33, 87.76, 575.5, 0.09277, 0.07255, 0.01752, 0.0188, 0.1631, 0.06155, 0.2047, 0.4801, 1.373, 17.25, 0.003828, 0.007228, 0.007078, 0.005077, 0.01054, 0.001697, 15.85, 20.2, 101.6, 773.4, 0.1264, 0.1564, 0.1206, 0.08704, 0.2806, 0.07782]}]}'

  curl -s http://127.0.0.1:${PORT}/v2/models/digits_mlp      # model metadata
  curl -s http://127.0.0.1:${PORT}/v2/health/ready
  curl -s http://127.0.0.1:${PORT}/v2/advisor/breast_cancer_xgb  # its live workload, after a call

Open http://127.0.0.1:${PORT}/ in a browser for the status page.

Stop with Ctrl-C.
MSG
exec build/release/strata serve --repository examples/repository --host 127.0.0.1 --port "$PORT"
