#!/usr/bin/python3
"""Hybrid vs dynamic with key-only requests (issue 13): the purchase example model
(examples/purchase: 2 entities, 2 feature tables, an XGBoost model over 44 features), one
(user_id, product_id) row per request plus its request-time fields, Zipf(1.0) over every
(user, product) pair, 64 connections, wrk.

  dynamic  the model's own name: every row looks its features up (user_stats, product_info,
           RocksDB) and transforms them, then runs the model;
  hybrid   `purchase_hybrid` (plan: hybrid): a table of the hottest --head pairs precomputed by
           `strata batch` through the same pipeline answers from the key alone, then the cache,
           then features + model for the tail.
  ceiling  `purchase_hybrid_all`: the same plan over a table of EVERY pair (100% table hits):
           the most any cut of the hybrid's model path could give;
  static   `purchase_static_all` (plan: static) over that table: a bare table lookup, what the
           hybrid's hit path costs beyond it;
  dynamic_xgb, hybrid_xgb  the same model under `purchase_xgb` with `engine: xgboost` (XGBoost's
           own predictor instead of the native tree engine), and its hybrid over a head
           precomputed by it.

Pairs are ranked (pair r = user r % U + 1, product r // U % P + 1); the request-time fields are
fixed (query '', one timestamp), so the table, the cache and the model answer the same
question. The two plans' answers are first compared on 200 bodies; then D and H runs
alternate --repeats times and the report gives medians, the hybrid's rows per layer, and
nginx's fixed response at the same connections (the HTTP floor) in the same run.

  /usr/bin/python3 bench/hybrid_keyonly_bench.py [--seconds 6] [--repeats 3] [--head 30000]
      [--rows 1] [--plans dynamic,hybrid,ceiling,static,dynamic_xgb,hybrid_xgb] [--skip-setup]
      [--out build/bench/hybrid_keyonly]

The setup runs examples/purchase/run.sh: it needs the binding built (target
strata_features_python, in build/release/python) or STRATA_PYTHON naming its directory.
Loopback only, every run bounded by -d; with --seconds 4 --repeats 2 and the six plans about
1 minute of load plus the example's setup (~1.5 min; --skip-setup reuses it).
"""
import argparse
import csv
import json
import os
import statistics
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, HERE)
from lib import load, machine, models, servers, zipf  # noqa: E402

STRATA = os.environ.get("STRATA_BIN", os.path.join(ROOT, "build", "release", "strata"))
TS = 1735603200
ENDPOINT = "purchase_hybrid"
# plan -> (the name requests go to, whether it is a hybrid endpoint whose layers are reported)
PLANS = {"dynamic": ("purchase", False), "hybrid": (ENDPOINT, True),
         "ceiling": ("purchase_hybrid_all", True), "static": ("purchase_static_all", False),
         "dynamic_xgb": ("purchase_xgb", False), "hybrid_xgb": ("purchase_xgb_hybrid", True)}
ENDPOINTS = """endpoints:
  purchase_hybrid: {{plan: hybrid, table: bench_head, key: [user_id, product_id],
                    model: purchase, cache: {{max_bytes: 64MiB}}}}
  purchase_hybrid_all: {{plan: hybrid, table: bench_all, key: [user_id, product_id],
                        model: purchase, cache: {{max_bytes: 64MiB}}, table_in_memory: 256MiB}}
  purchase_static_all: {{plan: static, table: bench_all, key: [user_id, product_id],
                        table_in_memory: 256MiB}}
  purchase_xgb_hybrid: {{plan: hybrid, table: bench_head_xgb, key: [user_id, product_id],
                        model: purchase_xgb, cache: {{max_bytes: 64MiB}}}}
"""


def ids_of(path, column):
    with open(path) as f:
        return sorted({int(r[column]) for r in csv.DictReader(f)})


def pair(rank, users, products):
    return users[rank % len(users)], products[rank // len(users) % len(products)]


def batch(ex, out, model, requests, table, job):
    """`strata batch` of `requests` (keys + request fields) through `model` into `table`."""
    subprocess.run([STRATA, "batch", "--repository", os.path.join(ex, "repo"), "--model", model,
                    "--input", requests, "--key", "user_id:INT64,product_id:INT64",
                    "--table", table, "--tables", os.path.join(ex, "tables"),
                    "--staging", os.path.join(out, "staging"), "--job-id", job,
                    "--progress", "off", "--expect-min", "0", "--expect-max", "1"],
                   check=True, stdout=subprocess.DEVNULL)


def xgboost_copy(ex):
    """models/purchase_xgb: the purchase model with `engine: xgboost` (XGBoost's predictor)."""
    models_dir = os.path.join(ex, "repo", "models")
    dest = os.path.join(models_dir, "purchase_xgb")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(os.path.join(models_dir, "purchase"), dest)
    with open(os.path.join(dest, "config.yaml"), "a") as f:
        f.write("  engine: xgboost\n")


def write_pairs(path, ranks, users, products):
    with open(path, "w") as f:
        f.write("user_id,product_id,query,ts\n")
        for r in ranks:
            u, p = pair(r, users, products)
            f.write(f"{u},{p},,{TS}\n")


def setup(out, head):
    """Runs the example (data, training, feature tables); precomputes the head of `head` pairs
    (with the tree engine and with XGBoost) and a table of every pair; writes the endpoints
    file. Returns (example dir, users, products)."""
    ex = os.path.join(out, "example")
    subprocess.run([os.path.join(ROOT, "examples", "purchase", "run.sh"), ex], check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ, STRATA_BIN=STRATA))
    xgboost_copy(ex)
    users = ids_of(os.path.join(ex, "data", "users.csv"), "user_id")
    products = ids_of(os.path.join(ex, "data", "products.csv"), "product_id")
    keys = len(users) * len(products)
    write_pairs(os.path.join(out, "head.csv"), range(head), users, products)
    write_pairs(os.path.join(out, "all.csv"), range(keys), users, products)
    batch(ex, out, "purchase", os.path.join(out, "head.csv"), "bench_head", f"bench-head-{head}")
    batch(ex, out, "purchase_xgb", os.path.join(out, "head.csv"), "bench_head_xgb",
          f"bench-head-xgb-{head}")
    batch(ex, out, "purchase", os.path.join(out, "all.csv"), "bench_all", f"bench-all-{keys}")
    with open(os.path.join(out, "endpoints.yaml"), "w") as f:
        f.write(ENDPOINTS.format())
    return ex, users, products


def write_bodies(path, users, products, count, rows):
    keys = len(users) * len(products)
    draws = zipf.zipf_ids(keys, 1.0, count * rows, seed=7)
    with open(path, "w") as f:
        for b in range(count):
            pairs = [pair(r, users, products) for r in draws[b * rows:(b + 1) * rows]]
            f.write(json.dumps({"inputs": [
                {"name": "user_id", "datatype": "INT64", "shape": [rows],
                 "data": [u for u, _ in pairs]},
                {"name": "product_id", "datatype": "INT64", "shape": [rows],
                 "data": [p for _, p in pairs]},
                {"name": "query", "datatype": "BYTES", "shape": [rows], "data": [""] * rows},
                {"name": "ts", "datatype": "INT64", "shape": [rows], "data": [TS] * rows}]}) + "\n")
    return keys


def check_answers(base, bodies, count=200):
    """Every plan answers the model's own probabilities (the XGBoost copy too)."""
    with open(bodies) as f:
        for _, line in zip(range(count), f):
            got = {plan: servers.http("POST", f"{base}/{name}/infer", line)
                   for plan, (name, _) in PLANS.items() if plan != "static"}
            if any(status != 200 for status, _ in got.values()):
                raise RuntimeError(f"not 200: {got}")
            want = probabilities(got.pop("dynamic")[1])
            for plan, (_, answer) in got.items():
                a = probabilities(answer)
                if len(a) != len(want) or any(abs(x - y) > 1e-6 for x, y in zip(a, want)):
                    raise RuntimeError(f"{plan} {a} != dynamic {want} for {line}")


def probabilities(answer):
    return next(o["data"] for o in answer["outputs"] if o["name"] == "probability")


def run(url, bodies, seconds):
    r = load.wrk(url, bodies, 2, 64, seconds, lines=True)
    if load.failures(r):
        raise RuntimeError(f"{url}: {load.failure_text(r)}")
    return r


def keys_only(bodies):
    """The same bodies without the request-time fields (a static endpoint takes only keys)."""
    path = bodies.replace(".txt", "_keys.txt")
    with open(bodies) as f, open(path, "w") as g:
        for line in f:
            body = json.loads(line)
            body["inputs"] = [i for i in body["inputs"] if i["name"] in ("user_id", "product_id")]
            g.write(json.dumps(body) + "\n")
    return path


def measure(ex, out, bodies, args):
    strata = servers.Strata(STRATA, os.path.join(ex, "repo"), out, label="strata",
                            endpoints=os.path.join(out, "endpoints.yaml"),
                            extra=["--tables", os.path.join(ex, "tables"), *args.serve_arg])
    runs = {plan: [] for plan in args.plans}
    plan_bodies = {plan: keys_only(bodies) if plan == "static" else bodies for plan in args.plans}
    with strata:
        base = strata.url("/v2/models")
        check_answers(base, bodies)
        for plan in args.plans:  # warms the caches
            run(f"{base}/{PLANS[plan][0]}/infer", plan_bodies[plan], 1)
        for i in range(args.repeats):
            order = args.plans if i % 2 == 0 else args.plans[::-1]
            for plan in order:
                runs[plan].append(run(f"{base}/{PLANS[plan][0]}/infer", plan_bodies[plan],
                                      args.seconds))
                runs[plan][-1]["load"] = machine.loadavg()
                print(plan, json.dumps({k: runs[plan][-1][k] for k in ("rps", "p50_us",
                                                                       "p99_us", "load")}),
                      flush=True)
        rows = models.endpoint_rows(strata)
        layers = {plan: {layer: n for (endpoint, layer), n in rows.items()
                         if endpoint == PLANS[plan][0]}
                  for plan in args.plans if PLANS[plan][1]}
    return runs, layers


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--head", type=int, default=30000)
    parser.add_argument("--bodies", type=int, default=100000)
    parser.add_argument("--rows", type=int, default=1, help="(user, product) rows per request")
    parser.add_argument("--plans", default=",".join(PLANS),
                        help=f"comma-separated, of {', '.join(PLANS)}")
    parser.add_argument("--serve-arg", action="append", default=[],
                        help="extra `strata serve` flag, e.g. --serve-arg=--no-workload-sketches")
    parser.add_argument("--skip-setup", action="store_true",
                        help="reuse the example and tables an earlier run left in --out")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "hybrid_keyonly"))
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    args.plans = args.plans.split(",")
    if "dynamic" not in args.plans:
        args.plans.insert(0, "dynamic")  # what every ratio is over
    os.makedirs(args.out, exist_ok=True)
    if args.skip_setup:
        ex = os.path.join(args.out, "example")
        users = ids_of(os.path.join(ex, "data", "users.csv"), "user_id")
        products = ids_of(os.path.join(ex, "data", "products.csv"), "product_id")
    else:
        print("setting up the purchase example and the tables...", flush=True)
        ex, users, products = setup(args.out, args.head)
    bodies = os.path.join(args.out, f"bodies_{args.rows}.txt")
    keys = write_bodies(bodies, users, products, args.bodies, args.rows)
    started = machine.uptime()
    runs, layers = measure(ex, args.out, bodies, args)
    floor = servers.nginx(args.out)
    with floor:
        nginx = run(floor.url("/"), bodies, args.seconds)
    print_report(args, keys, runs, layers, nginx, started)


def print_report(args, keys, runs, layers, nginx, started):
    d = median(runs["dynamic"], "rps")
    print(f"\n{keys} pairs, Zipf 1.0, head {args.head}, {args.rows} row(s)/request, "
          f"64 connections, medians of {args.repeats}; uptime at start: {started}")
    print("| plan | req/s | runs | p99 µs | over dynamic | of nginx | rows by layer |")
    print("|---|---:|---|---:|---:|---:|---|")
    for plan in args.plans:
        rps = median(runs[plan], "rps")
        spread = " / ".join(f"{r['rps']:,.0f}" for r in runs[plan])
        print(f"| {plan} | {rps:,.0f} | {spread} | {median(runs[plan], 'p99_us'):,.0f} "
              f"| {rps / d:.2f} | {rps / nginx['rps']:.2f} | {layers.get(plan, '')} |")
    print(f"| nginx floor | {nginx['rps']:,.0f} | | {nginx['p99_us']:,.0f} "
          f"| {nginx['rps'] / d:.2f} | 1.00 | |")
    print(json.dumps({"serve_args": args.serve_arg, "uptime_end": machine.uptime(),
                      "machine": machine.machine_info()}))


if __name__ == "__main__":
    main()
