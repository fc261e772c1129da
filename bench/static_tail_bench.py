#!/usr/bin/python3
"""Static single-key lookups against redis-benchmark GET, and where their p99 comes from
(issue 17, item 4). Two strata binaries, before and after, side by side, same run.

Servers, all up for the whole run (idle while another is measured): redis-server; strata
`before` and `after` (their default I/O threads: one per core); `after` with --http-threads 1;
`before` and `after` with --access-log (the server's own latency per request, from its header
to its answer handed to the socket). Each serves the static endpoint `embedded` on a 100,000-row RocksDB
table held in memory (bench/lean_path_bench.py's setup).

Each of --rounds rounds measures, in turn (A B A B ...): redis-benchmark -t get -c 50 -n 200000
-r 100000; then wrk -t2 -c50 -d{duration}s --latency on each strata, one fixed key per request;
then before and after with Zipf(1.0) keys over the 100,000 (bodies cycled by post.lua `lines`);
then the access-logged before and after; then the matched configuration, one server thread
against one client thread as redis-benchmark against Redis is: a second redis-server and
before and after with --http-threads 1, each server pinned to CPU 0 (taskset), their clients
(redis-benchmark, wrk -t1 -c50) pinned to CPU 1, the same for Redis as for strata. For every
run: the server's and the client's CPU per request (/proc and getrusage around the run). With --sched, the last round's `after` run is recorded with
`perf sched record` and summarised per thread (`perf sched timehist`): how long the server's
and wrk's threads were runnable but not running (scheduling delay), and how long each ran.
Even rounds run after before before (and the variants in reverse), so neither is always second.
Figures are medians over the rounds; ratios are taken within a round first.

  /usr/bin/python3 bench/static_tail_bench.py --before OLD_BIN --after NEW_BIN
      [--rounds 3] [--duration 3] [--sched] [--cpu-pairs N] [--no-pin] [--out DIR]
"""
import collections
import contextlib
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lean_path_bench import ROWS, setup  # noqa: E402
from lib import load, log, machine, record, report, servers, zipf  # noqa: E402

REDIS_REQUESTS = 200_000

VARIANTS = ("before", "after", "after_1io")
MATCHED = ("before_pinned", "after_pinned")  # --http-threads 1 on CPU 0, wrk -t1 on CPU 1
SERVER_CPU, CLIENT_CPU = "0", {1}


@contextlib.contextmanager
def client_on(cpus):
    """This process, and so the clients it starts, on `cpus` (None: unchanged) meanwhile."""
    before = os.sched_getaffinity(0)
    if cpus:
        os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def per_request(r, cpu):
    """Server and client (the load generator, with this script) CPU µs per request."""
    requests = max(1, r["requests"])
    r["cpu_us_per_req"] = cpu.result["server_cpu_s"] * 1e6 / requests
    r["client_cpu_us_per_req"] = cpu.result["client_cpus"] * cpu.result["wall_s"] * 1e6 / requests
    r["others_cpus"] = cpu.result["others_cpus"]
    return r


def wrk_static(server, url_body, args, out, name, threads=2, cpus=None):
    url, body, lines = url_body
    with client_on(cpus), servers.CpuAccount(server) as cpu:
        r = load.wrk(url, body, threads, 50, args.duration, os.path.join(out, name + ".txt"),
                     lines)
    if load.failures(r):
        raise RuntimeError(f"{name}: {load.failure_text(r)}")
    return per_request(r, cpu)


def redis_get(redis, cpus=None):
    with client_on(cpus), servers.CpuAccount(redis) as cpu:
        r = load.redis_benchmark(redis.port, REDIS_REQUESTS, clients=50, keyspace=ROWS)
    r["requests"] = REDIS_REQUESTS
    return per_request(r, cpu)


def zipf_bodies(work):
    path = os.path.join(work, "zipf_keys.txt")
    with open(path, "w") as f:
        for key in zipf.zipf_ids(ROWS, 1.0, 20_000, seed=17):
            f.write(json.dumps({"inputs": [{"name": "id", "datatype": "INT64", "shape": [1],
                                            "data": [key]}]}) + "\n")
    return path


def access_latencies(server, skip):
    """latency_us of the access log lines after the first `skip` lines of the server's log."""
    with open(server.log_path, errors="replace") as f:
        lines = f.read().splitlines()
    values = []
    for line in lines[skip:]:
        if '"latency_us"' in line:
            values.append(json.loads(line[line.index("{"):])["access"]["latency_us"])
    return sorted(values), len(lines)


def pct(values, q):
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def sched_summary(data, pids):
    """Per busy thread of `pids` and of wrk: run and scheduling-delay figures (ms, µs)."""
    text = subprocess.run(["perf", "sched", "timehist", "-i", data], capture_output=True,
                          text=True, timeout=120).stdout
    rows = collections.defaultdict(list)
    for line in text.splitlines()[3:]:
        p = line.split()
        if len(p) < 6 or "[" not in p[2]:
            continue
        comm, ids = p[2].rsplit("[", 1)
        pid = ids.rstrip("]").split("/")[-1]
        if pid not in pids and not comm.startswith("wrk"):
            continue
        try:
            rows[p[2]].append((float(p[-2]), float(p[-1])))  # sch delay, run time (ms)
        except ValueError:
            continue
    summary = []
    for task, r in sorted(rows.items(), key=lambda kv: -sum(x[1] for x in kv[1]))[:4]:
        delay, run = sorted(x[0] for x in r), sorted(x[1] for x in r)
        summary.append({"thread": task, "slices": len(r), "run_ms": sum(run),
                        "run_p50_us": pct(run, .5) * 1e3, "run_p99_us": pct(run, .99) * 1e3,
                        "delay_p50_us": pct(delay, .5) * 1e3, "delay_p99_us": pct(delay, .99) * 1e3,
                        "delay_max_ms": delay[-1],
                        "delayed_over_1ms_ms": sum(x for x in delay if x > 1)})
    return summary


def sched_run(server, url_body, args, out):
    data = os.path.join(out, "sched.data")
    url, body, _ = url_body
    cmd = ["perf", "sched", "record", "-o", data, "--", "wrk", "-t2", "-c50",
           f"-d{args.duration}s", "--latency", "-s", load.POST_LUA, url, "--", body]
    record(cmd)
    subprocess.run(cmd, capture_output=True, timeout=args.duration + 60, check=True)
    return sched_summary(data, {str(server.pid)})


def logged_run(server, body, args, out, name):
    """wrk on a server with --access-log, plus its own latency percentiles over the run."""
    _, skip = access_latencies(server, 0)
    r = wrk_static(server, (server.url("/v2/models/embedded/infer"), body, False), args, out,
                   name)
    own, _ = access_latencies(server, skip)
    r.update(own_p50_us=pct(own, .5), own_p99_us=pct(own, .99), own_p999_us=pct(own, .999))
    return r


def matched_runs(by_name, fixed, args, out, n):
    """One server thread on CPU 0 against one client thread on CPU 1, Redis and strata alike."""
    result = {"redis_pinned": redis_get(by_name["redis_pinned"], CLIENT_CPU)}
    for name in MATCHED if n % 2 else reversed(MATCHED):
        url = by_name[name].url("/v2/models/embedded/infer")
        result[name] = wrk_static(by_name[name], (url, fixed, False), args, out, f"{name}_r{n}",
                                  threads=1, cpus=CLIENT_CPU)
    return result


def round_of(by_name, redis, targets, args, out, n):
    fixed, zipf_keys = targets
    # Even rounds run each pair after before, so neither is always second.
    pair = ("before", "after") if n % 2 else ("after", "before")
    result = {"redis": redis_get(redis)}
    for name in VARIANTS if n % 2 else reversed(VARIANTS):
        url = by_name[name].url("/v2/models/embedded/infer")
        result[name] = wrk_static(by_name[name], (url, fixed, False), args, out, f"{name}_r{n}")
    for name in pair:
        url = by_name[name].url("/v2/models/embedded/infer")
        result[name + "_zipf"] = wrk_static(by_name[name], (url, zipf_keys, True), args, out,
                                            f"{name}_zipf_r{n}")
    for name in pair:
        result[name + "_log"] = logged_run(by_name[name + "_log"], fixed, args, out,
                                           f"{name}_log_r{n}")
    if not args.no_pin:
        result.update(matched_runs(by_name, fixed, args, out, n))
    result["loadavg"] = machine.loadavg()
    log(f"round {n}: redis {result['redis']['rps']:,.0f}/s p99 {result['redis']['p99_us']:.0f}"
        + "".join(f"; {k} {result[k]['rps']:,.0f}/s p99 {result[k]['p99_us']:.0f}"
                  for k in (*VARIANTS, "before_zipf", "after_zipf"))
        + "".join(f"; {k}_log server's own p99 {result[k + '_log']['own_p99_us']:.0f} µs"
                  for k in ("before", "after"))
        + "".join(f"; {k} {result[k]['rps']:,.0f}/s p99 {result[k]['p99_us']:.0f}"
                  for k in ("redis_pinned", *MATCHED) if k in result)
        + f"; load {result['loadavg']}")
    return result


def start_all(args, work, endpoints, repo, running):
    redis = servers.Redis(work).start()
    running.append(redis)
    one_io = ("--http-threads", "1")
    flavours = {"before": (args.before, ()), "after": (args.after, ()),
                "after_1io": (args.after, one_io),
                "before_log": (args.before, ("--access-log",)),
                "after_log": (args.after, ("--access-log",))}
    if not args.no_pin:
        flavours.update(before_pinned=(args.before, one_io), after_pinned=(args.after, one_io))
    by_name = {}
    for name, (binary, extra) in flavours.items():
        server = servers.Strata(binary, repo, work, label=f"strata-{name}", endpoints=endpoints,
                                extra=extra)
        if name.endswith("_pinned"):
            server.cmd = ["taskset", "-c", SERVER_CPU] + server.cmd
        by_name[name] = server.start()
        running.append(server)
    if not args.no_pin:
        pinned = servers.Redis(work, label="redis-pinned")
        pinned.cmd = ["taskset", "-c", SERVER_CPU] + pinned.cmd
        by_name["redis_pinned"] = pinned.start()
        running.append(pinned)
    return redis, by_name


def main():
    ap = report.parser(__doc__)
    ap.add_argument("--before", required=True, help="strata binary before the change")
    ap.add_argument("--after", required=True, help="strata binary after the change")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    ap.add_argument("--sched", action="store_true", help="perf sched record the last round")
    ap.add_argument("--cpu-pairs", type=int, default=0,
                    help="then N alternated 2 s runs of before and after: user and system CPU "
                         "per request")
    ap.add_argument("--no-pin", action="store_true",
                    help="skip the matched configuration (servers and clients pinned)")
    ap.add_argument("--out", help="keep the work directory here")
    args = ap.parse_args()
    work = report.out_dir(args, "static-tail-bench")
    info = machine.machine_info()
    info["loadavg"] = machine.loadavg()
    repo, endpoints, _, key_body = setup(work, args.after)
    targets = (key_body, zipf_bodies(work))
    running, problems, rounds, sched = [], [], [], None
    try:
        redis, by_name = start_all(args, work, endpoints, repo, running)
        for n in range(1, args.rounds + 1):
            rounds.append(round_of(by_name, redis, targets, args, work, n))
        if args.sched:
            url = by_name["after"].url("/v2/models/embedded/infer")
            sched = sched_run(by_name["after"], (url, key_body, False), args, work)
        pairs = cpu_pairs(by_name, key_body, args, work)
    finally:
        servers.stop_all(running, problems)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"machine": info, "rounds": rounds, "sched": sched, "cpu_pairs": pairs,
                   "problems": problems}, f, indent=1)
    print(summary(rounds, sched, info, work))
    print(pairs_summary(pairs))


def cpu_ticks(pid):
    """(user, system) clock ticks of every thread of `pid` so far."""
    user = system = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        user, system = user + int(fields[11]), system + int(fields[12])
    return user, system


def cpu_pairs(by_name, body, args, out):
    """--cpu-pairs alternated 2 s runs of wrk -t2 -c50 on before then after: the server's user
    and system CPU µs per request, from its threads' ticks."""
    pairs, hz = [], os.sysconf("SC_CLK_TCK")
    for n in range(args.cpu_pairs):
        pair = {}
        for name in ("before", "after") if n % 2 == 0 else ("after", "before"):
            server = by_name[name]
            u0, s0 = cpu_ticks(server.pid)
            r = load.wrk(server.url("/v2/models/embedded/infer"), body, 2, 50, 2,
                         os.path.join(out, f"{name}_pair{n}.txt"))
            u1, s1 = cpu_ticks(server.pid)
            requests = max(1, r["requests"])
            pair[name] = {"user": (u1 - u0) * 1e6 / hz / requests,
                          "system": (s1 - s0) * 1e6 / hz / requests, "rps": r["rps"]}
        pairs.append(pair)
    return pairs


def pairs_summary(pairs):
    if not pairs:
        return ""
    lines = [f"\n{len(pairs)} alternated pairs of 2 s (wrk -t2 -c50): server CPU µs per request, "
             "medians; after / before per pair, median", "",
             "| | before | after | after / before |", "|---|---:|---:|---:|"]
    for part in ("user", "system"):
        b = statistics.median(p["before"][part] for p in pairs)
        a = statistics.median(p["after"][part] for p in pairs)
        ratio = statistics.median(p["after"][part] / max(1e-9, p["before"][part]) for p in pairs)
        lines.append(f"| {part} | {b:.1f} | {a:.1f} | {ratio:.2f} |")
    total = statistics.median((p["after"]["user"] + p["after"]["system"])
                              / max(1e-9, p["before"]["user"] + p["before"]["system"])
                              for p in pairs)
    lines.append(f"| user + system | | | {total:.2f} |")
    return "\n".join(lines)


def med(rounds, get):
    return statistics.median(get(r) for r in rounds)


def cells(rounds, keys, get, fmt):
    return " | ".join(fmt.format(med(rounds, lambda r: get(r, k))) for k in keys)


def default_table(rounds):
    """wrk -t2 against each strata (2 I/O threads unless `after_1io`), redis-benchmark unpinned."""
    keys = ("redis", *VARIANTS)
    lines = ["| figure | redis GET | " + " | ".join(VARIANTS) + " |",
             "|---|---:|" + "---:|" * len(VARIANTS)]
    w = lines.append
    w("| req/s, 1 fixed key | " + cells(rounds, keys, lambda r, k: r[k]["rps"], "{:,.0f}") + " |")
    w("| req/s over redis GET/s (per round; target ≥ 1.0) | "
      + cells(rounds, keys, lambda r, k: r[k]["rps"] / r["redis"]["rps"], "{:.2f}") + " |")
    w("| p99 µs (target ≤ 1,000) | " + cells(rounds, keys, lambda r, k: r[k]["p99_us"], "{:,.0f}")
      + " |")
    w("| p50 µs | " + cells(rounds, keys, lambda r, k: r[k]["p50_us"], "{:,.0f}") + " |")
    w("| server CPU µs per request | "
      + cells(rounds, keys, lambda r, k: r[k]["cpu_us_per_req"], "{:.1f}") + " |")
    w("| client CPU µs per request (redis-benchmark, wrk -t2) | "
      + cells(rounds, keys, lambda r, k: r[k]["client_cpu_us_per_req"], "{:.1f}") + " |")
    zipf_keys = ("before_zipf", "after_zipf")
    w("| Zipf(1.0) keys: req/s over redis GET/s | | "
      + cells(rounds, zipf_keys, lambda r, k: r[k]["rps"] / r["redis"]["rps"], "{:.2f}") + " | |")
    w("| Zipf(1.0) keys: p99 µs | | "
      + cells(rounds, zipf_keys, lambda r, k: r[k]["p99_us"], "{:,.0f}") + " | |")
    w("| Zipf(1.0) keys: server CPU µs per request | | "
      + cells(rounds, zipf_keys, lambda r, k: r[k]["cpu_us_per_req"], "{:.1f}") + " | |")
    w(f"| others' CPUs during the after runs (machine noise) | | | "
      f"{med(rounds, lambda r: r['after']['others_cpus']):.2f} | |")
    return lines


def matched_table(rounds):
    """One server thread pinned to CPU 0 against one client thread pinned to CPU 1."""
    if "redis_pinned" not in rounds[0]:
        return []
    keys = ("redis_pinned", *MATCHED)
    lines = ["", "matched: each server on CPU 0 (strata --http-threads 1), its client on CPU 1 "
             "(redis-benchmark -c 50; wrk -t1 -c50)", "",
             "| figure | redis GET | before, 1 I/O thread | after, 1 I/O thread |",
             "|---|---:|---:|---:|"]
    w = lines.append
    w("| req/s, 1 fixed key | " + cells(rounds, keys, lambda r, k: r[k]["rps"], "{:,.0f}") + " |")
    w("| req/s over redis GET/s (per round; target ≥ 1.0) | "
      + cells(rounds, keys, lambda r, k: r[k]["rps"] / r["redis_pinned"]["rps"], "{:.2f}")
      + " |")
    w("| p99 µs (target ≤ 1,000) | " + cells(rounds, keys, lambda r, k: r[k]["p99_us"], "{:,.0f}")
      + " |")
    w("| p50 µs | " + cells(rounds, keys, lambda r, k: r[k]["p50_us"], "{:,.0f}") + " |")
    w("| server CPU µs per request | "
      + cells(rounds, keys, lambda r, k: r[k]["cpu_us_per_req"], "{:.1f}") + " |")
    w("| client CPU µs per request | "
      + cells(rounds, keys, lambda r, k: r[k]["client_cpu_us_per_req"], "{:.1f}") + " |")
    return lines


def summary(rounds, sched, info, work):
    lines = [f"machine: {info.get('cpu', '')} {info.get('cpus', '')} CPUs; load average at start "
             f"{info['loadavg']}, per round {[r['loadavg'] for r in rounds]}",
             f"medians of {len(rounds)} alternated rounds; wrk -t2 -c50; redis-benchmark -c 50",
             ""] + default_table(rounds) + matched_table(rounds) + [""]
    w = lines.append
    for v in ("before", "after"):
        k = v + "_log"
        w(f"{v} with --access-log (its own runs): client p50 / p99 "
          f"{med(rounds, lambda r: r[k]['p50_us']):,.0f} / "
          f"{med(rounds, lambda r: r[k]['p99_us']):,.0f} µs; the server's own p50 / p99 / "
          f"p99.9 {med(rounds, lambda r: r[k]['own_p50_us']):,.0f} / "
          f"{med(rounds, lambda r: r[k]['own_p99_us']):,.0f} / "
          f"{med(rounds, lambda r: r[k]['own_p999_us']):,.0f} µs")
    for s in sched or []:
        w(f"sched {s['thread']}: {s['slices']} runs, {s['run_ms']:.0f} ms on CPU (a run p50 "
          f"{s['run_p50_us']:.0f} µs, p99 {s['run_p99_us']:.0f} µs); runnable-but-waiting p50 "
          f"{s['delay_p50_us']:.0f} µs, p99 {s['delay_p99_us']:.0f} µs, max "
          f"{s['delay_max_ms']:.1f} ms, waits over 1 ms {s['delayed_over_1ms_ms']:.0f} ms in all")
    w(f"\nwork directory: {work}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
