#!/usr/bin/python3
"""strata vs the FastAPI peer (and nginx's fixed response, the HTTP floor): digits_mlp at 16 and
64 connections, same run.

Servers, all up for the whole run (idle while another is measured):
  strata               `strata serve` (default --http-threads: one per core), digits_mlp alone
  FastAPI peers        bench/peer/fastapi_server.py (issue 2's peer, used as is) on
                       --peer-configs, default plain:1, standard:1, standard:2 =
                       asyncio+h11 with 1 worker, uvloop+httptools with 1 and 2 workers
                       (uvloop/httptools fetched by bench/peer/fetch_peer_deps.sh, as
                       bench/rest_bench.py does)
  nginx (--floor)      nginx answering every request with a fixed `return 200` JSON body (no
                       model, no parsing): what a request costs when the server does nothing
Before measuring, every server but nginx must answer the 1-row and the 32-row sample request with
the expected prediction (bench/lib/models.py: sanity).

For each of --repeats (3) repeats, for 16 then 64 connections, for each server in turn:
wrk -t2 -cN -d{duration}s --latency -s bench/post.lua (1-row request). Medians reported.

Targets (issue 3): strata >= 20x the peer's throughput and <= 1/10 of its p99, at 16 and at 64
connections; judged against the best peer configuration for each figure (highest req/s, lowest
p99).

  /usr/bin/python3 bench/peer_bench.py [--duration 5] [--peer-configs plain:1,standard:2]
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import load, log, machine, models, report, servers  # noqa: E402

MODEL = "digits_mlp"
CONNS = (16, 64)
TARGET_RPS = 20.0
TARGET_P99 = 10.0


def main():
    ap = report.parser(__doc__)
    report.add_common_args(ap)
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--peer-configs", default="plain:1,standard:1,standard:2",
                    help="STACK:WORKERS,...; stacks: plain (asyncio+h11), standard "
                         "(uvloop+httptools)")
    ap.add_argument("--peer-deps", default=servers.DEFAULT_PEER_DEPS,
                    help="where bench/peer/fetch_peer_deps.sh unpacks uvloop + httptools")
    ap.add_argument("--no-fetch", action="store_true",
                    help="do not fetch uvloop + httptools if missing (skip those configs)")
    ap.add_argument("--floor", action="store_true",
                    help="also measure nginx's fixed response (the HTTP floor)")
    args = ap.parse_args()

    started, out, repo, binary, info = report.begin(args, "peer-bench")
    served = models.subset_repo(repo, [MODEL], out, "repo-peer")
    body_file = models.body_path(repo, MODEL)
    with open(body_file) as f:
        body = json.load(f)
    samples = models.load_samples(served, MODEL)

    running, notes = [servers.Strata(binary, served, out, label="strata")], []
    for cfg in [c for c in args.peer_configs.split(",") if c]:
        stack, workers = cfg.split(":")
        try:
            peer = servers.fastapi_peer(served, out, stack, int(workers), args.peer_deps,
                                        fetch=not args.no_fetch)
        except servers.Unavailable as e:
            notes.append(f"peer {cfg} skipped: {e}")
            continue
        if peer.extras:
            info["peer_extras"] = peer.extras
        running.append(peer)
    if args.floor:
        running.append(servers.nginx(out, label="nginx fixed response"))

    problems, results, sanity = [], {}, {}
    started_servers = []
    try:
        for s in running:
            s.start()
            started_servers.append(s)
            if not s.label.startswith("nginx"):
                bad, text = models.sanity(s, MODEL, body, samples)
                sanity[s.label] = text
                if bad:
                    raise RuntimeError("sanity check failed:\n" + "\n".join(bad))
            load.wrk(s.url(f"/v2/models/{MODEL}/infer"), body_file, 2, 16, 1,
                     os.path.join(out, f"warmup_{len(started_servers)}.txt"))
        log("all servers up and answering correctly")
        quiet = machine.QuietWaiter(0.2, max_wait_each=10, max_wait_total=90)
        for rep in range(args.repeats):
            for conns in CONNS:
                for i, s in enumerate(running):
                    busy = quiet.wait()
                    with servers.CpuAccount(s) as cpu:
                        r = load.wrk(s.url(f"/v2/models/{MODEL}/infer"), body_file, 2, conns,
                                     args.duration,
                                     os.path.join(out, f"s{i}_c{conns}_r{rep + 1}.txt"))
                    r.update(cpu.result, busy_before=busy)
                    r["cpu_us_per_req"] = (r["server_cpus"] * r["duration_us"]
                                           / max(1, r["requests"]))
                    if load.failures(r):
                        problems.append(f"{s.label} c{conns} rep {rep + 1}: "
                                        f"{load.failure_text(r)}")
                    log(f"{s.label:<36} c{conns:<3} rep {rep + 1}: {r['rps']:,.0f} req/s "
                        f"p50 {r['p50_us']:.0f} p99 {r['p99_us']:.0f} µs; server "
                        f"{r['server_cpus']:.2f} wrk {r['client_cpus']:.2f} others "
                        f"{r['others_cpus']:.2f} CPUs")
                    results.setdefault(s.label, {}).setdefault(conns, []).append(r)
    finally:
        for s in started_servers:
            if isinstance(s, servers.Strata):
                s.finish(problems)
            else:
                s.stop(problems)
    report.save_results(out, {"machine": info, "args": vars(args), "results": results,
                              "problems": problems})
    print(make_report(info, args, started, out, [s.label for s in running], results,
                      problems + notes, sanity))


def make_report(info, args, started, out, labels, results, problems, sanity):
    lines = report.header(
        "strata vs the FastAPI peer at 16 and 64 connections (issue 3)", info, started,
        ["model: digits_mlp (TorchScript MLP 64 → 128 → 64 → 10, `threads: 1`), 1-row "
         "request; every server answers the sample requests identically before the run",
         f"peer stack: {info['python_stack']}"
         + (f"; uvicorn[standard] extras: {info['peer_extras']}" if info.get("peer_extras")
            else ""),
         f"load: `wrk -t2 -cN -d{args.duration}s`, N = 16 and 64; servers and connection "
         f"counts interleaved in one run; each figure the median of {args.repeats} runs"])
    w = lines.append
    w("\n| conns | server | req/s | p50 | p99 | server CPU / req | strata req/s ÷ this | "
      "this p99 ÷ strata p99 | others CPUs |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    verdicts = []
    strata = labels[0]
    for conns in CONNS:
        med = {}
        for label in labels:
            runs = results.get(label, {}).get(conns, [])
            med[label] = {k: report.median([r.get(k) for r in runs]) for k in
                          ("rps", "p50_us", "p99_us", "cpu_us_per_req", "others_cpus")}
        s = med[strata]
        for label in labels:
            m = med[label]
            if m["rps"] is None:
                continue
            if label == strata:
                rps_ratio = p99_ratio = "—"
            else:
                rps_ratio = f"{s['rps'] / m['rps']:.1f}×"
                p99_ratio = f"{m['p99_us'] / s['p99_us']:.1f}×"
            w(f"| {conns} | {label} | {m['rps']:,.0f} | {report.us(m['p50_us'])} | "
              f"{report.us(m['p99_us'])} | {report.us(m['cpu_us_per_req'])} | {rps_ratio} | "
              f"{p99_ratio} | {m['others_cpus']:.2f} |")
        peers = [l for l in labels[1:] if med[l]["rps"] and not l.startswith("nginx")]
        if peers and s["rps"]:
            best_rps = max(peers, key=lambda l: med[l]["rps"])
            best_p99 = min(peers, key=lambda l: med[l]["p99_us"])
            ratio = s["rps"] / med[best_rps]["rps"]
            p99r = med[best_p99]["p99_us"] / s["p99_us"]
            verdicts.append(
                f"- {conns} connections: throughput **{ratio:.1f}×** the best peer "
                f"({best_rps}, {med[best_rps]['rps']:,.0f} req/s; target ≥ {TARGET_RPS:.0f}×): "
                f"{report.verdict(ratio >= TARGET_RPS)}; p99 {report.us(s['p99_us'])} = "
                f"**1/{p99r:.1f}** of the best peer p99 ({best_p99}, "
                f"{report.us(med[best_p99]['p99_us'])}; target ≤ 1/{TARGET_P99:.0f}): "
                f"{report.verdict(p99r >= TARGET_P99)}")
    w("\nTargets:")
    lines.extend(verdicts)
    w("\nAt a fixed number of connections a closed-loop client keeps, the mean latency is "
      "connections ÷ throughput (Little's law), so strata's p99 can be 1/10 of the peer's only "
      "if its throughput is close to 10× the peer's too (or the peer's tail is far above its "
      "mean).")
    w("\nSpread over the runs (min – max):\n")
    w("| conns | server | req/s | p99 | others CPUs |")
    w("|---:|---|---|---|---|")
    for conns in CONNS:
        for label in labels:
            runs = results.get(label, {}).get(conns, [])
            if runs:
                w(f"| {conns} | {label} | "
                  f"{report.spread([r['rps'] for r in runs], report.num)} | "
                  f"{report.spread([r['p99_us'] for r in runs])} | "
                  f"{report.spread([r['others_cpus'] for r in runs], report.cpus)} |")
    return report.end(lines, problems, "every response 2xx, no socket errors, servers up "
                                       "until SIGTERM", out)


if __name__ == "__main__":
    main()
