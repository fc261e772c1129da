#!/usr/bin/python3
"""Issue 3 benchmark "Overhead": strata's single-connection p50 minus the in-process model call.

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

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

MODEL = "digits_mlp"
TARGET_US = 30.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    bl.add_common_args(ap)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--min-time", type=float, default=2.0,
                    help="Google Benchmark --benchmark_min_time per round")
    ap.add_argument("--model-call-bench", help="bench/model_call_bench binary")
    ap.add_argument("--http-threads", type=int, default=0, help="0: strata's default")
    args = ap.parse_args()

    started = bl.now()
    out = bl.out_dir(args, "overhead-bench")
    repo = bl.bench_models(args, out)
    binary, binfo = bl.strata_binary(args, out)
    mcb = bl.find_model_call_bench(args.model_call_bench)
    info = dict(bl.machine_info(), **binfo)
    served = bl.subset_repo(repo, [MODEL], out, "repo-overhead")
    model_dir = os.path.join(served, "models", MODEL)
    extra = ["--http-threads", str(args.http_threads)] if args.http_threads else []
    server = bl.Strata(binary, served, out, label="strata-overhead", extra=extra)
    problems, rounds = [], []
    server.start()
    url = server.url(f"/v2/models/{MODEL}/infer")
    body = bl.body_path(repo, MODEL)
    try:
        info["blas"] = bl.blas_of(server.pid)
        bl.run_wrk(url, body, 1, 1, 2, os.path.join(out, "warmup.txt"))
        quiet = bl.QuietWaiter(0.2, max_wait_each=10, max_wait_total=60)
        for rep in range(args.repeats):
            rnd = {"busy_before": quiet.wait()}
            cmd = [mcb, f"--model_dir={model_dir}", "--rows=1",
                   f"--benchmark_min_time={args.min_time}", "--benchmark_format=json"]
            bl.COMMANDS.append(" ".join(cmd))
            a0 = bl.total_busy_cpu_seconds()
            import time
            t0 = time.monotonic()
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                raise RuntimeError(f"model_call_bench failed: {r.stderr[-2000:]}")
            gb = [b for b in json.loads(r.stdout)["benchmarks"]
                  if b.get("run_type") == "iteration"][0]
            rnd["run_us"], rnd["run_cpu_us"] = gb["real_time"], gb["cpu_time"]
            rnd["gbench_machine_cpus_busy"] = (bl.total_busy_cpu_seconds() - a0) / (
                time.monotonic() - t0)
            quiet.wait()
            before = bl.model_stats(server, MODEL)
            with bl.CpuAccount(server.pid) as cpu:
                w = bl.run_wrk(url, body, 1, 1, args.duration,
                               os.path.join(out, f"c1_r{rep + 1}.txt"))
            w.update(cpu.result)
            d = bl.stats_diff(before, bl.model_stats(server, MODEL))
            w["compute_mean_us"] = d["compute"][1] / max(1, d["compute"][0]) / 1e3
            w["queue_mean_us"] = d["queue"][1] / max(1, d["queue"][0]) / 1e3
            rnd["wrk"] = w
            if w["non2xx"] or w["errors_read"] or w["errors_timeout"]:
                problems.append(f"round {rep + 1}: {w['non2xx']} non-2xx, read errors "
                                f"{w['errors_read']}, timeouts {w['errors_timeout']}")
            bl.log(f"round {rep + 1}: Run() {rnd['run_us']:.1f} µs (cpu {rnd['run_cpu_us']:.1f})"
                   f"; wrk p50 {w['p50_us']:.0f} µs p99 {w['p99_us']:.0f}; server compute "
                   f"{w['compute_mean_us']:.1f} queue {w['queue_mean_us']:.1f}; others "
                   f"{w['others_cpus']:.2f}")
            rounds.append(rnd)
    finally:
        problems.extend(bl.server_problems(server))
        bl.stop(server, problems)
    bl.save_results(out, {"machine": info, "args": vars(args), "rounds": rounds,
                          "problems": problems})
    print(report(info, args, started, out, rounds, problems))


def report(info, args, started, out, rounds, problems):
    lines = bl.header(
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

    def col(get, f=lambda v: f"{v:,.1f} µs"):
        vals = [get(r) for r in rounds]
        vals = [v for v in vals if v is not None]
        return f"{f(bl.median(vals))} ({f(min(vals))} – {f(max(vals))})" if vals else "—"

    w("\n| figure | value |")
    w("|---|---|")
    w(f"| model Run(), in-process (Google Benchmark), real / CPU | {col(lambda r: r['run_us'])}"
      f" / {col(lambda r: r['run_cpu_us'])} |")
    w(f"| strata p50, 1 connection (wrk) | {col(lambda r: r['wrk']['p50_us'])} |")
    w(f"| strata p99 / req/s, 1 connection | {col(lambda r: r['wrk']['p99_us'])} / "
      f"{col(lambda r: r['wrk']['rps'], lambda v: f'{v:,.0f}')} |")
    w(f"| inside strata: mean compute (Run) / queue per request (/stats) | "
      f"{col(lambda r: r['wrk']['compute_mean_us'])} / {col(lambda r: r['wrk']['queue_mean_us'])} |")
    w(f"| overhead = p50 − Run(), per round (paired) | "
      f"{col(lambda r: r['wrk']['p50_us'] - r['run_us'])} |")
    w(f"| CPUs during wrk: server / wrk / others | "
      f"{col(lambda r: r['wrk']['server_cpus'], lambda v: f'{v:.2f}')} / "
      f"{col(lambda r: r['wrk']['client_cpus'], lambda v: f'{v:.2f}')} / "
      f"{col(lambda r: r['wrk']['others_cpus'], lambda v: f'{v:.2f}')} |")
    p50 = bl.median([r["wrk"]["p50_us"] for r in rounds])
    run = bl.median([r["run_us"] for r in rounds])
    paired = bl.median([r["wrk"]["p50_us"] - r["run_us"] for r in rounds])
    if p50 is not None and run is not None:
        w(f"\nTarget: overhead **{paired:,.1f} µs** (median over the rounds of p50 − Run() of the "
          f"same round; the difference of the medians is {p50:,.1f} − {run:,.1f} = "
          f"{p50 - run:,.1f} µs) (target ≤ {TARGET_US:.0f} µs): {bl.verdict(paired <= TARGET_US)}")
    w("\nProblems seen: " + ("none (every response 2xx, server up until SIGTERM, no warnings "
                             "in its log)" if not problems else ""))
    lines.extend(f"- {p}" for p in problems)
    w("\nCommands:\n")
    lines.extend(bl.commands_block("bench/overhead_bench.py", out))
    w(f"\nRaw output: {out}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
