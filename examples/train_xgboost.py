#!/usr/bin/python3
"""Train the `breast_cancer_xgb` example model (XGBoost binary classifier).

Data: scikit-learn's bundled breast cancer dataset (569 rows, 30 float features,
no download). Writes, under --out (default: examples/repository):

  models/breast_cancer_xgb/config.yaml      copied from the committed example if absent/different
  models/breast_cancer_xgb/1/model.json     Booster.save_model JSON format
  models/breast_cancer_xgb/1/samples.json   32 test rows + XGBoost's own predictions
  models/breast_cancer_xgb/1/check/         reference.json (training scores' histogram) and
                                            heldout.jsonl (the test rows), for `strata check`

Deterministic: fixed split, hist trees with nthread=1, fixed seed; running it twice
gives byte-identical files. Run with Debian's Python: /usr/bin/python3.
"""

import time

_T0 = time.monotonic()  # includes the (slow) imports below in the reported seconds

import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from check_files import check_files

MODEL = "breast_cancer_xgb"
VERSION = "1"
N_SAMPLES = 32
SEED = 0
EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(EXAMPLES_DIR, "repository")

PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "max_depth": 4,
    "eta": 0.1,
    "tree_method": "hist",
    "nthread": 1,
    "seed": SEED,
}
NUM_ROUNDS = 50


def atomic_write(path, data):
    """Write bytes to `path` via a temp file in the same directory and os.replace."""
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_version(model_dir, version, files):
    """Write `files` (ordered list of (name, bytes)) into model_dir/version.

    A new version directory is assembled under a hidden temp name and renamed into
    place, so a repository watcher never sees a half-written version. An existing
    one has its files replaced one by one, in order (artifact before samples.json).
    """
    os.makedirs(model_dir, exist_ok=True)
    vdir = os.path.join(model_dir, version)
    if os.path.isdir(vdir):
        for name, data in files:
            atomic_write(os.path.join(vdir, name), data)
        return vdir
    tmp = tempfile.mkdtemp(dir=model_dir, prefix="." + version + ".")
    try:
        for name, data in files:
            atomic_write(os.path.join(tmp, name), data)
        os.chmod(tmp, 0o755)
        os.rename(tmp, vdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return vdir


def copy_config(out):
    """Make sure <out>/models/<MODEL>/config.yaml exists (copied from the committed one)."""
    src = os.path.join(DEFAULT_OUT, "models", MODEL, "config.yaml")
    dst = os.path.join(out, "models", MODEL, "config.yaml")
    if os.path.abspath(src) == os.path.abspath(dst) or not os.path.exists(src):
        return
    with open(src, "rb") as f:
        data = f.read()
    if os.path.exists(dst):
        with open(dst, "rb") as f:
            if f.read() == data:
                return
    atomic_write(dst, data)


def tensor(name, arr):
    arr = np.asarray(arr, dtype=np.float32)
    return {
        "name": name,
        "datatype": "FP32",
        "shape": list(arr.shape),
        "data": [float(x) for x in arr.reshape(-1)],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="repository root (default: %(default)s)")
    args = ap.parse_args()

    data = load_breast_cancer()
    x = data.data.astype(np.float32)
    y = data.target.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=SEED, stratify=y)

    dtrain = xgb.DMatrix(x_train, label=y_train)
    booster = xgb.train(PARAMS, dtrain, num_boost_round=NUM_ROUNDS)
    booster.set_param({"nthread": 1})

    x_test = np.ascontiguousarray(x_test, dtype=np.float32)
    prob_all = booster.inplace_predict(x_test)
    accuracy = float(np.mean((prob_all > 0.5) == (y_test > 0.5)))

    # Round-trip through the saved JSON so the expected values come from the artifact
    # exactly as the server will load it.
    model_bytes = bytes(booster.save_raw(raw_format="json"))
    loaded = xgb.Booster(params={"nthread": 1}, model_file=bytearray(model_bytes))
    rows = x_test[:N_SAMPLES]
    prob = loaded.inplace_predict(rows)
    margin = loaded.inplace_predict(rows, predict_type="margin")
    assert prob.dtype == np.float32 and prob.shape == (N_SAMPLES,), (prob.dtype, prob.shape)
    assert margin.dtype == np.float32 and margin.shape == (N_SAMPLES,), (margin.dtype, margin.shape)
    assert np.array_equal(prob, prob_all[:N_SAMPLES])
    assert np.allclose(margin, loaded.predict(xgb.DMatrix(rows), output_margin=True), atol=1e-6)

    samples = {
        "model": MODEL,
        "request": {"inputs": [tensor("features", rows)]},
        "expected": {"outputs": [tensor("probability", prob)]},
        "expected_margin": {"outputs": [tensor("margin", margin)]},
    }
    samples_bytes = (json.dumps(samples) + "\n").encode()

    out = os.path.abspath(args.out)
    model_dir = os.path.join(out, "models", MODEL)
    copy_config(out)
    train_scores = loaded.inplace_predict(np.ascontiguousarray(x_train, dtype=np.float32))
    checks = check_files("probability", train_scores, "features", x_test)
    vdir = write_version(model_dir, VERSION, [("model.json", model_bytes)] + checks +
                         [("samples.json", samples_bytes)])
    print("%s: test accuracy %.4f (%d rows), %.2f s" % (
        os.path.join(vdir, "model.json"), accuracy, len(y_test), time.monotonic() - _T0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
