#!/usr/bin/python3
"""Online feature lookup + transform (issue 13): key-only requests of 1, 10 and 100 entities
(rows) with the feature tables embedded (RocksDB, --tables) and shared (Redis), at 1 and 64
connections. Reports per run the client's p50/p99 and req/s (wrk), and the server's own
feature stage p50/p99 (strata_feature_stage_duration_seconds: lookups + transformations, what
HTTP does not add), and the HTTP floor from the same run: nginx's fixed response at the same
connections.

Fixtures: `features20` (the default; the issue's shape: 20 numeric features over 2 entity
tables, bench/lib/features20.py) or `purchase` (the e2e harness's PurchaseFixture:
examples/purchase with small data, 8 features of width 44, the XGBoost model).

Before/after: name several binaries with --strata LABEL=PATH; each cell (store, entities,
connections) runs every binary in turn, --repeats times (ABAB...), against the same tables,
and the summary reports medians per binary.

  /usr/bin/python3 bench/feature_lookup_bench.py [--duration 5] [--repeats 3] \
      [--strata base=/work/wt/redis-base/build/release/strata --strata after=build/release/strata] \
      [--fixture features20|purchase] [--stores rocksdb,redis] [--entities 1,10,100] \
      [--conns 1,64] [--out build/bench/features]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
os.environ.setdefault("STRATA_BIN", os.path.join(HERE, "..", "build", "release", "strata"))
os.environ.setdefault("STRATA_SOURCE_DIR", os.path.join(HERE, ".."))
os.environ.setdefault("STRATA_BINARY_DIR", os.path.join(HERE, "..", "build", "release"))

from lib import load, machine, servers  # noqa: E402
from harness.features_fixture import MODEL as PURCHASE, PurchaseFixture  # noqa: E402
from lib.features20 import MODEL as FEATURES20, Features20  # noqa: E402
from harness.strata_server import run_strata  # noqa: E402


def purchase_body(rows, n):
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


class Fixture:
    """The model, its tables (RocksDB directory and Redis) and request bodies of one fixture."""

    def __init__(self, name, work, redis_url):
        self.name = name
        if name == "features20":
            self.f = Features20.build(work)
            self.model = FEATURES20
            sources = [(t, self.f.source(t)) for t in ("user_f", "item_f")]
        else:
            self.f = PurchaseFixture.build(work, golden_rows=200)
            self.model = PURCHASE
            sources = [(t, os.path.join(self.f.data, s + ".csv"))
                       for t, s in (("user_stats", "users"), ("product_info", "products"))]
        stores = [["--redis", redis_url]]
        if name == "features20":  # the purchase fixture materialized its RocksDB tables
            stores.append(["--tables", self.f.tables])
        for table, source in sources:
            for where in stores:
                code, _, err = run_strata("features", "materialize", "--definition",
                                          self.f.definition, "--table", table, "--source",
                                          source, *where)
                if code != 0:
                    raise RuntimeError(err)

    def body(self, n):
        if self.name == "features20":
            return self.f.body(n)
        return purchase_body(self.f.golden.rows, n)


def measure(strata, model, path, conns, duration):
    series = ("strata_feature_stage_duration_seconds", f'model="{model}"')
    before = buckets(servers.http("GET", strata.url("/metrics"))[1], *series)
    r = load.wrk(strata.url(f"/v2/models/{model}/infer"), path, min(conns, 2), conns, duration)
    after = buckets(servers.http("GET", strata.url("/metrics"))[1], *series)
    p50, p99 = quantiles_us(before, after)
    return r, p50, p99


def run_store(store, fixture, redis_url, binaries, args, results):
    extra = ["--tables", fixture.f.tables]
    if store == "redis":
        extra = ["--feature-store", "redis", "--redis", redis_url]
    running = {label: servers.Strata(binary, fixture.f.repository, args.out,
                                     label=f"strata_{label}_{store}", extra=extra)
               for label, binary in binaries}
    for s in running.values():
        s.start()
    try:
        for n in args.entities:
            path = os.path.join(args.out, f"body_{fixture.name}_{n}.json")
            with open(path, "w") as f:
                f.write(fixture.body(n))
            for conns in args.conns:
                for rep in range(args.repeats):
                    for label, _ in binaries:
                        r, p50, p99 = measure(running[label], fixture.model, path, conns,
                                              args.duration)
                        results.append({"binary": label, "store": store, "entities": n,
                                        "conns": conns, "repeat": rep, "rps": r["rps"],
                                        "p50_us": r["p50_us"], "p99_us": r["p99_us"],
                                        "stage_p50_us": p50, "stage_p99_us": p99,
                                        "non2xx": r["non2xx"], "cmd": r["cmd"]})
                        print(json.dumps(results[-1]), flush=True)
    finally:
        servers.stop_all(list(running.values()))


def summary(results):
    """Medians over the repeats, one line per (store, entities, conns, binary)."""
    cells = {}
    for r in results:
        key = (r["store"], r.get("entities", "-"), r["conns"], r.get("binary", "-"))
        cells.setdefault(key, []).append(r)
    print("| binary | store | entities | conns | req/s | p50 µs | p99 µs | stage p50 µs "
          "| stage p99 µs | runs |")
    for (store, n, conns, binary), rs in cells.items():
        med = {k: statistics.median(r.get(k, 0) or 0 for r in rs)
               for k in ("rps", "p50_us", "p99_us", "stage_p50_us", "stage_p99_us")}
        print(f"| {binary} | {store} | {n} | {conns} | {med['rps']:,.0f} | {med['p50_us']:.0f} "
              f"| {med['p99_us']:.0f} | {med['stage_p50_us']:.0f} | {med['stage_p99_us']:.0f} "
              f"| {len(rs)} |")


def numbers(text):
    return [int(x) for x in text.split(",")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--fixture", choices=("features20", "purchase"), default="features20")
    parser.add_argument("--strata", action="append", default=[],
                        help="LABEL=PATH of a strata binary; repeat to alternate binaries")
    parser.add_argument("--stores", default="rocksdb,redis")
    parser.add_argument("--entities", type=numbers, default=[1, 10, 100])
    parser.add_argument("--conns", type=numbers, default=[1, 64])
    parser.add_argument("--out", default=os.path.join(HERE, "..", "build", "bench", "features"))
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    binaries = [tuple(b.split("=", 1)) for b in args.strata] or [
        ("strata", os.environ["STRATA_BIN"])]
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="strata-feature-bench-")
    results = []
    redis = servers.redis(args.out)
    with redis:
        fixture = Fixture(args.fixture, work, redis.redis_url)
        for store in args.stores.split(","):
            run_store(store, fixture, redis.redis_url, binaries, args, results)
    floor = servers.nginx(args.out)
    with floor:
        path = os.path.join(args.out, f"body_{fixture.name}_1.json")
        for conns in args.conns:
            for rep in range(args.repeats):
                r = load.wrk(floor.url("/"), path, min(conns, 2), conns, args.duration)
                results.append({"store": "nginx floor", "conns": conns, "rps": r["rps"],
                                "p50_us": r["p50_us"], "p99_us": r["p99_us"], "cmd": r["cmd"]})
                print(json.dumps(results[-1]), flush=True)
    summary(results)
    print(json.dumps(machine.machine_info()))


if __name__ == "__main__":
    main()
