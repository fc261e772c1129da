#!/usr/bin/python3
"""Hybrid (table -> cache -> model) vs dynamic-only on a Zipf 1.0 workload with
the XGBoost example, over HTTP with wrk at 64 connections.

Keys are ids 0..KEYS-1 (features cycling through samples.json's rows); the
top --table-keys ids are precomputed by `strata batch` into a table; the
hybrid endpoint serves table -> cache (64MiB) -> model. Each request carries
--rows Zipf(1.0)-drawn rows. The same request bodies (without the key
column) go to the model's own endpoint for the dynamic-only run. Reports
requests/s, rows/s, p50 and p99 of each, and the hybrid rows per layer from
/metrics. Loopback; wrk shares the machine with the server.

  bench/hybrid_bench.py --strata build/release/strata [--seconds 10 --rows 16]
"""
import argparse
import bisect
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = "breast_cancer_xgb"
MODEL_DIR = os.path.join(ROOT, "examples", "repository", "models", MODEL)

LUA = r"""
local bodies = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  i = math.random(#bodies)
end
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
done = function(summary, latency, requests)
  io.write(string.format("WRK_JSON {\"requests\":%d,\"duration_us\":%d,\"non2xx\":%d," ..
    "\"errors\":%d,\"p50_us\":%d,\"p99_us\":%d}\n", summary.requests, summary.duration,
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, latency:percentile(50),
    latency:percentile(99)))
end
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def zipf_sampler(n, s, rng):
    cdf, total = [], 0.0
    for k in range(1, n + 1):
        total += 1.0 / k ** s
        cdf.append(total)
    return lambda: bisect.bisect_left(cdf, rng.random() * total)


def run_wrk(url, bodies, script, seconds, connections):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script, url, "--", bodies],
        capture_output=True, text=True, timeout=seconds + 60).stdout
    r = json.loads(re.search(r"^WRK_JSON (.*)$", out, re.M).group(1))
    assert r["non2xx"] == 0 and r["errors"] == 0, out
    return {"rps": r["requests"] / (r["duration_us"] / 1e6), "p50_us": r["p50_us"],
            "p99_us": r["p99_us"]}


def layer_rows(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    rows = {}
    for m in re.finditer(r'^strata_endpoint_rows_total\{([^}]*)\} (\S+)$', text, re.M):
        layer = re.search(r'layer="(\w+)"', m.group(1)).group(1)
        rows[layer] = float(m.group(2))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--strata", default=os.path.join(ROOT, "build", "release", "strata"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--table-keys", type=int, default=1_000)
    ap.add_argument("--rows", type=int, default=16, help="rows per request")
    ap.add_argument("--bodies", type=int, default=5_000)
    args = ap.parse_args()

    with open(os.path.join(MODEL_DIR, "1", "samples.json")) as f:
        tensor = json.load(f)["request"]["inputs"][0]
    n, width = tensor["shape"]
    samples = [tensor["data"][i * width:(i + 1) * width] for i in range(n)]

    work = tempfile.mkdtemp(prefix="strata-hybrid-bench-")
    server = None
    try:
        repo = os.path.join(work, "repo")
        os.makedirs(os.path.join(repo, "models"))
        os.symlink(MODEL_DIR, os.path.join(repo, "models", MODEL))
        head = os.path.join(work, "head.csv")
        with open(head, "w") as f:
            f.write("id," + ",".join(f"f{j}" for j in range(width)) + "\n")
            for i in range(args.table_keys):
                f.write(f"{i}," + ",".join(repr(x) for x in samples[i % n]) + "\n")
        subprocess.run([args.strata, "batch", "-r", repo, "-m", MODEL, "--progress", "off",
                        "--map", "features=" + ",".join(f"f{j}" for j in range(width)),
                        "-i", head, "-k", "id:INT64", "-t", "head"],
                       check=True, capture_output=True)
        endpoints = os.path.join(work, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write("endpoints:\n  scores: {plan: hybrid, table: head, key: [id], "
                    f"model: {MODEL}, cache: {{max_bytes: 64MiB}}}}\n")
        rng = random.Random(7)
        draw = zipf_sampler(args.keys, 1.0, rng)
        hybrid_bodies = os.path.join(work, "hybrid.txt")
        dynamic_bodies = os.path.join(work, "dynamic.txt")
        with open(hybrid_bodies, "w") as h, open(dynamic_bodies, "w") as d:
            for _ in range(args.bodies):
                ids = [draw() for _ in range(args.rows)]
                features = {"name": "features", "datatype": "FP32", "shape": [args.rows, width],
                            "data": [x for i in ids for x in samples[i % n]]}
                key = {"name": "id", "datatype": "INT64", "shape": [args.rows], "data": ids}
                h.write(json.dumps({"inputs": [key, features]}) + "\n")
                d.write(json.dumps({"inputs": [features]}) + "\n")
        script = os.path.join(work, "bodies.lua")
        with open(script, "w") as f:
            f.write(LUA)
        port = free_port()
        log = open(os.path.join(work, "serve.log"), "w")
        server = subprocess.Popen(
            [args.strata, "serve", "-r", repo, "--port", str(port), "--grpc-port", "-1",
             "--endpoints", endpoints], stdout=log, stderr=subprocess.STDOUT)
        wait_port(port)
        base = f"http://127.0.0.1:{port}/v2/models"
        results = {}
        results["dynamic only"] = run_wrk(f"{base}/{MODEL}/infer", dynamic_bodies, script,
                                          args.seconds, args.connections)
        # Hybrid: a warm-up pass fills the cache as traffic would, then the run.
        run_wrk(f"{base}/scores/infer", hybrid_bodies, script, 3, args.connections)
        before = layer_rows(port)
        results["hybrid"] = run_wrk(f"{base}/scores/infer", hybrid_bodies, script,
                                    args.seconds, args.connections)
        after = layer_rows(port)
        total = sum(after.get(k, 0) - before.get(k, 0) for k in after) or 1
        shares = {k: (after.get(k, 0) - before.get(k, 0)) / total for k in after}
        print(f"Zipf 1.0 over {args.keys} keys, table of the top {args.table_keys}, "
              f"{args.rows} rows/request, {args.connections} connections, {args.seconds}s")
        print(f"{'plan':14} {'req/s':>9} {'rows/s':>10} {'p50 us':>8} {'p99 us':>8}")
        for name, r in results.items():
            print(f"{name:14} {r['rps']:9.0f} {r['rps'] * args.rows:10.0f} "
                  f"{r['p50_us']:8.0f} {r['p99_us']:8.0f}")
        print("hybrid rows by layer: " +
              ", ".join(f"{k} {100 * v:.1f}%" for k, v in sorted(shares.items())))
        print(f"throughput hybrid / dynamic: "
              f"{results['hybrid']['rps'] / results['dynamic only']['rps']:.2f}x")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
