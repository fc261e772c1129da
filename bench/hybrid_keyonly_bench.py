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

Pairs are ranked (pair r = user r % U + 1, product r // U % P + 1); the request-time fields are
fixed (query '', one timestamp), so the table, the cache and the model answer the same
question. The two plans' answers are first compared on 200 bodies; then D and H runs
alternate --repeats times and the report gives medians, the hybrid's rows per layer, and
nginx's fixed response at the same connections (the HTTP floor) in the same run.

  /usr/bin/python3 bench/hybrid_keyonly_bench.py [--seconds 6] [--repeats 3] [--head 30000]
      [--rows 1] [--skip-setup] [--out build/bench/hybrid_keyonly]

Loopback only, every run bounded by -d; about 2 minutes plus the example's setup (~1 min).
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, HERE)
from lib import load, machine, models, servers, zipf  # noqa: E402

STRATA = os.environ.get("STRATA_BIN", os.path.join(ROOT, "build", "release", "strata"))
TS = 1735603200
ENDPOINT = "purchase_hybrid"


def ids_of(path, column):
    with open(path) as f:
        return sorted({int(r[column]) for r in csv.DictReader(f)})


def pair(rank, users, products):
    return users[rank % len(users)], products[rank // len(users) % len(products)]


def setup(out, head):
    """Runs the example (data, training, feature tables); precomputes the head of `head` pairs;
    writes the endpoints file. Returns (example dir, users, products)."""
    ex = os.path.join(out, "example")
    subprocess.run([os.path.join(ROOT, "examples", "purchase", "run.sh"), ex], check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ, STRATA_BIN=STRATA))
    users = ids_of(os.path.join(ex, "data", "users.csv"), "user_id")
    products = ids_of(os.path.join(ex, "data", "products.csv"), "product_id")
    requests = os.path.join(out, "head.csv")
    with open(requests, "w") as f:
        f.write("user_id,product_id,query,ts\n")
        for r in range(head):
            u, p = pair(r, users, products)
            f.write(f"{u},{p},,{TS}\n")
    subprocess.run([STRATA, "batch", "--repository", os.path.join(ex, "repo"), "--model",
                    "purchase", "--input", requests, "--key", "user_id:INT64,product_id:INT64",
                    "--table", "bench_head", "--tables", os.path.join(ex, "tables"),
                    "--staging", os.path.join(out, "staging"), "--job-id", f"bench-head-{head}",
                    "--progress", "off", "--expect-min", "0", "--expect-max", "1"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "endpoints.yaml"), "w") as f:
        f.write(f"endpoints:\n  {ENDPOINT}: {{plan: hybrid, table: bench_head, "
                "key: [user_id, product_id], model: purchase, cache: {max_bytes: 64MiB}}\n")
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
    with open(bodies) as f:
        for _, line in zip(range(count), f):
            got = [servers.http("POST", f"{base}/{name}/infer", line) for name in
                   (ENDPOINT, "purchase")]
            if any(status != 200 for status, _ in got):
                raise RuntimeError(f"not 200: {got}")
            a, b = (next(o["data"] for o in g["outputs"] if o["name"] == "probability")
                    for _, g in got)
            if len(a) != len(b) or any(abs(x - y) > 1e-6 for x, y in zip(a, b)):
                raise RuntimeError(f"hybrid {a} != dynamic {b} for {line}")


def run(url, bodies, seconds):
    r = load.wrk(url, bodies, 2, 64, seconds, lines=True)
    if load.failures(r):
        raise RuntimeError(f"{url}: {load.failure_text(r)}")
    return r


def measure(ex, out, bodies, args):
    strata = servers.Strata(STRATA, os.path.join(ex, "repo"), out, label="strata",
                            endpoints=os.path.join(out, "endpoints.yaml"),
                            extra=["--tables", os.path.join(ex, "tables"), *args.serve_arg])
    runs = {"dynamic": [], "hybrid": []}
    with strata:
        base = strata.url("/v2/models")
        check_answers(base, bodies)
        run(f"{base}/{ENDPOINT}/infer", bodies, 2)  # warms the cache
        for i in range(args.repeats):
            order = ("dynamic", "hybrid") if i % 2 == 0 else ("hybrid", "dynamic")
            for plan in order:
                name = ENDPOINT if plan == "hybrid" else "purchase"
                runs[plan].append(run(f"{base}/{name}/infer", bodies, args.seconds))
                print(plan, json.dumps({k: runs[plan][-1][k] for k in ("rps", "p50_us",
                                                                       "p99_us")}), flush=True)
        layers = {layer: rows for (endpoint, layer), rows in models.endpoint_rows(strata).items()
                  if endpoint == ENDPOINT}
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
    parser.add_argument("--serve-arg", action="append", default=[],
                        help="extra `strata serve` flag, e.g. --serve-arg=--no-workload-sketches")
    parser.add_argument("--skip-setup", action="store_true",
                        help="reuse the example and head table an earlier run left in --out")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "hybrid_keyonly"))
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    if not args.skip_setup:
        print("setting up the purchase example and the head table...", flush=True)
    if args.skip_setup:
        ex = os.path.join(args.out, "example")
        users = ids_of(os.path.join(ex, "data", "users.csv"), "user_id")
        products = ids_of(os.path.join(ex, "data", "products.csv"), "product_id")
    else:
        ex, users, products = setup(args.out, args.head)
    bodies = os.path.join(args.out, f"bodies_{args.rows}.txt")
    keys = write_bodies(bodies, users, products, args.bodies, args.rows)
    runs, layers = measure(ex, args.out, bodies, args)
    floor = servers.nginx(args.out)
    with floor:
        nginx = run(floor.url("/"), bodies, args.seconds)
    d, h = (median(runs[p], "rps") for p in ("dynamic", "hybrid"))
    report = {"serve_args": args.serve_arg, "keys": keys, "head": args.head, "rows_per_request": args.rows, "connections": 64,
              "dynamic": {"rps": d, "p50_us": median(runs["dynamic"], "p50_us"),
                          "p99_us": median(runs["dynamic"], "p99_us")},
              "hybrid": {"rps": h, "p50_us": median(runs["hybrid"], "p50_us"),
                         "p99_us": median(runs["hybrid"], "p99_us"), "layers": layers},
              "hybrid_over_dynamic": round(h / d, 2),
              "nginx_floor": {"rps": nginx["rps"], "p99_us": nginx["p99_us"]},
              "machine": machine.machine_info()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
