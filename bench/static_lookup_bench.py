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

  /usr/bin/python3 bench/static_lookup_bench.py [--strata build/release/strata]
      [--seconds 10 --repeats 3]
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import load, models, report, servers  # noqa: E402

MODEL = "breast_cancer_xgb"
ROWS = 100_000


def main():
    ap = report.parser(__doc__)
    ap.add_argument("--strata", help="strata binary (default: build/release/strata; a private "
                                     "copy is measured)")
    ap.add_argument("--seconds", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--repeats", type=int, default=3, help="rounds; figures are medians")
    ap.add_argument("--out", help="keep the work directory (logs, results.json) here")
    args = ap.parse_args()

    work = report.out_dir(args, "static-bench")
    strata, binfo = servers.strata_binary(args.strata, work)
    running, problems = [], []
    try:
        repo = models.example_repo(os.path.join(work, "repo"), [MODEL])
        rows, _ = models.sample_rows(repo, MODEL)
        source = os.path.join(work, "in.csv")
        width = models.write_keyed_csv(source, range(ROWS), rows)
        redis = servers.Redis(work).start()
        running.append(redis)
        # One table name per store: the server follows a table from one store only.
        for table, store in (("scores", ["--store", "rocksdb"]),
                             ("scores_shared", ["--store", "redis", "--redis", redis.redis_url])):
            models.build_table(strata, repo, MODEL, source, table, width, store)
        endpoints = os.path.join(work, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write("endpoints:\n"
                    "  embedded: {table: scores, store: rocksdb, default: 0.01}\n"
                    "  shared: {table: scores_shared, store: redis, default: 0.01}\n")
        server = servers.Strata(strata, repo, work, endpoints=endpoints,
                                extra=["--redis", redis.redis_url]).start()
        running.append(server)

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
            r = load.redis_benchmark(redis.port, 200_000, clients=50, keyspace=ROWS)
            runs.setdefault("redis-benchmark GET -c 50", []).append(r)
            for endpoint in ("embedded", "shared"):
                for keys in (1, 100):
                    r = load.wrk(server.url(f"/v2/models/{endpoint}/infer"), bodies[keys], 2, 50,
                                 args.seconds)
                    if r["non2xx"]:
                        raise RuntimeError(f"{endpoint}: {load.failure_text(r)}")
                    r["keys_per_s"] = r["rps"] * keys
                    runs.setdefault(f"strata {endpoint} {keys} key(s)/request -c 50", []).append(r)
        print(f"{'what':48} {'req/s':>10} {'keys/s':>10} {'p50 us':>8} {'p99 us':>8}")
        for name, results in runs.items():
            med = {k: report.median(results, k) for k in ("rps", "keys_per_s", "p50_us", "p99_us")}
            print(f"{name:48} {med['rps']:10.0f} {med['keys_per_s'] or med['rps']:10.0f} "
                  f"{med['p50_us']:8.0f} {med['p99_us']:8.0f}")
        report.save_results(work, {"strata": binfo, "args": vars(args), "runs": runs})
    finally:
        servers.stop_all(running, problems)
        for p in problems:
            print(f"problem: {p}", file=sys.stderr)
        print(f"work directory: {work}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
