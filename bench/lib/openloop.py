#!/usr/bin/python3
"""Open-loop (and closed-loop) HTTP/1.1 load generator for 127.0.0.1, with per-request records.

wrk is closed-loop: each connection sends its next request only when the previous answer is
back, so a slow server slows the load down and its worst latencies are never sampled
("coordinated omission"). Open loop: request i is *scheduled* at start + i / rate whatever the
server does; its latency is measured from the scheduled time, so time spent waiting for a free
connection counts against the server, as a real client arriving at that moment would see it.

  /usr/bin/python3 bench/lib/openloop.py --url http://127.0.0.1:PORT/v2/models/m/infer \
      --body body.json --rate 600 --duration 30 --connections 256
  /usr/bin/python3 bench/lib/openloop.py --url ... --body ... --closed 8 --duration 10

Prints a markdown table: offered and achieved rate, generator lag (send time - scheduled time;
if its p99 is large the generator, not the server, is the bottleneck), and latency percentiles
per status. As a module: `OpenLoop` / `closed_loop` return `Record`s for the caller's analysis.

Design: one asyncio event loop, a pool of keep-alive connections (opened up front). The
dispatcher wakes at each scheduled time (or as soon as it can), takes an idle connection (or
waits for one: the wait is part of the latency), writes the request and reads the response
(Content-Length framed). A connection the server closes is reopened. Only ever talks to
127.0.0.1; every run is bounded by --duration plus a drain timeout.
"""

import argparse
import asyncio
import json
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass

if __package__ in (None, ""):  # run as a script: bench/lib/openloop.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from lib.report import us as fmt_us
else:
    from .report import us as fmt_us

_VERSION_RE = re.compile(rb'"model_version"\s*:\s*"([^"]*)"')


@dataclass
class Record:
    scheduled: float  # loop.time() the request was due (closed loop: = sent)
    sent: float       # when it was written
    done: float       # when the whole response was read (or the error happened)
    status: int       # HTTP status, or 0 for a connection error / timeout
    version: str = ""  # model_version from the body, when asked for

    @property
    def latency(self):  # seconds, from the scheduled time
        return self.done - self.scheduled


def _loopback(url):
    u = urllib.parse.urlsplit(url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to send load to {u.hostname}: loopback only")
    return u.hostname, u.port or 80, (u.path or "/") + (f"?{u.query}" if u.query else "")


def build_request(url, body, method="POST"):
    host, port, path = _loopback(url)
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class Conn:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            import socket
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def exchange(self, request):
        """Writes one request and reads one response: (status, body)."""
        if self.writer is None:
            await self.open()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
        if not m:
            raise IOError(f"response without Content-Length: {head[:200]!r}")
        body = await self.reader.readexactly(int(m.group(1)))
        if re.search(rb"\r\nconnection:\s*close", head, re.I):
            self.close()
        return status, body


async def _exchange_record(conn, request, scheduled, want_version, loop):
    sent = loop.time()
    try:
        status, body = await conn.exchange(request)
        version = ""
        if want_version:
            m = _VERSION_RE.search(body)
            version = m.group(1).decode() if m else ""
        return Record(scheduled, sent, loop.time(), status, version)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        conn.close()  # reopened on its next use
        return Record(scheduled, sent, loop.time(), 0)


class OpenLoop:
    """Sends `rate` requests per second for `duration` s on up to `connections` connections."""

    def __init__(self, url, body, rate, duration, connections=256, want_version=False,
                 drain_timeout=10.0):
        self.host, self.port, _ = _loopback(url)
        self.request = build_request(url, body)
        self.rate, self.duration, self.connections = rate, duration, connections
        self.want_version, self.drain_timeout = want_version, drain_timeout
        self.records = []
        self.start = None  # loop.time() of request 0
        self.unfinished = 0

    async def run(self, on_start=None):
        loop = asyncio.get_running_loop()
        pool = asyncio.Queue()
        conns = [Conn(self.host, self.port) for _ in range(self.connections)]
        await asyncio.gather(*(c.open() for c in conns))
        for c in conns:
            pool.put_nowait(c)

        async def fire(scheduled):
            conn = await pool.get()
            try:
                self.records.append(await _exchange_record(conn, self.request, scheduled,
                                                           self.want_version, loop))
            finally:
                pool.put_nowait(conn)

        total = int(round(self.rate * self.duration))
        self.start = loop.time() + 0.05
        if on_start:
            on_start(self.start)
        tasks, i = [], 0
        while i < total:
            now = loop.time()
            while i < total and self.start + i / self.rate <= now:
                tasks.append(asyncio.ensure_future(fire(self.start + i / self.rate)))
                i += 1
            if i < total:
                await asyncio.sleep(max(0.0, self.start + i / self.rate - loop.time()))
        done, pending = await asyncio.wait(tasks, timeout=self.drain_timeout)
        self.unfinished = len(pending)
        for t in pending:
            t.cancel()
        for c in conns:
            c.close()
        return self.records


async def closed_loop(url, body, connections, duration, want_version=False, stop=None):
    """Each connection sends its next request as soon as its answer is back (like wrk).

    Runs for `duration` s, or until the asyncio.Event `stop` is set when duration is None."""
    loop = asyncio.get_running_loop()
    host, port, _ = _loopback(url)
    request = build_request(url, body)
    records = []
    conns = [Conn(host, port) for _ in range(connections)]
    await asyncio.gather(*(c.open() for c in conns))
    end = None if duration is None else loop.time() + duration

    async def worker(conn):
        while (end is None or loop.time() < end) and not (stop is not None and stop.is_set()):
            now = loop.time()
            records.append(await _exchange_record(conn, request, now, want_version, loop))

    await asyncio.gather(*(worker(c) for c in conns))
    for c in conns:
        c.close()
    return records


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a list; None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def summarize(records, start=None, duration=None):
    """Figures (µs for latencies) over records, by status class."""
    out = {"count": len(records)}
    if records:
        sent = [r.sent for r in records]
        t0 = start if start is not None else min(sent)
        span = max(duration or 0.0, max(sent) - t0)  # never overstate the rate
        out["achieved_rps"] = len(records) / span if span > 0 else None
        lag = [(r.sent - r.scheduled) * 1e6 for r in records]
        out["lag_p50_us"], out["lag_p99_us"] = percentile(lag, 50), percentile(lag, 99)
        out["lag_max_us"] = max(lag)
    by, svc = {}, {}
    for r in records:
        by.setdefault(r.status, []).append(r.latency * 1e6)
        svc.setdefault(r.status, []).append((r.done - r.sent) * 1e6)
    # latency: from the scheduled time; service: from the actual send (excludes waiting for a
    # free connection and generator lag)
    out["by_status"] = {
        s: {"count": len(v), "p50_us": percentile(v, 50), "p90_us": percentile(v, 90),
            "p99_us": percentile(v, 99), "max_us": max(v),
            "svc_p50_us": percentile(svc[s], 50), "svc_p99_us": percentile(svc[s], 99)}
        for s, v in sorted(by.items())}
    return out


def markdown(summary, offered=None):
    lines = []
    if offered is not None:
        lines.append(f"- offered {offered:,.0f} req/s, achieved (sent) "
                     f"{summary.get('achieved_rps') or 0:,.0f} req/s; generator lag p50 "
                     f"{fmt_us(summary.get('lag_p50_us'))}, p99 {fmt_us(summary.get('lag_p99_us'))}"
                     f", max {fmt_us(summary.get('lag_max_us'))}")
    lines.append("\n| status | requests | p50 | p90 | p99 | max | p50 / p99 from the send |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for status, s in summary["by_status"].items():
        name = "error" if status == 0 else str(status)
        lines.append(f"| {name} | {s['count']:,} | {fmt_us(s['p50_us'])} | "
                     f"{fmt_us(s['p90_us'])} | {fmt_us(s['p99_us'])} | {fmt_us(s['max_us'])} | "
                     f"{fmt_us(s['svc_p50_us'])} / {fmt_us(s['svc_p99_us'])} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--body", required=True, help="file with the JSON request body")
    ap.add_argument("--rate", type=float, help="open loop: requests per second")
    ap.add_argument("--closed", type=int, metavar="N", help="closed loop on N connections")
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--connections", type=int, default=256, help="open loop: pool size")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON too")
    args = ap.parse_args()
    with open(args.body, "rb") as f:
        body = f.read()
    if (args.rate is None) == (args.closed is None):
        sys.exit("give exactly one of --rate and --closed")
    if args.rate:
        gen = OpenLoop(args.url, body, args.rate, args.duration, args.connections)
        records = asyncio.run(gen.run())
        s = summarize(records, gen.start, args.duration)
        s["unfinished"] = gen.unfinished
        print(markdown(s, offered=args.rate))
    else:
        records = asyncio.run(closed_loop(args.url, body, args.closed, args.duration))
        s = summarize(records)
        print(markdown(s))
    if args.json:
        print(json.dumps(s))


if __name__ == "__main__":
    main()
