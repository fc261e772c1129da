#!/usr/bin/python3
"""Train the purchase model through strata's feature pipeline (the strata_features
binding: the same C++ code strata serve and strata batch run).

  1. join every labelled event to the users' and products' values as of its
     timestamp (point in time: no value from the future);
  2. fit the definition's parameters (means, vocabularies) on the joined rows;
  3. transform them into the training set and train XGBoost (binary:logistic);
  4. write OUT/repo/models/purchase/1/{model.json,features.yaml} and config.yaml.

Usage: PYTHONPATH=build/release/python /usr/bin/python3 train.py DATA OUT
(DATA: make_data.py's directory). Deterministic (hist trees, one thread, fixed seed).
"""

import argparse
import csv
import os

import numpy as np
import xgboost as xgb

import strata_features as sf

HERE = os.path.dirname(os.path.abspath(__file__))
PARAMS = {"objective": "binary:logistic", "eval_metric": "logloss", "max_depth": 5,
          "eta": 0.1, "tree_method": "hist", "nthread": 1, "seed": 0}
ROUNDS = 60
TYPES = {"user_id": int, "product_id": int, "ts": int, "event_time": int, "last_purchase": int,
         "label": float, "purchases_30d": float, "avg_price": float, "price": float}


def read_csv(path):
    """A CSV file as a dict of column -> numpy array (strings stay lists)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = {}
    for name in rows[0].keys():
        kind = TYPES.get(name)
        values = [r[name] for r in rows]
        columns[name] = np.array([kind(v) for v in values]) if kind else values
    return columns


def config_yaml(width):
    return f"""# The purchase example (examples/purchase): XGBoost over the features of
# features.yaml, which strata computes from keys (user_id, product_id) and
# request fields (query, ts).
backend: xgboost
max_batch_size: 4096
inputs:
  - {{name: input__0, datatype: FP32, shape: [-1, {width}]}}
outputs:
  - {{name: probability, datatype: FP32, shape: [-1]}}
parameters:
  threads: 1
  output: probability
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("out")
    args = ap.parse_args()
    labels = read_csv(os.path.join(args.data, "events.csv"))
    sources = {"user_stats": read_csv(os.path.join(args.data, "users.csv")),
               "product_info": read_csv(os.path.join(args.data, "products.csv"))}

    definition = sf.load_definition(os.path.join(HERE, "features.yaml"), allow_unfitted=True)
    joined = sf.join_point_in_time(definition, labels, sources)
    fitted = sf.fit(definition, joined["raw"])
    pipeline = sf.Pipeline(fitted)
    X, y, _ = sf.build_training_set(pipeline, labels, sources)

    split = int(len(y) * 0.8)
    train = xgb.DMatrix(X[:split], label=y[:split], feature_names=None)
    test = xgb.DMatrix(X[split:], label=y[split:])
    booster = xgb.train(PARAMS, train, ROUNDS)
    p = booster.predict(test)
    accuracy = float(np.mean((p > 0.5) == (y[split:] > 0.5)))

    version = os.path.join(args.out, "repo", "models", "purchase", "1")
    os.makedirs(version, exist_ok=True)
    booster.save_model(os.path.join(version, "model.json"))
    fitted.save(os.path.join(version, "features.yaml"))
    with open(os.path.join(args.out, "repo", "models", "purchase", "config.yaml"), "w") as f:
        f.write(config_yaml(pipeline.width))
    print(f"trained on {split} events, {pipeline.width} features; held-out accuracy "
          f"{accuracy:.3f} (base rate {float(np.mean(y[split:])):.3f}); model in {version}")


if __name__ == "__main__":
    main()
