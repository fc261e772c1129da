#!/usr/bin/python3
"""Redis online feature lookup + transform at 64 connections (issue 13, target: stage p99
<= 1 ms), with Redis's own floor measured in the same run.

1. Floor: redis-benchmark at 64 clients against the same redis-server, over TCP and over its
   unix socket, unpipelined and with -P 16: GET of one key, MGET of 20 keys (one request's
   worth of 20-feature rows for 10 entities x 2 tables) and HGETALL of a 10-field hash.
2. strata: the `features20` fixture (bench/lib/features20.py: 20 numeric features over 2
   entity tables in Redis) served key-only with `--feature-store redis`, one server per
   variant TRANSPORT:CONNECTIONS (tcp or unix; --redis-lookup-connections), optionally the
   "before" binary (tcp:2, its default). For each entity count every variant runs in turn,
   --repeats times (ABAB...); the report gives medians of the server's own
   strata_feature_stage_duration_seconds (lookups + transformations) and
   strata_feature_lookup_duration_seconds (the lookups alone) p50/p99, wrk's req/s, and the
   CPU per request of the strata server and of Redis (/proc/PID/stat over each wrk run).

  /usr/bin/python3 bench/redis_lookup_bench.py [--before /work/notes/bin/strata-b449d15]
      [--variants tcp:1,tcp:2,tcp:4,unix:2] [--entities 1,10,100]
      [--duration 3] [--repeats 2] [--out build/bench/redis_lookup]

Loopback and a unix socket only; every run bounded by -d; about 2.5 minutes with the defaults and --before.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
os.environ.setdefault("STRATA_BIN", os.path.join(HERE, "..", "build", "release", "strata"))
os.environ.setdefault("STRATA_SOURCE_DIR", os.path.join(HERE, ".."))
os.environ.setdefault("STRATA_BINARY_DIR", os.path.join(HERE, "..", "build", "release"))

from lib import load, machine, run_checked, servers  # noqa: E402
from lib.features20 import MODEL, Features20  # noqa: E402
from harness.strata_server import run_strata  # noqa: E402
from feature_lookup_bench import buckets, quantiles_us  # noqa: E402

CONNS = 64


def redis_benchmark(redis, transport, pipeline, command, requests):
    """One redis-benchmark run of a custom command: {"rps", "p50_us", "p99_us"}."""
    where = ["-s", redis.unix_socket] if transport == "unix" else ["-h", "127.0.0.1", "-p",
                                                                   str(redis.port)]
    cmd = ["redis-benchmark", *where, "-c", str(CONNS), "-n", str(requests), "-P",
           str(pipeline), "--csv", *command]
    rows = [line for line in run_checked(cmd, "redis-benchmark").stdout.splitlines()
            if line.startswith('"') and not line.startswith('"test"')]
    fields = [float(x.strip('"')) for x in rows[-1].split(",")[1:]]
    return {"rps": fields[0], "p50_us": fields[3] * 1000, "p99_us": fields[5] * 1000}


def floor(redis, args):
    """redis-benchmark's own figures at 64 clients, TCP and unix, -P 1 and 16, on keys of the
    size of a features20 row (10 FLOAT64 values and an event time: ~100 bytes)."""
    cli = ["redis-cli", "-s", redis.unix_socket]
    keys = [f"bench:k:{i}" for i in range(20)]
    run_checked(cli + ["MSET"] + [x for k in keys for x in (k, "x" * 100)], "redis-cli")
    run_checked(cli + ["HSET", "bench:h"] + [x for i in range(10) for x in (f"u{i}", "42.125")],
                "redis-cli")
    commands = {"GET": ["GET", keys[0]], "MGET 20": ["MGET", *keys],
                "HGETALL 10": ["HGETALL", "bench:h"]}
    out = []
    for transport in ("tcp", "unix"):
        for pipeline in (1, 16):
            for name, command in commands.items():
                r = redis_benchmark(redis, transport, pipeline, command,
                                    args.floor_requests * (4 if pipeline > 1 else 1))
                out.append({"floor": name, "transport": transport, "pipeline": pipeline, **r,
                            "load": machine.loadavg()})
                print(json.dumps(out[-1]), flush=True)
    return out


def start_variants(args, fixture, redis):
    running = {}
    variants = [(v, args.strata, v) for v in args.variants]
    if args.before:
        variants.insert(0, ("before", args.before, "tcp:2"))
    for label, binary, spec in variants:
        transport, conns = spec.split(":")
        url = redis.redis_unix_url if transport == "unix" else redis.redis_url
        extra = ["--feature-store", "redis", "--redis", url]
        if label != "before":
            extra += ["--redis-lookup-connections", conns]
        s = servers.Strata(binary, fixture.repository, args.out,
                           label=f"strata_{label.replace(':', '_')}", extra=extra)
        running[label] = s.start()
    return running


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(strata, path, duration, redis):
    text = servers.http("GET", strata.url("/metrics"))[1]
    cpu0 = (cpu_seconds(strata.pid), cpu_seconds(redis.pid))
    before = {m: buckets(text, m, f'model="{MODEL}"') for m in
              ("strata_feature_stage_duration_seconds", "strata_feature_lookup_duration_seconds")}
    r = load.wrk(strata.url(f"/v2/models/{MODEL}/infer"), path, 2, CONNS, duration)
    cpu1 = (cpu_seconds(strata.pid), cpu_seconds(redis.pid))
    text = servers.http("GET", strata.url("/metrics"))[1]
    requests = max(1.0, r["rps"] * duration)
    out = {"rps": r["rps"], "p99_us": r["p99_us"], "non2xx": r["non2xx"],
           "cpu_us": (cpu1[0] - cpu0[0]) * 1e6 / requests,
           "redis_cpu_us": (cpu1[1] - cpu0[1]) * 1e6 / requests}
    for m, short in (("strata_feature_stage_duration_seconds", "stage"),
                     ("strata_feature_lookup_duration_seconds", "lookup")):
        out[f"{short}_p50_us"], out[f"{short}_p99_us"] = quantiles_us(
            before[m], buckets(text, m, f'model="{MODEL}"'))
    return out


def run_strata_cells(args, fixture, redis):
    results = []
    running = start_variants(args, fixture, redis)
    try:
        for n in args.entities:
            path = os.path.join(args.out, f"body_{n}.json")
            with open(path, "w") as f:
                f.write(fixture.body(n))
            for rep in range(args.repeats):
                for label, s in running.items():
                    r = measure(s, path, args.duration, redis)
                    results.append({"variant": label, "entities": n, "repeat": rep, **r,
                                    "load": machine.loadavg()})
                    print(json.dumps(results[-1]), flush=True)
    finally:
        servers.stop_all(list(running.values()))
    return results


def report(floors, results):
    print("\nRedis's own floor (redis-benchmark, 64 clients):")
    print("| command | transport | -P | req/s | p50 µs | p99 µs |\n|---|---|---:|---:|---:|---:|")
    for f in floors:
        print(f"| {f['floor']} | {f['transport']} | {f['pipeline']} | {f['rps']:,.0f} "
              f"| {f['p50_us']:.0f} | {f['p99_us']:.0f} |")
    print("\nstrata, 64 connections, medians (stage = lookups + transforms, server-side):")
    print("| variant | entities | req/s | stage p50 µs | stage p99 µs | lookup p50 µs "
          "| lookup p99 µs | wrk p99 µs | strata CPU µs/req | Redis CPU µs/req | runs |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    cells = {}
    for r in results:
        cells.setdefault((r["variant"], r["entities"]), []).append(r)
    for (variant, n), rs in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        m = {k: statistics.median(r[k] for r in rs) for k in
             ("rps", "stage_p50_us", "stage_p99_us", "lookup_p50_us", "lookup_p99_us", "p99_us",
              "cpu_us", "redis_cpu_us")}
        print(f"| {variant} | {n} | {m['rps']:,.0f} | {m['stage_p50_us']:.0f} "
              f"| {m['stage_p99_us']:.0f} | {m['lookup_p50_us']:.0f} | {m['lookup_p99_us']:.0f} "
              f"| {m['p99_us']:.0f} | {m['cpu_us']:.0f} | {m['redis_cpu_us']:.1f} | {len(rs)} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strata", default=os.environ["STRATA_BIN"])
    parser.add_argument("--before", help="a strata binary to run as 'before' (tcp, 2 conns)")
    parser.add_argument("--variants", default="tcp:1,tcp:2,tcp:4,unix:2")
    parser.add_argument("--entities", default="1,10,100")
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--floor-requests", type=int, default=50000)
    parser.add_argument("--out", default=os.path.join(HERE, "..", "build", "bench",
                                                      "redis_lookup"))
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    args.variants = args.variants.split(",")
    args.entities = [int(x) for x in args.entities.split(",")]
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="strata-redis-bench-")
    print(json.dumps({"uptime": machine.uptime()}), flush=True)
    try:
        with servers.redis(args.out, unix_socket=os.path.join(work, "redis.sock")) as redis:
            fixture = Features20.build(work)
            for table in ("user_f", "item_f"):
                code, _, err = run_strata(*fixture.materialize_args(table), "--redis",
                                          redis.redis_url)
                if code != 0:
                    raise RuntimeError(err)
            floors = floor(redis, args)
            results = run_strata_cells(args, fixture, redis)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(floors, results)
    print(json.dumps({"uptime": machine.uptime(), **machine.machine_info()}))


if __name__ == "__main__":
    main()
