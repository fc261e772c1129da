#!/usr/bin/python3
"""Before/after throughput of two strata binaries: the REST, hybrid and static-lookup drivers,
alternated (A B A B ...) so that machine noise hits both alike; medians and ratios.

  /usr/bin/python3 bench/before_after.py --before /tmp/strata-before --after build/release/strata \\
      --rounds 3 --out /tmp/before_after

Each round runs every driver once with the before binary, then once with the after binary
(short runs: see DRIVER_ARGS), logging the load average around each run. `--summarize DIR`
only reads the results.json files an earlier run left in DIR and prints the markdown table:
for every figure a driver reports (req/s, and server CPU µs per request where it measures
it), the median over the rounds for each binary and the after/before ratio.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)

DRIVERS = ["rest", "hybrid", "static_lookup"]
DRIVER_ARGS = {
    "rest": ["--no-build", "--skip-peer", "--duration", "4", "--duration-16", "4", "--warmup", "1",
             "--repeats", "1", "--quiet-threshold", "1.0", "--wait-idle", "0",
             "--retry-budget", "0"],
    "hybrid": ["--models", "example", "--seconds", "4", "--repeats", "1", "--warmup", "2",
               "--no-perf", "--quiet-threshold", "1.0"],
    "static_lookup": ["--seconds", "4", "--repeats", "1"],
}
WHICH = ["before", "after"]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(args):
    log = open(os.path.join(args.out, "log"), "a")
    for round_ in range(1, args.rounds + 1):
        for driver in DRIVERS:
            for which in WHICH:
                out = os.path.join(args.out, f"{driver}-{which}-{round_}")
                os.makedirs(out, exist_ok=True)
                binary = getattr(args, which)
                cmd = ["/usr/bin/python3", os.path.join(BENCH, f"{driver}_bench.py"), "--strata",
                       binary, "--out", out] + DRIVER_ARGS[driver]
                print(f"{time.strftime('%T')} round {round_} {driver} {which} load {loadavg()}",
                      file=log, flush=True)
                with open(os.path.join(out, "report.md"), "w") as report, \
                        open(os.path.join(out, "stderr.log"), "w") as err:
                    rc = subprocess.call(cmd, cwd=ROOT, stdout=report, stderr=err)
                print(f"{time.strftime('%T')} rc {rc} load {loadavg()}", file=log, flush=True)


def figures(results, path=()):
    """(name, rps, server CPU µs/request or None) for every load run in a results.json tree."""
    if isinstance(results, dict):
        if "rps" in results:
            cpu = results.get("server_cpu_us_per_req", results.get("server_cpu_us_per_request"))
            yield " / ".join(str(p) for p in path if p not in ("runs", 0)), results["rps"], cpu
            return
        for key, value in results.items():
            yield from figures(value, path + (key,))
    elif isinstance(results, list):
        for i, value in enumerate(results):
            yield from figures(value, path + (i,))


def summarize(directory):
    table = {}  # (driver, figure) -> which -> {"rps": [...], "cpu": [...]}
    for name in sorted(os.listdir(directory)):
        parts = name.rsplit("-", 2)
        path = os.path.join(directory, name, "results.json")
        if len(parts) != 3 or parts[1] not in WHICH or not os.path.exists(path):
            continue
        driver, which, _ = parts
        with open(path) as f:
            data = json.load(f)
        results = data.get("results") or {k: v for k, v in data.items() if k == "runs"}
        for figure, rps, cpu in figures(results):
            entry = table.setdefault((driver, figure), {w: {"rps": [], "cpu": []} for w in WHICH})
            entry[which]["rps"].append(rps)
            if cpu is not None:
                entry[which]["cpu"].append(cpu)
    lines = ["| driver | run | before req/s (median) | after req/s (median) | after/before | "
             "before CPU µs/req | after CPU µs/req | after/before | runs (before, after) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for (driver, figure), entry in table.items():
        b, a = entry["before"], entry["after"]
        if not b["rps"] or not a["rps"]:
            continue
        rb, ra = statistics.median(b["rps"]), statistics.median(a["rps"])
        cpu = "| — | — | — "
        if b["cpu"] and a["cpu"]:
            cb, ca = statistics.median(b["cpu"]), statistics.median(a["cpu"])
            cpu = f"| {cb:.1f} | {ca:.1f} | {ca / cb:.2f} "
        runs = (", ".join(f"{x:,.0f}" for x in b["rps"]) + " / " +
                ", ".join(f"{x:,.0f}" for x in a["rps"]))
        lines.append(f"| {driver} | {figure} | {rb:,.0f} | {ra:,.0f} | {ra / rb:.2f} "
                     f"{cpu}| {runs} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", help="the before binary")
    ap.add_argument("--after", help="the after binary")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="/tmp/before_after")
    ap.add_argument("--summarize", metavar="DIR", help="only summarize an earlier run's DIR")
    args = ap.parse_args()
    if args.summarize:
        print(summarize(args.summarize))
        return 0
    if not args.before or not args.after:
        ap.error("--before and --after are required (or --summarize DIR)")
    os.makedirs(args.out, exist_ok=True)
    run(args)
    print(summarize(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
