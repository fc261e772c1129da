#!/usr/bin/python3
"""Hot swaps under load: latency in the swap window, publish-to-serving time, peak resident
memory.

For each model in --models (default mlp2k, digits_mlp), alone in its repository, strata runs
with `--poll-interval-ms {poll} --control-api` (memory_strategy availability, the default;
version_policy latest 1; warm-up from the version's samples.json):

 1. Footprint, no load: {cycles} times unload (POST /v2/repository/models/m/unload) and load
    (.../load) through the control API; VmRSS from /proc/PID/status 0.5 s after each, the
    loaded one after 20 requests. footprint = median(loaded - unloaded); baseline = median
    unloaded RSS (the server without the model).
 2. Load: bench/lib/openloop.py's closed-loop client, 8 keep-alive connections sending 1-row
    requests as fast as they are answered, each response's `model_version` recorded; VmRSS
    sampled every 20 ms. {repeats} rounds, each: {steady} s steady state, then {swaps} swaps,
    each followed by {steady} s of steady state. A swap publishes a new version atomically:
    copy model.pt + samples.json into models/m/.staging-N, then rename it to models/m/N.
    Peak RSS of the window comes from VmHWM (reset by `echo 5 > /proc/PID/clear_refs` just
    before the publish) and from the 20 ms samples.

Swap window = from the rename until the old version is unloaded (its `unloaded m version N`
log line) and the first response from the new version is in, + 100 ms. Steady state = the
requests sent outside any window (the first second of each round excluded).

Figures per round (median over rounds reported): steady and swap-window p50/p99; per swap
(median over all swaps): publish -> first response from the new version, load + warm-up time
(the server's log), peak RSS in the window. Failed requests are counted (target: none).
Targets (issue 4): swap-window p99 <= 2x steady p99; peak RSS during the swap <= baseline +
2 x footprint (availability-preserving needs room for two versions, no more). Baseline here is
everything but the model while serving the same load, i.e. steady RSS under load - footprint,
so the bound is steady RSS + 1 footprint; the idle, unloaded RSS is reported too (it lacks
the connections' buffers and the allocator's working set under load).

  /usr/bin/python3 bench/swap_bench.py [--models mlp2k,digits_mlp] [--poll-interval-ms 100]
"""

import asyncio
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import load, log, machine, models, report, servers  # noqa: E402
from lib.servers import http  # noqa: E402

TARGET_P99 = 2.0
CONNECTIONS = 8


def wait_ready(server, model, want=True, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _ = http("GET", server.url(f"/v2/models/{model}/ready"))
        if (status == 200) == want:
            return True
        time.sleep(0.05)
    return False


def footprint(server, model, body, cycles):
    """[(unloaded kB, loaded kB)] over `cycles` unload/load cycles through the control API."""
    out = []
    for _ in range(cycles):
        st, msg = http("POST", server.url(f"/v2/repository/models/{model}/unload"), b"{}")
        if st != 200 or not wait_ready(server, model, want=False):
            raise RuntimeError(f"unload failed: {st} {msg}")
        time.sleep(0.5)
        unloaded = server.rss_kb("VmRSS")
        st, msg = http("POST", server.url(f"/v2/repository/models/{model}/load"), b"{}")
        if st != 200 or not wait_ready(server, model):
            raise RuntimeError(f"load failed: {st} {msg}")
        for _ in range(20):
            http("POST", server.url(f"/v2/models/{model}/infer"), body)
        time.sleep(0.5)
        out.append((unloaded, server.rss_kb("VmRSS")))
    return out


def publish(model_dir, src_version_dir, version):
    staging = os.path.join(model_dir, f".staging-{version}")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for name in os.listdir(src_version_dir):
        shutil.copy2(os.path.join(src_version_dir, name), staging)
    os.rename(staging, os.path.join(model_dir, str(version)))


class LogWatch:
    """Finds lines in the server's log as they appear."""

    def __init__(self, path):
        self.path, self.pos = path, 0

    def skip_to_end(self):
        self.pos = os.path.getsize(self.path)

    def new_lines(self):
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        self.pos += cut
        return data[:cut].decode(errors="replace").splitlines()


async def session(server, model, model_dir, src_version_dir, body, args, first_version, logw):
    """One round: steady, then `swaps` swaps each followed by steady; returns its data."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    client = asyncio.ensure_future(load.closed_loop(
        server.url(f"/v2/models/{model}/infer"), body, CONNECTIONS, None, want_version=True,
        stop=stop))
    swaps, t_begin = [], loop.time()
    await asyncio.sleep(args.steady)
    version = first_version
    for _ in range(args.swaps):
        old, version = version, version + 1
        logw.skip_to_end()
        servers.reset_peak_rss(server.pid)
        await loop.run_in_executor(None, publish, model_dir, src_version_dir, version)
        t_pub = loop.time()
        sw = {"version": version, "t_pub": t_pub, "load_ms": None, "t_unloaded": None}
        deadline = t_pub + 60
        while loop.time() < deadline:
            await asyncio.sleep(0.01)
            for line in logw.new_lines():
                m = re.search(rf"model '{model}' version {version} ready .*in (\d+) ms", line)
                if m:
                    sw["load_ms"] = int(m.group(1))
                if re.search(rf"unloaded {model} version {old}\b", line):
                    sw["t_unloaded"] = loop.time()
                if re.search(r"\b(error|warn)", line, re.I):
                    sw.setdefault("log_problems", []).append(line.strip())
            if sw["t_unloaded"] is not None:
                break
        await asyncio.sleep(0.1)
        sw["t_end"] = loop.time()
        sw["hwm_kb"] = server.rss_kb("VmHWM")
        swaps.append(sw)
        await asyncio.sleep(args.steady)
    stop.set()
    records = await client
    return {"t_begin": t_begin, "t_end": loop.time(), "swaps": swaps, "records": records,
            "last_version": version}


def analyze_round(rnd, rss):
    recs = rnd["records"]
    windows = []
    for sw in rnd["swaps"]:
        firsts = [r.done for r in recs if r.version == str(sw["version"]) and r.done >= sw["t_pub"]]
        sw["t_first_new"] = min(firsts) if firsts else None
        end = max(x for x in (sw["t_end"], sw["t_first_new"]) if x is not None)
        windows.append((sw["t_pub"], end))
        sw["window_s"] = end - sw["t_pub"]
        sw["publish_to_first_ms"] = ((sw["t_first_new"] - sw["t_pub"]) * 1e3
                                     if sw["t_first_new"] else None)
        during = [kb for t, kb in rss.samples if sw["t_pub"] <= t <= end]
        sw["rss_peak_sampled_kb"] = max(during) if during else None
        sw["rss_peak_kb"] = max(x for x in (sw["hwm_kb"], sw["rss_peak_sampled_kb"]) if x)
        old_after = [r for r in recs if r.sent > end and r.status == 200
                     and r.version.isdigit() and int(r.version) < sw["version"]]
        sw["old_version_after_window"] = len(old_after)
        sw["requests_in_window"] = sum(1 for r in recs if sw["t_pub"] <= r.sent <= end)

    def in_window(t):
        return any(a <= t <= b for a, b in windows)

    steady = [r.latency * 1e6 for r in recs
              if r.status == 200 and r.sent >= rnd["t_begin"] + 1.0 and not in_window(r.sent)]
    swap = [r.latency * 1e6 for r in recs if r.status == 200 and in_window(r.sent)]
    rnd["failed"] = sum(1 for r in recs if r.status != 200)
    rnd["failed_statuses"] = sorted({r.status for r in recs if r.status != 200})
    rnd["steady_rss_kb"] = report.median([kb for t, kb in rss.samples
                                      if rnd["t_begin"] + 1 <= t and not in_window(t)
                                      and t <= rnd["t_end"]])
    rnd["n_steady"], rnd["n_swap"] = len(steady), len(swap)
    for name, vals in (("steady", steady), ("swap", swap)):
        rnd[f"{name}_p50_us"] = load.percentile(vals, 50)
        rnd[f"{name}_p99_us"] = load.percentile(vals, 99)
        rnd[f"{name}_max_us"] = max(vals) if vals else None
    rnd["rps"] = len(recs) / (rnd["t_end"] - rnd["t_begin"])
    del rnd["records"]
    return rnd


def bench_model(model, mode, repo, binary, out, args, info, problems):
    served = models.subset_repo(repo, [model], out, f"repo-swap-{model}-{mode}")
    model_dir = os.path.join(served, "models", model)
    cfg_path = os.path.join(model_dir, "config.yaml")
    with open(cfg_path) as f:
        cfg = f.read()
    with open(cfg_path, "a") as f:
        if "warmup:" not in cfg:  # digits_mlp's example config has none; warm up like mlp2k
            f.write("\nwarmup: {samples: samples.json}\n")
        if mode == "marker":
            f.write("\nversion_marker: READY\n")
    if mode == "marker":
        open(os.path.join(model_dir, "1", "READY"), "w").close()
    src = os.path.join(out, f"src-{model}-{mode}")  # what every new version gets
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(os.path.join(model_dir, "1"), src)
    with open(models.body_path(repo, model), "rb") as f:
        body = f.read()

    server = servers.Strata(binary, served, out, label=f"strata-swap-{model}-{mode}",
                            extra=["--poll-interval-ms", str(args.poll_interval_ms),
                                   "--control-api"])
    server.start()
    res = {"model": f"{model} ({mode})"}
    try:
        res["blas"] = servers.blas_of(server.pid)
        for _ in range(50):
            http("POST", server.url(f"/v2/models/{model}/infer"), body)
        fp = footprint(server, model, body, args.cycles)
        res["footprint_cycles"] = fp
        res["baseline_kb"] = report.median([u for u, _ in fp])
        res["footprint_kb"] = report.median([l - u for u, l in fp])
        log(f"{model}: RSS without / with the model {res['baseline_kb']} / "
               f"{report.median([l for _, l in fp])} kB -> footprint {res['footprint_kb']} kB")
        logw = LogWatch(server.log_path)
        rounds, version = [], 1
        quiet = machine.QuietWaiter(0.2, max_wait_each=10, max_wait_total=45)
        for rep in range(args.repeats):
            quiet.wait()
            with servers.RssSampler(server, 0.02) as rss, servers.CpuAccount(server) as cpu:
                rnd = asyncio.run(session(server, model, model_dir, src, body, args, version,
                                          logw))
            version = rnd["last_version"]
            rnd = analyze_round(rnd, rss)
            rnd.update(cpu.result)
            for sw in rnd["swaps"]:
                for line in sw.get("log_problems", []):
                    problems.append(f"{model} swap to v{sw['version']}: log `{line[:200]}`")
                if sw["t_unloaded"] is None:
                    problems.append(f"{model} swap to v{sw['version']}: old version not "
                                    "unloaded within 60 s")
                if sw["old_version_after_window"]:
                    problems.append(f"{model} swap to v{sw['version']}: "
                                    f"{sw['old_version_after_window']} responses from an old "
                                    "version after the window")
            if rnd["failed"]:
                problems.append(f"{model} round {rep + 1}: {rnd['failed']} failed requests "
                                f"(statuses {rnd['failed_statuses']})")
            log(f"{model} round {rep + 1}: steady p50/p99 {rnd['steady_p50_us']:.0f}/"
                   f"{rnd['steady_p99_us']:.0f} µs, swap {rnd['swap_p50_us']:.0f}/"
                   f"{rnd['swap_p99_us']:.0f} µs ({rnd['n_swap']} requests); publish->first "
                   f"{[round(s['publish_to_first_ms'] or -1) for s in rnd['swaps']]} ms; peak "
                   f"{[s['rss_peak_kb'] for s in rnd['swaps']]} kB; failed {rnd['failed']}; "
                   f"others {rnd['others_cpus']:.2f}")
            rounds.append(rnd)
        res["rounds"] = rounds
    finally:
        server.finish(problems)
    return res


def main():
    ap = report.parser(__doc__)
    report.add_common_args(ap)
    ap.add_argument("--models", default="mlp2k,digits_mlp")
    ap.add_argument("--poll-interval-ms", type=int, default=100,
                    help="strata serve --poll-interval-ms")
    ap.add_argument("--steady", type=float, default=3.0, help="seconds of steady state")
    ap.add_argument("--swaps", type=int, default=2, help="swaps per round")
    ap.add_argument("--cycles", type=int, default=3, help="unload/load cycles for footprint")
    ap.add_argument("--publish", default="rename,marker",
                    help="rename: rename a finished directory into place (complete once "
                         "unchanged for one poll interval); marker: the same with "
                         "`version_marker: READY` in config.yaml and READY in the directory "
                         "(complete at first sight)")
    args = ap.parse_args()
    started, out, repo, binary, info = report.begin(args, "swap-bench")
    problems, results = [], []
    for model in [m for m in args.models.split(",") if m]:
        for mode in [m for m in args.publish.split(",") if m]:
            results.append(bench_model(model, mode, repo, binary, out, args, info, problems))
    report.save_results(out, {"machine": info, "args": vars(args), "results": results,
                              "problems": problems})
    print(make_report(info, args, started, out, results, problems))


def make_report(info, args, started, out, results, problems):
    lines = report.header(
        "Hot swap under load (issue 4)", info, started,
        [f"strata `--poll-interval-ms {args.poll_interval_ms} --control-api`; "
         "memory_strategy availability (default), version_policy latest 1, warm-up "
         "`{samples: samples.json}` (1 request for mlp2k, the 32-row sample for digits_mlp)",
         f"load: closed loop, {CONNECTIONS} keep-alive connections (bench/lib/openloop.py), 1-row "
         f"requests; {args.repeats} rounds × {args.swaps} swaps, {args.steady:g} s of steady "
         "state before and after each swap; publish = copy into `.staging-N`, then rename to "
         "`N`; (rename): no marker, so the scanner waits until the directory has been "
         "unchanged for one poll interval; (marker): `version_marker: READY`, READY copied "
         "with the files, so the first scan that sees the directory loads it",
         "mlp2k: TorchScript MLP 512 → 2048 → 2048 → 10 (21 MB of weights), `instances: 1`; "
         "digits_mlp: the example MLP 64 → 128 → 64 → 10",
         "figures: latency per round, median over rounds; per-swap figures median over all "
         "swaps; spread (min – max) in brackets"])
    w = lines.append
    mib = report.mib
    ms = lambda v: f"{v:,.0f} ms" if v is not None else "—"  # noqa: E731
    col = report.median_spread

    w("\n| figure | " + " | ".join(r["model"] for r in results) + " |")
    w("|---|" + "---|" * len(results))

    def row(name, get):
        w(f"| {name} | " + " | ".join(get(r) for r in results) + " |")

    rs = lambda r: r["rounds"]
    sws = lambda r: [s for rnd in r["rounds"] for s in rnd["swaps"]]
    row("throughput (8 conns), req/s", lambda r: col([x["rps"] for x in rs(r)],
                                                    lambda v: f"{v:,.0f}"))
    row("steady p50 / p99", lambda r: col([x["steady_p50_us"] for x in rs(r)]) + " / " +
        col([x["steady_p99_us"] for x in rs(r)]))
    row("swap window p50 / p99", lambda r: col([x["swap_p50_us"] for x in rs(r)]) + " / " +
        col([x["swap_p99_us"] for x in rs(r)]))
    row("swap window max", lambda r: col([x["swap_max_us"] for x in rs(r)]))
    row("requests in swap windows / steady (per round)", lambda r: col(
        [x["n_swap"] for x in rs(r)], lambda v: f"{v:,.0f}") + " / " + col(
        [x["n_steady"] for x in rs(r)], lambda v: f"{v:,.0f}"))
    row("swap window length", lambda r: col([s["window_s"] * 1e3 for s in sws(r)], ms))
    row("publish → first response from the new version", lambda r: col(
        [s["publish_to_first_ms"] for s in sws(r)], ms))
    row("of which load + warm-up (server log)", lambda r: col([s["load_ms"] for s in sws(r)],
                                                              ms))
    row("failed requests (all rounds)", lambda r: str(sum(x["failed"] for x in rs(r))))
    row("RSS without the model (baseline)", lambda r: col([u for u, _ in r["footprint_cycles"]],
                                                          mib))
    row("model footprint (RSS loaded − unloaded)", lambda r: col(
        [l - u for u, l in r["footprint_cycles"]], mib))
    row("steady RSS under load", lambda r: col([x["steady_rss_kb"] for x in rs(r)], mib))
    row("peak RSS in the swap window", lambda r: col([s["rss_peak_kb"] for s in sws(r)], mib))
    row("bound: steady RSS under load + 1 × footprint", lambda r: mib(
        report.median([x["steady_rss_kb"] for x in rs(r)]) + r["footprint_kb"]))
    row("CPUs: server / client / others", lambda r: " / ".join(
        col([x[k] for x in rs(r)], lambda v: f"{v:.2f}")
        for k in ("server_cpus", "client_cpus", "others_cpus")))
    w("\nTargets:")
    for r in results:
        sp99 = report.median([x["steady_p99_us"] for x in rs(r)])
        wp99 = report.median([x["swap_p99_us"] for x in rs(r)])
        peak = report.median([s["rss_peak_kb"] for s in sws(r)])
        steady = report.median([x["steady_rss_kb"] for x in rs(r)])
        fp = max(1, r["footprint_kb"])
        bound = steady + fp  # = (steady - footprint) + 2 x footprint
        failed = sum(x["failed"] for x in rs(r))
        w(f"- {r['model']}: swap-window p99 {report.us(wp99)} = **{wp99 / sp99:.2f}×** steady p99 "
          f"{report.us(sp99)} (target ≤ {TARGET_P99:.0f}×): {report.verdict(wp99 <= TARGET_P99 * sp99)}"
          f"; peak RSS {mib(peak)} = steady {mib(steady)} + **{(peak - steady) / fp:.2f} × "
          f"footprint** ({mib(peak - steady)} over steady; target: baseline + 2 × footprint = "
          f"steady + 1 × footprint = {mib(bound)}): {report.verdict(peak <= bound)} (against the "
          f"idle, unloaded baseline: peak − baseline = {(peak - r['baseline_kb']) / fp:.2f} × "
          f"footprint); failed requests: {failed}; publish → new version "
          f"serving {ms(report.median([s['publish_to_first_ms'] for s in sws(r)]))} with "
          f"--poll-interval-ms {args.poll_interval_ms}")
    return report.end(lines, problems, "no failed request, no old-version response after "
                                       "a window, no warnings in the log, server up "
                                       "until SIGTERM", out)


if __name__ == "__main__":
    main()
