"""One wrapper over the load generators a benchmark runs, each run recorded for the report.

  wrk(url, body_file, threads, conns, duration)   closed loop, HTTP/1.1, bench/lib/post.lua
                                                  (one body, or one a line with lines=True):
                                                  req/s, exact latency percentiles (µs),
                                                  non-2xx and socket errors
  h2load(url, data_file, ...)                     nghttp2's h2load (HTTP/2 or --h1): req/s,
                                                  mean latency
  strata_load(...)                                bench/grpc_load's closed-loop client for
                                                  gRPC, REST-JSON and REST-binary
  redis_benchmark(port, ...)                      redis-benchmark GET
  open_loop(url, body, rate, duration, conns)     bench/lib/openloop.py: requests scheduled
                                                  at a fixed rate, latency from the schedule
"""

import asyncio
import json
import os
import re
import shlex

from . import LIB, ROOT, log, need, record, run, run_checked
from . import openloop

POST_LUA = os.path.join(LIB, "post.lua")
GRPC_LOAD_SOURCE = os.path.join(os.path.dirname(LIB), "grpc_load")
SOCKET_ERRORS = ("errors_connect", "errors_read", "errors_write", "errors_timeout")

_UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def parse_duration_us(text):
    """'40.00us' / '2.60ms' / '1.02s' / '1.50m' -> microseconds."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(us|ms|s|m|h)\s*", text)
    if not m:
        raise ValueError(f"cannot parse duration {text!r}")
    return float(m.group(1)) * _UNITS_US[m.group(2)]


def parse_wrk(text):
    """Figures from wrk's report, and from post.lua's exact WRK_JSON line when present."""
    r = {"non2xx": 0, **{k: 0 for k in SOCKET_ERRORS}}
    for pct, value in re.findall(r"^\s*(50|75|90|99)%\s+([0-9.]+\s*(?:us|ms|s|m|h))\s*$",
                                 text, re.M):
        r[f"p{pct}_us"] = parse_duration_us(value)
    m = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.M)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+\s*(?:us|ms|s|m|h))", text, re.M)
    if m:
        r["requests"] = int(m.group(1))
        r["duration_us"] = parse_duration_us(m.group(2))
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        for key, v in zip(SOCKET_ERRORS, m.groups()):
            r[key] = int(v)
    m = re.search(r"^WRK_JSON (\{.*\})\s*$", text, re.M)
    if m:
        exact = json.loads(m.group(1))
        # cross-check the text report against the exact figures (wrk rounds to 2 decimals)
        for key in ("p50_us", "p99_us"):
            if key in r and abs(r[key] - exact[key]) > max(0.011 * exact[key], 1.0):
                log(f"warning: wrk text {key}={r[key]} vs exact {exact[key]}")
        r.update(exact)
        if exact["duration_us"] > 0:
            r["rps"] = exact["requests"] / (exact["duration_us"] / 1e6)
    for key in ("p50_us", "p99_us", "rps"):
        if key not in r:
            raise ValueError(f"wrk output lacks {key}:\n{text}")
    r["errors"] = sum(r[k] for k in SOCKET_ERRORS)
    return r


def failures(r):
    """Non-2xx responses plus socket errors of a wrk result."""
    return r["non2xx"] + r["errors"]


def failure_text(r):
    return (f"{r['non2xx']} non-2xx, socket errors connect {r['errors_connect']} read "
            f"{r['errors_read']} write {r['errors_write']} timeout {r['errors_timeout']}")


def wrk(url, body_file, threads, conns, duration, out_path=None, lines=False):
    """Runs `wrk -tT -cC -dDs --latency -s bench/lib/post.lua URL -- BODY_FILE [lines]` and
    returns parse_wrk's figures plus "cmd". out_path: where to keep wrk's output."""
    need("wrk")
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency",
           "-s", os.path.relpath(POST_LUA, ROOT), url, "--", body_file]
    if lines:
        cmd.append("lines")
    proc = run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if out_path:
        with open(out_path, "w") as f:
            f.write(shlex.join(cmd) + "\n" + proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    result = parse_wrk(proc.stdout)
    result["cmd"] = shlex.join(cmd)
    return result


def h2load(url, data_file, clients, duration, warmup=1, streams=1, headers=(), h1=False):
    """One h2load run: {"throughput" (req/s), "mean_us", "failed"}. HTTP/2 with `streams`
    concurrent streams per client, or --h1 with `clients` connections."""
    need("h2load", "nghttp2-client")
    cmd = ["h2load", "-D", str(int(duration)), "--warm-up-time", str(int(max(warmup, 1)))]
    if h1:
        cmd.append("--h1")
    cmd += ["-c", str(clients), "-m", str(streams), "-d", data_file]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    text = run_checked(cmd, "h2load").stdout
    finished = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", text)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", text)
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", text)
    if not (finished and done and mean):
        raise RuntimeError("cannot read h2load's output:\n" + text)
    return {"throughput": float(finished.group(1)), "mean_us": parse_duration_us(mean.group(1)),
            "failed": int(done.group(1)) - int(done.group(2))}


def grpc_frame(message):
    """A protobuf message framed as one gRPC message (uncompressed), for h2load -d."""
    return b"\0" + len(message).to_bytes(4, "big") + message


def build_strata_load(build_dir=os.path.join(ROOT, "build", "grpc-load")):
    """Builds bench/grpc_load (cmake, Ninja, Release) and returns the strata_load binary."""
    run_checked(["cmake", "-S", GRPC_LOAD_SOURCE, "-B", build_dir, "-G", "Ninja",
                 "-DCMAKE_BUILD_TYPE=Release"], "cmake (grpc_load)")
    run_checked(["cmake", "--build", build_dir], "building strata_load")
    return os.path.join(build_dir, "strata_load")


def strata_load(binary, protocol, port, model, payload, concurrency, duration, warmup,
                header_length=None):
    """One closed-loop run of strata_load ("grpc", "rest-json" or "rest-binary"): its JSON
    line ({"throughput", "p50_us", "p99_us", "errors", ...})."""
    cmd = [binary, "--protocol", protocol, "--port", str(port), "--model", model,
           "--payload", payload, "--concurrency", str(concurrency),
           "--duration", str(duration), "--warmup", str(warmup)]
    if header_length is not None:
        cmd += ["--header-length", str(header_length)]
    return json.loads(run_checked(cmd, "strata_load").stdout.strip())


def redis_benchmark(port, requests, clients=50, keyspace=None, test="get"):
    """redis-benchmark -t TEST: {"rps", "p50_us", "p99_us"}."""
    need("redis-benchmark", "redis-tools")
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", test,
           "-c", str(clients), "-n", str(requests), "--csv"]
    if keyspace:
        cmd += ["-r", str(keyspace)]
    out = run_checked(cmd, "redis-benchmark", timeout=300).stdout
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95..","p99..","max.."
    row = [l for l in out.splitlines() if l.upper().startswith(f'"{test.upper()}"')][0]
    fields = [float(x.strip('"')) for x in row.split(",")[1:]]
    return {"rps": fields[0], "p50_us": fields[3] * 1000, "p99_us": fields[5] * 1000}


def open_loop(url, body, rate, duration, connections=256, want_version=False):
    """bench/lib/openloop.py's open loop: `rate` req/s for `duration` s. Returns
    (summary (openloop.summarize, plus "unfinished", "start", "offered"), records)."""
    record(f"bench/lib/openloop.py --url {url} --body BODY --rate {rate:.0f} "
           f"--duration {duration} --connections {connections}")
    gen = openloop.OpenLoop(url, body, rate, duration, connections, want_version=want_version)
    records = asyncio.run(gen.run())
    s = openloop.summarize(records, gen.start, duration)
    s.update(unfinished=gen.unfinished, start=gen.start, offered=rate)
    return s, records


percentile = openloop.percentile
closed_loop = openloop.closed_loop
