#!/usr/bin/python3
"""The native tree engine against XGBoost's own predictor, in process (bench/model_call_bench).

  /usr/bin/python3 bench/tree_engine_bench.py [--repeats 3] [--out DIR] [--before BENCH]

Models: the example breast_cancer_xgb (50 trees, depth 3, 30 features) and gbdt100, 100 trees of
depth 6 on 30 generated features (binary:logistic, trained here in a few seconds). For each, one
row per call on one thread, and 1,000,000 rows per call on 2 threads (`threads: 2`: XGBoost's
nthread, the engine's walkers). XGBoost and the engine alternate (ABAB), --repeats rounds each; figures
are medians. One-row figures are CPU time per call (Google Benchmark's thread CPU time); the
2-thread figures are wall time, since the walkers' CPU is not the main thread's, and next to them
the whole process's CPU per row (every thread's), which a loaded machine inflates less than wall
time. The load average is taken before each figure's runs.

--before: another model_call_bench binary (an older engine, e.g. one built at main) whose tree
engine runs in the same alternation, as a third column with the after/before ratio.

Targets (issue 17): one row ≤ 1 µs and ≥ 10× faster than XGBoost; 1M rows on 2 threads ≥ 3×
XGBoost's rows/s.
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import ROOT, log, machine, models, report  # noqa: E402

BENCH = os.path.join(ROOT, "build", "release", "bench", "model_call_bench")
CONFIG = """backend: xgboost
max_batch_size: 0
inputs:
  - {{name: features, datatype: FP32, shape: [-1, 30]}}
outputs:
  - {{name: probability, datatype: FP32, shape: [-1]}}
parameters:
  threads: {threads}
"""


def write_gbdt100(models_dir):
    import numpy as np
    import xgboost as xgb
    rng = np.random.default_rng(100)
    x = rng.normal(size=(20000, 30)).astype(np.float32)
    z = x[:, 0] - x[:, 1] * x[:, 2] + np.sin(2 * x[:, 3]) + 0.3 * x[:, 4:10].sum(1)
    y = (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.1,
                         "tree_method": "hist", "seed": 0}, xgb.DMatrix(x, label=y), 100)
    os.makedirs(os.path.join(models_dir, "gbdt100", "1"), exist_ok=True)
    booster.save_model(os.path.join(models_dir, "gbdt100", "1", "model.json"))


def model_dir(out, source, name, threads):
    """A copy of the model with `threads` in its config (the bench reads config.yaml)."""
    d = os.path.join(out, "models", f"{name}_t{threads}")
    os.makedirs(os.path.join(d, "1"), exist_ok=True)
    shutil.copy(os.path.join(source, "1", "model.json"), os.path.join(d, "1", "model.json"))
    with open(os.path.join(d, "config.yaml"), "w") as f:
        f.write(CONFIG.format(threads=threads))
    return d


def one_run(directory, backend, rows, bench=BENCH):
    cmd = [bench, f"--model_dir={directory}", f"--rows={rows}", f"--backend={backend}",
           "--benchmark_min_time=1"]
    log(" ".join(cmd))
    # The console format: Debian's Google Benchmark 1.7 crashes writing JSON's context here.
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    line = next(x for x in text.splitlines() if "/Run/rows:" in x)
    m = re.search(r"\s([\d.]+) (ns|us|ms)\s+([\d.]+) (ns|us|ms)", line)
    scale = {"us": 1.0, "ms": 1e3, "ns": 1e-3}
    p = re.search(r"process_cpu_us=([\d.]+)([kMG]?)", line)
    process = float(p.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[p.group(2)]
    return {"real_us": float(m.group(1)) * scale[m.group(2)],
            "cpu_us": float(m.group(3)) * scale[m.group(4)], "process_cpu_us": process}


def measure(out, name, source, rows, threads, repeats, before):
    directory = model_dir(out, source, name, threads)
    load = machine.loadavg()
    runs = {"xgboost": [], "trees": [], "before": []}
    for _ in range(repeats):
        runs["xgboost"].append(one_run(directory, "xgboost", rows))
        runs["trees"].append(one_run(directory, "trees", rows))
        if before:
            runs["before"].append(one_run(directory, "trees", rows, before))
    key = "cpu_us" if threads == 1 else "real_us"
    med = lambda backend, k: report.median([r[k] for r in runs[backend]])  # noqa: E731
    result = {"model": name, "rows": rows, "threads": threads, "figure": key, "load": load,
              "xgboost_us": med("xgboost", key), "trees_us": med("trees", key),
              "xgboost_process_cpu_us": med("xgboost", "process_cpu_us"),
              "trees_process_cpu_us": med("trees", "process_cpu_us"), "runs": runs}
    result["ratio"] = result["xgboost_us"] / result["trees_us"]
    result["cpu_ratio"] = result["xgboost_process_cpu_us"] / result["trees_process_cpu_us"]
    if before:
        result["before_us"] = med("before", key)
    return result


def verdict(r):
    if r["rows"] == 1:
        ok = r["trees_us"] <= 1.0 and r["ratio"] >= 10
        return f"≤ 1 µs, ≥ 10×: **{'met' if ok else 'missed'}**"
    return f"≥ 3×: **{'met' if r['ratio'] >= 3 else 'missed'}**"


def duration(us):
    """A time in µs, or in ms from 10 ms up."""
    return f"{us / 1000:,.0f} ms" if us >= 10_000 else f"{us:,.2f} µs"


def before_cell(r):
    if "before_us" not in r:
        return ""
    return f" {duration(r['before_us'])} ({r['before_us'] / r['trees_us']:.2f}×) |"


def main():
    ap = report.parser(__doc__)
    ap.add_argument("--out")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", help="an older model_call_bench whose tree engine runs alongside")
    args = ap.parse_args()
    out = report.out_dir(args, "trees")
    if not os.path.exists(BENCH):
        sys.exit("build it first: cmake --build --preset release --target model_call_bench")
    models.train_examples()
    write_gbdt100(os.path.join(out, "models"))
    sources = {"breast_cancer_xgb": os.path.join(models.EXAMPLES, "models", "breast_cancer_xgb"),
               "gbdt100": os.path.join(out, "models", "gbdt100")}
    load_before = machine.loadavg()
    results = []
    for name, source in sources.items():
        results.append(measure(out, name, source, 1, 1, args.repeats, args.before))
        results.append(measure(out, name, source, 1_000_000, 2, args.repeats, args.before))
    print(f"\nMachine: {machine.machine_info()}; load average before {load_before}, "
          f"after {machine.loadavg()}\n")
    print("| model | rows per call | threads | XGBoost | tree engine | engine per row | speed-up "
          "| process CPU per row: XGBoost, engine (ratio) | load | target |"
          + (" engine before (before/after) |" if args.before else ""))
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|" + ("---:|" if args.before else ""))
    for r in results:
        what = "CPU" if r["figure"] == "cpu_us" else "wall"
        per_row = lambda us: us / r["rows"] * 1000  # noqa: E731
        print(f"| {r['model']} | {r['rows']:,} | {r['threads']} | {duration(r['xgboost_us'])} {what} "
              f"| {duration(r['trees_us'])} {what} | {per_row(r['trees_us']):,.1f} ns "
              f"| {r['ratio']:.1f}× | {per_row(r['xgboost_process_cpu_us']):,.0f} ns, "
              f"{per_row(r['trees_process_cpu_us']):,.0f} ns ({r['cpu_ratio']:.1f}×) "
              f"| {r['load']} | {verdict(r)} |" + before_cell(r))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"command": report.command_line(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
