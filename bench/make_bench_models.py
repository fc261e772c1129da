#!/usr/bin/python3
"""Writes the model repository the issue 3 / issue 4 / issue 6 benchmarks serve (and can time its
MLPs).

  /usr/bin/python3 bench/make_bench_models.py --out DIR [--delay-us 1000] [--measure]
  /usr/bin/python3 bench/make_bench_models.py --out DIR --only ad_gbdt

Models written under DIR/models/ (each with config.yaml, 1/model.pt, 1/samples.json); all are
TorchScript MLPs with ReLU between layers and seeded random weights, `threads: 1`,
`instances: 1`, `max_batch_size: 64`:

  mlp1k            512 -> 1024 -> 1024 -> 10 (1.6 M parameters, 6.3 MB), batching off:
                   every request runs on its own.  (batching_bench.py)
  mlp1k_batched    the same artifact, dynamic_batching {max_queue_delay_us: --delay-us}.
  mlp1k_adaptive   the same artifact, dynamic_batching {latency_objective_us: --objective-us}.
  mlp2k            512 -> 2048 -> 2048 -> 10 (5.3 M parameters, 21 MB), batching off, one
                   row costs a few ms.  (swap_bench.py: a footprint big enough to see)
  mlp2k_overload   the mlp2k artifact with max_queue_size --overload-queue (default 2).
                   (overload_bench.py)
  digits_mlp       copied from examples/repository (trained by examples/train_all.sh if
                   missing), config unchanged.  (overhead_bench.py, peer_bench.py)

Written only when asked for (--only ad_gbdt, or write_ad_gbdt() from a driver):

  ad_gbdt          a production-size XGBoost GBDT, "ad conversion": binary:logistic on 30 FP32
                   features (like the breast_cancer_xgb example), 500 trees of depth 8 (hist,
                   eta 0.05), trained here in a few seconds on 50,000 generated rows (seeded:
                   exponential and normal features, a non-linear logit with interactions).
                   Served with the example's config shape (max_batch_size 1024, threads 1,
                   output probability). Its 1/samples.json is a 1,024-row request plus
                   XGBoost's own predictions.  (hybrid_bench.py)

Also writes DIR/bodies/<model>_1row.json, a 1-row KServe v2 request for wrk / lib/openloop.py.
A wide model's samples.json is a 1-row KServe v2 request with the module's own output, named
as warm-up in its config (`warmup: {samples: samples.json}`).

--measure times each MLP in-process from Python (torch.set_num_threads(1), inference_mode,
the same Debian LibTorch strata links) at batch sizes 1..64 and prints a markdown table
(median of --reps calls after warm-up). bench/model_call_bench (C++, Google Benchmark, through
strata's own backend) is the authoritative figure; the drivers run that one.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import models  # noqa: E402

MLPS = {"mlp1k": [512, 1024, 1024, 10], "mlp2k": [512, 2048, 2048, 10]}
MAX_BATCH = 64

WIDE_CONFIG = """\
# Benchmark model (bench/make_bench_models.py): MLP {layers}, seeded random weights.
backend: torchscript
max_batch_size: {max_batch}
inputs:
  - {{name: x, datatype: FP32, shape: [-1, {width}]}}
outputs:
  - {{name: logits, datatype: FP32, shape: [-1, {classes}]}}
parameters:
  threads: 1
instances: 1
max_queue_size: {queue}
warmup: {{samples: samples.json}}
{extra}"""


AD_GBDT = {"name": "ad_gbdt", "width": 30, "trees": 500, "depth": 8, "train_rows": 50_000,
           "sample_rows": 1024}

AD_GBDT_CONFIG = """\
# Benchmark model (bench/make_bench_models.py): "ad conversion" XGBoost GBDT, {trees} trees of
# depth {depth}, trained on {train_rows} generated rows. Same shape as breast_cancer_xgb.
backend: xgboost
max_batch_size: 1024
inputs:
  - {{name: features, datatype: FP32, shape: [-1, {width}]}}
outputs:
  - {{name: probability, datatype: FP32, shape: [-1]}}
parameters:
  threads: 1
  output: probability
"""


def ad_features(rng, n, width):
    """n rows of generated ad-conversion features (float32): 5 exponential (counts, spend),
    the rest standard normal (embeddings, scores)."""
    import numpy as np
    x = rng.normal(size=(n, width)).astype(np.float32)
    x[:, :5] = rng.exponential(size=(n, 5))
    return x


def write_ad_gbdt(models_dir, seed=42):
    """Trains ad_gbdt (see the module docstring) into models_dir/ad_gbdt; returns its directory.

    Deterministic for a given xgboost build (seeded data, nthread 2 hist training is
    reproducible). Takes ~5 s on 2 cores.
    """
    import numpy as np
    import xgboost as xgb
    spec = AD_GBDT
    rng = np.random.default_rng(seed)
    x = ad_features(rng, spec["train_rows"], spec["width"])
    z = (0.8 * x[:, 0] - 0.6 * x[:, 1] * x[:, 2] + np.sin(3 * x[:, 3]) + 0.5 * (x[:, 4] > 1)
         + 0.3 * x[:, 5:15].sum(1) * x[:, 15] - 0.4 * np.abs(x[:, 16:20]).sum(1)
         + 0.2 * x[:, 20:].prod(1).clip(-3, 3) - 1.5)
    y = (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": spec["depth"], "eta": 0.05,
              "tree_method": "hist", "nthread": 2, "seed": 0, "subsample": 0.8,
              "colsample_bytree": 0.8}
    booster = xgb.train(params, xgb.DMatrix(x, label=y), spec["trees"])
    mdir = os.path.join(models_dir, spec["name"])
    vdir = os.path.join(mdir, "1")
    os.makedirs(vdir, exist_ok=True)
    booster.save_model(os.path.join(vdir, "model.json"))
    samples = ad_features(np.random.default_rng(seed + 1), spec["sample_rows"], spec["width"])
    booster.set_param({"nthread": 1})
    expected = booster.inplace_predict(samples)
    request = {"inputs": [{"name": "features", "datatype": "FP32",
                           "shape": [spec["sample_rows"], spec["width"]],
                           "data": [float(v) for v in samples.flatten()]}]}
    with open(os.path.join(vdir, "samples.json"), "w") as f:
        json.dump({"model": spec["name"], "request": request,
                   "expected": {"outputs": [{"name": "probability", "datatype": "FP32",
                                             "shape": [spec["sample_rows"]],
                                             "data": [float(v) for v in expected]}]}}, f)
    with open(os.path.join(mdir, "config.yaml"), "w") as f:
        f.write(AD_GBDT_CONFIG.format(**spec))
    return mdir


def build_mlp(sizes, seed=0):
    import torch
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    module = torch.nn.Sequential(*layers).eval()
    return torch.jit.script(module)


def one_row(width, seed=1):
    import torch
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, width, generator=g)


def write_wide(models_dir, name, sizes, scripted, extra, queue):
    import torch
    mdir = os.path.join(models_dir, name)
    vdir = os.path.join(mdir, "1")
    os.makedirs(vdir, exist_ok=True)
    scripted.save(os.path.join(vdir, "model.pt"))
    x = one_row(sizes[0])
    with torch.inference_mode():
        y = scripted(x)
    request = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, sizes[0]],
                           "data": [round(float(v), 6) for v in x.flatten()]}]}
    samples = {"request": request,
               "expected": {"outputs": [{"name": "logits", "datatype": "FP32",
                                         "shape": [1, sizes[-1]],
                                         "data": [float(v) for v in y.flatten()]}]}}
    with open(os.path.join(vdir, "samples.json"), "w") as f:
        json.dump(samples, f)
    with open(os.path.join(mdir, "config.yaml"), "w") as f:
        f.write(WIDE_CONFIG.format(layers=" -> ".join(map(str, sizes)),
                                   max_batch=MAX_BATCH, width=sizes[0],
                                   classes=sizes[-1], queue=queue, extra=extra))
    return request


def copy_digits(models_dir):
    src = os.path.join(models.EXAMPLES, "models", "digits_mlp")
    if not os.path.exists(os.path.join(src, "1", "model.pt")):
        models.train_examples()
    dst = os.path.join(models_dir, "digits_mlp")
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    return models.one_row_body(models.load_samples(os.path.dirname(models_dir), "digits_mlp"))


def measure(scripted, width, reps):
    import torch
    torch.set_num_threads(1)
    rows = []
    with torch.inference_mode():
        for batch in (1, 2, 4, 8, 16, 32, 64):
            x = torch.rand(batch, width)
            for _ in range(5):
                scripted(x)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter_ns()
                scripted(x)
                times.append(time.perf_counter_ns() - t0)
            med = statistics.median(times) / 1e3
            rows.append((batch, med, med / batch, min(times) / 1e3))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="repository directory to (re)create")
    ap.add_argument("--delay-us", type=int, default=1000,
                    help="max_queue_delay_us of mlp1k_batched")
    ap.add_argument("--objective-us", type=int, default=10000,
                    help="latency_objective_us of mlp1k_adaptive")
    ap.add_argument("--overload-queue", type=int, default=2,
                    help="max_queue_size of mlp2k_overload")
    ap.add_argument("--measure", action="store_true", help="time the MLPs in-process")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--only", choices=["ad_gbdt"],
                    help="write only this model (not part of the default set)")
    args = ap.parse_args()

    models_dir = os.path.join(args.out, "models")
    bodies_dir = os.path.join(args.out, "bodies")
    os.makedirs(models_dir, exist_ok=True)
    os.makedirs(bodies_dir, exist_ok=True)
    if args.only == "ad_gbdt":
        print(f"wrote {write_ad_gbdt(models_dir)}", file=sys.stderr)
        return
    mlp1k, mlp2k = build_mlp(MLPS["mlp1k"]), build_mlp(MLPS["mlp2k"])
    batching = f"dynamic_batching:\n  max_queue_delay_us: {args.delay_us}\n"
    bodies = {
        "mlp1k": write_wide(models_dir, "mlp1k", MLPS["mlp1k"], mlp1k, "", 1024),
        "mlp1k_batched": write_wide(models_dir, "mlp1k_batched", MLPS["mlp1k"], mlp1k,
                                    batching, 1024),
        "mlp1k_adaptive": write_wide(
            models_dir, "mlp1k_adaptive", MLPS["mlp1k"], mlp1k,
            f"dynamic_batching:\n  latency_objective_us: {args.objective_us}\n", 1024),
        "mlp2k": write_wide(models_dir, "mlp2k", MLPS["mlp2k"], mlp2k, "", 1024),
        "mlp2k_overload": write_wide(models_dir, "mlp2k_overload", MLPS["mlp2k"], mlp2k, "",
                                     args.overload_queue),
        "digits_mlp": copy_digits(models_dir),
    }
    for name, body in bodies.items():
        with open(os.path.join(bodies_dir, f"{name}_1row.json"), "w") as f:
            json.dump(body, f)
    print(f"wrote {', '.join(bodies)} under {models_dir}", file=sys.stderr)

    if args.measure:
        import torch
        for name, scripted in (("mlp1k", mlp1k), ("mlp2k", mlp2k)):
            sizes = MLPS[name]
            print(f"\n{name} ({' -> '.join(map(str, sizes))}) in-process from Python (PyTorch "
                  f"{torch.__version__}, 1 thread, inference_mode; median of {args.reps} "
                  "calls)\n")
            print("| batch | per call | per row | min per call |")
            print("|---:|---:|---:|---:|")
            for batch, med, per_row, mn in measure(scripted, sizes[0], args.reps):
                print(f"| {batch} | {med:,.0f} µs | {per_row:,.1f} µs | {mn:,.0f} µs |",
                      flush=True)

if __name__ == "__main__":
    main()
