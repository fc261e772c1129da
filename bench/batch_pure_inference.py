#!/usr/bin/python3
"""The floor for `strata batch`: XGBoost's own in-process prediction over the
same feature rows, already in memory as one float32 array (no parsing, no
output). Prints the seconds spent in predict().

  bench/batch_pure_inference.py MODEL_JSON FORECAST_CSV [--threads 2]
"""
import argparse
import time

import numpy as np
import pandas as pd
import xgboost as xgb

FEATURES = ["store_size", "price", "popularity", "category", "weekday", "hour"]

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("csv")
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
X = pd.read_csv(args.csv, usecols=FEATURES)[FEATURES].to_numpy(dtype=np.float32)
booster = xgb.Booster(model_file=args.model)
booster.set_param({"nthread": args.threads})
start = time.perf_counter()
y = booster.inplace_predict(X)
seconds = time.perf_counter() - start
print(f"pure inference: {len(y)} rows in {seconds:.2f} s ({len(y) / seconds:.0f} rows/s)")
