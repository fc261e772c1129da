#!/usr/bin/python3
"""`strata batch` end to end with 20 numeric features (issue 13: transformation
throughput >= 1M rows/s per core): the same rows and the same XGBoost model run
once through features.yaml (20 request fields, each standardized, min-max scaled,
log1p'd or clipped; FeatureLookup + FeaturePipeline::Assemble) and once as plain
model inputs (--map input__0=f0..f19, the floor: batch without features), on one
worker thread (--threads 1). Reports the median of --runs rows/s of each.

  /usr/bin/python3 bench/feature_transform_bench.py [--rows 1000000] [--runs 3]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

import numpy
import xgboost

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
from lib import machine  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FEATURES = 20
TRANSFORMS = [("standardize", "{mean: 1, std: 2}"), ("min_max", "{min: 0, max: 10}"),
              ("log1p", "{}"), ("clip", "{low: -1, high: 1}")]


def write_repository(root, with_features):
    name = "f20_features" if with_features else "f20_plain"
    version = os.path.join(root, "models", name, "1")
    os.makedirs(version, exist_ok=True)
    rng = numpy.random.default_rng(0)
    X = rng.random((2000, FEATURES), dtype=numpy.float32)
    booster = xgboost.train({"max_depth": 3, "nthread": 1, "objective": "binary:logistic"},
                            xgboost.DMatrix(X, label=(X[:, 0] > 0.5)), 10)
    booster.save_model(os.path.join(version, "model.json"))
    with open(os.path.join(root, "models", name, "config.yaml"), "w") as f:
        f.write("backend: xgboost\nmax_batch_size: 8192\ninputs:\n"
                f"  - {{name: input__0, datatype: FP32, shape: [-1, {FEATURES}]}}\n"
                "outputs:\n  - {name: probability, datatype: FP32, shape: [-1]}\n"
                "parameters: {threads: 1, output: probability}\n")
    if with_features:
        lines = ["request:"] + [f"  f{i}: {{type: FLOAT64}}" for i in range(FEATURES)]
        lines += ["features:"] + [
            f"  - {{name: x{i}, from: request.f{i}, transform: {TRANSFORMS[i % 4][0]}, "
            f"params: {TRANSFORMS[i % 4][1]}}}" for i in range(FEATURES)]
        names = ", ".join(f"x{i}" for i in range(FEATURES))
        lines += ["outputs:", f"  - {{tensor: input__0, features: [{names}]}}"]
        with open(os.path.join(version, "features.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return name


def write_rows(path, rows):
    rng = numpy.random.default_rng(1)
    with open(path, "w") as f:
        f.write("id," + ",".join(f"f{i}" for i in range(FEATURES)) + "\n")
        block = 100000
        for start in range(0, rows, block):
            values = rng.random((min(block, rows - start), FEATURES)) * 20 - 5
            for i, row in enumerate(values):
                f.write(f"{start + i}," + ",".join(f"{v:.6g}" for v in row) + "\n")


def run_batch(strata, root, model, rows_csv, extra, run):
    out = os.path.join(root, f"out-{model}-{run}.csv")
    done = subprocess.run(
        [strata, "batch", "--repository", root, "--model", model, "--input", rows_csv,
         "--key", "id:INT64", "--output", out, "--threads", "1", "--progress", "off",
         "--tables", os.path.join(root, "tables"), "--job-id", f"{model}-{run}", *extra],
        capture_output=True, text=True, check=True)
    os.remove(out)
    return float(re.search(r"rate: (\d+) rows/s", done.stdout).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--strata", default=os.path.join(ROOT, "build", "release", "strata"))
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="strata-feature-bench-") as root:
        os.makedirs(os.path.join(root, "tables"))
        featured = write_repository(root, True)
        plain = write_repository(root, False)
        rows_csv = os.path.join(root, "rows.csv")
        write_rows(rows_csv, args.rows)
        mapping = ["--map", "input__0=" + ",".join(f"f{i}" for i in range(FEATURES))]
        rates = {featured: [], plain: []}
        for run in range(args.runs):  # interleaved, so drift hits both alike
            rates[featured].append(run_batch(args.strata, root, featured, rows_csv, [], run))
            rates[plain].append(run_batch(args.strata, root, plain, rows_csv, mapping, run))
    info = machine.machine_info()
    print(f"machine: {info['nproc']} CPUs, {info['cpu']}, load {machine.loadavg():.1f}")
    for name, values in rates.items():
        print(f"{name}: median {statistics.median(values):,.0f} rows/s on 1 thread "
              f"(runs: {', '.join(f'{v:,.0f}' for v in values)})")


if __name__ == "__main__":
    main()
