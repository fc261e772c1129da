#!/usr/bin/python3
"""Online feature lookup + transform (issue 13): key-only requests of 1, 10 and 100 entities
(rows) to the purchase model (its features.yaml: 2 entities, 2 feature tables, 8 features of
width 44), with the feature tables embedded (RocksDB, --tables) and shared (Redis), at 1 and
64 connections. Reports per run the client's p50/p99 and req/s (wrk), and the server's own
feature stage p50/p99 (strata_feature_stage_duration_seconds: lookups + transformations, what
HTTP does not add), and the HTTP floor from the same run: nginx's fixed response at the same
connections.

The model, data and tables are the e2e harness's PurchaseFixture (examples/purchase with
small data, trained through the binding, tables materialized).

  /usr/bin/python3 bench/feature_lookup_bench.py [--duration 5] [--out build/bench/features]
"""
import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
os.environ.setdefault("STRATA_BIN", os.path.join(HERE, "..", "build", "release", "strata"))
os.environ.setdefault("STRATA_SOURCE_DIR", os.path.join(HERE, ".."))
os.environ.setdefault("STRATA_BINARY_DIR", os.path.join(HERE, "..", "build", "release"))

from lib import load, machine, servers  # noqa: E402
from harness.features_fixture import MODEL, PurchaseFixture  # noqa: E402
from harness.strata_server import run_strata  # noqa: E402


def body(rows, n):
    rows = rows[:n]
    return json.dumps({"inputs": [
        {"name": "user_id", "datatype": "INT64", "shape": [n], "data": [r["user_id"] for r in rows]},
        {"name": "product_id", "datatype": "INT64", "shape": [n],
         "data": [r["product_id"] for r in rows]},
        {"name": "query", "datatype": "BYTES", "shape": [n], "data": [r["query"] for r in rows]},
        {"name": "ts", "datatype": "INT64", "shape": [n], "data": [r["ts"] for r in rows]}]})


def buckets(text, name, label):
    """{le: cumulative count} of a Prometheus histogram's series whose labels contain `label`."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "_bucket{") and label in line:
            le = line.split('le="')[1].split('"')[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.split()[-1])
    return out


def quantiles_us(before, after):
    """(p50, p99) in µs of the observations between two bucket snapshots, interpolated."""
    delta = sorted((le, n - before.get(le, 0)) for le, n in after.items())
    total = delta[-1][1] if delta else 0
    out = []
    for q in (0.5, 0.99):
        prev_le, prev_n = 0.0, 0.0
        for le, n in delta:
            if total and n >= q * total:
                le = prev_le * 2 if le == float("inf") else le
                frac = (q * total - prev_n) / (n - prev_n) if n > prev_n else 1
                out.append(round(1e6 * (prev_le + frac * (le - prev_le)), 1))
                break
            prev_le, prev_n = le, n
    return out if len(out) == 2 else [0, 0]


def run_store(store, fixture, redis_url, out, duration, results):
    extra = ["--tables", fixture.tables]
    if store == "redis":
        extra = ["--feature-store", "redis", "--redis", redis_url]
    strata = servers.Strata(os.environ["STRATA_BIN"], fixture.repository, out,
                            label=f"strata_{store}", extra=extra)
    with strata:
        for n in (1, 10, 100):
            path = os.path.join(out, f"body_{n}.json")
            with open(path, "w") as f:
                f.write(body(fixture.golden.rows, n))
            for conns in (1, 64):
                series = ("strata_feature_stage_duration_seconds", f'model="{MODEL}"')
                before = buckets(servers.http("GET", strata.url("/metrics"))[1], *series)
                r = load.wrk(strata.url(f"/v2/models/{MODEL}/infer"), path, min(conns, 2), conns,
                             duration)
                after = buckets(servers.http("GET", strata.url("/metrics"))[1], *series)
                p50, p99 = quantiles_us(before, after)
                results.append({"store": store, "entities": n, "conns": conns,
                                "rps": r["rps"], "p50_us": r["p50_us"], "p99_us": r["p99_us"],
                                "stage_p50_us": p50, "stage_p99_us": p99,
                                "non2xx": r["non2xx"], "cmd": r["cmd"]})
                print(json.dumps(results[-1]), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "..", "build", "bench", "features"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="strata-feature-bench-")
    fixture = PurchaseFixture.build(work, golden_rows=200)
    results = []
    redis = servers.redis(args.out)
    with redis:
        for table, source in (("user_stats", "users"), ("product_info", "products")):
            code, _, err = run_strata("features", "materialize", "--definition",
                                      fixture.definition, "--table", table, "--source",
                                      os.path.join(fixture.data, source + ".csv"), "--redis",
                                      redis.redis_url)
            if code != 0:
                raise RuntimeError(err)
        for store in ("rocksdb", "redis"):
            run_store(store, fixture, redis.redis_url, args.out, args.duration, results)
    floor = servers.nginx(args.out)
    with floor:
        path = os.path.join(args.out, "body_1.json")
        for conns in (1, 64):
            r = load.wrk(floor.url("/"), path, min(conns, 2), conns, args.duration)
            results.append({"store": "nginx floor", "conns": conns, "rps": r["rps"],
                            "p50_us": r["p50_us"], "p99_us": r["p99_us"], "cmd": r["cmd"]})
            print(json.dumps(results[-1]), flush=True)
    print(json.dumps(machine.machine_info()))


if __name__ == "__main__":
    main()
