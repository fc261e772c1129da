#!/usr/bin/python3
"""Batching gain at an equal p99 objective (issue 17): no batching vs a fixed queue delay vs
adaptive batching (`dynamic_batching: {latency_objective_us}`), 64 connections, one command.

Model: mlp1k from bench/make_bench_models.py, a TorchScript MLP 512 -> 1024 -> 1024 -> 10,
threads 1, instances 1, max_batch_size 64, served three ways by one strata from one repository:
  mlp1k          batching off (each request runs on its own)
  mlp1k_batched  dynamic_batching {max_queue_delay_us: --delay-us (1000)}
  mlp1k_adaptive dynamic_batching {latency_objective_us: --objective-us (10000)}

Why two measurements. With 64 closed-loop connections, Little's law makes the latency about
64 / throughput whatever the batcher does, so "p99 within the objective" at 64 connections needs
either throughput >= 64 / objective or refusing some requests. So:

1. Open loop (the gain at an equal objective): bench/openloop_load (C++, epoll, 64 keep-alive
   connections) offers a fixed rate; request i is due at start + i / rate and its latency counts
   from then. A rung (a rate) *passes* when the median over its rounds of the share answered
   200 is >= 99% and the median of their p99s is within the objective (refusing requests cannot
   pass). Each mode searches its own ladder (Ladder): from half of no batching's closed-loop
   goodput (phase 2), doubling while rungs pass, then bisecting between the highest passing and
   the lowest failing rung to within 1.2x; --repeats rounds per rung (one when it is far from the
   line). Each step runs one round of every mode still searching (ABC ABC ...). Figures: each
   mode's highest passing rate, and the ratios adaptive / off and fixed delay / off.
2. Closed loop (goodput under overload): h2load --h1 -c64 (C, closed loop, --log-file gives
   each request's status and latency). Adaptive batching refuses a request predicted to miss
   the objective with 429 at once; the figures are the goodput (200s per second), the p99 of
   the 200s, and the share refused. The clients resend at once after a 429 (no backoff), so
   refusals cost server CPU: the worst case for shedding.

Also in-process: bench/model_call_bench at 1 and 64 rows (the per-row cost batching saves).
Closed loop runs first (the ladder starts from it): --repeats (3) rounds, the modes alternated
within each (ABC ABC ABC); medians.

  /usr/bin/python3 bench/batching_bench.py [--objective-us 10000] [--repeats 3]
"""

import json
import math
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import ROOT, load, log, machine, models, need, record, report, servers  # noqa: E402

TARGET_GAIN = 3.0
MODELS = ("mlp1k", "mlp1k_batched", "mlp1k_adaptive")
MODE = {"mlp1k": "off", "mlp1k_batched": "fixed delay", "mlp1k_adaptive": "adaptive"}
# The open-loop ladder (see Ladder): it starts at START_SHARE of no batching's closed-loop
# goodput (what no batching can nearly carry), climbs by CLIMB, and bisects to BISECT_RATIO.
START_SHARE = 0.5
CLIMB = 2.0
BISECT_RATIO = 1.2
MIN_RATE = 20
CLEAR_PASS = 0.6
CLEAR_FAIL = 2.0
CLEAR_FAIL_SHARE = 0.9
# A round offers at least this many requests (longer rounds at low rates, up to MAX_ROUND_S), so
# that its p99 is not simply its slowest request.
MIN_REQUESTS = 200
MAX_ROUND_S = 5.0
# The ladder goes down at most this many halvings below its start (then: no rate passed).
MAX_HALVINGS = 3
OPENLOOP = os.path.join(ROOT, "build", "release", "bench", "openloop_load")
MIN_OK_SHARE = 0.99


def percentile(values, p):
    return load.percentile(values, p) if values else None


def batch_counts(s, m):
    """{batch size: batches run} so far, from the model's /stats."""
    return {n: c for n, (c, _) in models.model_stats(s, m)["batches"].items()}


def batching_during(s, m, before):
    """The mean batch size of the batches run since `before` (batch_counts), and the adaptive
    policy's limits now (None for the other modes): what the per-round lines show."""
    stats = models.model_stats(s, m)
    delta = {n: c - before.get(n, 0) for n, (c, _) in stats["batches"].items()}
    batches = sum(delta.values())
    rows = sum(n * c for n, c in delta.items())
    return {"mean_batch": rows / batches if batches else None, "limits": stats.get("adaptive")}


def batching_text(r):
    text = f" mean batch {r['mean_batch']:.1f}" if r.get("mean_batch") else ""
    if r.get("limits"):
        text += (f" limits {r['limits']['max_batch_size']} rows/"
                 f"{r['limits']['max_queue_delay_us']} µs")
    return text


def closed_run(s, repo, m, conns, duration, path):
    """One h2load closed-loop run: goodput, p50/p99 of the 200s, refused share, CPUs."""
    need("h2load", "nghttp2-client")
    cmd = ["h2load", "--h1", "-c", str(conns), "-t", "1", "-D", str(duration),
           "--warm-up-time", "1", "-d", models.body_path(repo, m), "-H",
           "Content-Type: application/json", "--log-file", path, s.url(f"/v2/models/{m}/infer")]
    record(" ".join(cmd))
    before = batch_counts(s, m)
    with servers.CpuAccount(s) as cpu:
        subprocess.run(cmd, capture_output=True, check=True, timeout=duration + 60)
    during = batching_during(s, m, before)
    by = {}
    with open(path) as f:
        for line in f:
            _, status, us = line.split("\t")[:3]
            by.setdefault(int(status), []).append(int(us))
    total = sum(len(v) for v in by.values())
    ok = by.get(200, [])
    return {"goodput": len(ok) / duration, "rps": total / duration,
            "p50_us": percentile(ok, 50), "p99_us": percentile(ok, 99),
            "refused": len(by.get(429, [])) / max(1, total),
            "other": (total - len(ok) - len(by.get(429, []))) / max(1, total),
            "load": machine.loadavg(), **cpu.result, **during}


def open_run(s, repo, m, rate, duration, conns, objective_us):
    """One open-loop run of bench/openloop_load at `rate`: its summary and whether it passed."""
    cmd = [OPENLOOP, "--port", str(s.port), "--path", f"/v2/models/{m}/infer", "--body",
           models.body_path(repo, m), "--rate", f"{rate:.0f}", "--duration", f"{duration:.1f}",
           "--connections", str(conns), "--drain", "2"]
    record(" ".join(cmd))
    before = batch_counts(s, m)
    with servers.CpuAccount(s) as cpu:
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True,
                                      timeout=duration + 60).stdout)
    r.update(batching_during(s, m, before))
    ok = r["by_status"].get("200", {"count": 0, "p99_us": None})
    asked = r["sent"] + r["unfinished"]
    r.update(ok_share=ok["count"] / max(1, asked), p99_us=ok["p99_us"], rate=rate,
             load=machine.loadavg(), **cpu.result)
    r["passed"] = (r["ok_share"] >= MIN_OK_SHARE and ok["p99_us"] is not None
                   and ok["p99_us"] <= objective_us)
    return r


def inprocess_us(binary, model_dir, repeats):
    """{rows: median real time (µs) of one Run()} for 1 and 64 rows."""
    by_rows = {}
    for b in models.model_call_bench(binary, model_dir, "1,64", 0.3, repeats):
        by_rows.setdefault(int(b["rows"]), []).append(b["real_time"])
    return {n: report.median(v) for n, v in by_rows.items()}


def check_objective(repo, objective_us):
    """Exits unless the repository's mlp1k_adaptive has `objective_us` (a reused
    --models-dir may have been written with another)."""
    with open(os.path.join(repo, "models", "mlp1k_adaptive", "config.yaml")) as f:
        text = f.read()
    if f"latency_objective_us: {objective_us}\n" not in text:
        sys.exit(f"{repo}: mlp1k_adaptive's latency_objective_us is not {objective_us}; write "
                 f"the repository with make_bench_models.py --objective-us {objective_us}")


def closed_phase(s, repo, args, out):
    closed = {m: [] for m in MODELS}
    for rep in range(args.repeats):
        for m in MODELS:
            r = closed_run(s, repo, m, args.connections, args.closed_duration,
                           os.path.join(out, f"closed_{m}_r{rep + 1}.tsv"))
            r["stats"] = None
            closed[m].append(r)
            log(f"closed {m:15} r{rep + 1}: goodput {r['goodput']:.0f}/s p99(200) "
                f"{r['p99_us']} refused {r['refused']:.1%} others {r['others_cpus']:.2f}"
                f"{batching_text(r)}")
    return closed


class Ladder:
    """One mode's search for the highest open-loop rate it sustains within the objective.

    It climbs by CLIMB from its start while rungs pass, halves (at most MAX_HALVINGS times) when
    its first rung fails, then
    bisects (geometric mean) between the highest passing and the lowest failing rung until they
    are within BISECT_RATIO of each other. A rung is judged on the median share answered 200 and
    the median p99 of its rounds: --repeats rounds, or one when that round is far from the line
    (p99 under CLEAR_PASS or over CLEAR_FAIL times the objective), which keeps one command
    within a few minutes."""

    def __init__(self, start, repeats, objective_us):
        self.rate, self.repeats, self.objective_us = start, repeats, objective_us
        self.floor = max(MIN_RATE, start / 2 ** MAX_HALVINGS)
        self.low, self.high = None, None  # highest passing, lowest failing rung
        self.rungs = {}  # {rate: [run per round]}

    def done(self):
        return self.rate is None

    def record(self, run):
        """Adds one round at the current rate; decides the rung when it has enough rounds."""
        at = self.rungs.setdefault(self.rate, [])
        at.append(run)
        if len(at) < self.repeats and not self.clear(run):
            return
        if rung_passes(at, self.objective_us):
            self.low = self.rate
        else:
            self.high = self.rate
        self.rate = self.next_rate()

    def clear(self, run):
        p99 = run["p99_us"]
        if run["ok_share"] < CLEAR_FAIL_SHARE or (p99 is not None and
                                                  p99 > CLEAR_FAIL * self.objective_us):
            return True
        return (run["ok_share"] >= 1.0 and p99 is not None
                and p99 <= CLEAR_PASS * self.objective_us)

    def next_rate(self):
        if self.high is None:
            return round(self.rate * CLIMB, -1)
        if self.low is None:
            lower = round(self.rate / CLIMB, -1)
            return lower if lower >= self.floor else None
        if self.high <= BISECT_RATIO * self.low:
            return None
        return round(math.sqrt(self.low * self.high), -1)

    def highest(self):
        """The highest rate that passed (0 when none did)."""
        return self.low or 0


def rung_passes(at, objective_us):
    """A rung passes when the median of its rounds' shares answered 200 is >= MIN_OK_SHARE and
    the median of their p99s is within the objective (a round with no 200s counts as over)."""
    p99s = [r["p99_us"] if r["p99_us"] is not None else math.inf for r in at]
    return (statistics.median(r["ok_share"] for r in at) >= MIN_OK_SHARE
            and statistics.median(p99s) <= objective_us)


def open_phase(s, repo, args, start):
    """{model: Ladder}, every mode's ladder starting at `start` req/s. Each step runs one round
    of every mode still searching, in turn (ABC ABC ...), so the machine's moods fall on all."""
    ladders = {m: Ladder(start, args.repeats, args.objective_us) for m in MODELS}
    while not all(ladder.done() for ladder in ladders.values()):
        for m, ladder in ladders.items():
            if ladder.done():
                continue
            rate = ladder.rate
            duration = max(args.open_duration, min(MAX_ROUND_S, MIN_REQUESTS / rate))
            r = open_run(s, repo, m, rate, duration, args.connections, args.objective_us)
            ladder.record(r)
            refused = r["by_status"].get("429", {"count": 0})["count"]
            log(f"open {m:15} {rate:6.0f}/s: ok {r['ok_share']:.1%} p99(200) {r['p99_us']} "
                f"429s {refused} lag p99 {r['lag_p99_us']:.0f} others "
                f"{r['others_cpus']:.2f}{batching_text(r)} "
                f"{'pass' if r['passed'] else 'FAIL'}")
    return ladders


def main():
    ap = report.parser(__doc__)
    report.add_common_args(ap)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--delay-us", type=int, default=1000, help="max_queue_delay_us (fixed)")
    ap.add_argument("--objective-us", type=int, default=10000,
                    help="latency_objective_us of mlp1k_adaptive, and the p99 objective")
    ap.add_argument("--closed-duration", type=int, default=3, help="seconds per h2load run")
    ap.add_argument("--open-duration", type=float, default=2.0,
                    help="seconds per open-loop rate")
    ap.add_argument("--model-call-bench", help="bench/model_call_bench binary")
    ap.add_argument("--openloop-load", default=OPENLOOP, help="bench/openloop_load binary")
    args = ap.parse_args()
    globals()["OPENLOOP"] = args.openloop_load
    if not os.access(OPENLOOP, os.X_OK):
        sys.exit(f"no {OPENLOOP}: cmake --build --preset release --target openloop_load")

    started, out, repo, binary, info = report.begin(
        args, "batching-bench",
        ["--delay-us", str(args.delay_us), "--objective-us", str(args.objective_us)])
    check_objective(repo, args.objective_us)
    info["load_start"] = machine.uptime()
    inproc = inprocess_us(models.find_model_call_bench(args.model_call_bench),
                          os.path.join(repo, "models", "mlp1k"), 1)
    problems = []
    s = servers.Strata(binary, repo, out)
    s.start()
    try:
        info["blas"] = servers.blas_of(s.pid)
        for m in MODELS:  # warm-up, not recorded
            closed_run(s, repo, m, args.connections, 2, os.path.join(out, f"warm_{m}.tsv"))
        closed = closed_phase(s, repo, args, out)
        off = report.median([r["goodput"] for r in closed["mlp1k"]])
        start = max(float(MIN_RATE), round(START_SHARE * off, -1))
        ladders = open_phase(s, repo, args, start)
        opened = {m: ladders[m].rungs for m in MODELS}
        highest = {m: ladders[m].highest() for m in MODELS}
        info["adaptive_limits_end"] = models.model_stats(s, "mlp1k_adaptive").get("adaptive")
    finally:
        s.finish(problems)
    info["load_end"] = machine.uptime()
    report.save_results(out, {"machine": info, "args": vars(args), "inproc_us": inproc,
                              "closed": closed, "open": opened, "highest": highest,
                              "problems": problems})
    print(make_report(info, args, started, out, inproc, closed, opened, highest, problems))


def open_lines(args, opened):
    us = report.us
    lines = ["\nOpen loop: each mode's ladder (see Ladder); for each rung, the median over its "
             "rounds of the share answered 200 and the p99 of those (from the time each was "
             f"due); a rung passes with ≥ {MIN_OK_SHARE:.0%} answered 200 and p99 ≤ "
             f"{us(args.objective_us)}.\n",
             "| offered req/s | " + " | ".join(MODE[m] for m in MODELS) + " |",
             "|---:|" + "---|" * len(MODELS)]
    for rate in sorted({rate for m in MODELS for rate in opened[m]}):
        cells = []
        for m in MODELS:
            at = opened[m].get(rate, [])
            if not at:
                cells.append("")
                continue
            verdict = "pass" if rung_passes(at, args.objective_us) else "fail"
            cells.append(f"{report.median([r['ok_share'] for r in at]):.1%} ok, p99 "
                         f"{us(report.median([r['p99_us'] for r in at]))} "
                         f"({len(at)} round{'s' if len(at) > 1 else ''}: {verdict})")
        lines.append(f"| {rate:,.0f} | " + " | ".join(cells) + " |")
    every = [r for m in MODELS for at in opened[m].values() for r in at]
    lag = [r["lag_p99_us"] for r in every]
    others = [r["others_cpus"] for r in every]
    lines.append(f"\nGenerator lag p99 (send − due) over all open-loop runs: median "
                 f"{us(report.median(lag))}, max {us(max(lag))}; other processes' CPUs during "
                 f"them: {report.median_spread(others, report.cpus)}.")
    return lines


def closed_lines(closed, conns):
    us = report.us
    lines = [f"\nClosed loop, h2load --h1 -c{conns} (medians of the rounds; min – max of "
             f"goodput). Little's law: {conns} clients / the rate of all answers is their mean "
             "latency, whatever the batcher does.\n",
             "| batching | goodput (200/s) | p50 / p99 of the 200s | refused (429) | "
             f"{conns} / answers per s | other errors | server / others CPUs | load avg |",
             "|---|---:|---:|---:|---:|---:|---|---:|"]
    for m in MODELS:
        rs = closed[m]
        med = {k: report.median([r[k] for r in rs]) for k in
               ("goodput", "rps", "p50_us", "p99_us", "refused", "other", "server_cpus",
                "others_cpus", "load")}
        lines.append(f"| {MODE[m]} | {med['goodput']:,.0f} "
                     f"({report.spread([r['goodput'] for r in rs], report.num)}) | "
                     f"{us(med['p50_us'])} / {us(med['p99_us'])} | {med['refused']:.1%} | "
                     f"{us(1e6 * conns / med['rps']) if med['rps'] else '—'} | "
                     f"{med['other']:.1%} | {med['server_cpus']:.2f} / "
                     f"{med['others_cpus']:.2f} | {med['load']:.1f} |")
    return lines


def ratio(a, b):
    return a / b if a and b else None


def times(x):
    return f"**{x:.2f}×**" if x is not None else "**no ratio** (off passed no rate)"


def make_report(info, args, started, out, inproc, closed, opened, highest, problems):
    us = report.us
    lines = report.header(
        "Batching gain at an equal p99 objective (issue 17)", info, started,
        [f"model: mlp1k (TorchScript MLP 512 → 1024 → 1024 → 10), `threads: 1`, "
         f"`instances: 1`, `max_batch_size: 64`; fixed = `max_queue_delay_us: {args.delay_us}`; "
         f"adaptive = `latency_objective_us: {args.objective_us}`; BLAS {info.get('blas')}",
         f"in-process `Run()`: 1 row {us(inproc.get(1))}, 64 rows {us(inproc.get(64))} "
         f"({us(inproc[64] / 64 if inproc.get(64) else None)} per row)",
         f"load average at the start: {info['load_start']}; at the end: {info['load_end']}",
         f"{args.repeats} rounds, modes alternated in each; adaptive limits at the end: "
         f"{info.get('adaptive_limits_end')}"],
        load="h2load --h1 (closed loop), bench/openloop_load (C++ open loop)")
    lines += open_lines(args, opened)
    lines.append(f"\n| batching | highest open-loop rate with p99 ≤ {us(args.objective_us)} "
                 "| / off |")
    lines.append("|---|---:|---:|")
    for m in MODELS:
        gain = ratio(highest[m], highest["mlp1k"])
        lines.append(f"| {MODE[m]} | {highest[m]:,.0f} req/s | "
                     f"{f'{gain:.2f}×' if gain else '—'} |")
    lines += closed_lines(closed, args.connections)
    gain = ratio(highest["mlp1k_adaptive"], highest["mlp1k"])
    fixed_gain = ratio(highest["mlp1k_batched"], highest["mlp1k"])
    good = {m: report.median([r["goodput"] for r in closed[m]]) for m in MODELS}
    ad_p99 = report.median([r["p99_us"] for r in closed["mlp1k_adaptive"]])
    lines += ["\nTargets:",
              f"- open loop, highest rate with p99 ≤ {us(args.objective_us)}, adaptive / off: "
              f"{times(gain)} (fixed delay / off: {times(fixed_gain)}; target ≥ "
              f"{TARGET_GAIN:.0f}×): "
              + report.verdict(gain is not None and gain >= TARGET_GAIN),
              f"- open loop, adaptive / fixed delay: "
              f"{times(ratio(highest['mlp1k_adaptive'], highest['mlp1k_batched']))}",
              f"- closed loop {args.connections} connections, adaptive goodput / off: "
              f"**{good['mlp1k_adaptive'] / max(1e-9, good['mlp1k']):.2f}×**, / fixed delay: "
              f"**{good['mlp1k_adaptive'] / max(1e-9, good['mlp1k_batched']):.2f}×**; p99 of "
              f"the admitted {us(ad_p99)} vs {us(args.objective_us)}: "
              + report.verdict(ad_p99 is not None and ad_p99 <= args.objective_us)]
    return report.end(lines, problems, "servers up until SIGTERM, no warnings in their logs",
                      out)


if __name__ == "__main__":
    main()
