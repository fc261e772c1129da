"""Shared pieces of the issue 3 / issue 4 benchmark drivers (bench/*_bench.py).

Reuses bench/rest_bench.py (issue 2) for what it already does: starting and stopping servers
(`Server`), running and parsing wrk with bench/post.lua (`run_wrk`), the machine description,
CPU accounting and the FastAPI peer's uvloop/httptools environment. Adds: the benchmark model
repository (bench/make_bench_models.py), a private copy of the strata binary, /stats snapshots,
resident-memory sampling from /proc, the OpenBLAS environment and markdown helpers.
"""

import datetime
import json
import os
import resource
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import rest_bench as rb  # noqa: E402  (issue 2's driver; used read-only)

ROOT = rb.ROOT
PYTHON = rb.PYTHON
log = rb.log
COMMANDS = rb.COMMANDS  # every external command run; rb.run_wrk appends to it too
run_wrk = rb.run_wrk
free_port = rb.free_port
machine_info = rb.machine_info
QuietWaiter = rb.QuietWaiter
proc_tree_cpu_seconds = rb.proc_tree_cpu_seconds
total_busy_cpu_seconds = rb.total_busy_cpu_seconds
MODEL_CALL_BENCH_CANDIDATES = ["build/release/bench/model_call_bench"]


def wait_port(port, proc=None, timeout=60):
    """Waits until something listens on 127.0.0.1:`port`; fails early if `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}) before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")
FETCH_OPENBLAS = os.path.join(BENCH, "fetch_openblas.sh")


def add_common_args(ap):
    ap.add_argument("--strata", help="strata binary (default: build/release/strata)")
    ap.add_argument("--out", help="directory for raw output, logs and results.json")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models-dir", help="reuse a repository written by make_bench_models.py")


def out_dir(args, name):
    d = args.out or tempfile.mkdtemp(prefix=f"strata-{name}-")
    os.makedirs(d, exist_ok=True)
    return d


def strata_binary(args, out):
    """A private copy of the strata binary (others may rebuild build/release meanwhile)."""
    path = args.strata or rb.find_strata()
    if not path or not os.path.isfile(path):
        sys.exit("no strata binary: build it (cmake --preset release && cmake --build "
                 "build/release --target strata) or pass --strata PATH")
    info = {"strata_binary": path, "strata_binary_mtime": time.strftime(
        "%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(path)))}
    r = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(path)), "describe",
                        "--always", "--dirty"], capture_output=True, text=True)
    if r.returncode == 0:  # the checkout the binary was built in (may differ from this one)
        info["strata_binary_commit"] = r.stdout.strip()
    private = os.path.join(out, "strata")
    shutil.copy2(path, private)
    return private, info


def find_model_call_bench(path=None):
    if path:
        return path
    for rel in MODEL_CALL_BENCH_CANDIDATES:
        p = os.path.join(ROOT, rel)
        if os.access(p, os.X_OK):
            return p
    sys.exit("no bench/model_call_bench: cmake --build build/release --target model_call_bench"
             " (needs libbenchmark-dev), or pass --model-call-bench PATH")


def bench_models(args, out, extra=()):
    """The repository of bench/make_bench_models.py (written into OUT/repository)."""
    if args.models_dir:
        return os.path.abspath(args.models_dir)
    repo = os.path.join(out, "repository")
    cmd = [PYTHON, os.path.join(BENCH, "make_bench_models.py"), "--out", repo, *extra]
    COMMANDS.append(shlex.join(cmd))
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"make_bench_models.py failed:\n{r.stdout}\n{r.stderr}")
    return repo


def body_path(repo, model):
    return os.path.join(repo, "bodies", f"{model}_1row.json")


def openblas_env(fetch=True):
    """(env, libdir) running LibTorch on OpenBLAS (fetched by bench/fetch_openblas.sh)."""
    if not fetch:
        return None, "not fetched (--no-fetch)"
    r = subprocess.run([FETCH_OPENBLAS], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return None, (r.stdout + r.stderr).strip()[-300:]
    lib = r.stdout.strip().splitlines()[-1]
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join([lib] + ([env["LD_LIBRARY_PATH"]]
                                                      if env.get("LD_LIBRARY_PATH") else []))
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env, lib


def blas_of(pid):
    """Which BLAS the process mapped: 'openblas', 'netlib' or '?'."""
    maps = rb.read(f"/proc/{pid}/maps")
    if "openblas" in maps:
        return "openblas"
    if "/blas/libblas.so" in maps:
        return "netlib (reference)"
    return "?"


# ---------------------------------------------------------------------------------------------
# servers


class Strata(rb.Server):
    def __init__(self, binary, repository, out, label="strata", extra=(), env=None,
                 env_note=""):
        port = free_port()
        # --grpc-port -1: REST only (the default gRPC port 8001 may be taken by another server)
        cmd = [binary, "serve", "--repository", repository, "--port", str(port),
               "--grpc-port", "-1", *extra]
        super().__init__(label, cmd, port, os.path.join(out, f"{label.replace(' ', '_')}.log"),
                         env=env, env_note=env_note)

    @property
    def pid(self):
        return self.proc.pid


def http(method, url, body=None, timeout=30):
    """(status, parsed JSON or text) for a request to 127.0.0.1."""
    data = None if body is None else (body if isinstance(body, bytes) else
                                      json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def model_stats(server, model):
    """{batch_size: (batches, compute ns)} plus totals, from /v2/models/{m}/stats."""
    status, body = http("GET", server.url(f"/v2/models/{model}/stats"))
    if status != 200:
        raise RuntimeError(f"stats for {model}: {status} {body}")
    out = {"batches": {}, "success": [0, 0], "queue": [0, 0], "compute": [0, 0]}
    for s in body["model_stats"]:
        for b in s.get("batch_stats", []):
            c, ns = out["batches"].get(b["batch_size"], (0, 0))
            out["batches"][b["batch_size"]] = (c + b["compute_infer"]["count"],
                                               ns + b["compute_infer"]["ns"])
        st = s["inference_stats"]
        for key, name in (("success", "success"), ("queue", "queue"),
                          ("compute", "compute_infer")):
            out[key][0] += st[name]["count"]
            out[key][1] += st[name]["ns"]
    return out


def stats_diff(before, after):
    d = {"batches": {}}
    for size, (c, ns) in after["batches"].items():
        c0, ns0 = before["batches"].get(size, (0, 0))
        if c > c0:
            d["batches"][size] = (c - c0, ns - ns0)
    for key in ("success", "queue", "compute"):
        d[key] = [after[key][0] - before[key][0], after[key][1] - before[key][1]]
    batches = sum(c for c, _ in d["batches"].values())
    rows = sum(size * c for size, (c, _) in d["batches"].items())
    d["batch_count"] = batches
    d["mean_batch_rows"] = rows / batches if batches else None
    return d


# ---------------------------------------------------------------------------------------------
# resident memory


def status_kb(pid, key):
    for line in rb.read(f"/proc/{pid}/status").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def reset_peak_rss(pid):
    """Resets VmHWM (Linux >= 4.0: `echo 5 > /proc/PID/clear_refs`); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RssSampler:
    """Samples VmRSS of `pid` every `interval` s on a thread: [(time.monotonic(), kB)]."""

    def __init__(self, pid, interval=0.05):
        self.pid, self.interval = pid, interval
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            kb = status_kb(self.pid, "VmRSS")
            if kb is not None:
                self.samples.append((time.monotonic(), kb))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def between(self, t0, t1):
        return [kb for t, kb in self.samples if t0 <= t <= t1]


# ---------------------------------------------------------------------------------------------
# CPU accounting (as rest_bench.measure_once does it for wrk runs)


class CpuAccount:
    """CPUs used by the server, by this process + its children, and by everyone else."""

    def __init__(self, server_pid):
        self.pid = server_pid

    @staticmethod
    def _own():
        a = resource.getrusage(resource.RUSAGE_SELF)
        b = resource.getrusage(resource.RUSAGE_CHILDREN)
        return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime

    def __enter__(self):
        self.s0, self.a0 = proc_tree_cpu_seconds(self.pid), total_busy_cpu_seconds()
        self.o0, self.t0 = self._own(), time.monotonic()
        return self

    def __exit__(self, *exc):
        wall = time.monotonic() - self.t0
        server = proc_tree_cpu_seconds(self.pid) - self.s0
        own = self._own() - self.o0
        total = total_busy_cpu_seconds() - self.a0
        self.result = {"server_cpus": server / wall, "client_cpus": own / wall,
                       "others_cpus": max(0.0, (total - server - own) / wall)}


# ---------------------------------------------------------------------------------------------
# figures and markdown


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def us(v):
    if v is None:
        return "—"
    if v >= 10000:
        return f"{v / 1000:,.1f} ms"
    return f"{v:,.0f} µs"


def spread(values, f=us):
    values = [v for v in values if v is not None]
    return f"{f(min(values))} – {f(max(values))}" if values else "—"


def verdict(ok):
    return "**met**" if ok else "**missed**"


def header(title, info, started, extra=()):
    lines = [f"### {title}\n",
             f"- date: {started.strftime('%Y-%m-%d %H:%M %Z').strip()}; benchmark scripts at "
             f"{info['git']}; strata binary `{info.get('strata_binary', '?')}` built "
             f"{info.get('strata_binary_mtime', '?')} in a checkout at "
             f"{info.get('strata_binary_commit', '?')}, Release (-O2)",
             f"- machine: {info['nproc']} CPUs, {info['cpu']}, {info['memory_gib']} GiB, kernel "
             f"{info['kernel']}, {info['os']}; shared with other engineers' builds (the "
             "'others' CPU column says how much they used during each run)",
             f"- load generators run on the same machine: {info['wrk']}, "
             f"bench/openloop.py (asyncio, Python {sys.version.split()[0]})"]
    if os.nice(0) != 0:
        lines.append(f"- run at `nice -n {os.nice(0)}` (servers and load generators alike), so "
                     "that concurrent builds on the machine disturb the figures less")
    lines.extend(f"- {e}" for e in extra)
    return lines


def commands_block(argv0, out):
    lines = ["```sh", f"/usr/bin/python3 {argv0} {shlex.join(sys.argv[1:])}".rstrip()]
    seen = set()
    import re
    for c in COMMANDS:
        c = c.replace(out, "$OUT").replace(ROOT + "/", "")
        c = re.sub(r"(?<![\w/.-])" + re.escape(os.path.expanduser("~") + "/"), "~/", c)
        c = re.sub(r"--port \d+", "--port PORT", c)
        c = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", c)
        if c not in seen:
            seen.add(c)
            lines.append(c)
    lines.append("```")
    return lines


def save_results(out, data):
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(data, f, indent=1, default=str)


def now():
    return datetime.datetime.now().astimezone()


def server_problems(server):
    """Warnings/errors in the server's log, and whether it is still up."""
    import re
    problems = []
    if not server.alive():
        problems.append(f"{server.label} was not running at the end (exit "
                        f"{server.proc.returncode}); log tail:\n{server.log_tail(1500)}")
    noisy = [l for l in server.log_tail(500000).splitlines()
             if re.search(r"\b(warn|warning|error|critical|exception)\b", l, re.I)]
    if noisy:
        problems.append(f"{server.label} log has {len(noisy)} warning/error lines, e.g. "
                        f"`{noisy[0].strip()[:240]}`")
    return problems


def stop(server, problems):
    alive = server.alive()
    code = server.stop()
    if alive and code not in (0, -15):
        problems.append(f"{server.label} exited with {code} after SIGTERM")


def subset_repo(repo, models, out, name):
    """OUT/name/models/<m>: copies of the named models only (so RSS counts just them)."""
    dest = os.path.join(out, name)
    shutil.rmtree(dest, ignore_errors=True)
    for m in models:
        shutil.copytree(os.path.join(repo, "models", m), os.path.join(dest, "models", m))
    return dest


class Prober:
    """GETs `url` every `interval` s on a thread; records (time.monotonic(), status, seconds)."""

    def __init__(self, url, interval=0.1):
        self.url, self.interval = url, interval
        self.records = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    r.read()
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            except (urllib.error.URLError, OSError):
                status = 0
            self.records.append((t0, status, time.monotonic() - t0))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
