#!/bin/bash
# Train the example models into a model repository (default: examples/repository).
#
#   examples/train_all.sh [OUT_DIR]
#
# A model is skipped when its artifact, samples.json and check/reference.json exist and
# are newer than its training script and check_files.py, so re-runs are instant. Uses Debian's Python (/usr/bin/python3),
# which has python3-torch, python3-xgboost and python3-sklearn.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-"$HERE/repository"}
PYTHON=${PYTHON:-/usr/bin/python3}

# train NAME SCRIPT ARTIFACT
train() {
    name=$1 script=$HERE/$2 artifact=$OUT/models/$1/1/$3
    samples=$OUT/models/$1/1/samples.json
    config=$OUT/models/$1/config.yaml
    reference=$OUT/models/$1/1/check/reference.json
    if [ -f "$artifact" ] && [ -f "$samples" ] && [ -f "$config" ] && [ -f "$reference" ] &&
       [ "$artifact" -nt "$script" ] && [ "$samples" -nt "$script" ] &&
       [ "$reference" -nt "$HERE/check_files.py" ]; then
        echo "$name: up to date ($artifact), skipped"
        return 0
    fi
    echo "$name: training with $2"
    "$PYTHON" "$script" --out "$OUT"
}

train breast_cancer_xgb train_xgboost.py model.json
train digits_mlp train_mlp.py model.pt
