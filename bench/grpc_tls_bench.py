#!/usr/bin/python3
"""gRPC with TLS and an API key vs plain (issue 15): the server's CPU per call, the client's,
and throughput, before and after, with HAProxy terminating TLS as a reference.

A benchmark, not a test: it prints a markdown table for this machine. The repository and the
request are bench/security_bench.py's (an XGBoost model of 30 features, 1-row calls). Each
configuration is one server started, loaded and stopped once per round; rounds alternate
every configuration (A B C .. A B C ..), so a noisy stretch on a shared machine falls on all:

  plain     strata serve (no TLS, no keys file)
  secured   strata serve --tls-cert --tls-key --keys-file (one key, scope infer)
  haproxy   HAProxy 2.6 terminating TLS (h2 with ALPN) in front of
            strata serve --keys-file (h2c): the reference point (secured "after" only)

each for --before BIN and --after BIN (plain and secured of each; --before is optional), and
for each --variant NAME:VAR=VALUE[;VAR=VALUE] (the after binary, plain and secured, with those
environment variables: e.g. LD_PRELOAD of another allocator, OPENSSL_CONF to pick the TLS 1.3
cipher suite). The load is strata_load --protocol grpc --channels 16 --concurrency 16 (16
connections, one call in flight on each, keep-alive) for --duration seconds after a 1-second
warm-up. Server CPU
per call is utime+stime of the server's process tree (and of HAProxy, for that row) from
/proc over the load, divided by the calls made: what a client on another machine would see.
Client CPU per call is strata_load's own (its TLS runs on the same CPUs here).

Usage:  /usr/bin/python3 bench/grpc_tls_bench.py --after build/release/strata \
            [--before /work/notes/bin/strata-b449d15] [--duration 4] [--repeats 3] [--profile]
(--profile: `perf record -e cpu-clock -g` of each server in round 1, and a table of where its
CPU per call goes by shared object: OpenSSL, gRPC, Abseil, libc, kernel, strata.)
Needs haproxy (Debian) and /usr/bin/python3 with xgboost and numpy. Loopback only; every
run is bounded in time (about 6 s per configuration and round).
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
sys.path.insert(0, HERE)
import security_bench  # noqa: E402
from lib import machine, servers  # noqa: E402

HAPROXY_TLS_CONFIG = """global
  maxconn 4000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
frontend tls
  bind 127.0.0.1:{port} ssl crt {pem} alpn h2
  default_backend strata
backend strata
  server s1 127.0.0.1:{grpc_port} proto h2
"""


class Haproxy:
    """HAProxy terminating TLS on a free port, forwarding h2c to 127.0.0.1:grpc_port."""

    def __init__(self, work, files, grpc_port):
        self.port = servers.free_port()
        pem = os.path.join(work, "haproxy.pem")
        with open(pem, "w") as f:
            f.write(open(files["cert"]).read() + open(files["key"]).read())
        self.config = os.path.join(work, "haproxy.cfg")
        with open(self.config, "w") as f:
            f.write(HAPROXY_TLS_CONFIG.format(port=self.port, pem=pem, grpc_port=grpc_port))
        self.log_path = os.path.join(work, "haproxy.log")

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        servers.wait_port(self.port, self.proc, timeout=30)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def run_load(files, port, duration, tls, key):
    """strata_load over 16 connections: its JSON line plus its own CPU seconds."""
    cmd = [files["strata_load"], "--protocol", "grpc", "--port", str(port), "--model", "m",
           "--payload", files["grpc_message"], "--channels", "16", "--concurrency", "16",
           "--duration", str(duration), "--warmup", "1"]
    if tls:
        cmd += ["--tls-ca", files["ca"]]
    if key:
        cmd += ["--authorization", "Bearer " + security_bench.SECRET]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError("strata_load failed: " + shlex.join(cmd))
    result = json.loads(out.strip())
    result["client_cpu_s"] = usage.ru_utime + usage.ru_stime
    result["cmd"] = shlex.join(cmd)
    return result


class Profile:
    """`perf record -e cpu-clock -g -p PID -o path` over a `with` block; nothing when path is
    None."""

    def __init__(self, pid, path):
        self.pid, self.path = pid, path

    def __enter__(self):
        if self.path:
            self.proc = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-p",
                                          str(self.pid), "-o", self.path],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.2)  # attached before the load starts
        return self

    def __exit__(self, *exc):
        if self.path:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=60)


def measure(config, files, work, duration, profile_path=None):
    """One configuration, one round: {"rps", "p99_us", "server_us", "client_us", "errors"}."""
    args = []
    if config["tls"]:
        args += ["--tls-cert", files["cert"], "--tls-key", files["key"]]
    if config["key"]:
        args += ["--keys-file", files["keys"]]
    log_path = os.path.join(work, config["name"] + ".log")
    with security_bench.Server(config["binary"], files["repository"], args, log_path,
                               config["env"]) as s:
        pids = [s.proc.pid]
        port = s.grpc_port
        proxy = Haproxy(work, files, s.grpc_port) if config["haproxy"] else None
        if proxy is not None:
            proxy.__enter__()
            pids.append(proxy.proc.pid)
            port = proxy.port
        try:
            before = sum(servers.proc_tree_cpu_seconds(p) for p in pids)
            with Profile(s.proc.pid, profile_path):
                load = run_load(files, port, duration, config["tls"] or config["haproxy"],
                                config["key"])
            server_cpu = sum(servers.proc_tree_cpu_seconds(p) for p in pids) - before
        finally:
            if proxy is not None:
                proxy.__exit__()
    # strata_load reports calls of the measured seconds; the warm-up second is served too
    calls = load["throughput"] * (duration + 1)
    return {"rps": load["throughput"], "p99_us": load["p99_us"], "errors": load["errors"],
            "server_us": server_cpu * 1e6 / calls, "client_us": load["client_cpu_s"] * 1e6 / calls,
            "load": os.getloadavg()[0]}


def configurations(args):
    """(name, binary, env) pairs of plain and secured, then HAProxy (after only)."""
    result = []
    binaries = [("before", args.before, {})] if args.before else []
    binaries.append(("after", args.after, {}))
    for variant in args.variant:
        name, _, assignments = variant.partition(":")
        binaries.append((name, args.after,
                         dict(a.split("=", 1) for a in assignments.split(";") if a)))
    for label, binary, env in binaries:
        for name, tls, key in (("plain", False, False), ("secured", True, True)):
            result.append({"name": "%s %s" % (label, name), "binary": binary, "tls": tls,
                           "key": key, "haproxy": False, "env": env})
    result.append({"name": "after haproxy", "binary": args.after, "tls": False, "key": True,
                   "haproxy": True, "env": {}})
    return result


PROFILE_SHARES = (
    ("OpenSSL (libcrypto, libssl)", r"libcrypto|libssl"),
    ("gRPC (libgrpc, libgpr, libgrpc++)", r"libgrpc|libgpr"),
    ("Abseil Mutex and its deadlock detection", r"absl_synchronization|absl_graphcycles"),
    ("libc (malloc, free, memmove)", r"^libc\.so"),
    ("kernel (TCP, epoll, futex)", r"kernel"),
    ("strata (the key check included)", r"^strata"),
    ("other (protobuf, libstdc++, vdso, ...)", r"."))


def dso_samples(path):
    """{shared object: samples} of a perf.data file."""
    out = subprocess.run(["perf", "report", "-i", path, "--no-children", "--sort", "dso", "-g",
                          "none", "--stdio", "-F", "sample,dso"], capture_output=True, text=True,
                         check=True).stdout
    rows = {}
    for line in out.splitlines():
        match = re.match(r"\s*(\d+)\s+(\S.*)$", line)
        if match and not line.startswith("#"):
            rows[match.group(2).strip()] = int(match.group(1))
    return rows


def profile_report(configs, results, work):
    """The first round's profiles: each share of the server's samples times its CPU per call."""
    names = [c["name"] for c in configs if not c["haproxy"]]
    print("\n| µs of server CPU per call (round 1, perf) | %s |" % " | ".join(names))
    print("|---|%s" % ("---:|" * len(names)))
    shares = []
    for name in names:
        rows = dso_samples(profile_file(work, name))
        total = sum(rows.values())
        cost = {}
        for label, pattern in PROFILE_SHARES:
            matched = [dso for dso in rows if re.search(pattern, dso)]
            cost[label] = sum(rows.pop(dso) for dso in matched) / total * \
                results[name][0]["server_us"]
        shares.append(cost)
    for label, _ in PROFILE_SHARES:
        print("| %s | %s |" % (label, " | ".join("%.1f" % c[label] for c in shares)))
    print("| total | %s |" % " | ".join("%.1f" % results[n][0]["server_us"] for n in names))


def profile_file(work, name):
    return os.path.join(work, name.replace(" ", "-") + ".perf")


def report(configs, results, args):
    print("| configuration (median of %d rounds, %d s each) | calls/s | vs plain | p99 µs | "
          "server CPU µs/call | vs plain | client CPU µs/call |" % (args.repeats, args.duration))
    print("|---|---:|---:|---:|---:|---:|---:|")
    for config in configs:
        runs = results[config["name"]]
        plain_name = config["name"].split()[0] + " plain"
        plain = results[plain_name]

        def med(runs_, key):
            return statistics.median(r[key] for r in runs_)

        print("| %s | %.0f | %.2f | %.0f | %.1f | %.2f | %.1f |" % (
            config["name"], med(runs, "rps"), med(runs, "rps") / med(plain, "rps"),
            med(runs, "p99_us"), med(runs, "server_us"),
            med(runs, "server_us") / med(plain, "server_us"), med(runs, "client_us")))
    print("\nper run (calls/s): " + "; ".join(
        "%s %s" % (c["name"], ", ".join("%.0f" % r["rps"] for r in results[c["name"]]))
        for c in configs))
    print("load average at each run's end: %s" % ", ".join(
        "%.1f" % r["load"] for c in configs for r in results[c["name"]]))
    print("failed calls in all runs: %d" % sum(r["errors"] for v in results.values() for r in v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--after", default=os.path.join(os.path.dirname(HERE), "build", "release",
                                                    "strata"))
    ap.add_argument("--before", default=None)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME:VAR=VALUE[;VAR=VALUE]: the after binary, plain and secured, "
                    "with these environment variables")
    ap.add_argument("--profile", action="store_true",
                    help="perf record the server in round 1 and print where its CPU goes")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    work = args.out or tempfile.mkdtemp(prefix="grpc-tls-bench-")
    os.makedirs(work, exist_ok=True)
    files = security_bench.prepare(work)
    configs = configurations(args)
    results = {c["name"]: [] for c in configs}
    started = time.monotonic()
    for round_number in range(args.repeats):
        for config in configs:
            print("round %d: %s" % (round_number + 1, config["name"]), file=sys.stderr)
            profile = args.profile and round_number == 0 and not config["haproxy"]
            results[config["name"]].append(measure(
                config, files, work, args.duration,
                profile_file(work, config["name"]) if profile else None))
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"command": shlex.join(sys.argv), "machine": machine.machine_info(),
                   "configurations": configs, "results": results}, f, indent=1)
    print("machine: %s" % json.dumps(machine.machine_info()))
    print("took %.0f s; raw output: %s/results.json\n" % (time.monotonic() - started, work))
    report(configs, results, args)
    if args.profile:
        profile_report(configs, results, work)


if __name__ == "__main__":
    main()
