#!/usr/bin/python3
"""Hybrid (table -> cache -> model) vs dynamic-only on a Zipf 1.0 workload: throughput, latency
and server CPU per request over HTTP with wrk at 64 connections, for two XGBoost models.

Models:

  example   breast_cancer_xgb (examples/repository): 50 trees of depth 4, well under a
            microsecond per row, so HTTP and JSON decide both plans' cost;
  ad_gbdt   a production-size GBDT written by bench/make_bench_models.py (write_ad_gbdt):
            500 trees of depth 8 on the same 30 FP32 features, tens of microseconds per row.

For each model: keys are ids 0..KEYS-1 (features cycling through the model's samples.json
rows); the top --table-keys ids are precomputed by `strata batch` into a RocksDB table; the
hybrid endpoint `scores` serves table -> cache (64MiB) -> model. Each request carries --rows
Zipf(1.0)-drawn rows (bench/lib/zipf.py, seed 7; --bodies pre-drawn bodies, cycled). The same
bodies without the key column go to the model's own endpoint for the dynamic-only run. One server per model; the hybrid
answers are first checked against the model's own; the cache is warmed with --warmup seconds
of hybrid traffic; then dynamic and hybrid runs alternate (D H, H D, D H, ...) --repeats times
and the report gives medians. Each run records requests/s, rows/s, p50/p99, the server's CPU
per request (CPU time, and instructions retired by `perf stat -p` when perf works here), the
CPUs other processes used meanwhile and the load average; hybrid runs add the rows per layer
(/metrics); both give the model's compute time per request (/stats).

  /usr/bin/python3 bench/hybrid_bench.py --strata build/hybrid/strata [--seconds 8]
      [--repeats 3] [--models example,ad_gbdt] [--out DIR]

Loopback only; wrk shares the machine with the server; every run is bounded by -d; the driver
stops its servers itself. About 3 minutes with the defaults.
"""
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_bench_models  # noqa: E402
from lib import load, machine, models, report, servers, zipf  # noqa: E402

EXAMPLE = "breast_cancer_xgb"
ENDPOINT = "scores"


def layer_rows(server):
    """Rows the hybrid endpoint answered so far, by layer, from /metrics."""
    return {layer: rows for (endpoint, layer), rows in models.endpoint_rows(server).items()
            if endpoint == ENDPOINT}


class Setup:
    """One model's repository, table, endpoints file and request bodies under `work`."""

    def __init__(self, name, strata, work, args):
        self.name, self.work = name, work
        repo = os.path.join(work, "repo")
        models_dir = os.path.join(repo, "models")
        if name == "example":
            self.model = EXAMPLE
            models.example_repo(repo, [EXAMPLE])
        else:
            self.model = make_bench_models.AD_GBDT["name"]
            os.makedirs(models_dir)
            t0 = time.monotonic()
            make_bench_models.write_ad_gbdt(models_dir)
            self.train_s = time.monotonic() - t0
        self.repo = repo
        self.samples, width = models.sample_rows(repo, self.model)
        n = len(self.samples)
        head = os.path.join(work, "head.csv")
        models.write_keyed_csv(head, range(args.table_keys), self.samples)
        models.build_table(strata, repo, self.model, head, "head", width)
        self.endpoints = os.path.join(work, "strata.yaml")
        with open(self.endpoints, "w") as f:
            f.write(f"endpoints:\n  {ENDPOINT}: {{plan: hybrid, table: head, key: [id], "
                    f"model: {self.model}, cache: {{max_bytes: 64MiB}}}}\n")
        draws = zipf.zipf_ids(args.keys, 1.0, args.bodies * args.rows, seed=7)
        self.hybrid_bodies = os.path.join(work, "hybrid.txt")
        self.dynamic_bodies = os.path.join(work, "dynamic.txt")
        with open(self.hybrid_bodies, "w") as h, open(self.dynamic_bodies, "w") as d:
            for b in range(args.bodies):
                ids = draws[b * args.rows:(b + 1) * args.rows]
                features = {"name": "features", "datatype": "FP32", "shape": [args.rows, width],
                            "data": [x for i in ids for x in self.samples[i % n]]}
                key = {"name": "id", "datatype": "INT64", "shape": [args.rows], "data": ids}
                h.write(json.dumps({"inputs": [key, features]}) + "\n")
                d.write(json.dumps({"inputs": [features]}) + "\n")
        self.body_bytes = os.path.getsize(self.hybrid_bodies) / args.bodies


def post(url, body):
    status, answer = servers.http("POST", url, body)
    if status != 200:
        raise RuntimeError(f"{url}: {status} {answer}")
    return answer


def check_answers(base, setup, count=20):
    """The hybrid endpoint's answers equal the model's own, row by row (first `count` bodies,
    which on a cold server go through the table and the model)."""
    with open(setup.hybrid_bodies) as h, open(setup.dynamic_bodies) as d:
        for _, hb, db in zip(range(count), h, d):
            hy = post(f"{base}/{ENDPOINT}/infer", hb)
            dy = post(f"{base}/{setup.model}/infer", db)
            got = next(o["data"] for o in hy["outputs"] if o["name"] == "probability")
            want = next(o["data"] for o in dy["outputs"] if o["name"] == "probability")
            if any(abs(a - b) > 1e-6 for a, b in zip(got, want)) or len(got) != len(want):
                raise RuntimeError(f"hybrid answers differ from the model's: {got} vs {want}")


def run_wrk(url, bodies, seconds, connections):
    r = load.wrk(url, bodies, 2, connections, seconds, lines=True)
    if load.failures(r):
        raise RuntimeError(f"{url}: {load.failure_text(r)}")
    return {k: r[k] for k in ("requests", "rps", "p50_us", "p99_us")}


def measure_model(setup, strata, args):
    server = servers.Strata(strata, setup.repo, setup.work, label="serve",
                            http_threads=args.http_threads, endpoints=setup.endpoints)
    server.start()
    try:
        base = server.url("/v2/models")
        check_answers(base, setup)
        urls = {"dynamic": (f"{base}/{setup.model}/infer", setup.dynamic_bodies),
                "hybrid": (f"{base}/{ENDPOINT}/infer", setup.hybrid_bodies)}
        # Warm-up: the model's first calls, then the cache filled as traffic would fill it.
        run_wrk(*urls["dynamic"], 2, args.connections)
        run_wrk(*urls["hybrid"], args.warmup, args.connections)
        quiet = machine.QuietWaiter(args.quiet_threshold, max_wait_each=10, max_wait_total=40)
        runs = {"dynamic": [], "hybrid": []}
        for rep in range(args.repeats):
            order = ["dynamic", "hybrid"] if rep % 2 == 0 else ["hybrid", "dynamic"]
            for plan in order:
                busy_before = quiet.wait()
                load_before = machine.loadavg()
                layers0 = layer_rows(server)
                stats0 = models.model_stats(server, setup.model)["compute"]
                with servers.Instructions(server, args.perf) as ins, \
                        servers.CpuAccount(server) as cpu:
                    r = run_wrk(*urls[plan], args.seconds, args.connections)
                layers1 = layer_rows(server)
                stats1 = models.model_stats(server, setup.model)["compute"]
                r.update(cpu.result)
                r["server_cpu_us_per_request"] = (cpu.result["server_cpus"] * args.seconds
                                                  / r["requests"] * 1e6)
                r["server_kinstructions_per_request"] = (ins.count / r["requests"] / 1e3
                                                         if ins.count else None)
                r["busy_before"] = busy_before
                r["loadavg_before"], r["loadavg_after"] = load_before, machine.loadavg()
                calls = stats1[0] - stats0[0]
                r["model_compute_us_per_call"] = ((stats1[1] - stats0[1]) / calls / 1e3
                                                  if calls else None)
                r["model_calls_per_request"] = calls / r["requests"]
                if plan == "hybrid":
                    d = {k: layers1.get(k, 0) - layers0.get(k, 0) for k in layers1}
                    total = sum(d.values()) or 1
                    r["layers"] = {k: v / total for k, v in sorted(d.items())}
                runs[plan].append(r)
                kins = r["server_kinstructions_per_request"]
                print(f"  {setup.name} {plan:7} rep {rep + 1}: {r['rps']:8.0f} req/s "
                      f"p50 {r['p50_us']:6.0f} p99 {r['p99_us']:6.0f} µs, server "
                      f"{r['server_cpu_us_per_request']:5.1f} µs CPU/req"
                      + (f" {kins:.0f}k instructions/req" if kins else "") + ", others "
                      f"{r['others_cpus']:.2f} CPUs, load {load_before:.2f}", flush=True)
        return runs
    finally:
        server.stop()


med = report.median


def kins_text(k):
    return "—" if k is None else f"{k:,.0f}k"


def print_report(results, args, info):
    print(f"\n{args.rows} rows/request, Zipf 1.0 over {args.keys:,} ids, table of the top "
          f"{args.table_keys:,}, {args.connections} connections, {args.seconds} s per run, "
          f"medians of {args.repeats} alternating runs")
    print(f"machine: {info['nproc']} CPUs, {info['cpu']}; git {info['git']}; HTTP threads "
          f"{args.http_threads or 'default (one per core)'}")
    print("\n| model | plan | req/s | rows/s | p50 µs | p99 µs | server CPU µs/req "
          "| server instructions/req | model compute µs/req | others' CPUs | load avg |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, res in results.items():
        for plan in ("dynamic", "hybrid"):
            runs = res["runs"][plan]
            rps = med(runs, "rps")
            compute = med(runs, "model_compute_us_per_call")
            calls = med(runs, "model_calls_per_request")
            per_req = compute * calls if compute is not None else 0.0
            loads = [r["loadavg_before"] for r in runs]
            print(f"| {res['model']} | {plan} | {rps:,.0f} | {rps * args.rows:,.0f} "
                  f"| {med(runs, 'p50_us'):,.0f} | {med(runs, 'p99_us'):,.0f} "
                  f"| {med(runs, 'server_cpu_us_per_request'):,.1f} "
                  f"| {kins_text(med(runs, 'server_kinstructions_per_request'))} "
                  f"| {per_req:,.1f} "
                  f"| {med(runs, 'others_cpus'):.2f} | {min(loads):.2f}–{max(loads):.2f} |")
    print()
    for name, res in results.items():
        d, h = res["runs"]["dynamic"], res["runs"]["hybrid"]
        ratio = med(h, "rps") / med(d, "rps")
        res["ratio"] = ratio
        spread = lambda runs: ", ".join(f"{r['rps']:,.0f}" for r in runs)  # noqa: E731
        layers = {}
        for r in h:
            for k, v in r["layers"].items():
                layers.setdefault(k, []).append(v)
        print(f"{res['model']}: hybrid / dynamic throughput {ratio:.2f}x (target >= 3x: "
              f"{'met' if ratio >= 3 else 'not met'}); p99 {med(d, 'p99_us'):,.0f} -> "
              f"{med(h, 'p99_us'):,.0f} µs; runs dynamic [{spread(d)}], hybrid [{spread(h)}]; "
              "hybrid rows by layer " + ", ".join(
                  f"{k} {100 * statistics.median(v):.1f}%" for k, v in sorted(layers.items())))


def main():
    ap = report.parser(__doc__)
    ap.add_argument("--strata", help="strata binary (default: build/release/strata; a private "
                                     "copy is measured)")
    ap.add_argument("--models", default="example,ad_gbdt")
    ap.add_argument("--seconds", type=int, default=8, help="seconds per wrk run")
    ap.add_argument("--repeats", type=int, default=3, help="dynamic/hybrid run pairs")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of hybrid traffic first")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--keys", type=int, default=100_000, help="ids 0..KEYS-1")
    ap.add_argument("--table-keys", type=int, default=1_000,
                    help="the ids precomputed into the table (the hottest)")
    ap.add_argument("--rows", type=int, default=16, help="rows per request")
    ap.add_argument("--bodies", type=int, default=5_000, help="pre-drawn bodies, cycled")
    ap.add_argument("--quiet-threshold", type=float, default=0.2,
                    help="before each run, wait (at most 10 s, 40 s in all per model) until "
                         "the CPUs are less busy than this")
    ap.add_argument("--http-threads", type=int, default=0,
                    help="strata serve --http-threads (default: the server's, one per core)")
    ap.add_argument("--no-perf", dest="perf", action="store_false",
                    help="do not count the server's instructions with perf stat")
    ap.add_argument("--out", help="keep results.json and the server logs here")
    args = ap.parse_args()
    args.perf = args.perf and servers.perf_works()
    work = tempfile.mkdtemp(prefix="strata-hybrid-bench-")
    started = time.time()
    try:
        strata, binfo = servers.strata_binary(args.strata, work)
        info = dict(machine.machine_info(), **binfo)
        info["uptime"] = machine.uptime()
        print(f"{info['uptime']}; strata {info['strata_binary']}", flush=True)
        results = {}
        for name in args.models.split(","):
            mwork = os.path.join(work, name)
            os.makedirs(mwork)
            setup = Setup(name, strata, mwork, args)
            print(f"{name}: model {setup.model}, {setup.body_bytes / 1024:.1f} KiB per hybrid "
                  "body", flush=True)
            results[name] = {"model": setup.model, "body_bytes": setup.body_bytes,
                             "runs": measure_model(setup, strata, args)}
            if args.out:
                os.makedirs(args.out, exist_ok=True)
                shutil.copy(os.path.join(mwork, "serve.log"),
                            os.path.join(args.out, f"{name}_serve.log"))
        print_report(results, args, info)
        info["uptime_after"] = machine.uptime()
        print(f"\n{info['uptime_after']}; {time.time() - started:.0f} s in all")
        if args.out:
            report.save_results(args.out, {"args": vars(args), "machine": info,
                                           "results": results})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
