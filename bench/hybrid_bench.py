#!/usr/bin/python3
"""Hybrid (table -> cache -> model) vs dynamic-only on a Zipf 1.0 workload, over HTTP with wrk
at 64 connections, for two XGBoost models:

  example   breast_cancer_xgb (examples/repository): 50 trees of depth 4, well under a
            microsecond per row, so HTTP and JSON decide both plans' cost;
  ad_gbdt   a production-size GBDT written by bench/make_bench_models.py (write_ad_gbdt):
            500 trees of depth 8 on the same 30 FP32 features, tens of microseconds per row.

For each model: keys are ids 0..KEYS-1 (features cycling through the model's samples.json
rows); the top --table-keys ids are precomputed by `strata batch` into a RocksDB table; the
hybrid endpoint `scores` serves table -> cache (64MiB) -> model. Each request carries --rows
Zipf(1.0)-drawn rows (--bodies pre-drawn bodies, cycled). The same bodies without the key column
go to the model's own endpoint for the dynamic-only run. One server per model; the hybrid
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
import argparse
import bisect
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
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import benchlib  # noqa: E402  (CPU accounting, quiet waits, machine description)
import make_bench_models  # noqa: E402
from benchlib import free_port, wait_port  # noqa: E402

EXAMPLE = "breast_cancer_xgb"
EXAMPLE_DIR = os.path.join(ROOT, "examples", "repository", "models", EXAMPLE)
ENDPOINT = "scores"

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






def zipf_sampler(n, s, rng):
    cdf, total = [], 0.0
    for k in range(1, n + 1):
        total += 1.0 / k ** s
        cdf.append(total)
    return lambda: bisect.bisect_left(cdf, rng.random() * total)


def post(url, body):
    req = urllib.request.Request(url, data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def run_wrk(url, bodies, script, seconds, connections):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script, url, "--", bodies],
        capture_output=True, text=True, timeout=seconds + 60).stdout
    r = json.loads(re.search(r"^WRK_JSON (.*)$", out, re.M).group(1))
    assert r["non2xx"] == 0 and r["errors"] == 0, out
    return {"requests": r["requests"], "rps": r["requests"] / (r["duration_us"] / 1e6),
            "p50_us": r["p50_us"], "p99_us": r["p99_us"]}


def layer_rows(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    rows = {}
    for m in re.finditer(r'^strata_endpoint_rows_total\{([^}]*)\} (\S+)$', text, re.M):
        if f'endpoint="{ENDPOINT}"' in m.group(1):
            rows[re.search(r'layer="(\w+)"', m.group(1)).group(1)] = float(m.group(2))
    return rows


def compute_ns(port, model):
    """(requests, compute ns) the model has run so far, from /v2/models/{m}/stats."""
    body = json.loads(urllib.request.urlopen(
        f"http://127.0.0.1:{port}/v2/models/{model}/stats").read())
    st = body["model_stats"][0]["inference_stats"]["compute_infer"]
    return st["count"], st["ns"]


class Instructions:
    """Instructions the server retires during a run (`perf stat -p`), when perf works here:
    a cost per request that other processes' load does not change, unlike CPU time."""

    def __init__(self, pid, enabled):
        self.pid, self.enabled, self.count = pid, enabled, None

    def __enter__(self):
        if self.enabled:
            self.proc = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "instructions",
                                          "-p", str(self.pid)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         text=True)
            time.sleep(0.1)  # attached before the load starts
        return self

    def __exit__(self, *exc):
        if not self.enabled:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return
        for line in err.splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2].startswith("instructions") and fields[0].isdigit():
                self.count = int(fields[0])


def perf_works():
    try:
        r = subprocess.run(["perf", "stat", "-x", ",", "-e", "instructions", "true"],
                           capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and "not supported" not in r.stderr and \
        any(line.split(",")[0].isdigit() for line in r.stderr.splitlines())


def loadavg():
    return float(open("/proc/loadavg").read().split()[0])


class Setup:
    """One model's repository, table, endpoints file and request bodies under `work`."""

    def __init__(self, name, strata, work, args):
        self.name, self.work = name, work
        repo = os.path.join(work, "repo")
        models = os.path.join(repo, "models")
        os.makedirs(models)
        if name == "example":
            self.model = EXAMPLE
            os.symlink(EXAMPLE_DIR, os.path.join(models, EXAMPLE))
        else:
            self.model = make_bench_models.AD_GBDT["name"]
            t0 = time.monotonic()
            make_bench_models.write_ad_gbdt(models)
            self.train_s = time.monotonic() - t0
        self.repo = repo
        with open(os.path.join(models, self.model, "1", "samples.json")) as f:
            samples = json.load(f)
        tensor = samples["request"]["inputs"][0]
        n, width = tensor["shape"]
        self.samples = [tensor["data"][i * width:(i + 1) * width] for i in range(n)]
        head = os.path.join(work, "head.csv")
        with open(head, "w") as f:
            f.write("id," + ",".join(f"f{j}" for j in range(width)) + "\n")
            for i in range(args.table_keys):
                f.write(f"{i}," + ",".join(repr(x) for x in self.samples[i % n]) + "\n")
        subprocess.run([strata, "batch", "-r", repo, "-m", self.model, "--progress", "off",
                        "--map", "features=" + ",".join(f"f{j}" for j in range(width)),
                        "-i", head, "-k", "id:INT64", "-t", "head"],
                       check=True, capture_output=True)
        self.endpoints = os.path.join(work, "strata.yaml")
        with open(self.endpoints, "w") as f:
            f.write(f"endpoints:\n  {ENDPOINT}: {{plan: hybrid, table: head, key: [id], "
                    f"model: {self.model}, cache: {{max_bytes: 64MiB}}}}\n")
        rng = random.Random(7)
        draw = zipf_sampler(args.keys, 1.0, rng)
        self.hybrid_bodies = os.path.join(work, "hybrid.txt")
        self.dynamic_bodies = os.path.join(work, "dynamic.txt")
        with open(self.hybrid_bodies, "w") as h, open(self.dynamic_bodies, "w") as d:
            for _ in range(args.bodies):
                ids = [draw() for _ in range(args.rows)]
                features = {"name": "features", "datatype": "FP32", "shape": [args.rows, width],
                            "data": [x for i in ids for x in self.samples[i % n]]}
                key = {"name": "id", "datatype": "INT64", "shape": [args.rows], "data": ids}
                h.write(json.dumps({"inputs": [key, features]}) + "\n")
                d.write(json.dumps({"inputs": [features]}) + "\n")
        self.body_bytes = os.path.getsize(self.hybrid_bodies) / args.bodies


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


def measure_model(setup, strata, script, args):
    port = free_port()
    log = open(os.path.join(setup.work, "serve.log"), "w")
    cmd = [strata, "serve", "-r", setup.repo, "--port", str(port), "--grpc-port", "-1",
           "--endpoints", setup.endpoints]
    if args.http_threads:
        cmd += ["--http-threads", str(args.http_threads)]
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, server)
        base = f"http://127.0.0.1:{port}/v2/models"
        check_answers(base, setup)
        urls = {"dynamic": (f"{base}/{setup.model}/infer", setup.dynamic_bodies),
                "hybrid": (f"{base}/{ENDPOINT}/infer", setup.hybrid_bodies)}
        # Warm-up: the model's first calls, then the cache filled as traffic would fill it.
        run_wrk(*urls["dynamic"], script, 2, args.connections)
        run_wrk(*urls["hybrid"], script, args.warmup, args.connections)
        quiet = benchlib.QuietWaiter(args.quiet_threshold, max_wait_each=10, max_wait_total=40)
        runs = {"dynamic": [], "hybrid": []}
        for rep in range(args.repeats):
            order = ["dynamic", "hybrid"] if rep % 2 == 0 else ["hybrid", "dynamic"]
            for plan in order:
                busy_before = quiet.wait()
                load_before = loadavg()
                layers0 = layer_rows(port)
                stats0 = compute_ns(port, setup.model)
                with Instructions(server.pid, args.perf) as ins, \
                        benchlib.CpuAccount(server.pid) as cpu:
                    r = run_wrk(*urls[plan], script, args.seconds, args.connections)
                layers1 = layer_rows(port)
                stats1 = compute_ns(port, setup.model)
                r.update(cpu.result)
                r["server_cpu_us_per_request"] = (cpu.result["server_cpus"] * args.seconds
                                                  / r["requests"] * 1e6)
                r["server_kinstructions_per_request"] = (ins.count / r["requests"] / 1e3
                                                         if ins.count else None)
                r["busy_before"] = busy_before
                r["loadavg_before"], r["loadavg_after"] = load_before, loadavg()
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
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def med(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def kins_text(k):
    return "—" if k is None else f"{k:,.0f}k"


def report(results, args, info):
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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--strata", default=os.path.join(ROOT, "build", "release", "strata"))
    ap.add_argument("--models", default="example,ad_gbdt")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=3, help="seconds of hybrid traffic first")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--table-keys", type=int, default=1_000)
    ap.add_argument("--rows", type=int, default=16, help="rows per request")
    ap.add_argument("--bodies", type=int, default=5_000)
    ap.add_argument("--quiet-threshold", type=float, default=0.2,
                    help="before each run, wait (at most 10 s, 40 s in all per model) until "
                         "the CPUs are less busy than this")
    ap.add_argument("--http-threads", type=int, default=0,
                    help="strata serve --http-threads (default: the server's, one per core)")
    ap.add_argument("--no-perf", dest="perf", action="store_false",
                    help="do not count the server's instructions with perf stat")
    ap.add_argument("--out", help="keep results.json and the server logs here")
    args = ap.parse_args()
    args.perf = args.perf and perf_works()
    if not os.path.isfile(args.strata):
        sys.exit(f"no strata binary at {args.strata}")

    work = tempfile.mkdtemp(prefix="strata-hybrid-bench-")
    started = time.time()
    try:
        strata = os.path.join(work, "strata")  # a private copy: others may rebuild meanwhile
        shutil.copy2(args.strata, strata)
        script = os.path.join(work, "bodies.lua")
        with open(script, "w") as f:
            f.write(LUA)
        info = benchlib.machine_info()
        info["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(f"{info['uptime']}; strata {args.strata}", flush=True)
        results = {}
        for name in args.models.split(","):
            mwork = os.path.join(work, name)
            os.makedirs(mwork)
            setup = Setup(name, strata, mwork, args)
            print(f"{name}: model {setup.model}, {setup.body_bytes / 1024:.1f} KiB per hybrid "
                  "body", flush=True)
            results[name] = {"model": setup.model, "body_bytes": setup.body_bytes,
                             "runs": measure_model(setup, strata, script, args)}
            if args.out:
                os.makedirs(args.out, exist_ok=True)
                shutil.copy(os.path.join(mwork, "serve.log"),
                            os.path.join(args.out, f"{name}_serve.log"))
        report(results, args, info)
        info["uptime_after"] = subprocess.run(["uptime"], capture_output=True,
                                              text=True).stdout.strip()
        print(f"\n{info['uptime_after']}; {time.time() - started:.0f} s in all")
        if args.out:
            with open(os.path.join(args.out, "results.json"), "w") as f:
                json.dump({"args": vars(args), "machine": info, "results": results}, f,
                          indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
