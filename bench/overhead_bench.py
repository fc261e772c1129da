#!/usr/bin/python3
"""Overhead over the model call: strata's single-connection REST p50 minus the in-process
model call.

Model: digits_mlp (examples/, TorchScript MLP 64 -> 128 -> 64 -> 10, config unchanged), alone in
its repository. Each of --repeats (3) rounds, interleaved:

  1. bench/model_call_bench --model_dir=.../digits_mlp --rows=1 (Google Benchmark; loads the
     model through serving::LoadModelConfig and the TorchScript backend's factory, times
     Model::Run() on a 1-row input) -> real time per call;
  2. wrk -t1 -c1 -d{duration}s --latency -s bench/post.lua against strata -> p50;
     /stats before and after -> strata's own mean compute (Run inside the server) and queue
     time per request.

Overhead = median p50 - median Run() time: what HTTP, JSON, validation, the hand-off to the
model's worker thread and back, and wrk's own client side add to one model call.
Target (issue 3): <= 30 µs.

  /usr/bin/python3 bench/overhead_bench.py [--duration 10]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import log, load, machine, models, report, servers  # noqa: E402

MODEL = "digits_mlp"
TARGET_US = 30.0


def main():
    ap = report.parser(__doc__)
    report.add_common_args(ap)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--min-time", type=float, default=2.0,
                    help="Google Benchmark --benchmark_min_time per round")
    ap.add_argument("--model-call-bench", help="bench/model_call_bench binary")
    ap.add_argument("--http-threads", type=int, default=0, help="0: strata's default")
    args = ap.parse_args()

    started, out, repo, binary, info = report.begin(args, "overhead-bench")
    mcb = models.find_model_call_bench(args.model_call_bench)
    served = models.subset_repo(repo, [MODEL], out, "repo-overhead")
    model_dir = os.path.join(served, "models", MODEL)
    server = servers.Strata(binary, served, out, label="strata-overhead",
                            http_threads=args.http_threads)
    problems, rounds = [], []
    server.start()
    url = server.url(f"/v2/models/{MODEL}/infer")
    body = models.body_path(repo, MODEL)
    try:
        info["blas"] = servers.blas_of(server.pid)
        load.wrk(url, body, 1, 1, 2, os.path.join(out, "warmup.txt"))
        quiet = machine.QuietWaiter(0.2, max_wait_each=10, max_wait_total=60)
        for rep in range(args.repeats):
            rnd = {"busy_before": quiet.wait()}
            a0, t0 = machine.total_busy_cpu_seconds(), time.monotonic()
            gb = models.model_call_bench(mcb, model_dir, "1", args.min_time)[0]
            rnd["run_us"], rnd["run_cpu_us"] = gb["real_time"], gb["cpu_time"]
            rnd["gbench_machine_cpus_busy"] = (machine.total_busy_cpu_seconds() - a0) / (
                time.monotonic() - t0)
            quiet.wait()
            before = models.model_stats(server, MODEL)
            with servers.CpuAccount(server) as cpu:
                w = load.wrk(url, body, 1, 1, args.duration,
                             os.path.join(out, f"c1_r{rep + 1}.txt"))
            w.update(cpu.result)
            d = models.stats_diff(before, models.model_stats(server, MODEL))
            w["compute_mean_us"] = d["compute"][1] / max(1, d["compute"][0]) / 1e3
            w["queue_mean_us"] = d["queue"][1] / max(1, d["queue"][0]) / 1e3
            rnd["wrk"] = w
            if load.failures(w):
                problems.append(f"round {rep + 1}: {load.failure_text(w)}")
            log(f"round {rep + 1}: Run() {rnd['run_us']:.1f} µs (cpu {rnd['run_cpu_us']:.1f})"
                f"; wrk p50 {w['p50_us']:.0f} µs p99 {w['p99_us']:.0f}; server compute "
                f"{w['compute_mean_us']:.1f} queue {w['queue_mean_us']:.1f}; others "
                f"{w['others_cpus']:.2f}")
            rounds.append(rnd)
    finally:
        server.finish(problems)
    report.save_results(out, {"machine": info, "args": vars(args), "rounds": rounds,
                              "problems": problems})
    print(make_report(info, args, started, out, rounds, problems))


def make_report(info, args, started, out, rounds, problems):
    lines = report.header(
        "Overhead over the model call (issue 3)", info, started,
        [f"model: digits_mlp (TorchScript MLP 64 → 128 → 64 → 10, `threads: 1`, example "
         f"config), BLAS {info.get('blas', '?')}; 1-row request `[1,64]` FP32 as KServe v2 JSON",
         f"in-process: `bench/model_call_bench --rows=1 --benchmark_min_time={args.min_time}` "
         f"(C++, Google Benchmark, strata's TorchScript backend, real time per Run()); REST: "
         f"`wrk -t1 -c1 -d{args.duration}s`; strata `--http-threads "
         f"{args.http_threads or 'default (one per core)'}`",
         f"{len(rounds)} rounds, Run() and wrk alternating; figures are medians (spread in "
         "brackets: min – max)"])
    w = lines.append
    one = lambda v: f"{v:,.1f} µs"  # noqa: E731

    def col(get, f=one):
        return report.median_spread([get(r) for r in rounds], f)

    w("\n| figure | value |")
    w("|---|---|")
    w(f"| model Run(), in-process (Google Benchmark), real / CPU | {col(lambda r: r['run_us'])}"
      f" / {col(lambda r: r['run_cpu_us'])} |")
    w(f"| strata p50, 1 connection (wrk) | {col(lambda r: r['wrk']['p50_us'])} |")
    w(f"| strata p99 / req/s, 1 connection | {col(lambda r: r['wrk']['p99_us'])} / "
      f"{col(lambda r: r['wrk']['rps'], report.num)} |")
    w(f"| inside strata: mean compute (Run) / queue per request (/stats) | "
      f"{col(lambda r: r['wrk']['compute_mean_us'])} / {col(lambda r: r['wrk']['queue_mean_us'])} |")
    w(f"| overhead = p50 − Run(), per round (paired) | "
      f"{col(lambda r: r['wrk']['p50_us'] - r['run_us'])} |")
    w(f"| CPUs during wrk: server / wrk / others | "
      f"{col(lambda r: r['wrk']['server_cpus'], report.cpus)} / "
      f"{col(lambda r: r['wrk']['client_cpus'], report.cpus)} / "
      f"{col(lambda r: r['wrk']['others_cpus'], report.cpus)} |")
    p50 = report.median([r["wrk"]["p50_us"] for r in rounds])
    run_us = report.median([r["run_us"] for r in rounds])
    paired = report.median([r["wrk"]["p50_us"] - r["run_us"] for r in rounds])
    if p50 is not None and run_us is not None:
        w(f"\nTarget: overhead **{paired:,.1f} µs** (median over the rounds of p50 − Run() of the "
          f"same round; the difference of the medians is {p50:,.1f} − {run_us:,.1f} = "
          f"{p50 - run_us:,.1f} µs) (target ≤ {TARGET_US:.0f} µs): "
          f"{report.verdict(paired <= TARGET_US)}")
    return report.end(lines, problems, "every response 2xx, server up until SIGTERM, no "
                                       "warnings in its log", out)


if __name__ == "__main__":
    main()
