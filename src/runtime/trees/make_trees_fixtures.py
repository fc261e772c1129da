"""Writes XGBoost models, inputs and XGBoost's own answers for trees_test.

  /usr/bin/python3 make_trees_fixtures.py OUT

One directory per case under OUT: model.json, inputs.f32 (rows x features,
row-major, NaN = missing, and every split threshold of the model used as an
input value too), expected.f32 (XGBoost's in-place prediction), margin.f32
(output_margin) and meta.txt ("rows features groups objective"). Also
categorical/model.json, a model with categorical splits the engine refuses.
"""
import os
import sys

import numpy as np
import xgboost as xgb

CASES = [
    # name, objective, classes, trees, depth, missing share
    ("logistic", "binary:logistic", 0, 50, 6, 0.1),
    ("regression", "reg:squarederror", 0, 40, 5, 0.2),
    ("softprob", "multi:softprob", 3, 30, 4, 0.1),
    ("softmax", "multi:softmax", 4, 20, 4, 0.0),
    ("reg_logistic", "reg:logistic", 0, 25, 3, 0.3),
    ("logitraw", "binary:logitraw", 0, 25, 3, 0.0),
    ("deep", "binary:logistic", 0, 100, 8, 0.05),
    # 10 lane groups of 16 trees: one row walks 8 groups at once, then 2
    ("many_trees", "reg:squarederror", 0, 150, 4, 0.1),
    # exp(margin) objectives, trained on counts / positive amounts
    ("poisson", "count:poisson", 0, 40, 6, 0.1),
    ("gamma", "reg:gamma", 0, 30, 5, 0.1),
    ("tweedie", "reg:tweedie", 0, 30, 5, 0.1),
    # deeper than the perfect layout's bound (8): the node walk's case
    ("deeper", "reg:squarederror", 0, 10, 11, 0.1),
]
# name, objective, classes, trees, depth, missing share, features: rows too
# wide for the AVX-512 walk to hold in registers (more than 32 features)
WIDE_CASES = [("wide", "binary:logistic", 0, 40, 6, 0.1, 40),
              # shallow enough for the split-mask walk, with 80 columns
              ("wide_shallow", "multi:softprob", 3, 20, 4, 0.1, 40)]


def training_data(rng, objective, classes, missing, features=12):
    x = rng.normal(size=(2000, features)).astype(np.float32)
    score = x[:, 0] * 2 + x[:, 1] * x[:, 2] - np.abs(x[:, 3]) + 0.5 * rng.normal(size=2000)
    if objective in ("count:poisson", "reg:tweedie"):
        y = rng.poisson(np.exp(np.clip(score, -3, 3))).astype(np.float32)
    elif objective == "reg:gamma":
        y = rng.gamma(2.0, np.exp(np.clip(score, -3, 3)) / 2.0).astype(np.float32)
    elif classes:
        y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    else:
        y = (score > 0).astype(np.float32)
    x[rng.random(x.shape) < missing] = np.nan
    return x, y


def thresholds(booster):
    """Every split threshold, exactly as the model stores it."""
    import json
    model = json.loads(booster.save_raw("json"))
    values = []
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for left, cut in zip(tree["left_children"], tree["split_conditions"]):
            if left >= 0:
                values.append(cut)
    return np.array(values, dtype=np.float32)


def inputs_for(rng, booster, features):
    x = rng.normal(scale=1.5, size=(3000, features)).astype(np.float32)
    x[rng.random(x.shape) < 0.15] = np.nan
    x[0, :] = np.inf
    x[1, :] = -np.inf
    cuts = thresholds(booster)
    if cuts.size:
        picked = rng.choice(cuts, size=(500, features))
        x = np.vstack([x, picked.astype(np.float32)])
    return np.ascontiguousarray(x)


def write_case(out, rng, name, objective, classes, trees, depth, missing, features=12):
    x, y = training_data(rng, objective, classes, missing, features)
    params = {"objective": objective, "max_depth": depth, "eta": 0.3, "seed": 7,
              "tree_method": "hist"}
    if classes:
        params["num_class"] = classes
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=trees)
    directory = os.path.join(out, name)
    os.makedirs(directory, exist_ok=True)
    booster.save_model(os.path.join(directory, "model.json"))
    booster = xgb.Booster(model_file=os.path.join(directory, "model.json"))
    inputs = inputs_for(rng, booster, x.shape[1])
    expected = booster.inplace_predict(inputs).astype(np.float32)
    margin = booster.inplace_predict(inputs, predict_type="margin").astype(np.float32)
    inputs.tofile(os.path.join(directory, "inputs.f32"))
    np.ascontiguousarray(expected).tofile(os.path.join(directory, "expected.f32"))
    np.ascontiguousarray(margin).tofile(os.path.join(directory, "margin.f32"))
    groups = classes if classes else 1
    with open(os.path.join(directory, "meta.txt"), "w") as f:
        f.write(f"{inputs.shape[0]} {inputs.shape[1]} {groups} {objective}\n")


def write_categorical(out, rng):
    import pandas as pd
    frame = pd.DataFrame({"color": pd.Categorical(rng.choice(["r", "g", "b"], 500)),
                          "size": rng.normal(size=500)})
    y = (frame["color"] == "r").astype(int) + (frame["size"] > 0)
    dtrain = xgb.DMatrix(frame, label=y, enable_categorical=True)
    booster = xgb.train({"tree_method": "hist", "max_cat_to_onehot": 1, "max_depth": 3},
                        dtrain, num_boost_round=5)
    os.makedirs(os.path.join(out, "categorical"), exist_ok=True)
    booster.save_model(os.path.join(out, "categorical", "model.json"))


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20261203)
    for case in CASES + WIDE_CASES:
        write_case(out, rng, *case)
    write_categorical(out, rng)
    print(f"trees fixtures written to {out}")


if __name__ == "__main__":
    main()
