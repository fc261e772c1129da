#!/usr/bin/python3
"""Overload: admitted latency, 429s, resident memory and health under open-loop load at 2x capacity.

Model: mlp2k_overload from bench/make_bench_models.py, a TorchScript MLP 512 -> 2048 -> 2048
-> 10 (a few ms of compute per 1-row request), threads 1, instances 1, max_queue_size 2, no
batching, alone in its repository. Each of --repeats (3) rounds:

 1. capacity: wrk -t1 -c2 -d{capacity-duration}s (one request running, one queued: the
    queue never overflows) -> successful requests per second;
 2. unloaded: bench/lib/openloop.py at 25 % of that capacity for {unloaded-duration} s -> p50/p99
    (requests evenly spaced, so they do not queue behind each other);
 3. overload: bench/lib/openloop.py at 2x capacity for {duration} s on a pool of 128 keep-alive
    connections, latency measured from each request's scheduled send time (no coordinated
    omission); meanwhile VmRSS of the server from /proc/PID/status every 100 ms and
    GET /v2/health/ready every 100 ms.

Reports medians over the rounds. Targets (issue 3): admitted (200) requests keep p99 <= 5x the
unloaded p99; the excess gets 429 quickly (its latency is reported); resident memory stays flat
(start / peak / end; "flat" here: peak within 10 % of start and end within 5 % of start).
Why max_queue_size 2: an admitted request waits at most for the one running and the queued
ones, i.e. up to (queue + 2) x compute, so a queue of 2 bounds it near 4x the unloaded latency;
a bigger queue trades latency for fewer 429s.

  /usr/bin/python3 bench/overload_bench.py [--duration 30] [--overload-queue 2]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import load, log, machine, models, report, servers  # noqa: E402

MODEL = "mlp2k_overload"
OVERLOAD_FACTOR = 2.0
UNLOADED_FACTOR = 0.25
TARGET_P99_FACTOR = 5.0


def run_openloop(server, body, rate, duration, connections):
    with servers.CpuAccount(server) as cpu:
        s, _ = load.open_loop(server.url(f"/v2/models/{MODEL}/infer"), body, rate, duration,
                              connections)
    s.update(cpu.result)
    return s


def main():
    ap = report.parser(__doc__)
    report.add_common_args(ap)
    ap.add_argument("--duration", type=int, default=30, help="seconds of overload per round")
    ap.add_argument("--capacity-duration", type=int, default=8,
                    help="seconds of the capacity run (wrk -c2)")
    ap.add_argument("--unloaded-duration", type=int, default=15,
                    help="seconds of the unloaded run (open loop at 25%% of capacity)")
    ap.add_argument("--overload-queue", type=int, default=2, help="max_queue_size of the model")
    ap.add_argument("--connections", type=int, default=128,
                    help="connections of the overload run")
    args = ap.parse_args()

    started, out, repo, binary, info = report.begin(
        args, "overload-bench", ["--overload-queue", str(args.overload_queue)])
    body_file = models.body_path(repo, MODEL)
    with open(body_file, "rb") as f:
        body = f.read()
    served = models.subset_repo(repo, [MODEL], out, "repo-overload")

    server = servers.Strata(binary, served, out, label="strata-overload")
    problems, rounds = [], []
    server.start()
    try:
        info["blas"] = servers.blas_of(server.pid)
        load.wrk(server.url(f"/v2/models/{MODEL}/infer"), body_file, 1, 2, 2,
                 os.path.join(out, "warmup.txt"))
        quiet = machine.QuietWaiter(0.2, max_wait_each=10, max_wait_total=60)
        for rep in range(args.repeats):
            rnd = {}
            rnd["busy_before"] = quiet.wait()
            with servers.CpuAccount(server) as cpu:
                cap = load.wrk(server.url(f"/v2/models/{MODEL}/infer"), body_file, 1, 2,
                               args.capacity_duration,
                               os.path.join(out, f"capacity_r{rep + 1}.txt"))
            cap.update(cpu.result)
            if cap["non2xx"]:
                problems.append(f"round {rep + 1}: {cap['non2xx']} non-2xx during the capacity "
                                "run (2 connections should never overflow a queue of 2)")
            capacity = (cap["requests"] - cap["non2xx"]) / (cap["duration_us"] / 1e6)
            rnd["capacity"], rnd["capacity_run"] = capacity, cap
            log(f"round {rep + 1}: capacity {capacity:.0f} req/s (p50 {cap['p50_us']:.0f} µs;"
                   f" others {cap['others_cpus']:.2f} CPUs)")

            rnd["unloaded"] = run_openloop(server, body, UNLOADED_FACTOR * capacity,
                                           args.unloaded_duration, 16)
            u200 = rnd["unloaded"]["by_status"].get(200, {})
            log(f"round {rep + 1}: unloaded at {UNLOADED_FACTOR * capacity:.0f} req/s: p50 "
                   f"{u200.get('p50_us')} p99 {u200.get('p99_us')}; statuses "
                   f"{ {k: v['count'] for k, v in rnd['unloaded']['by_status'].items()} }")

            with servers.RssSampler(server, 0.1) as rss, \
                    servers.Prober(server.url("/v2/health/ready"), 0.1) as health:
                time.sleep(0.5)
                t_before = time.monotonic()
                ov = run_openloop(server, body, OVERLOAD_FACTOR * capacity, args.duration,
                                  args.connections)
                t_after = time.monotonic()
                time.sleep(1.0)
            before = [kb for t, kb in rss.samples if t < t_before]
            during = rss.between(t_before, t_after)
            after = [kb for t, kb in rss.samples if t > t_after]
            ov["rss_start_kb"] = before[-1] if before else (during[0] if during else None)
            ov["rss_peak_kb"] = max(during) if during else None
            ov["rss_end_kb"] = after[-1] if after else None
            hl = [lat * 1e6 for t, st, lat in health.records if t_before <= t <= t_after]
            hbad = [st for t, st, lat in health.records if t_before <= t <= t_after and st != 200]
            ov["health_probes"], ov["health_failures"] = len(hl), len(hbad)
            ov["health_p50_us"] = load.percentile(hl, 50)
            ov["health_max_us"] = max(hl) if hl else None
            rnd["overload"] = ov
            o = ov["by_status"]
            log(f"round {rep + 1}: overload offered {ov['offered']:.0f} achieved "
                   f"{ov['achieved_rps']:.0f} req/s lag p99 {ov['lag_p99_us']:.0f} µs; "
                   f"{ {k: (v['count'], round(v['p99_us'])) for k, v in o.items()} }; RSS "
                   f"{ov['rss_start_kb']} / {ov['rss_peak_kb']} / {ov['rss_end_kb']} kB; "
                   f"others {ov['others_cpus']:.2f} CPUs")
            rounds.append(rnd)
            if not server.alive():
                problems.append(f"server died in round {rep + 1}")
                break
    finally:
        server.finish(problems)

    report.save_results(out, {"machine": info, "args": vars(args), "rounds": rounds,
                          "problems": problems})
    print(make_report(info, args, started, out, rounds, problems))


def make_report(info, args, started, out, rounds, problems):
    lines = report.header(
        "Overload (issue 3)", info, started,
        [f"model: mlp2k_overload, TorchScript MLP 512 → 2048 → 2048 → 10, `threads: 1`, "
         f"`instances: 1`, `max_queue_size: {args.overload_queue}`, no batching, BLAS "
         f"{info.get('blas', '?')}; alone in its repository",
         f"each round: capacity = `wrk -t1 -c2 -d{args.capacity_duration}s` (2xx/s); "
         f"unloaded = open loop at {UNLOADED_FACTOR:.0%} of capacity for "
         f"{args.unloaded_duration} s; overload = open loop at {OVERLOAD_FACTOR:.0f}× capacity "
         f"for {args.duration} s on {args.connections} keep-alive connections (bench/lib/openloop.py,"
         " latency from the scheduled send time); VmRSS and GET /v2/health/ready sampled every "
         "100 ms",
         f"figures: median of {len(rounds)} rounds (spread in brackets: min – max)"])
    w = lines.append

    def col(get, f=report.us):
        return report.median_spread([get(r) for r in rounds], f)

    num, mib = report.num, report.mib
    s200 = lambda r, k: r["overload"]["by_status"].get(200, {}).get(k)
    s429 = lambda r, k: r["overload"]["by_status"].get(429, {}).get(k)
    u200 = lambda r, k: r["unloaded"]["by_status"].get(200, {}).get(k)
    w("\n| figure | value |")
    w("|---|---|")
    w(f"| capacity (wrk -c2), req/s | {col(lambda r: r['capacity'], num)} |")
    w(f"| unloaded p50 / p99 | {col(lambda r: u200(r, 'p50_us'))} / "
      f"{col(lambda r: u200(r, 'p99_us'))} |")
    w(f"| overload offered / achieved send rate, req/s | "
      f"{col(lambda r: r['overload']['offered'], num)} / "
      f"{col(lambda r: r['overload']['achieved_rps'], num)} |")
    w(f"| generator lag (send − scheduled) p99 | {col(lambda r: r['overload']['lag_p99_us'])} |")
    w(f"| admitted (200) per s | {col(lambda r: (s200(r, 'count') or 0) / args.duration, num)} |")
    w(f"| admitted p50 / p99 / max | {col(lambda r: s200(r, 'p50_us'))} / "
      f"{col(lambda r: s200(r, 'p99_us'))} / {col(lambda r: s200(r, 'max_us'))} |")
    w(f"| rejected (429) share | "
      f"{col(lambda r: (s429(r, 'count') or 0) / max(1, r['overload']['count']), lambda v: f'{v:.1%}')} |")
    w(f"| 429 latency p50 / p99 / max | {col(lambda r: s429(r, 'p50_us'))} / "
      f"{col(lambda r: s429(r, 'p99_us'))} / {col(lambda r: s429(r, 'max_us'))} |")
    w(f"| 429 p50 / p99 from the actual send (no generator lag or connection wait) | "
      f"{col(lambda r: s429(r, 'svc_p50_us'))} / {col(lambda r: s429(r, 'svc_p99_us'))} |")
    w(f"| admitted p50 / p99 from the actual send | {col(lambda r: s200(r, 'svc_p50_us'))} / "
      f"{col(lambda r: s200(r, 'svc_p99_us'))} |")
    others = sorted({k for r in rounds for k in r["overload"]["by_status"]} - {200, 429})
    w("| other outcomes | "
      + (", ".join(f"{'connection error' if k == 0 else k}: "
                   f"{col(lambda r: r['overload']['by_status'].get(k, {}).get('count', 0), num)}"
                   for k in others) or "none") + " |")
    w(f"| unfinished at the end (10 s drain) | "
      f"{col(lambda r: r['overload']['unfinished'], num)} |")
    w(f"| VmRSS start / peak / end | {col(lambda r: r['overload']['rss_start_kb'], mib)} / "
      f"{col(lambda r: r['overload']['rss_peak_kb'], mib)} / "
      f"{col(lambda r: r['overload']['rss_end_kb'], mib)} |")
    w(f"| health checks during overload: failures, p50, max latency | "
      f"{col(lambda r: r['overload']['health_failures'], num)}, "
      f"{col(lambda r: r['overload']['health_p50_us'])}, "
      f"{col(lambda r: r['overload']['health_max_us'])} |")
    w(f"| CPUs during overload: server / generator / others | "
      f"{col(lambda r: r['overload']['server_cpus'], report.cpus)} / "
      f"{col(lambda r: r['overload']['client_cpus'], report.cpus)} / "
      f"{col(lambda r: r['overload']['others_cpus'], report.cpus)} |")

    p99_ad = report.median([s200(r, "p99_us") for r in rounds])
    p99_un = report.median([u200(r, "p99_us") for r in rounds])
    start = report.median([r["overload"]["rss_start_kb"] for r in rounds])
    peak = report.median([r["overload"]["rss_peak_kb"] for r in rounds])
    end = report.median([r["overload"]["rss_end_kb"] for r in rounds])
    ach = report.median([r["overload"]["achieved_rps"] / r["overload"]["offered"] for r in rounds])
    w("\nTargets:")
    if p99_ad is not None and p99_un:
        w(f"- admitted p99 {report.us(p99_ad)} = **{p99_ad / p99_un:.1f}×** the unloaded p99 "
          f"{report.us(p99_un)} (target ≤ {TARGET_P99_FACTOR:.0f}×): "
          f"{report.verdict(p99_ad <= TARGET_P99_FACTOR * p99_un)}")
    w(f"- excess answered 429 with p50 {report.us(report.median([s429(r, 'p50_us') for r in rounds]))}"
      f", p99 {report.us(report.median([s429(r, 'p99_us') for r in rounds]))} from the scheduled send "
      f"time (p99 {report.us(report.median([s429(r, 'svc_p99_us') for r in rounds]))} from the actual "
      "send)")
    if start and peak and end:
        flat = peak <= 1.10 * start and abs(end - start) <= 0.05 * start
        w(f"- resident memory start / peak / end {start / 1024:,.1f} / {peak / 1024:,.1f} / "
          f"{end / 1024:,.1f} MiB (peak {100 * (peak / start - 1):+.1f} %, end "
          f"{100 * (end / start - 1):+.1f} %): {report.verdict(flat)}")
    w(f"- the generator sent {ach:.1%} of the offered rate (median over rounds)")
    return report.end(lines, problems, "server up until SIGTERM, no warnings in its log",
                      out)


if __name__ == "__main__":
    main()
