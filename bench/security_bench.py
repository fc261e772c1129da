#!/usr/bin/python3
"""Throughput and p99 with TLS and API keys on vs off (issue 15), REST and gRPC, and the TLS
handshake rate.

A benchmark, not a test: it prints a markdown report of this machine. One repository (an
XGBoost model of 30 features, trained here in a second), two servers started in turn, each
measured and stopped once per round (rounds alternate, so a noisy stretch on a shared machine
falls on both):

  plain:   strata serve (no TLS, no keys file)
  secured: strata serve --tls-cert --tls-key --keys-file (one key, scope infer, no rate limit)

and for each:

  REST:  wrk -t2 -c16 -dDs --latency -s bench/lib/post.lua [-H 'Authorization: Bearer ..']
         http[s]://127.0.0.1:PORT/v2/models/m/infer -- body.json      (keep-alive, 1-row JSON)
  gRPC:  strata_load --protocol grpc --channels 16 --concurrency 16 --duration D --warmup 1
         [--tls-ca ca.pem --authorization 'Bearer ..']   (bench/grpc_load: 16 connections, one
         call in flight on each; throughput, p50, p99), and as a cross-check
         h2load -c16 -m1 -D D -d request.grpc [-H 'authorization: Bearer ..']
         http[s]://127.0.0.1:PORT/inference.GRPCInferenceService/ModelInfer   (throughput and
         mean latency only)
  TLS handshakes (secured only): openssl s_time -connect 127.0.0.1:PORT -new -time D
         (full handshakes, one connection at a time, no session reuse), with the RSA-2048
         certificate, and once more at the end with a P-256 (ECDSA) one

Medians over --repeats rounds; the ratio secured/plain is the figure (target >= 0.8).

Usage:  /usr/bin/python3 bench/security_bench.py [--duration 5] [--repeats 3] [--strata PATH]
        [--before PATH] [--decoy-keys N] [--skip-h2load]
--before alternates a second binary's plain and secured servers with --strata's (ABAB);
--decoy-keys N puts N more keys in the keys file (a server with many tenants).
Needs wrk, h2load (nghttp2-client), openssl, and /usr/bin/python3 with xgboost and numpy.
Only talks to 127.0.0.1; every run is bounded in time.
"""

import argparse
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from harness import certificates  # noqa: E402
from lib import load, machine, servers  # noqa: E402

SECRET = "sk_bench_0123456789abcdef"
FEATURES = 30


def make_repository(root):
    import numpy as np
    import xgboost as xgb
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, FEATURES)).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "nthread": 1},
                        xgb.DMatrix(x, label=(x[:, 0] > 0).astype(np.float32)),
                        num_boost_round=50)
    os.makedirs(os.path.join(root, "models", "m", "1"))
    with open(os.path.join(root, "models", "m", "config.yaml"), "w") as f:
        f.write("backend: xgboost\nmax_batch_size: 1024\ninputs:\n"
                "  - {name: features, datatype: FP32, shape: [-1, %d]}\n"
                "outputs:\n  - {name: probability, datatype: FP32, shape: [-1]}\n"
                "parameters:\n  threads: 1\n  output: probability\n" % FEATURES)
    booster.save_model(os.path.join(root, "models", "m", "1", "model.json"))


def grpc_request_file(work):
    sys.path.insert(0, os.path.join(ROOT, "build", "release", "python_proto"))
    import inference_pb2
    request = inference_pb2.ModelInferRequest(model_name="m")
    tensor = request.inputs.add(name="features", datatype="FP32", shape=[1, FEATURES])
    tensor.contents.fp32_contents.extend([0.25] * FEATURES)
    path = os.path.join(work, "request.grpc")
    with open(path, "wb") as f:
        f.write(load.grpc_frame(request.SerializeToString()))
    message = os.path.join(work, "request.pb")
    with open(message, "wb") as f:
        f.write(request.SerializeToString())
    return path, message


class Server:
    def __init__(self, strata, repository, args, log_path, env=None):
        self.env = None if env is None else dict(os.environ, **env)
        self.cmd = [strata, "serve", "--repository", repository, "--host", "127.0.0.1",
                    "--port", "0", "--grpc-port", "0", *args]
        self.log_path = log_path

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = open(self.log_path).read()
            http = re.search(r"listening on https?://127\.0\.0\.1:(\d+)", text)
            grpc = re.search(r"gRPC listening on 127\.0\.0\.1:(\d+)", text)
            if http and grpc:
                self.port, self.grpc_port = int(http.group(1)), int(grpc.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("strata exited:\n" + text)
            time.sleep(0.05)
        raise RuntimeError("strata did not start")

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


def run_wrk(url, body, duration, headers):
    cmd = ["wrk", "-t2", "-c16", "-d%ds" % duration, "--latency"]
    for h in headers:
        cmd += ["-H", h]
    cmd += ["-s", os.path.join(HERE, "lib", "post.lua"), url, "--", body]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True)
    result = load.parse_wrk(out.stdout)
    result["cmd"] = shlex.join(cmd)
    return result


def run_h2load(url, data, duration, headers):
    cmd = ["h2load", "-D", str(duration), "--warm-up-time", "1", "-c", "16", "-m", "1",
           "-d", data, "-H", "content-type: application/grpc", "-H", "te: trailers"]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60,
                          check=True).stdout
    finished = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", text)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", text)
    status = re.search(r"status codes: (\d+) 2xx", text)
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", text)
    return {"rps": float(finished.group(1)), "mean_us": load.parse_duration_us(mean.group(1)),
            "failed": int(done.group(1)) - int(done.group(2)) if done else -1,
            "ok_2xx": int(status.group(1)) if status else -1, "cmd": shlex.join(cmd)}


def run_strata_load(binary, port, files, duration, secured, keys):
    cmd = [binary, "--protocol", "grpc", "--port", str(port), "--model", "m", "--payload",
           files["grpc_message"], "--channels", "16", "--concurrency", "16", "--duration",
           str(duration), "--warmup", "1"]
    if secured:
        cmd += ["--tls-ca", files["ca"]]
    if keys:
        cmd += ["--authorization", "Bearer " + SECRET]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True)
    result = json.loads(out.stdout.strip())
    result["rps"] = result["throughput"]
    result["cmd"] = shlex.join(cmd)
    return result


def run_s_time(port, ca, duration):
    cmd = ["openssl", "s_time", "-connect", "127.0.0.1:%d" % port, "-new", "-time",
           str(duration), "-CAfile", ca]
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    real = re.search(r"(\d+) connections in (\d+) real seconds", text)
    return {"handshakes_per_s": int(real.group(1)) / int(real.group(2)), "cmd": shlex.join(cmd)}


def measure(server, name, files, args):
    name = name.replace("before ", "")
    secured = name in ("secured", "tls")
    keys = name in ("secured", "keys")
    scheme = "https" if secured else "http"
    rest_headers = ["Authorization: Bearer " + SECRET] if keys else []
    grpc_headers = ["authorization: Bearer " + SECRET] if keys else []
    cpu = servers.proc_tree_cpu_seconds(server.proc.pid)
    rest = run_wrk("%s://127.0.0.1:%d/v2/models/m/infer" % (scheme, server.port), files["body"],
                   args.duration, rest_headers)
    rest["server_cpu_us_per_request"] = (
        (servers.proc_tree_cpu_seconds(server.proc.pid) - cpu) * 1e6 / rest["requests"])
    cpu = servers.proc_tree_cpu_seconds(server.proc.pid)
    grpc = run_strata_load(files["strata_load"], server.grpc_port, files, args.duration, secured,
                           keys)
    grpc["server_cpu_us_per_request"] = (
        (servers.proc_tree_cpu_seconds(server.proc.pid) - cpu) * 1e6 /
        (grpc["rps"] * (args.duration + 1)))
    result = {"rest": rest, "grpc": grpc}
    if args.skip_h2load:
        return result
    cpu = servers.proc_tree_cpu_seconds(server.proc.pid)
    h2 = run_h2load("%s://127.0.0.1:%d/inference.GRPCInferenceService/ModelInfer" %
                      (scheme, server.grpc_port), files["grpc"], args.duration, grpc_headers)
    # the warm-up second is served too: CPU over (duration + 1) s of requests, an estimate
    h2["server_cpu_us_per_request"] = (
        (servers.proc_tree_cpu_seconds(server.proc.pid) - cpu) * 1e6 /
        (h2["rps"] * (args.duration + 1)))
    result["grpc_h2load"] = h2
    if secured:
        result["handshake"] = run_s_time(server.port, files["ca"], args.duration)
    return result


def decoy_entries(count):
    """`count` keys nobody sends: a keys file of a server with many tenants."""
    return "".join("  - {id: decoy%d, tenant: decoy, secret_sha256: %064x, scopes: [infer], "
                   "models: [\"*\"]}\n" % (i, i + 1) for i in range(count))


def prepare(work, decoys=0):
    paths = certificates.make_all(work)
    repository = os.path.join(work, "repository")
    make_repository(repository)
    body = os.path.join(work, "body.json")
    with open(body, "w") as f:
        json.dump({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, FEATURES],
                               "data": [0.25] * FEATURES}]}, f)
    digest = subprocess.run(["sha256sum"], input=SECRET.encode(), capture_output=True,
                            check=True).stdout.split()[0].decode()
    keys = os.path.join(work, "keys.yaml")
    with open(keys, "w") as f:
        f.write("keys:\n  - {id: bench, tenant: bench, secret_sha256: %s, scopes: [infer], "
                "models: [\"*\"]}\n" % digest + decoy_entries(decoys))
    ec_cert, ec_key = certificates.make_signed(work, "server-ec", "strata-ec", key_type="ec")
    framed, message = grpc_request_file(work)
    return {"repository": repository, "body": body, "grpc": framed, "grpc_message": message,
            "strata_load": load.build_strata_load(),
            "ca": paths["ca"], "cert": paths["cert"], "key": paths["key"], "keys": keys,
            "ec_cert": ec_cert, "ec_key": ec_key}


def median(runs, *path):
    values = []
    for run in runs:
        value = run
        for key in path:
            value = value[key]
        values.append(value)
    return statistics.median(values)


FIGURES = (("REST req/s", ("rest", "rps")), ("REST p50 µs", ("rest", "p50_us")),
           ("REST p99 µs", ("rest", "p99_us")),
           ("REST server CPU µs per request", ("rest", "server_cpu_us_per_request")),
           ("gRPC req/s", ("grpc", "rps")), ("gRPC p50 µs", ("grpc", "p50_us")),
           ("gRPC p99 µs", ("grpc", "p99_us")),
           ("gRPC server CPU µs per request", ("grpc", "server_cpu_us_per_request")),
           ("gRPC req/s (h2load)", ("grpc_h2load", "rps")),
           ("gRPC mean µs (h2load)", ("grpc_h2load", "mean_us")))


def ratio_table(plain, secured, args, title):
    print("| %s (median of %d rounds, %d s each) | plain | TLS + API key | ratio |" %
          (title, args.repeats, args.duration))
    print("|---|---|---|---|")
    for label, path in FIGURES:
        if path[0] not in plain[0]:
            continue
        a, b = median(plain, *path), median(secured, *path)
        print("| %s | %.0f | %.0f | %.2f |" % (label, a, b, b / a))


def report(results, args):
    for name in results:
        if name in ("tls", "keys"):
            print("%s: REST %.0f req/s p99 %.0f us, gRPC %.0f req/s" % (
                name, median(results[name], "rest", "rps"), median(results[name], "rest", "p99_us"),
                median(results[name], "grpc", "rps")))
    ratio_table(results["plain"], results["secured"], args, args.strata)
    if args.before:
        print()
        ratio_table(results["before plain"], results["before secured"], args, args.before)
    if "handshake_ec" in results:
        print("\nTLS handshakes (openssl s_time -new, one at a time): %.0f per second with "
              "RSA-2048, %.0f with P-256" % (median(results["secured"], "handshake",
                                                    "handshakes_per_s"),
                                             results["handshake_ec"]["handshakes_per_s"]))
    runs = [r for name, rs in results.items() if name != "handshake_ec" for r in rs]
    failures = sum(r["rest"]["non2xx"] + r["rest"]["errors"] + r["grpc"]["errors"] +
                   max(r.get("grpc_h2load", {}).get("failed", 0), 0) for r in runs)
    print("failed requests in all runs: %d" % failures)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strata", default=os.path.join(ROOT, "build", "release", "strata"))
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    ap.add_argument("--split", action="store_true",
                    help="also measure TLS alone and API keys alone")
    ap.add_argument("--before", default=None,
                    help="a second strata binary, plain and secured, alternated with --strata")
    ap.add_argument("--decoy-keys", type=int, default=0,
                    help="keys in the keys file besides the one the load sends")
    ap.add_argument("--skip-h2load", action="store_true",
                    help="no h2load cross-check and no handshake rates (a shorter run)")
    args = ap.parse_args()
    work = args.out or tempfile.mkdtemp(prefix="security-bench-")
    os.makedirs(work, exist_ok=True)
    files = prepare(work, args.decoy_keys)
    secured = ["--tls-cert", files["cert"], "--tls-key", files["key"], "--keys-file",
               files["keys"]]
    configurations = {"plain": [], "secured": secured}
    binaries = {"plain": args.strata, "secured": args.strata}
    if args.before:
        configurations.update({"before plain": [], "before secured": secured})
        binaries.update({"before plain": args.before, "before secured": args.before})
    if args.split:
        configurations["tls"] = ["--tls-cert", files["cert"], "--tls-key", files["key"]]
        configurations["keys"] = ["--keys-file", files["keys"]]
        binaries.update({"tls": args.strata, "keys": args.strata})
    results = {name: [] for name in configurations}
    for round_number in range(args.repeats):
        for name, extra in configurations.items():
            print("round %d: %s (load average %.1f)" % (round_number + 1, name,
                                                        os.getloadavg()[0]), file=sys.stderr)
            log_path = os.path.join(work, "%s-%d.log" % (name.replace(" ", "-"), round_number))
            with Server(binaries[name], files["repository"], extra, log_path) as server:
                results[name].append(measure(server, name, files, args))
    ec = ["--tls-cert", files["ec_cert"], "--tls-key", files["ec_key"]]
    if not args.skip_h2load:
        with Server(args.strata, files["repository"], ec, os.path.join(work, "ec.log")) as server:
            results["handshake_ec"] = run_s_time(server.port, files["ca"], args.duration)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"command": shlex.join(sys.argv), "machine": machine.machine_info(),
                   "results": results}, f, indent=1)
    print("machine: %s" % json.dumps(machine.machine_info()))
    print("load average at the end: %.1f %.1f %.1f" % os.getloadavg())
    report(results, args)
    print("\nraw output: %s/results.json" % work)


if __name__ == "__main__":
    main()
