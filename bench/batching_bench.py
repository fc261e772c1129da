#!/usr/bin/python3
"""Batching gain: throughput and latency at 64 connections, dynamic batching off vs fixed delay vs
adaptive (latency objective), per BLAS.

Model: mlp1k from bench/make_bench_models.py, a TorchScript MLP 512 -> 1024 -> 1024 -> 10,
threads 1, instances 1, max_batch_size 64, served twice from one repository:
  mlp1k          batching off (each request runs on its own)
  mlp1k_batched  dynamic_batching {max_queue_delay_us: --delay-us (1000)}
  mlp1k_adaptive dynamic_batching {latency_objective_us: --objective-us (10000)}

Per-row cost in-process: bench/model_call_bench (Google Benchmark, strata's TorchScript backend)
at 1, 8 and 64 rows.

Debian's LibTorch does float32 matrix products through libblas.so.3, which is the netlib
reference BLAS unless another BLAS is installed. There a 64-row product costs ~64 one-row
products, so batching cannot save compute. The benchmark therefore measures each BLAS
(--blas stock,openblas): "stock" is the machine as scripts/install-deps.sh leaves it;
"openblas" runs the same binary with Debian's OpenBLAS (bench/fetch_openblas.sh,
LD_LIBRARY_PATH, OPENBLAS_NUM_THREADS=1; nothing installed system-wide).

One strata per BLAS, both up for the whole run; the runs are interleaved:
for each repeat, for each BLAS, for each model: wrk -t2 -c64 -d{duration}s --latency
-s bench/post.lua. /stats is read before and after each run for the batch sizes and each
batch's compute time. Medians of --repeats (3) runs.

Targets: fixed-delay batching >= 2x the throughput of batching off, with p99 <=
2 x (max_queue_delay + one batch's compute time), the batch compute time being the mean
compute_infer of the batches of the size the run formed most often (from /stats); adaptive
batching (issue 17) >= 3x the throughput of batching off, same binary and load, with wrk's p99
within the latency objective.

scripts/install-deps.sh installs libopenblas0-pthread, so "stock" is OpenBLAS on a machine set
up by it (the report names the BLAS found in /proc/PID/maps).

  /usr/bin/python3 bench/batching_bench.py [--blas stock,openblas] [--duration 10]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import load, log, machine, models, report, servers  # noqa: E402

TARGET_GAIN = 2.0
TARGET_ADAPTIVE_GAIN = 3.0
MODELS = ("mlp1k", "mlp1k_batched", "mlp1k_adaptive")
MODE = {"mlp1k": "off", "mlp1k_batched": "fixed", "mlp1k_adaptive": "adaptive"}


def inprocess_us(binary, model_dir, env, note, min_time, repeats):
    """{rows: median real time (µs) of one Run()} for 1, 8 and 64 rows."""
    by_rows = {}
    for b in models.model_call_bench(binary, model_dir, "1,8,64", min_time, repeats, env,
                                     note):
        by_rows.setdefault(int(b["rows"]), []).append(b["real_time"])  # µs (kMicrosecond)
    return {n: report.median(v) for n, v in by_rows.items()}


def main():
    ap = report.parser(__doc__)
    report.add_common_args(ap)
    ap.add_argument("--blas", default="stock",
                    help="stock (the machine's libblas), openblas (fetched), or both")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--delay-us", type=int, default=1000,
                    help="max_queue_delay_us of mlp1k_batched")
    ap.add_argument("--objective-us", type=int, default=10000,
                    help="latency_objective_us of mlp1k_adaptive")
    ap.add_argument("--model-call-bench", help="bench/model_call_bench binary")
    ap.add_argument("--no-fetch", action="store_true", help="do not fetch OpenBLAS")
    args = ap.parse_args()

    started, out, repo, binary, info = report.begin(
        args, "batching-bench",
        ["--delay-us", str(args.delay_us), "--objective-us", str(args.objective_us)])
    mcb = models.find_model_call_bench(args.model_call_bench)

    blases, envs, notes = [], {}, []
    for b in [x for x in args.blas.split(",") if x]:
        if b == "stock":
            envs[b] = (None, "")
        elif b == "openblas":
            env, lib = servers.openblas_env(fetch=not args.no_fetch)
            if env is None:
                notes.append(f"openblas skipped: {lib}")
                continue
            home = os.path.expanduser("~")
            short = "~" + lib[len(home):] if lib.startswith(home + "/") else lib
            envs[b] = (env, f"LD_LIBRARY_PATH={short} "
                            "OPENBLAS_NUM_THREADS=1 ")
        else:
            sys.exit(f"unknown --blas {b}")
        blases.append(b)

    # In-process per-row cost (C++, strata's backend), per BLAS.
    inproc = {}
    for b in blases:
        log(f"model_call_bench mlp1k ({b})")
        inproc[b] = inprocess_us(mcb, os.path.join(repo, "models", "mlp1k"), *envs[b], 0.5,
                                 args.repeats)
        log(f"  {b}: {inproc[b]}")

    running, problems, results = {}, [], {}
    try:
        for b in blases:
            env, note = envs[b]
            s = servers.Strata(binary, repo, out, label=f"strata-{b}", env=env, env_note=note)
            s.start()
            running[b] = s
            info[f"blas_{b}"] = servers.blas_of(s.pid)
            for m in MODELS:  # warm-up, not recorded
                load.wrk(s.url(f"/v2/models/{m}/infer"), models.body_path(repo, m), 2,
                         args.connections, 2, os.path.join(out, f"{b}_{m}_warmup.txt"))
        quiet = machine.QuietWaiter(0.2, max_wait_each=10, max_wait_total=60)
        for rep in range(args.repeats):
            for b in blases:
                s = running[b]
                for m in MODELS:
                    busy = quiet.wait()
                    before = models.model_stats(s, m)
                    with servers.CpuAccount(s) as cpu:
                        r = load.wrk(s.url(f"/v2/models/{m}/infer"), models.body_path(repo, m),
                                     2, args.connections, args.duration,
                                     os.path.join(out, f"{b}_{m}_r{rep + 1}.txt"))
                    r.update(cpu.result, busy_before=busy)
                    r["stats"] = models.stats_diff(before, models.model_stats(s, m))
                    batches = r["stats"]["batches"]
                    if batches:
                        top = max(batches, key=lambda k: batches[k][0])
                        r["top_batch"] = top
                        r["top_batch_compute_us"] = batches[top][1] / batches[top][0] / 1e3
                        big = max(batches)
                        r["max_batch"] = big
                        r["max_batch_compute_us"] = batches[big][1] / batches[big][0] / 1e3
                    st = r["stats"]
                    r["queue_mean_us"] = st["queue"][1] / max(1, st["queue"][0]) / 1e3
                    r["cpu_us_per_req"] = (r["server_cpus"] * r["duration_us"]
                                           / max(1, r["requests"]))
                    if load.failures(r):
                        problems.append(f"{b} {m} rep {rep + 1}: {load.failure_text(r)}")
                    log(f"{b:8} {m:14} rep {rep + 1}: {r['rps']:.0f} req/s p50 "
                           f"{r['p50_us']:.0f} p99 {r['p99_us']:.0f} mean batch "
                           f"{r['stats']['mean_batch_rows']} others {r['others_cpus']:.2f} "
                        f"{r['stats'].get('adaptive', '')}")
                    results.setdefault(b, {}).setdefault(m, []).append(r)
    finally:
        for s in running.values():
            s.finish(problems)

    report.save_results(out, {"machine": info, "args": vars(args), "inproc_us": inproc,
                              "results": results, "problems": problems})
    print(make_report(info, args, started, out, blases, inproc, results, problems + notes))


def make_report(info, args, started, out, blases, inproc, results, problems):
    us = report.us
    lines = report.header(
        "Batching gain (issue 3)", info, started,
        [f"model: mlp1k, TorchScript MLP 512 → 1024 → 1024 → 10 (6.3 MB of weights), "
         f"`threads: 1`, `instances: 1`, `max_batch_size: 64`; batching on = "
         f"`dynamic_batching: {{max_queue_delay_us: {args.delay_us}}}`; adaptive = "
         f"`dynamic_batching: {{latency_objective_us: {args.objective_us}}}`",
         f"load: `wrk -t2 -c{args.connections} -d{args.duration}s`, 1-row requests; each "
         f"figure the median of {args.repeats} runs, BLAS variants and batching off/on "
         "interleaved in the same run",
         "BLAS: " + "; ".join(f"{b} = {info.get(f'blas_{b}', '?')} (checked in "
                               f"/proc/PID/maps)" for b in blases)])
    w = lines.append
    w("\nIn-process cost of one `Run()` (bench/model_call_bench, Google Benchmark through "
      f"strata's TorchScript backend; median of {args.repeats} repetitions):\n")
    w("| BLAS | 1 row | 8 rows | 64 rows | per row at 64 |")
    w("|---|---:|---:|---:|---:|")
    for b in blases:
        c = inproc[b]
        w(f"| {b} | {us(c.get(1))} | {us(c.get(8))} | {us(c.get(64))} | "
          f"{us(c[64] / 64 if c.get(64) else None)} |")
    w("\n| BLAS | batching | req/s | p50 | p90 | p99 | max | mean batch (rows) | "
      "batch compute (most frequent size) | mean time queued in the batcher | server CPU / "
      "req | server / wrk / others CPUs |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    verdicts = []
    for b in blases:
        med = {}
        for m in MODELS:
            runs = results.get(b, {}).get(m, [])
            med[m] = {k: report.median([r.get(k) for r in runs]) for k in
                      ("rps", "p50_us", "p90_us", "p99_us", "max_us", "top_batch_compute_us",
                       "queue_mean_us", "cpu_us_per_req", "server_cpus", "client_cpus",
                       "others_cpus")}
            med[m]["mean_batch"] = report.median([r["stats"]["mean_batch_rows"] for r in runs])
            tops = [r.get("top_batch") for r in runs]
            med[m]["top_batch"] = max(set(tops), key=tops.count) if tops else None
            w(f"| {b} | {MODE[m]} | {med[m]['rps']:,.0f} | "
              f"{us(med[m]['p50_us'])} | {us(med[m]['p90_us'])} | "
              f"{us(med[m]['p99_us'])} | {us(med[m]['max_us'])} | "
              f"{med[m]['mean_batch']:.1f} | {us(med[m]['top_batch_compute_us'])} "
              f"({med[m]['top_batch']} rows) | {us(med[m]['queue_mean_us'])} | "
              f"{us(med[m]['cpu_us_per_req'])} | {med[m]['server_cpus']:.2f} / "
              f"{med[m]['client_cpus']:.2f} / {med[m]['others_cpus']:.2f} |")
        off, on = med["mlp1k"], med["mlp1k_batched"]
        gain = on["rps"] / off["rps"] if off["rps"] else 0
        bound = 2 * (args.delay_us + (on["top_batch_compute_us"] or 0))
        verdicts.append(
            f"- {b}: throughput gain **{gain:.2f}×** (target ≥ {TARGET_GAIN:.0f}×): "
            f"{report.verdict(gain >= TARGET_GAIN)}; batching-on p99 **{us(on['p99_us'])}** vs "
            f"bound 2 × ({args.delay_us} µs + {us(on['top_batch_compute_us'])}) = "
            f"{us(bound)}: {report.verdict(on['p99_us'] <= bound)}")
        ad = med["mlp1k_adaptive"]
        ad_gain = ad["rps"] / off["rps"] if off["rps"] else 0
        verdicts.append(
            f"- {b}: adaptive batching (objective {us(args.objective_us)}) throughput gain "
            f"**{ad_gain:.2f}×** (target ≥ {TARGET_ADAPTIVE_GAIN:.0f}×): "
            f"{report.verdict(ad_gain >= TARGET_ADAPTIVE_GAIN)}; p99 **{us(ad['p99_us'])}** "
            f"vs the objective {us(args.objective_us)}: "
            f"{report.verdict(ad['p99_us'] <= args.objective_us)}; vs fixed delay "
            f"{ad['rps'] / on['rps'] if on['rps'] else 0:.2f}×")
    w("\nTargets:")
    lines.extend(verdicts)
    w("\nSpread over the runs (min – max):\n")
    w("| BLAS | batching | req/s | p99 | others CPUs |")
    w("|---|---|---|---|---|")
    for b in blases:
        for m in MODELS:
            runs = results.get(b, {}).get(m, [])
            w(f"| {b} | {MODE[m]} | "
              f"{report.spread([r['rps'] for r in runs], report.num)} | "
              f"{report.spread([r['p99_us'] for r in runs])} | "
              f"{report.spread([r['others_cpus'] for r in runs], report.cpus)} |")
    return report.end(lines, problems, "every response 2xx, no socket errors, servers "
                                       "up until SIGTERM, no warnings in their logs", out)


if __name__ == "__main__":
    main()
