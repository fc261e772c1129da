#!/usr/bin/python3
"""The lean request path (issue 17, items 1 and 4): two strata binaries, before and after,
against the HTTP floor (nginx's fixed `return 200` JSON) and redis-benchmark GET, same run.

Servers, all up for the whole run (idle while another is measured): nginx, redis-server, and
each binary serving examples/ digits_mlp (TorchScript MLP, its example config: no batching,
instances 1) plus a static endpoint `embedded` on a 100,000-row RocksDB table (held in memory)
built by the after binary's `strata batch` from breast_cancer_xgb.

Each of --rounds rounds measures, for nginx, then before, then after (A B A B ...):
  - wrk -t2 -c16 -d{duration}s, 1-row MLP request (nginx: any request): req/s, and the
    server's CPU per request (its /proc CPU time over the run / requests);
  - wrk -t1 -c1 -d{duration}s: p50;
  - static: wrk -t2 -c50 -d{duration}s, one key per request: req/s, p99; and, once per
    round, redis-benchmark -t get -c 50 -n 200000 -r 100000.
Figures are medians over the rounds; every ratio is taken within a round first.

  /usr/bin/python3 bench/lean_path_bench.py --before OLD_BIN --after NEW_BIN
      [--rounds 3] [--duration 5] [--out DIR]
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import load, log, machine, models, report, servers  # noqa: E402

ROWS = 100_000


def measure_wrk(server, url, body, threads, conns, duration, out, name):
    with servers.CpuAccount(server) as cpu:
        r = load.wrk(url, body, threads, conns, duration, os.path.join(out, name + ".txt"))
    if load.failures(r):
        raise RuntimeError(f"{name}: {load.failure_text(r)}")
    r["cpu_us_per_req"] = cpu.result["server_cpu_s"] * 1e6 / max(1, r["requests"])
    r["others_cpus"] = cpu.result["others_cpus"]
    return r


def setup(work, after):
    repo = models.example_repo(os.path.join(work, "repo"), ["digits_mlp", "breast_cancer_xgb"])
    rows, _ = models.sample_rows(repo, "digits_mlp")
    mlp_body = os.path.join(work, "mlp1.json")
    with open(mlp_body, "w") as f:
        json.dump({"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, len(rows[0])],
                               "data": rows[0]}]}, f)
    xrows, _ = models.sample_rows(repo, "breast_cancer_xgb")
    source = os.path.join(work, "in.csv")
    width = models.write_keyed_csv(source, range(ROWS), xrows)
    models.build_table(after, repo, "breast_cancer_xgb", source, "scores", width,
                       ["--store", "rocksdb"])
    endpoints = os.path.join(work, "strata.yaml")
    with open(endpoints, "w") as f:
        f.write("endpoints:\n  embedded: {table: scores, store: rocksdb, default: 0.01}\n")
    key_body = os.path.join(work, "key1.json")
    with open(key_body, "w") as f:
        json.dump({"inputs": [{"name": "id", "datatype": "INT64", "shape": [1],
                               "data": [4242]}]}, f)
    return repo, endpoints, mlp_body, key_body


def round_of(servers_by_name, redis, bodies, args, out, n):
    mlp_body, key_body = bodies
    result = {"redis": load.redis_benchmark(redis.port, 200_000, clients=50, keyspace=ROWS)}
    for name, server in servers_by_name.items():
        mlp = server.url("/v2/models/digits_mlp/infer")
        r = {"c16": measure_wrk(server, mlp, mlp_body, 2, 16, args.duration, out,
                                f"{name}_c16_r{n}"),
             "c1": measure_wrk(server, mlp, mlp_body, 1, 1, args.duration, out,
                               f"{name}_c1_r{n}")}
        if name != "nginx":
            r["static"] = measure_wrk(server, server.url("/v2/models/embedded/infer"), key_body,
                                      2, 50, args.duration, out, f"{name}_static_r{n}")
        result[name] = r
        log(f"round {n} {name}: c16 {r['c16']['rps']:,.0f} req/s {r['c16']['cpu_us_per_req']:.1f}"
            f" µs/req; c1 p50 {r['c1']['p50_us']:.0f} µs"
            + (f"; static {r['static']['rps']:,.0f} req/s p99 {r['static']['p99_us']:.0f} µs"
               if "static" in r else ""))
    log(f"round {n} redis-benchmark GET: {result['redis']['rps']:,.0f}/s "
        f"p99 {result['redis']['p99_us']:.0f} µs")
    return result


def main():
    ap = report.parser(__doc__)
    ap.add_argument("--before", required=True, help="strata binary before the change")
    ap.add_argument("--after", required=True, help="strata binary after the change")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--out", help="keep the work directory here")
    args = ap.parse_args()
    work = report.out_dir(args, "lean-path-bench")
    info = machine.machine_info()
    info["loadavg"] = machine.loadavg()
    repo, endpoints, mlp_body, key_body = setup(work, args.after)
    running, problems, rounds = [], [], []
    try:
        redis = servers.Redis(work).start()
        running.append(redis)
        by_name = {"nginx": servers.nginx(work).start()}
        running.append(by_name["nginx"])
        for name in ("before", "after"):
            binary = getattr(args, name)
            by_name[name] = servers.Strata(binary, repo, work, label=f"strata-{name}",
                                           endpoints=endpoints).start()
            running.append(by_name[name])
        for n in range(1, args.rounds + 1):
            rounds.append(round_of(by_name, redis, (mlp_body, key_body), args, work, n))
    finally:
        servers.stop_all(running, problems)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"machine": info, "rounds": rounds, "problems": problems}, f, indent=1)
    print(summary(rounds, info, args, work))


def med(rounds, get):
    return statistics.median(get(r) for r in rounds)


def summary(rounds, info, args, work):
    lines = [f"machine: {info.get('cpu', '?')}, {info.get('nproc', '?')} CPUs, load average "
             f"{info.get('loadavg', '?')} at the start; {len(rounds)} rounds of nginx, before, after "
             f"(alternating); wrk {args.duration}s each; medians", "",
             "| figure | nginx / redis | before | after | target |", "|---|---:|---:|---:|---|"]
    w = lines.append
    n16 = med(rounds, lambda r: r["nginx"]["c16"]["rps"])
    w(f"| MLP req/s, 16 connections | {n16:,.0f} | "
      + " | ".join(f"{med(rounds, lambda r: r[b]['c16']['rps']):,.0f}" for b in ("before", "after"))
      + " | |")
    w("| share of nginx's req/s (per round) | 1.00 | "
      + " | ".join(f"{med(rounds, lambda r: r[b]['c16']['rps'] / r['nginx']['c16']['rps']):.2f}"
                   for b in ("before", "after")) + " | ≥ 0.4 |")
    w(f"| server CPU µs per request, 16 connections | "
      f"{med(rounds, lambda r: r['nginx']['c16']['cpu_us_per_req']):.1f} | "
      + " | ".join(f"{med(rounds, lambda r: r[b]['c16']['cpu_us_per_req']):.1f}"
                   for b in ("before", "after")) + " | ≤ 20 |")
    w(f"| p50 µs, 1 connection | {med(rounds, lambda r: r['nginx']['c1']['p50_us']):.0f} | "
      + " | ".join(f"{med(rounds, lambda r: r[b]['c1']['p50_us']):.0f}"
                   for b in ("before", "after")) + " | |")
    w("| p50 minus nginx's p50 (per round), µs | 0 | "
      + " | ".join(f"{med(rounds, lambda r: r[b]['c1']['p50_us'] - r['nginx']['c1']['p50_us']):.0f}"
                   for b in ("before", "after")) + " | ≤ 15 |")
    w(f"| static 1 key, 50 connections, req/s (redis-benchmark GET/s) | "
      f"{med(rounds, lambda r: r['redis']['rps']):,.0f} | "
      + " | ".join(f"{med(rounds, lambda r: r[b]['static']['rps']):,.0f}"
                   for b in ("before", "after")) + " | |")
    w("| static req/s over redis GET/s (per round) | 1.00 | "
      + " | ".join(f"{med(rounds, lambda r: r[b]['static']['rps'] / r['redis']['rps']):.2f}"
                   for b in ("before", "after")) + " | ≥ 1.0 |")
    w(f"| static p99 µs (redis-benchmark p99) | {med(rounds, lambda r: r['redis']['p99_us']):.0f} | "
      + " | ".join(f"{med(rounds, lambda r: r[b]['static']['p99_us']):.0f}"
                   for b in ("before", "after")) + " | ≤ 1000 |")
    w(f"| others' CPUs during strata's c16 runs (machine noise) | | "
      + " | ".join(f"{med(rounds, lambda r: r[b]['c16']['others_cpus']):.2f}"
                   for b in ("before", "after")) + " | |")
    lines.append(f"\nwork directory: {work}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
