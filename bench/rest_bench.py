#!/usr/bin/python3
"""REST latency and throughput of strata vs a FastAPI + uvicorn peer (issue 2, "first figures").

A benchmark, not a test: it measures this machine and prints a markdown report. For each example
model (digits_mlp: TorchScript MLP; breast_cancer_xgb: XGBoost) and each server (strata, then the
FastAPI peer in bench/peer/fastapi_server.py), one at a time on 127.0.0.1:

  - single connection:   wrk -t1 -c1  -d10s --latency -s bench/lib/post.lua URL -- BODY  -> p50, p99, req/s
  - 16 connections:      wrk -t2 -c16 -d5s  --latency -s bench/lib/post.lua URL -- BODY  -> req/s

each repeated 3 times, reporting the median. The repeats are rounds: every server is started,
measured and stopped once per round, so a noisy stretch on a shared machine falls on all of
them. BODY is a 1-row KServe v2 request: the first row of the model's samples.json request.
Before measuring, each server must answer that request (and the whole 32-row sample request)
with the expected prediction.

The peer runs on two uvicorn stacks: Debian's plain one (asyncio event loop, h11 parser) and
the usual production one, `uvicorn[standard]` (uvloop + httptools; fetched as Debian packages
into a cache directory by bench/peer/fetch_peer_deps.sh, nothing is installed system-wide; the
stack is skipped if that fails). Each stack runs with 1 uvicorn worker (both measurements) and
2 workers (16 connections only: a single connection is served by one worker process either
way). The ratio strata/peer uses the fastest peer configuration.

Usage:
  /usr/bin/python3 bench/rest_bench.py                # the full run (~7 minutes)
  /usr/bin/python3 bench/rest_bench.py --duration 3 --duration-16 2 --repeats 1   # a quick look
Options: --no-build (use the existing binary), --strata PATH, --http-threads N (default: nproc,
strata's own default), --peer-stacks plain,standard  --peer-workers 1|2|both, --models a,b,
--out DIR (raw wrk output, logs, results.json).

Needs wrk (Debian package) and /usr/bin/python3 with torch, xgboost, numpy, fastapi, uvicorn.
Only ever talks to 127.0.0.1; every load run is bounded by -d and ends by itself.
"""

import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import load, log, machine, models as bench_models, report, servers  # noqa: E402

MODELS = bench_models.EXAMPLE_WIDTH  # name -> input width
MODEL_LABEL = bench_models.EXAMPLE_LABEL
TARGET_RATIO = 20.0        # strata req/s at 16 connections >= 20x the peer's
TARGET_MLP_P50_US = 150.0  # strata single-connection p50 for digits_mlp


# ---------------------------------------------------------------------------------------------
# the run


DISTURBED_CPUS = 0.25  # a run during which other processes used more CPU than this is "disturbed"


def measure_once(server, url, body, threads, conns, duration, out_path, quiet):
    busy = quiet.wait()
    with servers.CpuAccount(server) as cpu:
        r = load.wrk(url, body, threads, conns, duration, out_path)
    r.update(cpu.result)
    r["server_cpu_us_per_req"] = cpu.result["server_cpu_s"] * 1e6 / max(1, r["requests"])
    r["wrk_cpus"] = cpu.result["client_cpus"]
    r["busy_before"] = busy
    return r


def measure(server, models, bodies, args, out_dir, conn_sets, quiet, results, problems,
            retry, rep):
    """Runs wrk against `server` for each model (repeat `rep`); appends figures to results.

    A run disturbed by other processes is repeated (once, while retry["budget"] seconds of
    wrk time last); the disturbed one is kept in results.json under "discarded"."""
    tag = server.label.replace(" ", "_").replace(",", "")
    for model in models:  # warm-up, not recorded
        load.wrk(server.url(f"/v2/models/{model}/infer"), bodies[model], 2, 16,
                 args.warmup, os.path.join(out_dir, f"{tag}_{model}_warmup_r{rep + 1}.txt"))
    for model in models:
        for threads, conns, duration in conn_sets:
            url = server.url(f"/v2/models/{model}/infer")
            out_path = os.path.join(out_dir, f"{tag}_{model}_c{conns}_r{rep + 1}.txt")
            r = measure_once(server, url, bodies[model], threads, conns, duration,
                             out_path, quiet)
            if r["others_cpus"] > DISTURBED_CPUS and retry["budget"] >= duration:
                retry["budget"] -= duration
                log(f"{server.label} {model} c{conns} rep {rep + 1}: other processes used "
                    f"{r['others_cpus']:.2f} CPUs; running it again")
                retry["discarded"].append(dict(r, server=server.label, model=model))
                r = measure_once(server, url, bodies[model], threads, conns, duration,
                                 out_path, quiet)
            if not server.alive():
                problems.append(f"{server.label} died during {model} c{conns} rep "
                                f"{rep + 1}; log:\n{server.log_tail()}")
                raise RuntimeError(problems[-1])
            if load.failures(r):
                problems.append(f"{server.label} {model} c{conns} rep {rep + 1}: "
                                f"{load.failure_text(r)}")
            log(f"{server.label:<36} {model:<18} c{conns:<2} rep {rep + 1}: "
                f"p50 {r['p50_us']:.0f}us p99 {r['p99_us']:.0f}us "
                f"max {r.get('max_us', 0):.0f}us {r['rps']:.0f} req/s; CPUs: server "
                f"{r['server_cpus']:.2f} wrk {r['wrk_cpus']:.2f} others "
                f"{r['others_cpus']:.2f}; server {r['server_cpu_us_per_req']:.0f}us/req")
            results.setdefault(server.label, {}).setdefault(model, {}).setdefault(
                conns, []).append(r)


def median(runs, key):
    return report.median(runs, key) if runs else None


def fmt_us(v):
    return "n/m" if v is None else f"{v:,.0f} µs"


def fmt_rps(v):
    return "n/m" if v is None else f"{v:,.0f}"


def make_report(info, args, models, results, labels, problems, sanity_samples, started, out_dir,
                retry_count=0):
    lines = []
    w = lines.append
    strata_label, peer_labels = labels[0], labels[1:]
    w("## REST latency and throughput: strata vs FastAPI + uvicorn\n")
    w(f"- date: {started.strftime('%Y-%m-%d %H:%M %Z').strip()}; strata {info['git']}")
    w(f"- machine: {info['nproc']} CPUs, {info['cpu']}, {info['memory_gib']} GiB, "
      f"kernel {info['kernel']}, {info['os']}")
    w(f"- peer stack: {info['python_stack']}"
      + (f"; uvicorn[standard] extras: {info['peer_extras']}" if info.get("peer_extras") else ""))
    w(f"- load generator: {info['wrk']} on the same machine (it competes for the "
      f"{info['nproc']} CPUs)")
    w(f"- strata: `{info['strata_binary']}` built {info['strata_binary_mtime']}, "
      f"`--http-threads {args.http_threads}`")
    w(f"- each figure: median of {args.repeats} runs ({args.duration} s at 1 connection, "
      f"{args.duration_16} s at 16); request: 1 row (`[1,64]` / `[1,30]` FP32) as KServe v2 "
      "JSON\n")
    w("| model | server | p50 (1 conn) | p99 (1 conn) | req/s (1 conn) | req/s (16 conns) "
      "| server CPU / req (16 conns) | strata / server (16 conns) |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    verdicts = []
    for model in models:
        per = {}
        for label in labels:
            runs = results.get(label, {}).get(model, {})
            per[label] = {
                "p50": median(runs.get(1, []), "p50_us"),
                "p99": median(runs.get(1, []), "p99_us"),
                "rps1": median(runs.get(1, []), "rps"),
                "rps16": median(runs.get(16, []), "rps"),
                "cpu16": median(runs.get(16, []), "server_cpu_us_per_req"),
            }
        s16 = per[strata_label]["rps16"]
        for label in labels:
            p = per[label]
            if label == strata_label:
                ratio = "—"
            elif p["rps16"] and s16:
                ratio = f"{s16 / p['rps16']:.1f}×"
            else:
                ratio = "n/m"
            w(f"| {MODEL_LABEL[model]} | {label} | {fmt_us(p['p50'])} | {fmt_us(p['p99'])} | "
              f"{fmt_rps(p['rps1'])} | {fmt_rps(p['rps16'])} | "
              f"{fmt_us(p['cpu16'])} | {ratio} |")
        best_peer = max((l for l in peer_labels if per[l]["rps16"]), default=None,
                        key=lambda l: per[l]["rps16"])
        if best_peer and s16:
            ratio = s16 / per[best_peer]["rps16"]
            verdicts.append(
                f"- {model}: strata {s16:,.0f} req/s vs best peer ({best_peer}) "
                f"{per[best_peer]['rps16']:,.0f} req/s at 16 connections = **{ratio:.1f}×** "
                f"(target ≥ {TARGET_RATIO:.0f}×): **{'met' if ratio >= TARGET_RATIO else 'missed'}**")
        if model == "digits_mlp" and per[strata_label]["p50"] is not None:
            p50 = per[strata_label]["p50"]
            verdicts.append(
                f"- digits_mlp: strata single-connection p50 **{p50:.0f} µs** (target ≤ "
                f"{TARGET_MLP_P50_US:.0f} µs): "
                f"**{'met' if p50 <= TARGET_MLP_P50_US else 'missed'}**")
    w("\nn/m = not measured (a single connection is served by one worker process, so the "
      "2-worker peer is measured at 16 connections only). Server CPU / req = user+system CPU "
      "time of the server's processes during the run divided by the requests served.\n")
    all_runs = [r for by_model in results.values() for by_conns in by_model.values()
                for runs in by_conns.values() for r in runs]
    disturbed = [r for r in all_runs if r.get("others_cpus", 0) > DISTURBED_CPUS]
    w("Targets:")
    lines.extend(verdicts)
    if len(disturbed) > len(all_runs) // 4:
        w(f"- **warning**: {len(disturbed)} of {len(all_runs)} runs shared the CPUs with other "
          "processes (last column below), which hurts whichever server was measured at the "
          "time; the ratios above are not reliable. Rerun on an idle machine.")
    w(f"\nOther processes on the machine (not strata, the peer or wrk) kept more than "
      f"{DISTURBED_CPUS} CPUs busy during {len(disturbed)} of the {len(all_runs)} runs kept "
      f"(see the last column below; {retry_count} disturbed runs were repeated); such "
      "figures are pessimistic for whichever server was being measured.")
    w("\nSpread (min–max over the runs):\n")
    w("| model | server | conns | p50 | p99 | max | req/s | CPUs used by others during the runs |")
    w("|---|---|---:|---|---|---|---|---|")
    for model in models:
        for label in labels:
            for conns, runs in sorted(results.get(label, {}).get(model, {}).items()):
                def rng(key, f):
                    vals = [r[key] for r in runs if key in r]
                    return f"{f(min(vals))} – {f(max(vals))}" if vals else "?"
                us = lambda v: f"{v:,.0f} µs"
                w(f"| {model} | {label} | {conns} | {rng('p50_us', us)} | {rng('p99_us', us)} "
                  f"| {rng('max_us', us)} | {rng('rps', lambda v: f'{v:,.0f}')} "
                  f"| {rng('others_cpus', lambda v: f'{v:.2f}')} |")
    w("\nProblems seen: " + ("none (every response 2xx, no socket errors, servers stayed up "
                             "and stopped cleanly on SIGTERM)" if not problems else ""))
    for p in problems:
        w(f"- {p}")
    w("\nSanity responses (1 row):\n")
    for key, text in sanity_samples.items():
        w(f"- {key}: `{text[:220]}{'…' if len(text) > 220 else ''}`")
    w("\nCommands:\n")
    lines.extend(report.commands_block(out_dir))
    w(f"\nRaw wrk output and results.json: {out_dir}")
    return "\n".join(lines)


def main():
    ap = report.parser(__doc__)
    ap.add_argument("--repository", default=bench_models.EXAMPLES,
                    help="model repository with the example models (trained if needed)")
    ap.add_argument("--strata", help="strata binary (default: build/release/...)")
    ap.add_argument("--no-build", action="store_true",
                    help="do not run the (incremental) build; use the existing binary")
    ap.add_argument("--http-threads", type=int, default=os.cpu_count(),
                    help="strata --http-threads (default: nproc, strata's own default)")
    ap.add_argument("--duration", type=int, default=10,
                    help="seconds per single-connection wrk run")
    ap.add_argument("--duration-16", type=int, default=5,
                    help="seconds per 16-connection wrk run")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per model")
    ap.add_argument("--repeats", type=int, default=3, help="rounds; figures are medians")
    ap.add_argument("--peer-workers", choices=["1", "2", "both"], default="both")
    ap.add_argument("--peer-stacks", default="plain,standard",
                    help="uvicorn stacks: plain (asyncio+h11), standard (uvloop+httptools)")
    ap.add_argument("--peer-deps", default=servers.DEFAULT_PEER_DEPS,
                    help="where fetch_peer_deps.sh unpacks uvloop + httptools")
    ap.add_argument("--no-fetch", action="store_true",
                    help="do not fetch uvloop + httptools if missing (skip that stack)")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--quiet-threshold", type=float, default=0.2,
                    help="wait before a run while other processes keep more than this "
                         "fraction of the CPUs busy (bounded waits)")
    ap.add_argument("--wait-idle", type=int, default=30,
                    help="before starting, wait up to this many seconds for the machine to be "
                         "idle (other processes below --quiet-threshold)")
    ap.add_argument("--retry-budget", type=int, default=60,
                    help="seconds of extra wrk time for repeating runs disturbed by other "
                         "processes (each disturbed run is repeated at most once)")
    ap.add_argument("--out", help="directory for raw wrk output and results.json")
    ap.add_argument("--skip-strata", action="store_true", help="measure the peer only")
    ap.add_argument("--skip-peer", action="store_true", help="measure strata only")
    args = ap.parse_args()

    started = datetime.datetime.now().astimezone()
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in MODELS:
            sys.exit(f"unknown model {m!r}; known: {', '.join(MODELS)}")
    out_dir = report.out_dir(args, "rest-bench")
    repository = os.path.abspath(args.repository)

    bench_models.train_examples(repository)
    strata_bin, binfo = servers.strata_binary(args.strata, out_dir, build=not args.no_build)
    info = dict(machine.machine_info(), **binfo)
    log(f"machine: {info}")

    samples, bodies = {}, {}
    for m in models:
        samples[m] = bench_models.load_samples(repository, m)
        bodies[m] = os.path.join(out_dir, f"{m}_1row.json")
        with open(bodies[m], "w") as f:
            json.dump(bench_models.one_row_body(samples[m], MODELS[m]), f)

    c1, c16 = (1, 1, args.duration), (2, 16, args.duration_16)
    running, notes = [], []
    if not args.skip_strata:
        # gRPC stays on, as by default, on a free port
        running.append((servers.Strata(strata_bin, repository, out_dir, grpc=True,
                                       http_threads=args.http_threads), [c1, c16]))
    stacks = [x for x in args.peer_stacks.split(",") if x] if not args.skip_peer else []
    for stack in stacks:
        for workers in ([1, 2] if args.peer_workers == "both" else [int(args.peer_workers)]):
            try:
                peer = servers.fastapi_peer(repository, out_dir, stack, workers,
                                            args.peer_deps, fetch=not args.no_fetch)
            except servers.Unavailable as e:
                notes.append(f"peer stack {stack} skipped: {e}")
                log(notes[-1])
                break
            if peer.extras:
                info["peer_extras"] = peer.extras
            conn_sets = [c1, c16] if (workers == 1 or args.peer_workers != "both") else [c16]
            running.append((peer, conn_sets))

    if args.wait_idle > 0:
        busy = machine.QuietWaiter(args.quiet_threshold, args.wait_idle, args.wait_idle).wait()
        log(f"other processes keep {busy:.0%} of the CPUs busy at the start")
    quiet = machine.QuietWaiter(args.quiet_threshold, max_wait_each=10, max_wait_total=60)
    results, problems, sanity_samples, labels = {}, [], {}, []
    retry = {"budget": args.retry_budget, "discarded": []}
    # Rounds: every server once per round, so that a noisy stretch of time (the machine is
    # shared) spreads over all servers instead of falling on one.
    for rep, (server, conn_sets) in ((r, sc) for r in range(args.repeats) for sc in running):
        if server.label not in labels:
            labels.append(server.label)
        quiet.wait()
        server.start(f"r{rep + 1}")
        try:
            for m in models:
                with open(bodies[m]) as f:
                    bad, text = bench_models.sanity(server, m, json.load(f), samples[m])
                sanity_samples[f"{server.label} {m}"] = text
                if bad:
                    problems.extend(bad)
                    raise RuntimeError("sanity check failed:\n" + "\n".join(bad))
            log(f"{server.label}: sanity ok (1-row and 32-row responses of every model match "
                "samples.json)")
            measure(server, models, bodies, args, out_dir, conn_sets, quiet, results, problems,
                    retry, rep)
        finally:
            server.stop(problems)
            problems.extend(f"(round {rep + 1}) {p}" for p in server.log_problems())
    if quiet.waited > 1:
        log(f"waited {quiet.waited:.0f}s in total for other processes to leave the CPUs")

    report.save_results(out_dir, {"machine": info, "args": vars(args),
                                  "started": started.isoformat(), "results": results,
                                  "discarded": retry["discarded"], "problems": problems})
    print(make_report(info, args, models, results, labels, problems + notes, sanity_samples,
                      started, out_dir, retry_count=len(retry["discarded"])))
    log(f"done in {(datetime.datetime.now().astimezone() - started).total_seconds():.0f}s")


if __name__ == "__main__":
    main()
