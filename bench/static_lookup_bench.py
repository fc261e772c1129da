#!/usr/bin/python3
"""Static lookups over HTTP against redis-benchmark GET, same machine, same run.

Builds a 100,000-row table from the example XGBoost model with `strata batch`
(key id:INT64) into RocksDB and into a Redis started here on a free port,
serves both as static endpoints (`strata serve --endpoints`), then measures,
`--repeats` times in turn and reporting medians:
  - redis-benchmark -t get -c 50 (GET/s and p99);
  - wrk at 50 connections, one key per request and 100 keys per request, on
    the RocksDB-backed endpoint and on the Redis-backed one.
Loopback only; every run is bounded by --seconds.

  bench/static_lookup_bench.py --strata build/static/strata [--seconds 10 --repeats 3]
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port, wait_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_DIR = os.path.join(ROOT, "examples", "repository", "models", "breast_cancer_xgb")
ROWS = 100_000






def write_input(path):
    with open(os.path.join(MODEL_DIR, "1", "samples.json")) as f:
        tensor = json.load(f)["request"]["inputs"][0]
    n, width = tensor["shape"]
    rows = [",".join(repr(x) for x in tensor["data"][i * width:(i + 1) * width]) for i in range(n)]
    with open(path, "w") as f:
        f.write("id," + ",".join(f"f{j}" for j in range(width)) + "\n")
        for i in range(ROWS):
            f.write(f"{i},{rows[i % n]}\n")
    return width


def run_wrk(url, body_file, seconds):
    out = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", "-s",
         os.path.join(ROOT, "bench", "post.lua"), url, "--", body_file],
        capture_output=True, text=True, timeout=seconds + 60).stdout
    result = json.loads(re.search(r"^WRK_JSON (.*)$", out, re.M).group(1))
    assert result["non2xx"] == 0, out
    return {"rps": result["requests"] / (result["duration_us"] / 1e6),
            "p50_us": result["p50_us"], "p99_us": result["p99_us"]}


def run_redis_benchmark(port, requests):
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "get", "-c", "50",
         "-n", str(requests), "-r", str(ROWS), "--csv"],
        capture_output=True, text=True, timeout=300).stdout
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95..","p99..","max.."
    row = [l for l in out.splitlines() if l.startswith('"GET"')][0]
    fields = [float(x.strip('"')) for x in row.split(",")[1:]]
    return {"rps": fields[0], "p50_us": fields[3] * 1000, "p99_us": fields[5] * 1000}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strata", default=os.path.join(ROOT, "build", "release", "strata"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="strata-static-bench-")
    procs = []
    try:
        repo = os.path.join(work, "repo")
        os.makedirs(os.path.join(repo, "models"))
        os.symlink(MODEL_DIR, os.path.join(repo, "models", "breast_cancer_xgb"))
        source = os.path.join(work, "in.csv")
        width = write_input(source)
        redis_port = free_port()
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(redis_port)
        redis_url = f"redis://127.0.0.1:{redis_port}"
        for store in (["--store", "rocksdb"], ["--store", "redis", "--redis", redis_url]):
            subprocess.run(
                [args.strata, "batch", "-r", repo, "-m", "breast_cancer_xgb", "--progress", "off",
                 "--map", "features=" + ",".join(f"f{j}" for j in range(width)),
                 "-i", source, "-k", "id:INT64", "-t", "scores", *store], check=True,
                capture_output=True)
        endpoints = os.path.join(work, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write("endpoints:\n"
                    "  embedded: {table: scores, store: rocksdb, default: 0.01}\n"
                    "  shared: {table: scores, store: redis, default: 0.01}\n")
        http_port = free_port()
        log = open(os.path.join(work, "serve.log"), "w")
        procs.append(subprocess.Popen(
            [args.strata, "serve", "-r", repo, "--port", str(http_port), "--grpc-port", "-1",
             "--endpoints", endpoints, "--redis", redis_url],
            stdout=log, stderr=subprocess.STDOUT))
        wait_port(http_port)

        rng = random.Random(5)
        bodies = {}
        for keys in (1, 100):
            ids = [rng.randrange(ROWS) for _ in range(keys)]
            path = os.path.join(work, f"body{keys}.json")
            with open(path, "w") as f:
                json.dump({"inputs": [{"name": "id", "datatype": "INT64", "shape": [keys],
                                       "data": ids}]}, f)
            bodies[keys] = path

        runs = {}
        for _ in range(args.repeats):
            redis = run_redis_benchmark(redis_port, 200_000)
            runs.setdefault("redis-benchmark GET -c 50", []).append(redis)
            for endpoint in ("embedded", "shared"):
                for keys in (1, 100):
                    url = f"http://127.0.0.1:{http_port}/v2/models/{endpoint}/infer"
                    r = run_wrk(url, bodies[keys], args.seconds)
                    r["keys_per_s"] = r["rps"] * keys
                    runs.setdefault(f"strata {endpoint} {keys} key(s)/request -c 50", []).append(r)
        print(f"{'what':48} {'req/s':>10} {'keys/s':>10} {'p50 us':>8} {'p99 us':>8}")
        for name, results in runs.items():
            med = {k: statistics.median(r[k] for r in results) for k in results[0]}
            print(f"{name:48} {med['rps']:10.0f} {med.get('keys_per_s', med['rps']):10.0f} "
                  f"{med['p50_us']:8.0f} {med['p99_us']:8.0f}")
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        if sys.exc_info()[0] is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
