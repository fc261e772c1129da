#!/usr/bin/python3
"""Shadow traffic at 100% under load (issue 14): does mirroring every request to a shadow
change the primary's latency?

Two endpoints of one server answer with the breast_cancer_xgb example (version 1), one row per
request, 32 wrk connections:

  plain     plan: dynamic, no shadow;
  shadowed  plan: dynamic, `shadow: {model: breast_cancer_xgb, version: 2, share: 1.0,
            queue: 64}` (version 2 is the same model file; admission at its defaults,
            max_in_flight 1 and cpu_share 0.5): every request the admission lets through is
            copied, with its answer, to the shadow's bounded queue and run there, one at a
            time; a shed or a full queue drops the copy (counted in
            strata_shadow_dropped_total{reason}: primary_busy, over_budget, queue_full).

Two loads, each alternating the endpoints (ABAB) --repeats times in the same server:

  closed   wrk, 32 connections, as fast as the server answers (saturation: the shadow's own
           model work competes with the primary for the 2 cores);
  open     a fixed --rate of requests per second (bench/lib/openloop.py), below saturation:
           what a client sees when the server has headroom.

The report gives medians of throughput, p50 and p99 per load, the p99 ratios (target:
shadowed within 10% of plain), the copies sent and dropped (by reason) per shadowed run, and
nginx's fixed response at the same connections (the HTTP floor) in the same run.

  [STRATA_BIN=binary] /usr/bin/python3 bench/shadow_bench.py [--seconds 8] [--repeats 4]
      [--rate 1000] [--out build/bench/shadow]

Loopback only, every run bounded in time; about 3 minutes.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, HERE)
from lib import load, machine, servers  # noqa: E402

STRATA = os.environ.get("STRATA_BIN", os.path.join(ROOT, "build", "release", "strata"))
MODEL = "breast_cancer_xgb"
SOURCE = os.path.join(ROOT, "examples", "repository", "models", MODEL)
CONNECTIONS = 32


def setup(out):
    repo = os.path.join(out, "repo")
    shutil.rmtree(repo, ignore_errors=True)
    for version in ("1", "2"):
        os.makedirs(os.path.join(repo, "models", MODEL, version))
        shutil.copy(os.path.join(SOURCE, "1", "model.json"),
                    os.path.join(repo, "models", MODEL, version))
    with open(os.path.join(SOURCE, "config.yaml")) as f, \
            open(os.path.join(repo, "models", MODEL, "config.yaml"), "w") as config:
        config.write(f.read() + "version_policy: all\n")
    endpoints = os.path.join(out, "endpoints.yaml")
    with open(endpoints, "w") as f:
        f.write(f"endpoints:\n"
                f"  plain: {{plan: dynamic, model: {MODEL}}}\n"
                f"  shadowed:\n    plan: dynamic\n    model: {MODEL}\n"
                f"    shadow: {{model: {MODEL}, version: 2, share: 1.0, queue: 64}}\n")
    with open(os.path.join(SOURCE, "1", "samples.json")) as f:
        tensor = json.load(f)["request"]["inputs"][0]
    width = tensor["shape"][1]
    bodies = os.path.join(out, "bodies.txt")
    with open(bodies, "w") as f:
        for i in range(tensor["shape"][0]):
            row = tensor["data"][i * width:(i + 1) * width]
            f.write(json.dumps({"inputs": [{"name": "features", "datatype": "FP32",
                                            "shape": [1, width], "data": row}]}) + "\n")
    return repo, endpoints, bodies


def shadow_counts(strata):
    """Copies sent and dropped so far, and the drops by reason (`reason` label; a binary
    from before the label counts them all as queue_full)."""
    _, text = servers.http("GET", strata.url("/metrics"))
    counts = {"sent": 0.0, "dropped": 0.0, "queue_full": 0.0, "primary_busy": 0.0,
              "over_budget": 0.0}
    for line in (text if isinstance(text, str) else "").splitlines():
        value = float(line.rsplit(" ", 1)[-1]) if line.startswith("strata_shadow_") else 0.0
        if line.startswith("strata_shadow_requests_total{"):
            counts["sent"] += value
        elif line.startswith("strata_shadow_dropped_total{"):
            counts["dropped"] += value
            reason = re.search(r'reason="(\w+)"', line)
            counts[reason.group(1) if reason else "queue_full"] += value
    return counts


def run(url, bodies, seconds):
    r = load.wrk(url, bodies, 2, CONNECTIONS, seconds, lines=True)
    if load.failures(r):
        raise RuntimeError(f"{url}: {load.failure_text(r)}")
    return r


def run_open(url, body, rate, seconds):
    summary, _ = load.open_loop(url, body, rate, seconds, connections=64)
    ok = summary["by_status"].get(200, {})
    if set(summary["by_status"]) != {200} or summary.get("unfinished"):
        raise RuntimeError(f"{url}: {summary}")
    return {"rps": summary["achieved_rps"], "p50_us": ok["p50_us"], "p99_us": ok["p99_us"]}


def measure_open(strata, body, args):
    runs = {"plain": [], "shadowed": []}
    for i in range(args.repeats):
        order = ("plain", "shadowed") if i % 2 == 0 else ("shadowed", "plain")
        for name in order:
            runs[name].append(run_open(strata.url(f"/v2/models/{name}/infer"), body, args.rate,
                                       args.seconds))
            print("open", name, json.dumps(runs[name][-1]), flush=True)
    return runs


def measure(repo, endpoints, bodies, args):
    strata = servers.Strata(STRATA, repo, args.out, label="strata", endpoints=endpoints)
    runs = {"plain": [], "shadowed": []}
    copies = []
    with strata:
        for name in ("plain", "shadowed"):
            run(strata.url(f"/v2/models/{name}/infer"), bodies, 2)  # warm-up
        for i in range(args.repeats):
            order = ("plain", "shadowed") if i % 2 == 0 else ("shadowed", "plain")
            for name in order:
                before = shadow_counts(strata)
                runs[name].append(run(strata.url(f"/v2/models/{name}/infer"), bodies,
                                      args.seconds))
                if name == "shadowed":
                    after = shadow_counts(strata)
                    copies.append({k: after[k] - before[k] for k in after})
                print(name, json.dumps({k: runs[name][-1][k] for k in ("rps", "p50_us",
                                                                       "p99_us")}), flush=True)
        with open(bodies) as f:
            body = f.readline().strip().encode()
        open_runs = measure_open(strata, body, args)
    return runs, copies, open_runs


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--rate", type=float, default=1000, help="open loop: requests per second")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "shadow"))
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    repo, endpoints, bodies = setup(args.out)
    runs, copies, open_runs = measure(repo, endpoints, bodies, args)
    floor = servers.nginx(args.out)
    with floor:
        nginx = run(floor.url("/"), bodies, args.seconds)
    figures = {name: {k: median(runs[name], k) for k in ("rps", "p50_us", "p99_us")}
               for name in runs}
    report = {"connections": CONNECTIONS, "repeats": args.repeats, "seconds": args.seconds,
              **figures,
              "p99_shadowed_over_plain": round(figures["shadowed"]["p99_us"] /
                                               figures["plain"]["p99_us"], 3),
              "rps_shadowed_over_plain": round(figures["shadowed"]["rps"] /
                                               figures["plain"]["rps"], 3),
              "shadow_copies_per_run": copies,
              "open_loop": {"rate": args.rate, **{
                  name: {k: median(rs, k) for k in ("rps", "p50_us", "p99_us")}
                  for name, rs in open_runs.items()}},
              "open_p99_shadowed_over_plain": round(
                  median(open_runs["shadowed"], "p99_us") / median(open_runs["plain"], "p99_us"),
                  3),
              "open_runs": open_runs,
              "runs": {name: [{k: r[k] for k in ("rps", "p50_us", "p99_us")} for r in rs]
                       for name, rs in runs.items()},
              "nginx_floor": {"rps": nginx["rps"], "p99_us": nginx["p99_us"]},
              "machine": machine.machine_info()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
