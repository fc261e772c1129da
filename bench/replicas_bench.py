#!/usr/bin/python3
"""Replicas behind HAProxy: throughput of 1, 2 and 3 strata replicas, a rolling update's p99
against steady state, and the time from SIGTERM to exit.

All on one machine (loopback): N `strata serve` processes (breast_cancer_xgb, one row per
request, `--http-threads 1`), bench/lib/servers.haproxy in front (round robin, readiness checks
every 100 ms), wrk (bench/lib/post.lua) on HAProxy's port. On a 2-core machine this is
CPU-bound: the replicas, HAProxy and wrk share the cores, so more replicas cannot add
throughput; what it shows is the balancer's overhead (1 replica direct vs through HAProxy)
and that nothing fails.

 1. Throughput: for N in 1, 2, 3: wrk -t2 -c16 -d{duration}s through HAProxy; for N = 1 also
    direct to the replica. {repeats} rounds, medians.
 2. Rolling update: 3 replicas; wrk for {roll_seconds} s through HAProxy while each replica in
    turn gets SIGTERM (--drain-delay 1), exits, and starts again on version 2 (published before
    the roll, picked up at start: --poll-interval-ms 0). Its p99 against the steady p99 of
    part 1 (N = 3); failed requests counted (target: none).
 3. SIGTERM to exit: one replica under the same wrk load (direct), SIGTERM, time until the
    process is gone, with --drain-delay 0 and 1 (--drain-timeout 30). {repeats} times each.

  /usr/bin/python3 bench/replicas_bench.py [--duration 5] [--repeats 2]
"""

import os
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import ROOT, load, log, machine, report, servers  # noqa: E402

EXAMPLES = os.path.join(ROOT, "examples", "repository", "models")
MODEL = "breast_cancer_xgb"
BODY = ('{"inputs":[{"name":"features","datatype":"FP32","shape":[1,30],"data":'
        '[17.99,10.38,122.8,1001,0.1184,0.2776,0.3001,0.1471,0.2419,0.07871,1.095,0.9053,'
        '8.589,153.4,0.006399,0.04904,0.05373,0.01587,0.03003,0.006193,25.38,17.33,184.6,'
        '2019,0.1622,0.6656,0.7119,0.2654,0.4601,0.1189]}]}')


def repository(out):
    root = os.path.join(out, "repository")
    model = os.path.join(root, "models", MODEL)
    os.makedirs(model)
    shutil.copy(os.path.join(EXAMPLES, MODEL, "config.yaml"), model)
    os.symlink(os.path.join(EXAMPLES, MODEL, "1"), os.path.join(model, "1"))
    return root


def replicas(binary, repo, out, n, drain_delay=1):
    extra = ["--http-threads", "1", "--poll-interval-ms", "0", "--drain-delay", str(drain_delay),
             "--drain-timeout", "30"]
    return [servers.Strata(binary, repo, out, label=f"strata_r{i}", extra=extra)
            for i in range(n)]


def run_wrk(port, body_file, duration, out, tag):
    return load.wrk(f"http://127.0.0.1:{port}/v2/models/{MODEL}/infer", body_file, 2, 16,
                    duration, out_path=os.path.join(out, f"wrk_{tag}.txt"))


def throughput(binary, repo, out, body_file, args, problems):
    rows = {}
    for n in (1, 2, 3):
        fleet = [s.start() for s in replicas(binary, repo, out, n)]
        lb = servers.haproxy(out, [s.port for s in fleet]).start()
        time.sleep(0.5)  # the first health checks
        for r in range(args.repeats):
            rows.setdefault(f"{n} via HAProxy", []).append(
                run_wrk(lb.port, body_file, args.duration, out, f"lb{n}_r{r}"))
            if n == 1:
                rows.setdefault("1 direct", []).append(
                    run_wrk(fleet[0].port, body_file, args.duration, out, f"direct_r{r}"))
        servers.stop_all([lb, *fleet], problems)
    return rows


def rolling_update(binary, repo, out, body_file, args, problems):
    fleet = [s.start() for s in replicas(binary, repo, out, 3)]
    lb = servers.haproxy(out, [s.port for s in fleet], label="haproxy_roll").start()
    time.sleep(0.5)
    os.symlink(os.path.join(EXAMPLES, MODEL, "1"), os.path.join(repo, "models", MODEL, "2"))
    result = {}
    wrk = threading.Thread(target=lambda: result.update(
        run_wrk(lb.port, body_file, args.roll_seconds, out, "roll")))
    wrk.start()
    time.sleep(1)
    for i, s in enumerate(fleet):
        t0 = time.monotonic()
        s.stop(problems)
        s.start(tag="v2")
        log(f"replica {i} replaced in {time.monotonic() - t0:.1f} s")
        time.sleep(0.3)
    wrk.join()
    servers.stop_all([lb, *fleet], problems)
    os.unlink(os.path.join(repo, "models", MODEL, "2"))
    return result


def sigterm_to_exit(binary, repo, out, body_file, args, problems):
    times = {}
    for delay in (0, 1):
        for r in range(args.repeats):
            (s,) = replicas(binary, repo, out, 1, drain_delay=delay)
            s.start(tag=f"exit_d{delay}_r{r}")
            wrk = threading.Thread(target=run_wrk, args=(s.port, body_file, 3, out,
                                                          f"exit_d{delay}_r{r}"))
            wrk.start()
            time.sleep(1)
            t0 = time.monotonic()
            os.kill(s.pid, signal.SIGTERM)
            code = s.proc.wait(60)
            times.setdefault(delay, []).append(time.monotonic() - t0)
            if code != 0:
                problems.append(f"exit {code} after SIGTERM (drain delay {delay})")
            wrk.join()
            s.stop()
    return times


def main():
    ap = report.parser(__doc__)
    report.add_common_args(ap, repeats=2, models_dir=False)
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--roll-seconds", type=int, default=15,
                    help="seconds of load during the rolling update")
    args = ap.parse_args()
    started = report.now()
    out = report.out_dir(args, "replicas")
    binary, binfo = servers.strata_binary(args.strata, out)
    info = dict(machine.machine_info(), **binfo)
    repo = repository(out)
    body_file = os.path.join(out, "body.json")
    with open(body_file, "w") as f:
        f.write(BODY)
    problems = []
    load_before = machine.loadavg()
    rows = throughput(binary, repo, out, body_file, args, problems)
    roll = rolling_update(binary, repo, out, body_file, args, problems)
    exits = sigterm_to_exit(binary, repo, out, body_file, args, problems)
    lines = report.header("Replicas behind HAProxy", info, started, extra=[
        f"load average before / after: {load_before} / {machine.loadavg()} "
        "(a loaded machine: other engineers' builds and tests ran meanwhile)"])
    lines += ["", *report.table(
        ["replicas", "requests/s", "p50", "p99", "failed"],
        [(k, report.num(report.median([r["rps"] for r in v])),
          report.us(report.median([r["p50_us"] for r in v])),
          report.us(report.median([r["p99_us"] for r in v])),
          sum(load.failures(r) for r in v)) for k, v in rows.items()], "lrrrr")]
    steady = report.median([r["p99_us"] for r in rows["3 via HAProxy"]])
    lines += ["", f"Rolling update of 3 replicas under load ({args.roll_seconds} s): p99 "
              f"{report.us(roll['p99_us'])} against steady {report.us(steady)}; p50 "
              f"{report.us(roll['p50_us'])}; {roll['requests']} requests, "
              f"{load.failures(roll)} failed ({load.failure_text(roll)})"]
    lines += ["", "SIGTERM to exit under load (median of "
              f"{args.repeats}): " + "; ".join(
                  f"--drain-delay {d}: {report.median(t):.2f} s" for d, t in exits.items())]
    for k, v in rows.items():
        for r in v:
            if load.failures(r):
                problems.append(f"{k}: {load.failure_text(r)}")
    if load.failures(roll):
        problems.append(f"rolling update: {load.failure_text(roll)}")
    report.save_results(out, {"throughput": rows, "roll": roll, "exits": exits})
    print(report.end(lines, problems, "no failed request, every exit 0", out))


if __name__ == "__main__":
    main()
