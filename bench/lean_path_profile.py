#!/usr/bin/python3
"""Instructions and heap allocations per request (issue 17, items 1 and 4), for strata binaries
side by side: counts that the machine's load does not move, unlike wall-clock figures.

Each binary serves the same repository as bench/lean_path_bench.py (digits_mlp, its example
config, and the static endpoint `embedded` on a 100,000-row RocksDB table) under
`valgrind --tool=callgrind --instr-atstart=no`. After warm-up requests, instrumentation is
switched on (callgrind_control -i on), counters zeroed, and then, one keep-alive connection at
a time, --requests 1-row MLP requests are sent and the counters dumped; then as many static
one-key requests, dumped again. Per request: Ir (instructions executed, every thread of the
server, so the background threads' share is included) and heap allocations (calls of malloc,
calloc, realloc, posix_memalign, aligned_alloc and memalign, from the dump's call counts).

With --mallocs (no valgrind; root, for uprobes), each binary runs at full speed, where a
one-row MLP request runs inline on the I/O thread (under valgrind it is slower than the
inline bound and goes to the batcher's worker), and `perf stat` counts the calls of libc's
malloc, calloc and realloc (uprobes, `perf probe -x libc`) in the server while --requests
requests of each kind are sent on one keep-alive connection: heap allocations per request on
the path the wall-clock benchmark takes.

With --zipf N, a third count: N static one-key requests whose keys follow Zipf(1.0) over the
table's 100,000 keys (after N such requests of warm-up), as a lookup workload's keys do.

Then, with --syscalls (no valgrind), each binary again under `strace -c -f` attached to all of
its threads while --requests requests of each kind are sent on one keep-alive connection, each
request in one send() as wrk sends it: system calls per request, by name.

  /usr/bin/python3 bench/lean_path_profile.py BINARY [BINARY ...] [--requests 2000]
      [--mallocs] [--zipf N] [--syscalls] [--no-callgrind] [--out DIR]
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import log, need, report, servers, zipf  # noqa: E402
from lean_path_bench import ROWS, setup  # noqa: E402

ALLOCATORS = {"malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign"}
WARMUP = 200


def post_many(port, path, body, count):
    """`count` POSTs of `body` on one keep-alive connection; every answer must be 200."""
    post_each(port, path, [body] * count)


def post_each(port, path, bodies):
    """A POST of each of `bodies` on one keep-alive connection; every answer must be 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    for body in bodies:
        conn.request("POST", path, body, headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"{path}: {r.status} {data[:200]!r}")
    conn.close()


def post_raw(port, path, body, count):
    """`count` POSTs of `body` on one keep-alive connection, each request in one send() (as
    wrk sends it; http.client sends the header and the body separately); every answer 200."""
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    conn = socket.create_connection(("127.0.0.1", port), timeout=120)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pending = b""
    for _ in range(count):
        conn.sendall(request)
        while b"\r\n\r\n" not in pending:
            pending += conn.recv(65536)
        head, _, pending = pending.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{path}: {head[:200]!r}")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(pending) < length:
            pending += conn.recv(65536)
        pending = pending[length:]
    conn.close()


def strace_counts(path):
    """{syscall: calls} from a `strace -c` summary."""
    counts = {}
    for line in open(path):
        fields = line.split()
        if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
            counts[fields[-1]] = int(fields[3])
    return counts


def attached_counts(binary, label, repo, endpoints, bodies, args, work, kind, attach, read):
    """For each kind of request: `attach(pid, out)` starts a counter on the server (a Popen
    stopped by SIGINT), --requests requests are sent on one connection, and `read(out)` gives the
    count(s); returns them per request, by kind."""
    mlp_body, key_body = (open(b, "rb").read() for b in bodies)
    server = servers.Strata(binary, repo, work, label=f"{label}_{kind}", endpoints=endpoints)
    server.start(timeout=300)
    try:
        result = {}
        for name, path, body in (("mlp", "/v2/models/digits_mlp/infer", mlp_body),
                                 ("static", "/v2/models/embedded/infer", key_body)):
            post_raw(server.port, path, body, WARMUP)
            out = os.path.join(work, f"{kind}.{label}.{name}.txt")
            counter = attach(server.pid, out)
            time.sleep(1.0)  # attached
            post_raw(server.port, path, body, args.requests)
            counter.send_signal(signal.SIGINT)
            counter.wait(timeout=60)
            result[name] = read(out, args.requests)
        return result
    finally:
        server.stop()


def syscalls(binary, label, repo, endpoints, bodies, args, work):
    """System calls per request of each kind, strace attached to every thread."""
    def attach(pid, out):
        cmd = ["strace", "-c", "-f", "-o", out]
        for tid in os.listdir(f"/proc/{pid}/task"):
            cmd += ["-p", tid]
        return subprocess.Popen(cmd, stderr=subprocess.DEVNULL)

    def read(out, requests):
        return {k: v / requests for k, v in strace_counts(out).items()}

    result = attached_counts(binary, label, repo, endpoints, bodies, args, work, "strace",
                             attach, read)
    for name, counts in result.items():
        log(f"{label} {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(
            counts.items(), key=lambda kv: -kv[1]) if v >= 0.05))
    return result


LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
MALLOC_PROBES = ("malloc", "calloc", "realloc")


def add_malloc_probes():
    """Defines the uprobes probe_libc:{malloc,calloc,realloc}; returns those it added."""
    listed = subprocess.run(["perf", "probe", "-l"], capture_output=True, text=True).stdout
    added = []
    for name in MALLOC_PROBES:
        if f"probe_libc:{name} " not in listed:
            subprocess.run(["perf", "probe", "-q", "-x", LIBC, "--add", name], check=True,
                           capture_output=True)
            added.append(name)
    return added


def mallocs(binary, label, repo, endpoints, bodies, args, work):
    """Heap allocations per request of each kind at full speed (uprobes on libc, every
    thread of the server)."""
    events = ",".join(f"probe_libc:{p}" for p in MALLOC_PROBES)

    def attach(pid, out):
        return subprocess.Popen(["perf", "stat", "-x", ",", "-o", out, "-e", events, "-p",
                                 str(pid)], stderr=subprocess.DEVNULL)

    def read(out, requests):
        calls = sum(int(line.split(",")[0]) for line in open(out)
                    if line.count(",") > 2 and line.split(",")[0].isdigit())
        return calls / requests

    result = attached_counts(binary, label, repo, endpoints, bodies, args, work, "mallocs",
                             attach, read)
    for name, per_request in result.items():
        log(f"{label} {name}: {per_request:.1f} allocations/request (full speed)")
    return result


def print_mallocs(args, repo, endpoints, bodies, work):
    added = add_malloc_probes()
    try:
        counted = {binary: mallocs(binary, f"b{i}_{os.path.basename(binary)}", repo, endpoints,
                                   bodies, args, work)
                   for i, binary in enumerate(args.binaries)}
    finally:
        for name in added:
            subprocess.run(["perf", "probe", "-q", "-d", f"probe_libc:{name}"],
                           capture_output=True)
    with open(os.path.join(work, "mallocs.json"), "w") as f:
        json.dump(counted, f, indent=1)
    print(f"\nheap allocations per request at full speed (malloc + calloc + realloc, uprobes, "
          f"{args.requests} requests each, one connection; the MLP runs inline)\n")
    print("| binary | MLP allocations/request | static allocations/request |")
    print("|---|---:|---:|")
    for binary, r in counted.items():
        print(f"| {binary} | {r['mlp']:.1f} | {r['static']:.1f} |")


def callgrind_control(pid, *args):
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def parse_dump(path):
    """(Ir total, allocation calls) of one callgrind dump (names may be compressed)."""
    names, ir, allocs, callee = {}, 0, 0, None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.strip())
                if m:
                    if m.group(2):
                        names[m.group(1)] = m.group(2)
                    name = names.get(m.group(1), "")
                else:
                    name = line.strip().split("=", 1)[1]
                callee = name if line.startswith("cfn=") else None
            elif line.startswith("calls=") and callee is not None:
                if callee in ALLOCATORS:
                    allocs += int(line.split("=", 1)[1].split()[0])
                callee = None
            elif line.startswith(("summary:", "totals:")):
                ir = max(ir, int(line.split()[1]))
    return ir, allocs


def dump(pid, work, tag, pattern):
    callgrind_control(pid, "--dump=" + tag)
    files = sorted((os.path.join(work, f) for f in os.listdir(work) if pattern.match(f)),
                   key=os.path.getmtime)
    return parse_dump(files[-1])


def profile(binary, label, repo, endpoints, bodies, args, work):
    mlp_body, key_body = (open(b, "rb").read() for b in bodies)
    server = servers.Strata(binary, repo, work, label=label, endpoints=endpoints)
    out_prefix = os.path.join(work, f"callgrind.{label}")
    server.cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                  f"--callgrind-out-file={out_prefix}.%p"] + server.cmd
    server.start(timeout=600)
    try:
        pid = server.pid
        pattern = re.compile(re.escape(f"callgrind.{label}.{pid}") + r"\.\d+$")
        result = {}
        for name, path, body in (("mlp", "/v2/models/digits_mlp/infer", mlp_body),
                                 ("static", "/v2/models/embedded/infer", key_body)):
            post_many(server.port, path, body, WARMUP)
            callgrind_control(pid, "-i", "on")
            post_many(server.port, path, body, WARMUP // 4)
            callgrind_control(pid, "-z")
            post_many(server.port, path, body, args.requests)
            ir, allocs = dump(pid, work, name, pattern)
            callgrind_control(pid, "-i", "off")
            result[name] = {"ir_per_req": ir / args.requests,
                            "allocs_per_req": allocs / args.requests}
            log(f"{label} {name}: {ir / args.requests:,.0f} Ir/request, "
                f"{allocs / args.requests:.1f} allocations/request")
        if args.zipf:
            result["static_zipf"] = zipf_count(pid, server.port, work, pattern, args.zipf)
            log(f"{label} static_zipf: {result['static_zipf']['ir_per_req']:,.0f} Ir/request")
        return result
    finally:
        server.stop()


def zipf_bodies(count):
    return [json.dumps({"inputs": [{"name": "id", "datatype": "INT64", "shape": [1],
                                    "data": [key]}]}).encode()
            for key in zipf.zipf_ids(ROWS, 1.0, count, seed=17)]


def zipf_count(pid, port, work, pattern, count):
    """Ir and allocations per static request with Zipf(1.0) keys, after as many of warm-up."""
    bodies = zipf_bodies(2 * count)
    path = "/v2/models/embedded/infer"
    callgrind_control(pid, "-i", "on")
    post_each(port, path, bodies[:count])
    callgrind_control(pid, "-z")
    post_each(port, path, bodies[count:])
    ir, allocs = dump(pid, work, "static_zipf", pattern)
    callgrind_control(pid, "-i", "off")
    return {"ir_per_req": ir / count, "allocs_per_req": allocs / count}


def main():
    ap = report.parser(__doc__)
    ap.add_argument("binaries", nargs="+", help="strata binaries to profile, in order")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--out", help="keep the work directory here")
    ap.add_argument("--no-callgrind", action="store_true",
                    help="skip the callgrind counts (with --mallocs or --syscalls)")
    ap.add_argument("--mallocs", action="store_true",
                    help="also count heap allocations per request at full speed (perf uprobes "
                         "on libc's malloc, calloc and realloc; root)")
    ap.add_argument("--zipf", type=int, default=0,
                    help="also count N static requests with Zipf(1.0) keys")
    ap.add_argument("--syscalls", action="store_true",
                    help="also count system calls per request under strace (no valgrind)")
    args = ap.parse_args()
    if not args.no_callgrind:
        need("valgrind")
    if args.syscalls:
        need("strace")
    if args.mallocs:
        need("perf")
    work = report.out_dir(args, "lean-path-profile")
    repo, endpoints, mlp_body, key_body = setup(work, args.binaries[-1])
    if not args.no_callgrind:
        print_callgrind(args, repo, endpoints, (mlp_body, key_body), work)
    if args.mallocs:
        print_mallocs(args, repo, endpoints, (mlp_body, key_body), work)
    if args.syscalls:
        print_syscalls(args, repo, endpoints, (mlp_body, key_body), work)


def print_callgrind(args, repo, endpoints, bodies, work):
    results = {}
    for i, binary in enumerate(args.binaries):
        label = f"b{i}_{os.path.basename(binary)}"
        results[label] = profile(binary, label, repo, endpoints, bodies, args, work)
    with open(os.path.join(work, "profile.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"{args.requests} requests each, one keep-alive connection, under callgrind\n")
    print("| binary | MLP Ir/request | MLP allocations/request | static Ir/request | "
          "static allocations/request |")
    print("|---|---:|---:|---:|---:|")
    for (label, r), binary in zip(results.items(), args.binaries):
        print(f"| {binary} | {r['mlp']['ir_per_req']:,.0f} | {r['mlp']['allocs_per_req']:.1f} | "
              f"{r['static']['ir_per_req']:,.0f} | {r['static']['allocs_per_req']:.1f} |")
    if args.zipf:
        print(f"\nstatic, Zipf(1.0) keys over {ROWS:,} ({args.zipf} requests after as many of "
              "warm-up)\n\n| binary | Ir/request | allocations/request |\n|---|---:|---:|")
        for (label, r), binary in zip(results.items(), args.binaries):
            z = r["static_zipf"]
            print(f"| {binary} | {z['ir_per_req']:,.0f} | {z['allocs_per_req']:.1f} |")


def print_syscalls(args, repo, endpoints, bodies, work):
    counted = {}
    for i, binary in enumerate(args.binaries):
        counted[binary] = syscalls(binary, f"b{i}_{os.path.basename(binary)}", repo, endpoints,
                                   bodies, args, work)
    with open(os.path.join(work, "syscalls.json"), "w") as f:
        json.dump(counted, f, indent=1)
    shown = ("epoll_wait", "recvmsg", "recvfrom", "sendmsg", "timerfd_settime", "futex")
    print(f"\nsystem calls per request (strace -c -f, {args.requests} requests each, one "
          "connection, one send() per request)\n")
    print("| binary | request | " + " | ".join(shown) + " | all of these |")
    print("|---|---|" + "---:|" * (len(shown) + 1))
    for binary, result in counted.items():
        for name in ("mlp", "static"):
            r = result[name]
            print(f"| {binary} | {name} | " + " | ".join(f"{r.get(k, 0):.2f}" for k in shown)
                  + f" | {sum(r.get(k, 0) for k in shown):.2f} |")


if __name__ == "__main__":
    main()
