#!/usr/bin/python3
"""The batch job's memory against its row count, and its speed against the pandas + XGBoost peer.

  /usr/bin/python3 bench/batch_job_bench.py [--strata BIN] [--before BIN] [--repeats 3]
      [--out DIR] [--skip-memory] [--skip-speed]

Inputs: the sales forecast of examples/sales_forecast (700,000 rows: 100 stores; 4,200,000 rows:
600 stores; 16,800,000 rows: the hourly forecast), generated into OUT and deleted at the end.
Models, trained here on the example's history (200 trees of depth 8, 6 features):
`sales_gbdt`, the example (`count:poisson`), and `sales_sq`, the same model trained with
`reg:squarederror`; the tree engine runs both (the default for `backend: xgboost`; before
`count:poisson` joined the engine, `sales_gbdt` ran on XGBoost's predictor).

Memory: `strata batch` into a RocksDB table at each row count, peak RSS from /usr/bin/time (with
`--before`, the before binary too, in turn). Speed: for each model, at 4,200,000 rows, `strata
batch` (CSV -> verified, published RocksDB table) and bench/batch_peer.py (pandas reads the CSV,
XGBoost predicts on 2 threads, pandas writes a CSV file) alternate, --repeats rounds; medians.

Targets (issue 17): peak RSS flat within 10% from 700k to 16.8M rows; strata >= 3x the peer.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import PYTHON, ROOT, log, machine, record, report  # noqa: E402

EXAMPLE = os.path.join(ROOT, "examples", "sales_forecast")
MAP = "features=store_size,price,popularity,category,weekday,hour"
KEY = "store_id:INT64,product_id:INT64,date"
INPUTS = {"700k": ["--stores", "100"], "4.2M": ["--stores", "600"], "16.8M": ["--hourly"]}
TRAIN = """
import sys, numpy as np, xgboost as xgb
data = np.load(sys.argv[1])
model = xgb.XGBRegressor(n_estimators=200, max_depth=8, learning_rate=0.1,
                         objective=sys.argv[2], tree_method="hist", n_jobs=2)
model.fit(data["X"], data["y"])
model.get_booster().save_model(sys.argv[3])
"""


def prepare(out):
    """The repository (sales_gbdt and sales_sq) and the three inputs, in `out`."""
    repo = os.path.join(out, "repository")
    history = os.path.join(out, "history.npz")
    subprocess.run([PYTHON, os.path.join(EXAMPLE, "sales_data.py"), "history", "--out",
                    history], check=True, capture_output=True)
    subprocess.run([PYTHON, "train_sales_model.py", "--history", history, "--out", repo],
                   cwd=EXAMPLE, check=True, capture_output=True)
    sq = os.path.join(repo, "models", "sales_sq")
    os.makedirs(os.path.join(sq, "1"), exist_ok=True)
    shutil.copy(os.path.join(repo, "models", "sales_gbdt", "config.yaml"), sq)
    subprocess.run([PYTHON, "-c", TRAIN, history, "reg:squarederror",
                    os.path.join(sq, "1", "model.json")], check=True)
    inputs = {}
    for name, flags in INPUTS.items():
        inputs[name] = os.path.join(out, f"forecast_{name}.csv")
        subprocess.run([PYTHON, os.path.join(EXAMPLE, "sales_data.py"), "forecast", "--out",
                        inputs[name], *flags], check=True, capture_output=True)
    return repo


def timed(cmd, out_file):
    """Runs `cmd` under /usr/bin/time: {wall_s, cpu_s, peak_rss_kb, load}; raises on failure."""
    load = machine.loadavg()
    cmd = ["/usr/bin/time", "-f", "TIME %e %U %S %M", *cmd]
    record(cmd)
    with open(out_file, "w") as f:
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    text = open(out_file).read()
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[4]} failed:\n{text[-2000:]}")
    wall, user, system, rss = text.rsplit("TIME ", 1)[1].split()[:4]
    return {"wall_s": float(wall), "cpu_s": float(user) + float(system),
            "peak_rss_kb": int(rss), "load": load}


def strata_batch(binary, repo, model, csv, out, tag):
    cmd = [binary, "batch", "-r", repo, "-m", model, "-i", csv, "-k", KEY, "--map", MAP,
           "-t", f"{model}_{tag}", "--keep-versions", "1", "--progress", "off",
           "--job-id", tag, "--staging", os.path.join(out, "staging")]
    result = timed(cmd, os.path.join(out, f"strata_{tag}.txt"))
    shutil.rmtree(os.path.join(repo, "tables"), ignore_errors=True)
    return result


def peer(repo, model, csv, out, tag):
    cmd = [PYTHON, os.path.join(ROOT, "bench", "batch_peer.py"),
           os.path.join(repo, "models", model, "1", "model.json"), csv,
           os.path.join(out, "peer.csv")]
    result = timed(cmd, os.path.join(out, f"peer_{tag}.txt"))
    os.remove(os.path.join(out, "peer.csv"))
    return result


def memory(binaries, repo, out):
    """Peak RSS per binary and input; the binaries alternate at each input."""
    rows = []
    for name in INPUTS:
        for label, binary in binaries.items():
            log(f"memory: {label}, {name} rows")
            r = strata_batch(binary, repo, "sales_gbdt", os.path.join(out, f"forecast_{name}.csv"),
                             out, f"mem-{label}-{name}")
            rows.append(dict(r, binary=label, rows=name))
    return rows


def speed(binary, repo, out, repeats):
    """Per model: strata and the peer alternating at 4.2M rows, `repeats` rounds."""
    csv = os.path.join(out, "forecast_4.2M.csv")
    results = {}
    for model in ("sales_gbdt", "sales_sq"):
        runs = {"strata": [], "peer": []}
        for i in range(repeats):
            log(f"speed: {model}, round {i + 1}")
            runs["strata"].append(strata_batch(binary, repo, model, csv, out, f"speed-{model}-{i}"))
            runs["peer"].append(peer(repo, model, csv, out, f"{model}-{i}"))
        results[model] = runs
    return results


def memory_lines(rows):
    lines = ["\nMemory (`strata batch` -> RocksDB table, model sales_gbdt):\n"]
    table = [[r["binary"], r["rows"], f"{r['wall_s']:.1f} s", report.mib(r["peak_rss_kb"]),
              f"{r['load']:.1f}"] for r in rows]
    lines += report.table(["binary", "rows", "wall", "peak RSS", "load avg"], table, "llrrr")
    for label in dict.fromkeys(r["binary"] for r in rows):
        rss = {r["rows"]: r["peak_rss_kb"] for r in rows if r["binary"] == label}
        growth = rss["16.8M"] / rss["700k"] - 1
        lines.append(f"\n{label}: peak RSS 700k -> 16.8M rows {growth:+.1%} "
                     f"(target: flat within 10%: {report.verdict(abs(growth) <= 0.10)})")
    return lines


def speed_lines(results):
    lines = ["\nSpeed, 4,200,000 rows, medians (strata and the peer alternate):\n"]
    table = []
    for model, runs in results.items():
        s = report.median([r["wall_s"] for r in runs["strata"]])
        p = report.median([r["wall_s"] for r in runs["peer"]])
        loads = [r["load"] for r in runs["strata"] + runs["peer"]]
        table.append([model, f"{s:.2f} s ({4.2e6 / s:,.0f} rows/s)",
                      f"{p:.2f} s ({4.2e6 / p:,.0f} rows/s)", f"{p / s:.2f}x",
                      report.verdict(p / s >= 3), f"{min(loads):.1f}-{max(loads):.1f}"])
    lines += report.table(["model", "strata batch", "peer (pandas + XGBoost -> CSV)",
                           "strata / peer speed", "target >= 3x", "load avg"], table, "lrrrll")
    return lines


def main():
    ap = report.parser(__doc__)
    ap.add_argument("--strata", default=os.path.join(ROOT, "build", "release", "strata"))
    ap.add_argument("--before", help="a before binary, measured in turn for memory")
    ap.add_argument("--out")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    out = report.out_dir(args, "batchjob")
    started = report.now()
    info = machine.machine_info()
    log(f"preparing the model and inputs in {out}")
    repo = prepare(out)
    binaries = {"after": args.strata}
    if args.before:
        binaries = {"before": args.before, "after": args.strata}
    lines = [f"batch job bench, {started:%Y-%m-%d %H:%M %Z}; machine: {info['nproc']} CPUs, "
             f"{info['cpu']}, {info['memory_gib']} GiB; {machine.uptime()}"]
    results = {}
    try:
        if not args.skip_memory:
            results["memory"] = memory(binaries, repo, out)
            lines += memory_lines(results["memory"])
        if not args.skip_speed:
            results["speed"] = speed(args.strata, repo, out, args.repeats)
            lines += speed_lines(results["speed"])
    finally:
        for name in INPUTS:
            os.remove(os.path.join(out, f"forecast_{name}.csv"))
    lines.append(f"\nload after: {machine.uptime()}")
    report.save_results(out, results)
    print("\n".join(lines + report.footer(out)))


if __name__ == "__main__":
    main()
