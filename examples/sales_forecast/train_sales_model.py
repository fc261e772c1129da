#!/usr/bin/python3
"""Trains the sales_gbdt XGBoost regressor on the synthetic history and writes
it into a strata model repository (models/sales_gbdt/config.yaml, 1/model.json,
1/samples.json with XGBoost's own predictions for a few rows)."""
import argparse
import json
import os

import numpy as np
import xgboost as xgb

from sales_data import FEATURES

CONFIG = """backend: xgboost
max_batch_size: 65536
inputs:
  - {name: features, datatype: FP32, shape: [-1, %d]}   # %s
outputs:
  - {name: units, datatype: FP32, shape: [-1]}
parameters:
  threads: 1
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--history", required=True)
    parser.add_argument("--out", required=True, help="model repository")
    args = parser.parse_args()
    data = np.load(args.history)
    X, y = data["X"], data["y"]
    model = xgb.XGBRegressor(n_estimators=200, max_depth=8, learning_rate=0.1,
                             objective="count:poisson", tree_method="hist", n_jobs=2)
    model.fit(X, y)
    directory = os.path.join(args.out, "models", "sales_gbdt")
    os.makedirs(os.path.join(directory, "1"), exist_ok=True)
    model.get_booster().save_model(os.path.join(directory, "1", "model.json"))
    with open(os.path.join(directory, "config.yaml"), "w") as f:
        f.write(CONFIG % (len(FEATURES), ", ".join(FEATURES)))
    sample = X[:16]
    with open(os.path.join(directory, "1", "samples.json"), "w") as f:
        json.dump({"features": sample.tolist(),
                   "expected": model.predict(sample).tolist()}, f)
    print(f"sales_gbdt: trained on {len(y)} rows; mean units {y.mean():.3f}")


if __name__ == "__main__":
    main()
