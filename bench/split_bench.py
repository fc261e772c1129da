#!/usr/bin/python3
"""Splits and rollouts (issue 14), two figures:

  cost     a 2-arm split (`plan: split`, arms stable v1 50 / canary v2 50, random assignment)
           vs calling the model's version 1 directly: wrk, 64 connections, the breast_cancer_xgb
           example, one row per request; D and S runs alternate (DSDS..., --repeats each) and
           the report gives medians and the ratio, with nginx's fixed answer (the HTTP floor)
           measured in the same run.
  rollback a rollout of a failing candidate (a TorchScript version that raises on every
           call; stable: y = 2x) at --rate req/s open loop: the time from the candidate's
           first traffic (the "step 1" event) to the roll back, and how many client requests
           saw the bad arm (non-200 answers), --rollbacks times with the default gates and
           --rollout-tick-ms 100.

  /usr/bin/python3 bench/split_bench.py [--seconds 5] [--repeats 3] [--rate 1000]
      [--rollbacks 3] [--out build/bench/split]

Loopback only, every run bounded; about 2 minutes.
"""
import argparse
import asyncio
import io
import json
import os
import shutil
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, HERE)
from lib import load, machine, openloop, servers  # noqa: E402

STRATA = os.environ.get("STRATA_BIN", os.path.join(ROOT, "build", "release", "strata"))
XGB = "breast_cancer_xgb"
EXAMPLE = os.path.join(ROOT, "examples", "repository", "models", XGB)

TORCH_CONFIG = """backend: torchscript
max_batch_size: 64
inputs:
  - {name: x, datatype: FP32, shape: [-1, 2]}
outputs:
  - {name: y, datatype: FP32, shape: [-1, 2]}
parameters:
  threads: 1
version_policy: all
warmup: {generate: zeros, count: 5}
"""


def xgb_setup(out):
    """A repository with the example's model as versions 1 and 2, the split endpoints file,
    and a body file of one-row requests. Returns (repository, endpoints, bodies)."""
    repo = os.path.join(out, "xgb_repo")
    shutil.rmtree(repo, ignore_errors=True)
    model = os.path.join(repo, "models", XGB)
    for v in ("1", "2"):
        os.makedirs(os.path.join(model, v))
        shutil.copy(os.path.join(EXAMPLE, "1", "model.json"), os.path.join(model, v))
    with open(os.path.join(EXAMPLE, "config.yaml")) as f, \
            open(os.path.join(model, "config.yaml"), "w") as o:
        o.write(f.read() + "version_policy: all\n")
    endpoints = os.path.join(out, "split.yaml")
    with open(endpoints, "w") as f:
        f.write(f"endpoints:\n  ab:\n    plan: split\n    arms:\n"
                f"      - {{name: stable, model: {XGB}, version: 1, weight: 50}}\n"
                f"      - {{name: canary, model: {XGB}, version: 2, weight: 50}}\n")
    with open(os.path.join(EXAMPLE, "1", "samples.json")) as f:
        request = json.load(f)["request"]
    tensor = request["inputs"][0]
    tensor["shape"], tensor["data"] = [1, 30], tensor["data"][:30]
    bodies = os.path.join(out, "xgb_body.txt")
    with open(bodies, "w") as f:
        f.write(json.dumps(request) + "\n")
    return repo, endpoints, bodies


def wrk(url, bodies, seconds):
    r = load.wrk(url, bodies, 2, 64, seconds, lines=True)
    if load.failures(r):
        raise RuntimeError(f"{url}: {load.failure_text(r)}")
    return r


def cost(out, args):
    repo, endpoints, bodies = xgb_setup(out)
    strata = servers.Strata(STRATA, repo, out, label="strata_split", endpoints=endpoints)
    urls = {"direct": f"/v2/models/{XGB}/versions/1/infer", "split": "/v2/models/ab/infer"}
    runs = {"direct": [], "split": []}
    with strata:
        for name in urls:
            wrk(strata.url(urls[name]), bodies, 1)  # warm both
        for i in range(args.repeats):
            for name in (("direct", "split") if i % 2 == 0 else ("split", "direct")):
                runs[name].append(wrk(strata.url(urls[name]), bodies, args.seconds))
                print(name, {k: runs[name][-1][k] for k in ("rps", "p99_us")}, flush=True)
    floor = servers.nginx(out)
    with floor:
        nginx = wrk(floor.url("/"), bodies, args.seconds)
    med = {n: {k: statistics.median(r[k] for r in runs[n]) for k in ("rps", "p50_us", "p99_us")}
           for n in runs}
    return {"direct": med["direct"], "split": med["split"],
            "split_over_direct_rps": round(med["split"]["rps"] / med["direct"]["rps"], 3),
            "split_over_direct_p99": round(med["split"]["p99_us"] / med["direct"]["p99_us"], 3),
            "all_runs": {n: [(r["rps"], r["p99_us"]) for r in runs[n]] for n in runs},
            "nginx_floor": {"rps": nginx["rps"], "p99_us": nginx["p99_us"]},
            "wrk_cmd": runs["split"][-1]["cmd"]}


def torch_setup(out):
    import torch  # noqa: E402 (Debian's python3 has it)

    class Double(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2

    class Fails(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if bool(x.abs().sum() > 0):
                raise RuntimeError("this candidate fails every call")
            return x * 2

    repo = os.path.join(out, "torch_repo")
    shutil.rmtree(repo, ignore_errors=True)
    model = os.path.join(repo, "models", "m")
    for version, module in ((1, Double()), (2, Fails())):
        os.makedirs(os.path.join(model, str(version)))
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.script(module), buffer)
        with open(os.path.join(model, str(version), "model.pt"), "wb") as f:
            f.write(buffer.getvalue())
    with open(os.path.join(model, "config.yaml"), "w") as f:
        f.write(TORCH_CONFIG)
    endpoints = os.path.join(out, "rollout.yaml")
    with open(endpoints, "w") as f:
        f.write("endpoints:\n  ab:\n    plan: split\n    arms:\n"
                "      - {name: stable, model: m, version: 1, weight: 100}\n")
    return repo, endpoints


def one_rollback(strata, args):
    body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2],
                                   "data": [1, 2]}]}).encode()
    result = {}

    def traffic():
        result["summary"], result["records"] = load.open_loop(
            strata.url("/v2/models/ab/infer"), body, args.rate, args.traffic_seconds,
            connections=64)

    thread = threading.Thread(target=traffic)
    thread.start()
    time.sleep(2)  # steady traffic on the stable arm first
    status, answer = servers.http(
        "POST", strata.url("/v2/repository/endpoints/ab/rollout/start"),
        json.dumps({"candidate": "m@2", "steps": "5:60s:200,25:60s:500,100"}))
    if status != 200:
        raise RuntimeError(f"start: {status} {answer}")
    thread.join()
    _, view = servers.http("GET", strata.url("/v2/repository/endpoints/ab/rollout"))
    def event(prefix):
        return next((e["unix_ms"] for e in view["history"] if e["what"].startswith(prefix)), 0)

    bad = sum(1 for r in result["records"] if r.status != 200)
    return {"status": view["status"], "reason": view["reason"],
            "detect_and_roll_back_ms": event("rolled back") - event("step 1"),
            "requests_that_saw_the_bad_arm": bad,
            "requests": len(result["records"]),
            "achieved_rps": result["summary"].get("achieved_rps", result["summary"].get("rps"))}


def rollbacks(out, args):
    repo, endpoints = torch_setup(out)
    runs = []
    for i in range(args.rollbacks):
        state = os.path.join(out, f"state_{i}")
        shutil.rmtree(state, ignore_errors=True)
        strata = servers.Strata(STRATA, repo, out, label=f"strata_rollout_{i}", endpoints=endpoints,
                                extra=["--control-api", "--state-dir", state,
                                       "--rollout-tick-ms", "100"])
        with strata:
            runs.append(one_rollback(strata, args))
        print("rollback", runs[-1], flush=True)
    return {"runs": runs,
            "median_detect_and_roll_back_ms": statistics.median(
                r["detect_and_roll_back_ms"] for r in runs),
            "median_requests_that_saw_the_bad_arm": statistics.median(
                r["requests_that_saw_the_bad_arm"] for r in runs),
            "openloop_cmd": f"bench/lib/openloop.py --rate {args.rate} "
                            f"--duration {args.traffic_seconds} --connections 64"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--traffic-seconds", type=int, default=12)
    parser.add_argument("--rollbacks", type=int, default=3)
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "split"))
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    report = {"machine": machine.machine_info()}
    if not args.skip_cost:
        report["cost"] = cost(args.out, args)
    report["rollback"] = rollbacks(args.out, args)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
