#!/usr/bin/python3
"""Metrics without locks (issue 17, item 1): where the server's CPU goes to metrics and locks,
and how many futex calls and context switches a request costs, for two strata binaries side by
side (before and after), on the same machine in the same run.

Both binaries serve examples/ digits_mlp (its example config: no batching, instances 1, so a
request runs inline on its I/O thread). Each of --rounds rounds measures before, then after
(A B A B ...): wrk -t2 -c16 -d{duration}s with a 1-row MLP request, while
  - `perf record -e cpu-clock -g -p PID` samples the server: the share of its samples (self)
    in prometheus-cpp, in mutex lock/unlock and futex, and in strata's metrics code (self
    only: the binaries have no frame pointers, so call chains are partial);
  - `perf stat -e context-switches,syscalls:sys_enter_futex -p PID` counts both per request;
  - the server's CPU time per request is taken from /proc.
Figures are medians over the rounds (3 rounds of 5 s: about 1 minute). Needs root (perf).

  /usr/bin/python3 bench/metrics_lock_bench.py BEFORE_BIN AFTER_BIN [--rounds 3]
      [--duration 5] [--out DIR]
"""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import load, log, machine, models, need, report, servers  # noqa: E402

# Self-sample shares by symbol (first match wins).
SELF_GROUPS = (
    ("prometheus-cpp", r"prometheus::"),
    ("mutex lock/unlock and futex",
     r"pthread_mutex_(un)?lock|__lll_lock|__lll_unlock|futex|__GI___pthread_mutex"),
    ("strata's metrics code",
     r"ModelMetrics::|SaturationMeter::|StripedCells|LockFreeHistogram|ThisThreadStripe|"
     r"LevelGauge|StripedCounter|ValueGauge"),
)


class Attached:
    """A perf command attached to PID over a `with` block, stopped by SIGINT."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # attached before the load starts
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=120)


def shares(perf_data):
    """{group: share of samples} from `perf report --children`."""
    out = subprocess.run(["perf", "report", "-i", perf_data, "--children", "--sort", "sym",
                          "-g", "none", "--stdio", "--percent-limit", "0", "-F",
                          "overhead_children,overhead,sym"],
                         capture_output=True, text=True, check=True).stdout
    result = {name: 0.0 for name, _ in SELF_GROUPS}
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[.\]\s+(.*)$", line)
        if not m:
            continue
        self_share, sym = float(m.group(2)), m.group(3)
        for name, pattern in SELF_GROUPS:
            if re.search(pattern, sym):
                result[name] += self_share
                break
    return result


def counts(stat_file):
    """{event: count} from `perf stat -x,` output."""
    found = {}
    for line in open(stat_file):
        fields = line.strip().split(",")
        if len(fields) > 2 and fields[0].replace(".", "").isdigit():
            found[fields[2]] = float(fields[0])
    return found


def measure(server, body, duration, work, name):
    perf_data = os.path.join(work, name + ".perf")
    stat_file = os.path.join(work, name + ".stat")
    record = ["perf", "record", "-q", "-e", "cpu-clock", "-g", "-p", str(server.pid), "-o",
              perf_data]
    stat = ["perf", "stat", "-x,", "-e", "context-switches,syscalls:sys_enter_futex", "-p",
            str(server.pid), "-o", stat_file]
    url = server.url("/v2/models/digits_mlp/infer")
    with Attached(record), Attached(stat), servers.CpuAccount(server) as cpu:
        r = load.wrk(url, body, 2, 16, duration, os.path.join(work, name + ".wrk.txt"))
    if load.failures(r):
        raise RuntimeError(f"{name}: {load.failure_text(r)}")
    n = max(1, r["requests"])
    c = counts(stat_file)
    result = {"rps": r["rps"], "cpu_us_per_req": cpu.result["server_cpu_s"] * 1e6 / n,
              "others_cpus": cpu.result["others_cpus"], "loadavg": machine.loadavg(),
              "futex_per_req": c.get("syscalls:sys_enter_futex", 0) / n,
              "cs_per_req": c.get("context-switches", 0) / n}
    result.update(shares(perf_data))
    log(f"{name}: {result['rps']:,.0f} req/s, {result['cpu_us_per_req']:.1f} µs CPU/req, "
        f"futex {result['futex_per_req']:.3f}/req, prometheus "
        f"{result['prometheus-cpp']:.2f}%, mutex {result['mutex lock/unlock and futex']:.2f}%, "
        f"load {result['loadavg']:.1f}")
    return result


def table(rounds):
    keys = ["rps", "cpu_us_per_req", "futex_per_req", "cs_per_req"] + \
        [name for name, _ in SELF_GROUPS] + ["loadavg"]
    labels = {"rps": "MLP req/s, 16 connections", "cpu_us_per_req": "server CPU µs per request",
              "futex_per_req": "futex calls per request (all threads)",
              "cs_per_req": "context switches per request",
              "loadavg": "load average (1 min) after the run"}
    lines = ["| median of rounds | before | after |", "|---|---:|---:|"]
    for k in keys:
        b = statistics.median(r["before"][k] for r in rounds)
        a = statistics.median(r["after"][k] for r in rounds)
        label = labels.get(k, f"share of server samples (self): {k}")
        unit = "%" if k in dict(SELF_GROUPS) else ""
        fmt = "{:,.0f}" if k == "rps" else "{:.3f}" if "per_req" in k and k != \
            "cpu_us_per_req" else "{:.2f}"
        lines.append(f"| {label} | {fmt.format(b)}{unit} | {fmt.format(a)}{unit} |")
    return "\n".join(lines)


def main():
    ap = report.parser(__doc__)
    ap.add_argument("before", help="strata binary before the change")
    ap.add_argument("after", help="strata binary after the change")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--out", help="keep the work directory here")
    args = ap.parse_args()
    need("perf", "linux-perf")
    work = report.out_dir(args, "metrics-lock-bench")
    info = machine.machine_info()
    repo = models.example_repo(os.path.join(work, "repo"), ["digits_mlp"])
    rows, _ = models.sample_rows(repo, "digits_mlp")
    body = os.path.join(work, "mlp1.json")
    with open(body, "w") as f:
        json.dump({"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, len(rows[0])],
                               "data": rows[0]}]}, f)
    running, problems, rounds = [], [], []
    try:
        by_name = {}
        for name in ("before", "after"):
            by_name[name] = servers.Strata(getattr(args, name), repo, work,
                                           label=f"strata-{name}").start()
            running.append(by_name[name])
            load.wrk(by_name[name].url("/v2/models/digits_mlp/infer"), body, 2, 16, 1)  # warm
        for n in range(1, args.rounds + 1):
            rounds.append({name: measure(server, body, args.duration, work, f"{name}_r{n}")
                           for name, server in by_name.items()})
    finally:
        servers.stop_all(running, problems)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"machine": info, "rounds": rounds, "problems": problems}, f, indent=1)
    print(f"machine: {info}\nrounds: {args.rounds} (before, after alternated), "
          f"{args.duration} s each; work: {work}\n")
    print(table(rounds))
    if problems:
        print("\nproblems:", problems)


if __name__ == "__main__":
    main()
