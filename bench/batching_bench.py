#!/usr/bin/python3
"""Issue 3 benchmark "Batching gain": throughput and latency at 64 connections, batching off vs on.

Model: mlp1k from bench/make_bench_models.py, a TorchScript MLP 512 -> 1024 -> 1024 -> 10,
threads 1, instances 1, max_batch_size 64, served twice from one repository:
  mlp1k          batching off (each request runs on its own)
  mlp1k_batched  dynamic_batching {max_queue_delay_us: --delay-us (1000)}

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

Target (issue 3): batching on >= 2x the throughput of batching off, with p99 <=
2 x (max_queue_delay + one batch's compute time), the batch compute time being the mean
compute_infer of the batches of the size the run formed most often (from /stats).

  /usr/bin/python3 bench/batching_bench.py [--blas stock,openblas] [--duration 10]
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

TARGET_GAIN = 2.0
MODELS = ("mlp1k", "mlp1k_batched")


def run_model_call_bench(binary, model_dir, env, rows, min_time, repeats):
    cmd = [binary, f"--model_dir={model_dir}", f"--rows={rows}",
           f"--benchmark_min_time={min_time}", f"--benchmark_repetitions={repeats}",
           "--benchmark_format=json"]
    bl.COMMANDS.append(("LD_LIBRARY_PATH=... OPENBLAS_NUM_THREADS=1 "
                        if env and "OPENBLAS_NUM_THREADS" in env else "") +
                       " ".join(cmd))
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"model_call_bench failed: {r.stderr[-2000:]}")
    data = json.loads(r.stdout)
    by_rows = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        rows_n = int(b["rows"])
        by_rows.setdefault(rows_n, []).append(b["real_time"])  # µs (Unit kMicrosecond)
    return {n: bl.median(v) for n, v in by_rows.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    bl.add_common_args(ap)
    ap.add_argument("--blas", default="stock,openblas")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--delay-us", type=int, default=1000)
    ap.add_argument("--model-call-bench", help="bench/model_call_bench binary")
    ap.add_argument("--no-fetch", action="store_true", help="do not fetch OpenBLAS")
    args = ap.parse_args()

    started = bl.now()
    out = bl.out_dir(args, "batching-bench")
    repo = bl.bench_models(args, out, ["--delay-us", str(args.delay_us)])
    binary, binfo = bl.strata_binary(args, out)
    mcb = bl.find_model_call_bench(args.model_call_bench)
    info = dict(bl.machine_info(), **binfo)

    blases, envs, notes = [], {}, []
    for b in [x for x in args.blas.split(",") if x]:
        if b == "stock":
            envs[b] = (None, "")
        elif b == "openblas":
            env, lib = bl.openblas_env(fetch=not args.no_fetch)
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
        bl.log(f"model_call_bench mlp1k ({b})")
        inproc[b] = run_model_call_bench(mcb, os.path.join(repo, "models", "mlp1k"),
                                         envs[b][0], "1,8,64", 0.5, args.repeats)
        bl.log(f"  {b}: {inproc[b]}")

    servers, problems, results = {}, [], {}
    try:
        for b in blases:
            env, note = envs[b]
            s = bl.Strata(binary, repo, out, label=f"strata-{b}", env=env, env_note=note)
            s.start()
            servers[b] = s
            info[f"blas_{b}"] = bl.blas_of(s.pid)
            for m in MODELS:  # warm-up, not recorded
                bl.run_wrk(s.url(f"/v2/models/{m}/infer"), bl.body_path(repo, m), 2,
                           args.connections, 2, os.path.join(out, f"{b}_{m}_warmup.txt"))
        quiet = bl.QuietWaiter(0.2, max_wait_each=10, max_wait_total=60)
        for rep in range(args.repeats):
            for b in blases:
                s = servers[b]
                for m in MODELS:
                    busy = quiet.wait()
                    before = bl.model_stats(s, m)
                    with bl.CpuAccount(s.pid) as cpu:
                        r = bl.run_wrk(s.url(f"/v2/models/{m}/infer"), bl.body_path(repo, m),
                                       2, args.connections, args.duration,
                                       os.path.join(out, f"{b}_{m}_r{rep + 1}.txt"))
                    r.update(cpu.result, busy_before=busy)
                    r["stats"] = bl.stats_diff(before, bl.model_stats(s, m))
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
                    bad = r["non2xx"] + r["errors_read"] + r["errors_write"] + \
                        r["errors_timeout"] + r["errors_connect"]
                    if bad:
                        problems.append(f"{b} {m} rep {rep + 1}: {r['non2xx']} non-2xx, socket "
                                        f"errors c/r/w/t {r['errors_connect']}/"
                                        f"{r['errors_read']}/{r['errors_write']}/"
                                        f"{r['errors_timeout']}")
                    bl.log(f"{b:8} {m:14} rep {rep + 1}: {r['rps']:.0f} req/s p50 "
                           f"{r['p50_us']:.0f} p99 {r['p99_us']:.0f} mean batch "
                           f"{r['stats']['mean_batch_rows']} others {r['others_cpus']:.2f}")
                    results.setdefault(b, {}).setdefault(m, []).append(r)
    finally:
        for s in servers.values():
            problems.extend(bl.server_problems(s))
            bl.stop(s, problems)

    bl.save_results(out, {"machine": info, "args": vars(args), "inproc_us": inproc,
                          "results": results, "problems": problems})
    print(report(info, args, started, out, blases, inproc, results, problems + notes))


def report(info, args, started, out, blases, inproc, results, problems):
    lines = bl.header(
        "Batching gain (issue 3)", info, started,
        [f"model: mlp1k, TorchScript MLP 512 → 1024 → 1024 → 10 (6.3 MB of weights), "
         f"`threads: 1`, `instances: 1`, `max_batch_size: 64`; batching on = "
         f"`dynamic_batching: {{max_queue_delay_us: {args.delay_us}}}`",
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
        w(f"| {b} | {bl.us(c.get(1))} | {bl.us(c.get(8))} | {bl.us(c.get(64))} | "
          f"{bl.us(c[64] / 64 if c.get(64) else None)} |")
    w("\n| BLAS | batching | req/s | p50 | p90 | p99 | max | mean batch (rows) | "
      "batch compute (most frequent size) | mean time queued in the batcher | server CPU / "
      "req | server / wrk / others CPUs |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    verdicts = []
    for b in blases:
        med = {}
        for m in MODELS:
            runs = results.get(b, {}).get(m, [])
            med[m] = {k: bl.median([r.get(k) for r in runs]) for k in
                      ("rps", "p50_us", "p90_us", "p99_us", "max_us", "top_batch_compute_us",
                       "queue_mean_us", "cpu_us_per_req", "server_cpus", "client_cpus",
                       "others_cpus")}
            med[m]["mean_batch"] = bl.median([r["stats"]["mean_batch_rows"] for r in runs])
            tops = [r.get("top_batch") for r in runs]
            med[m]["top_batch"] = max(set(tops), key=tops.count) if tops else None
            w(f"| {b} | {'on' if m.endswith('batched') else 'off'} | {med[m]['rps']:,.0f} | "
              f"{bl.us(med[m]['p50_us'])} | {bl.us(med[m]['p90_us'])} | "
              f"{bl.us(med[m]['p99_us'])} | {bl.us(med[m]['max_us'])} | "
              f"{med[m]['mean_batch']:.1f} | {bl.us(med[m]['top_batch_compute_us'])} "
              f"({med[m]['top_batch']} rows) | {bl.us(med[m]['queue_mean_us'])} | "
              f"{bl.us(med[m]['cpu_us_per_req'])} | {med[m]['server_cpus']:.2f} / "
              f"{med[m]['client_cpus']:.2f} / {med[m]['others_cpus']:.2f} |")
        off, on = med["mlp1k"], med["mlp1k_batched"]
        gain = on["rps"] / off["rps"] if off["rps"] else 0
        bound = 2 * (args.delay_us + (on["top_batch_compute_us"] or 0))
        verdicts.append(
            f"- {b}: throughput gain **{gain:.2f}×** (target ≥ {TARGET_GAIN:.0f}×): "
            f"{bl.verdict(gain >= TARGET_GAIN)}; batching-on p99 **{bl.us(on['p99_us'])}** vs "
            f"bound 2 × ({args.delay_us} µs + {bl.us(on['top_batch_compute_us'])}) = "
            f"{bl.us(bound)}: {bl.verdict(on['p99_us'] <= bound)}")
    w("\nTargets:")
    lines.extend(verdicts)
    w("\nSpread over the runs (min – max):\n")
    w("| BLAS | batching | req/s | p99 | others CPUs |")
    w("|---|---|---|---|---|")
    for b in blases:
        for m in MODELS:
            runs = results.get(b, {}).get(m, [])
            w(f"| {b} | {'on' if m.endswith('batched') else 'off'} | "
              f"{bl.spread([r['rps'] for r in runs], lambda v: f'{v:,.0f}')} | "
              f"{bl.spread([r['p99_us'] for r in runs])} | "
              f"{bl.spread([r['others_cpus'] for r in runs], lambda v: f'{v:.2f}')} |")
    w("\nProblems seen: " + ("none (every response 2xx, no socket errors, servers up until "
                             "SIGTERM, no warnings in their logs)" if not problems else ""))
    lines.extend(f"- {p}" for p in problems)
    w("\nCommands:\n")
    lines.extend(bl.commands_block("bench/batching_bench.py", out))
    w(f"\nRaw output: {out}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
