#!/usr/bin/python3
"""The advisor's predicted hit rate vs the hit rate measured when the
workload is replayed through the server (issue 6; target: within 3 points).

End to end on loopback with the real binary and the XGBoost example
(examples/repository/models/breast_cancer_xgb, trained by examples/train_all.sh),
for each Zipf exponent:

 1. Day 1: --requests rows whose ids are drawn from Zipf(s) over --keys ids
    (seeded) are sent over HTTP to a hybrid endpoint without a table (a
    cache in front of the model) of a server started with --key-log; the
    server writes the key log. (--generate-log writes the same log file
    directly instead, without a server: faster, less honest.)
 2. `strata advise --key-log ... --export-hot-keys K` for each K (a share
    of --keys; with each --heavy-hitters value): the advisor's forecast is
    the expected hit rate on new traffic it prints for the exported keys
    (WorkloadStats::expected_coverage, Good-Turing corrected); the coverage
    of those keys on the logged day ("in hindsight") is shown next to it.
 3. `strata batch` precomputes the exported keys into a RocksDB table
    (features derived from the id by cycling samples.json's rows).
 4. A second server serves, per case, a hybrid endpoint over that table
    with the cache off (`cache: {max_bytes: 0}`: the table is the only head
    layer) and one with the default cache; day 2 (fresh draws from the same
    distribution, another seed) is replayed through both over HTTP and the
    rows each layer answered are summed from the responses' `layer_table`,
    `layer_cache` and `layer_model` parameters (checked against
    strata_endpoint_rows_total in /metrics and, for the table, against the
    exported keys' share of day 2 counted offline).
 5. Prints a markdown table: exponent, K, forecast, measured table hit
    rate (cache off), the difference in points; for diagnosis, how many of
    the exported keys are a top-K key of day 1 (counted exactly from the key
    log; ties allowed) and the share of day 2 that day 1's exact top K takes
    (computed offline); and with the default
    cache on, the table + cache hit rate.

Servers are stopped at the end, also on an error or ctrl-C. The binary is
copied first (others may rebuild build/release meanwhile).

usage:
  bench/advisor_replay_bench.py [--strata build/release/strata] [--keys 1000000]
      [--requests 500000] [--exponents 0.8,1.0,1.2] [--k-shares 0.01,0.05,0.2]
      [--heavy-hitters auto,1000000] [--rows 512] [--connections 4] [--seed 1]
      [--generate-log] [--keep]
"""
import argparse
import collections
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import models, run_checked, servers  # noqa: E402
from lib.zipf import zipf_ids  # noqa: E402

MODEL = "breast_cancer_xgb"
# What `strata advise --export-hot-keys` prints on stderr.
EXPORT_LINE = re.compile(r"wrote the (\d+) hottest keys to .* \(([\d.]+)% of the logged requests; "
                         r"expected hit rate on new traffic ([\d.]+)%\)")






class Client:
    """Sends rows to a hybrid endpoint in requests of `rows` rows over
    `connections` keep-alive connections; sums the rows per layer."""

    def __init__(self, port, samples, rows, connections):
        self.port, self.rows, self.connections = port, rows, connections
        self.features = [",".join(repr(x) for x in row) for row in samples]
        self.width = len(samples[0])
        self.local = threading.local()

    def body(self, ids):
        n = len(self.features)
        return ('{"inputs":[{"name":"id","datatype":"INT64","shape":[%d],"data":[%s]},'
                '{"name":"features","datatype":"FP32","shape":[%d,%d],"data":[%s]}]}' % (
                    len(ids), ",".join(map(str, ids)), len(ids), self.width,
                    ",".join(self.features[i % n] for i in ids))).encode()

    def post(self, endpoint, ids):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                                timeout=120)
        conn.request("POST", f"/v2/models/{endpoint}/infer", self.body(ids),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        text = response.read()
        if response.status != 200:
            raise RuntimeError(f"{endpoint} answered {response.status}: {text[:300]!r}")
        params = json.loads(text)["parameters"]
        return {layer: params.get(f"layer_{layer}", 0) for layer in ("table", "cache", "model")}

    def send(self, endpoint, ids):
        chunks = [ids[i:i + self.rows] for i in range(0, len(ids), self.rows)]
        totals = {"table": 0, "cache": 0, "model": 0}
        # Requests go out in order, `connections` at a time.
        with concurrent.futures.ThreadPoolExecutor(self.connections) as pool:
            for counts in pool.map(lambda c: self.post(endpoint, c), chunks):
                for layer, n in counts.items():
                    totals[layer] += n
        if sum(totals.values()) != len(ids):
            raise RuntimeError(f"{endpoint}: {totals} do not add up to {len(ids)} rows")
        return totals


def tag(s):
    return f"s{round(s * 100):03d}"


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0] + " " + __doc__.split("\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[3:]))
    ap.add_argument("--strata", help="the strata binary (default: build/release/strata; "
                                     "copied before use)")
    ap.add_argument("--keys", type=int, default=1_000_000, help="ids 0..KEYS-1")
    ap.add_argument("--requests", type=int, default=500_000,
                    help="rows of traffic per day and exponent")
    ap.add_argument("--exponents", default="0.8,1.0,1.2")
    ap.add_argument("--k-shares", default="0.01,0.05,0.2",
                    help="table sizes K as shares of --keys")
    ap.add_argument("--heavy-hitters", default="auto",
                    help="comma-separated `strata advise --heavy-hitters` values to compare; "
                         "auto: advise's own choice (2K when exporting K keys)")
    ap.add_argument("--rows", type=int, default=512, help="rows per request (<= 1024)")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1, help="day 1 uses SEED, day 2 SEED + 1000")
    ap.add_argument("--generate-log", action="store_true",
                    help="write day 1's key log directly instead of through a server")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    exponents = [float(x) for x in args.exponents.split(",")]
    ks = [max(1, round(float(x) * args.keys)) for x in args.k_shares.split(",")]
    variants = args.heavy_hitters.split(",")
    for hh in variants:
        if hh != "auto" and not hh.isdigit():
            ap.error(f"--heavy-hitters {hh}: not auto or a number")

    # SIGINT, SIGTERM and SIGHUP stop the run through the finally below.
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)

    work = tempfile.mkdtemp(prefix="strata-advisor-replay-")
    strata, _ = servers.strata_binary(args.strata, work)
    running = []
    started = time.monotonic()

    def serve(name, repo, endpoints, extra=()):
        server = servers.Strata(strata, repo, work, label=name, endpoints=endpoints,
                                extra=["--poll-interval-ms", "0", *extra], ready="port")
        running.append(server)
        return server.start()

    def note(text):
        print(f"[{time.monotonic() - started:6.1f}s] {text}", file=sys.stderr, flush=True)

    try:
        repo = models.example_repo(os.path.join(work, "repo"), [MODEL])
        samples, width = models.sample_rows(repo, MODEL)

        # 1. Day 1 and its key log.
        day1 = {s: zipf_ids(args.keys, s, args.requests, args.seed + round(s * 100))
                for s in exponents}
        key_log = os.path.join(work, "day1.jsonl")
        if args.generate_log:
            with open(key_log, "w") as f:
                ts = time.time()
                for s in exponents:
                    for j, i in enumerate(day1[s]):
                        f.write('{"ts":%.6f,"endpoint":"day1_%s","key":{"id":%d}}\n'
                                % (ts + j * 1e-4, tag(s), i))
            note(f"day 1: wrote the key log directly ({len(exponents)} x {args.requests} rows)")
        else:
            endpoints = os.path.join(work, "day1.yaml")
            with open(endpoints, "w") as f:
                f.write("endpoints:\n")
                for s in exponents:
                    f.write(f"  day1_{tag(s)}: {{plan: hybrid, table: none_yet, key: [id], "
                            f"model: {MODEL}}}\n")
            server = serve("day1", repo, endpoints, ["--key-log", key_log, "--key-log-raw-keys"])
            client = Client(server.port, samples, args.rows, args.connections)
            for s in exponents:
                t0 = time.monotonic()
                client.send(f"day1_{tag(s)}", day1[s])
                note(f"day 1, s={s}: {args.requests} rows through the server in "
                     f"{time.monotonic() - t0:.1f}s")
            server.stop()
            with open(key_log) as f:
                logged = sum(1 for _ in f)
            if logged != len(exponents) * args.requests:
                raise RuntimeError(f"the key log has {logged} lines, "
                                   f"expected {len(exponents) * args.requests}")
        del day1

        # Day 1 counted exactly, for the diagnostics: which keys a perfect
        # top K would hold, and what they take of day 2.
        exact = {s: collections.Counter() for s in exponents}
        by_name = {f"day1_{tag(s)}": s for s in exponents}
        line_re = re.compile(r'"endpoint":"([^"]*)","key":\{"id":(\d+)\}')
        with open(key_log) as f:
            for line in f:
                m = line_re.search(line)
                exact[by_name[m.group(1)]][int(m.group(2))] += 1

        # 2. The advisor's forecast and hot keys; 3. the tables.
        cases = []
        yaml = ["endpoints:"]
        for s in exponents:
            for k in ks:
                for hh in variants:
                    name = f"{tag(s)}_k{k}_h{hh}"
                    hot = os.path.join(work, f"hot_{name}.jsonl")
                    t0 = time.monotonic()
                    done = run_checked(
                        [strata, "advise", "--key-log", key_log, "--endpoint", f"day1_{tag(s)}",
                         "--model-us-per-row", "10", "--model-p99-us", "50",
                         "--export-hot-keys", str(k), "--export-to", hot,
                         *([] if hh == "auto" else ["--heavy-hitters", hh])], "strata advise")
                    m = EXPORT_LINE.search(done.stderr)
                    if m is None:
                        raise RuntimeError(
                            "strata advise did not print its forecast for the exported keys "
                            f"(a binary older than the bench?):\n{done.stderr}")
                    advise_s = time.monotonic() - t0
                    with open(hot) as src:
                        exported = [json.loads(line)["id"] for line in src]
                    csv = os.path.join(work, f"hot_{name}.csv")
                    models.write_keyed_csv(csv, exported, samples)
                    t0 = time.monotonic()
                    models.build_table(strata, repo, MODEL, csv, f"head_{name}", width)
                    ranked = exact[s].most_common(len(exported))
                    top = {i for i, _ in ranked}
                    # An exported key is right when its day-1 count reaches
                    # the K-th highest (ties at the boundary are all right).
                    kth = ranked[-1][1] if ranked else 0
                    right = sum(exact[s][i] >= kth for i in exported)
                    case = {"s": s, "k": k, "hh": hh, "name": name, "written": int(m.group(1)),
                            "hindsight": float(m.group(2)), "expected": float(m.group(3)),
                            "exported": set(exported), "top": top,
                            "overlap": 100 * right / max(1, len(exported))}
                    cases.append(case)
                    note(f"s={s} K={k} heavy hitters {hh}: advise {advise_s:.1f}s "
                         f"({case['written']} keys, forecast {case['expected']:.2f}%, hindsight "
                         f"{case['hindsight']:.2f}%, {case['overlap']:.1f}% of them a top-"
                         f"{len(exported)} key of day 1), batch {time.monotonic() - t0:.1f}s")
                    yaml.append(f"  t_{name}: {{plan: hybrid, table: head_{name}, key: [id], "
                                f"model: {MODEL}, cache: {{max_bytes: 0}}}}")
                    yaml.append(f"  c_{name}: {{plan: hybrid, table: head_{name}, key: [id], "
                                f"model: {MODEL}}}")
        endpoints = os.path.join(work, "day2.yaml")
        with open(endpoints, "w") as f:
            f.write("\n".join(yaml) + "\n")

        # 4. Day 2 replayed through the hybrid endpoints.
        server = serve("day2", repo, endpoints)
        client = Client(server.port, samples, args.rows, args.connections)
        for s in exponents:
            day2 = zipf_ids(args.keys, s, args.requests, args.seed + 1000 + round(s * 100))
            day2_counts = collections.Counter(day2)
            total = len(day2)
            for case in (c for c in cases if c["s"] == s):
                name = case["name"]
                t0 = time.monotonic()
                off = client.send(f"t_{name}", day2)
                on = client.send(f"c_{name}", day2)
                metrics = models.endpoint_rows(server)
                for endpoint, counts in ((f"t_{name}", off), (f"c_{name}", on)):
                    for layer, rows in counts.items():
                        if metrics.get((endpoint, layer), 0) != rows:
                            raise RuntimeError(f"{endpoint} {layer}: responses say {rows} rows, "
                                               f"/metrics {metrics.get((endpoint, layer), 0)}")
                if off["cache"] != 0:
                    raise RuntimeError(f"t_{name} has its cache on: {off}")
                # The same share computed offline, as a check of the server's
                # count, and what day 1's exact top K would have taken.
                offline = sum(day2_counts[i] for i in case["exported"])
                if offline != off["table"]:
                    raise RuntimeError(f"t_{name}: the table answered {off['table']} rows, "
                                       f"its keys are {offline} rows of day 2")
                case.update(measured=100 * off["table"] / total,
                            ideal=100 * sum(day2_counts[i] for i in case["top"]) / total,
                            with_cache=100 * (on["table"] + on["cache"]) / total)
                note(f"day 2, s={s} K={case['k']} heavy hitters {case['hh']}: table "
                     f"{case['measured']:.2f}% (cache off), table + cache "
                     f"{case['with_cache']:.2f}% (cache on) in {time.monotonic() - t0:.1f}s")
            del day2, day2_counts
        server.stop()

        # 5. The table.
        print(f"Zipf over {args.keys:,} ids; day 1 and day 2: {args.requests:,} rows each "
              f"(seeds {args.seed} and {args.seed + 1000}, + 100 s); day 1 "
              f"{'key log generated directly' if args.generate_log else 'sent through the server (--key-log)'}; "
              f"{args.rows} rows per request; {time.monotonic() - started:.0f}s in all\n")
        print("| Zipf s | K (share of ids) | advise --heavy-hitters | forecast (advisor) "
              "| measured: table hits, cache off | forecast - measured "
              "| day-1 coverage in hindsight | exported keys that are a top-K key of day 1 "
              "| day 2 taken by day 1's exact top K | table + cache hits, default cache |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for c in cases:
            kept = "" if c["written"] == c["k"] else f"; {c['written']:,} exported"
            hh = f"auto ({2 * c['k']:,})" if c["hh"] == "auto" else f"{int(c['hh']):,}"
            print(f"| {c['s']} | {c['k']:,} ({100 * c['k'] / args.keys:g}%{kept}) | {hh} "
                  f"| {c['expected']:.2f}% | {c['measured']:.2f}% "
                  f"| {c['expected'] - c['measured']:+.2f} pts | {c['hindsight']:.2f}% "
                  f"| {c['overlap']:.1f}% | {c['ideal']:.2f}% | {c['with_cache']:.2f}% |")
        for hh in variants:
            worst = max(abs(c["expected"] - c["measured"]) for c in cases if c["hh"] == hh)
            print(f"\nheavy hitters {hh}: largest |forecast - measured| {worst:.2f} points "
                  f"(target within 3: {'met' if worst <= 3 else 'NOT met'})")
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        servers.stop_all(running)
        if args.keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
