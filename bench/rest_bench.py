#!/usr/bin/python3
"""REST latency and throughput of strata vs a FastAPI + uvicorn peer (issue 2, "first figures").

A benchmark, not a test: it measures this machine and prints a markdown report. For each example
model (digits_mlp: TorchScript MLP; breast_cancer_xgb: XGBoost) and each server (strata, then the
FastAPI peer in bench/peer/fastapi_server.py), one at a time on 127.0.0.1:

  - single connection:   wrk -t1 -c1  -d10s --latency -s bench/post.lua URL -- BODY  -> p50, p99, req/s
  - 16 connections:      wrk -t2 -c16 -d5s  --latency -s bench/post.lua URL -- BODY  -> req/s

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

import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PYTHON = "/usr/bin/python3"
POST_LUA = os.path.join(BENCH, "post.lua")
PEER = os.path.join(BENCH, "peer", "fastapi_server.py")
STRATA_CANDIDATES = ["build/release/strata", "build/release/src/cli/strata"]
FETCH_PEER_DEPS = os.path.join(BENCH, "peer", "fetch_peer_deps.sh")
DEFAULT_PEER_DEPS = os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                 os.path.expanduser("~/.cache"), "strata-bench", "peer-deps")
PEER_STACKS = {  # name -> (label, uvicorn --loop, uvicorn --http)
    "plain": ("asyncio+h11", "asyncio", "h11"),
    "standard": ("uvloop+httptools", "uvloop", "httptools"),
}

MODELS = {  # name -> input width
    "digits_mlp": 64,
    "breast_cancer_xgb": 30,
}
MODEL_LABEL = {"digits_mlp": "digits_mlp (TorchScript MLP)",
               "breast_cancer_xgb": "breast_cancer_xgb (XGBoost)"}
TARGET_RATIO = 20.0        # strata req/s at 16 connections >= 20x the peer's
TARGET_MLP_P50_US = 150.0  # strata single-connection p50 for digits_mlp

COMMANDS = []  # every external command run, for the report


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    COMMANDS.append(cmd if isinstance(cmd, str) else shlex.join(cmd))
    return subprocess.run(cmd, cwd=ROOT, **kw)


# ---------------------------------------------------------------------------------------------
# machine


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def machine_info():
    cpu = "unknown"
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    def out(cmd):
        try:
            return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"
    versions = out([PYTHON, "-c",
                    "import torch, xgboost, numpy, fastapi, uvicorn, starlette, sys\n"
                    "try:\n import uvloop; loop = 'uvloop ' + uvloop.__version__\n"
                    "except ImportError: loop = 'asyncio'\n"
                    "try:\n import httptools; h = 'httptools ' + httptools.__version__\n"
                    "except ImportError: h = 'h11'\n"
                    "print(f'Python {sys.version.split()[0]}, torch {torch.__version__}, "
                    "xgboost {xgboost.__version__}, numpy {numpy.__version__}, "
                    "fastapi {fastapi.__version__}, starlette {starlette.__version__}, "
                    "uvicorn {uvicorn.__version__} ({loop}, {h})')"])
    wrk_version = out(["sh", "-c", "wrk -v 2>&1 | head -1"])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "os": (re.search(r'PRETTY_NAME="([^"]*)"', read("/etc/os-release")) or [None, "?"])[1],
        "python_stack": versions,
        "wrk": wrk_version,
        "git": out(["git", "describe", "--always", "--dirty"]),
    }


def cpu_busy_fraction(interval=0.5):
    """Fraction of all CPUs busy over `interval` (from /proc/stat), e.g. others' compilers."""
    def sample():
        f = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
        idle = f[3] + (f[4] if len(f) > 4 else 0)
        return sum(f[:8]), idle
    t0, i0 = sample()
    time.sleep(interval)
    t1, i1 = sample()
    return 0.0 if t1 == t0 else 1.0 - (i1 - i0) / (t1 - t0)


class QuietWaiter:
    """Before each load run, waits (bounded) for other processes to leave the CPUs alone."""

    def __init__(self, threshold, max_wait_each, max_wait_total):
        self.threshold, self.max_each, self.budget = threshold, max_wait_each, max_wait_total
        self.waited = 0.0

    def wait(self):
        start = time.monotonic()
        busy = cpu_busy_fraction(0.3)
        while (busy > self.threshold and time.monotonic() - start < self.max_each
               and self.waited + (time.monotonic() - start) < self.budget):
            busy = cpu_busy_fraction(1.0)
        self.waited += time.monotonic() - start
        return busy


def total_busy_cpu_seconds():
    """CPU seconds spent busy (all CPUs, all processes) since boot, from /proc/stat."""
    f = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return (sum(f[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    """CPU seconds of this script's reaped children (wrk runs)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def proc_tree_cpu_seconds(pid):
    """utime+stime of pid and all its live descendants, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents, times = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = read(f"/proc/{entry}/stat")
        if not stat:
            continue
        rest = stat[stat.rfind(")") + 2:].split()
        parents[int(entry)] = int(rest[1])
        times[int(entry)] = int(rest[11]) + int(rest[12])
    tree, frontier = {pid}, [pid]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(times.get(p, 0) for p in tree) / ticks


# ---------------------------------------------------------------------------------------------
# preparation


def train(repository):
    log("training example models if needed (examples/train_all.sh)")
    r = run(["examples/train_all.sh", repository], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"examples/train_all.sh failed:\n{r.stdout}\n{r.stderr}")
    for line in r.stdout.splitlines():
        log("  " + line)


def find_strata():
    for rel in STRATA_CANDIDATES:
        path = os.path.join(ROOT, rel)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def build_strata():
    log("building strata (cmake --preset release && cmake --build build/release --target strata)")
    if not os.path.exists(os.path.join(ROOT, "build/release/build.ninja")):
        r = run(["cmake", "--preset", "release"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"cmake --preset release failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    r = run(["cmake", "--build", "build/release", "--target", "strata"],
            capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("building strata failed (rerun with --no-build to measure the existing "
                 f"binary):\n{r.stdout[-6000:]}\n{r.stderr[-4000:]}")


def peer_deps_env(dest, fetch):
    """Environment for a peer with uvloop + httptools from `dest`, or None (with a reason)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(dest, "root/usr/lib/python3/dist-packages")] +
        ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        [os.path.join(dest, "root/usr/lib/x86_64-linux-gnu")] +
        ([env["LD_LIBRARY_PATH"]] if env.get("LD_LIBRARY_PATH") else []))
    probe = [PYTHON, "-c", "import uvloop, httptools; "
             "print(f'uvloop {uvloop.__version__}, httptools {httptools.__version__}')"]
    r = subprocess.run(probe, env=env, capture_output=True, text=True)
    if r.returncode != 0 and fetch:
        log(f"fetching uvloop + httptools for the peer ({FETCH_PEER_DEPS} {dest})")
        f = run([FETCH_PEER_DEPS, dest], capture_output=True, text=True, timeout=180)
        if f.returncode != 0:
            return None, f"fetch failed: {(f.stdout + f.stderr).strip()[-300:]}"
        r = subprocess.run(probe, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"uvloop/httptools not importable: {r.stderr.strip()[-300:]}"
    return env, r.stdout.strip()


def load_samples(repository, model):
    path = os.path.join(repository, "models", model, "1", "samples.json")
    with open(path) as f:
        return json.load(f)


def one_row_body(samples, width):
    tensor = samples["request"]["inputs"][0]
    return {"inputs": [{"name": tensor["name"], "datatype": tensor["datatype"],
                        "shape": [1, width], "data": tensor["data"][:width]}]}


def expected_rows(expected, rows):
    """The expected outputs cut down to the first `rows` rows."""
    out = {}
    for o in expected["outputs"]:
        per_row = math.prod(o["shape"][1:])
        out[o["name"]] = ([rows] + o["shape"][1:], o["data"][:rows * per_row])
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# servers


class Server:
    def __init__(self, label, cmd, port, log_path, env=None, env_note="", workers=1):
        self.label, self.cmd, self.port, self.log_path = label, cmd, port, log_path
        self.env, self.env_note, self.workers = env, env_note, workers
        self.proc = None

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, round_no, timeout=90):
        log(f"starting {self.label}: {self.env_note}{shlex.join(self.cmd)}")
        COMMANDS.append(self.env_note + shlex.join(self.cmd))
        self.current_log = self.log_path.replace(".log", f"_r{round_no}.log")
        self.log_file = open(self.current_log, "wb")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env=self.env)
        deadline = time.monotonic() + timeout
        pids = set()  # a multi-worker peer names its worker; wait until every one is up
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode} while "
                                   f"starting; log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("/v2/health/ready"), timeout=2) as r:
                    if r.status == 200:
                        pids.add(r.headers.get("X-Worker-Pid"))
                        if len(pids) >= self.workers:
                            return
                        continue  # a new connection may reach another worker
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.label} not ready after {timeout}s; log:\n{self.log_tail()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)  # our own child, by pid
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.label} did not stop within {timeout}s of SIGTERM; killing it")
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session, started by us
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode

    def log_tail(self, n=4000):
        return read(self.current_log)[-n:]


def post_json(url, body, timeout=10):
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def close_f32(a, b):
    return abs(a - b) <= 1e-6 + 2e-6 * abs(b)


def check_response(label, status, raw, model, want):
    """Returns a list of problems (empty when the response carries the expected prediction)."""
    if status != 200:
        return [f"{label}: HTTP {status}: {raw[:300]!r}"]
    try:
        got = json.loads(raw)
    except ValueError as e:
        return [f"{label}: response is not JSON ({e}): {raw[:300]!r}"]
    problems = []
    if got.get("model_name") != model:
        problems.append(f"{label}: model_name {got.get('model_name')!r}, want {model!r}")
    outputs = {o.get("name"): o for o in got.get("outputs", [])}
    for name, (shape, data) in want.items():
        o = outputs.get(name)
        if o is None:
            problems.append(f"{label}: output {name!r} missing (got {sorted(outputs)})")
            continue
        if o.get("datatype") != "FP32" or list(o.get("shape", [])) != shape:
            problems.append(f"{label}: output {name!r} is {o.get('datatype')} "
                            f"{o.get('shape')}, want FP32 {shape}")
            continue
        bad = [i for i, (g, w) in enumerate(zip(o.get("data", []), data)) if not close_f32(g, w)]
        if len(o.get("data", [])) != len(data) or bad:
            problems.append(f"{label}: output {name!r} differs from samples.json at "
                            f"{len(bad)} of {len(data)} values (first: index {bad[:1]})")
    return problems


def sanity(server, model, body, samples):
    url = server.url(f"/v2/models/{model}/infer")
    status, raw = post_json(url, body)
    problems = check_response(f"{server.label} {model} 1 row", status, raw, model,
                              expected_rows(samples["expected"], 1))
    status, raw32 = post_json(url, samples["request"])
    rows = samples["request"]["inputs"][0]["shape"][0]
    problems += check_response(f"{server.label} {model} {rows} rows", status, raw32, model,
                               expected_rows(samples["expected"], rows))
    return problems, raw.decode(errors="replace")


# ---------------------------------------------------------------------------------------------
# wrk

_UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def parse_duration_us(text):
    """'40.00us' / '2.60ms' / '1.02s' / '1.50m' -> microseconds."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(us|ms|s|m|h)\s*", text)
    if not m:
        raise ValueError(f"cannot parse wrk duration {text!r}")
    return float(m.group(1)) * _UNITS_US[m.group(2)]


def parse_wrk(text):
    """Parses wrk's report (and post.lua's WRK_JSON line, which is exact, when present)."""
    r = {"non2xx": 0, "errors_connect": 0, "errors_read": 0, "errors_write": 0,
         "errors_timeout": 0}
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
        for key, v in zip(("connect", "read", "write", "timeout"), m.groups()):
            r[f"errors_{key}"] = int(v)
    m = re.search(r"^WRK_JSON (\{.*\})\s*$", text, re.M)
    if m:
        exact = json.loads(m.group(1))
        # cross-check the text report against the exact figures (wrk rounds to 2 decimals)
        for key in ("p50_us", "p99_us"):
            if key in r and abs(r[key] - exact[key]) > max(0.011 * exact[key], 1.0):
                log(f"warning: wrk text {key}={r[key]} vs exact {exact[key]}")
        r.update({k: v for k, v in exact.items()})
        if exact["duration_us"] > 0:
            r["rps"] = exact["requests"] / (exact["duration_us"] / 1e6)
    for key in ("p50_us", "p99_us", "rps"):
        if key not in r:
            raise ValueError(f"wrk output lacks {key}:\n{text}")
    return r


def run_wrk(url, body_path, threads, conns, duration, out_path):
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency",
           "-s", os.path.relpath(POST_LUA, ROOT), url, "--", body_path]
    COMMANDS.append(shlex.join(cmd))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          timeout=duration + 60)
    with open(out_path, "w") as f:
        f.write(shlex.join(cmd) + "\n" + proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    result = parse_wrk(proc.stdout)
    result["cmd"] = shlex.join(cmd)
    return result


# ---------------------------------------------------------------------------------------------
# the run


DISTURBED_CPUS = 0.25  # a run during which other processes used more CPU than this is "disturbed"


def measure_once(server, url, body, threads, conns, duration, out_path, quiet):
    busy = quiet.wait()
    cpu0 = proc_tree_cpu_seconds(server.proc.pid)
    all0, wrk0, t0 = total_busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
    r = run_wrk(url, body, threads, conns, duration, out_path)
    cpu = proc_tree_cpu_seconds(server.proc.pid) - cpu0
    wrk_cpu = children_cpu_seconds() - wrk0
    others = total_busy_cpu_seconds() - all0 - cpu - wrk_cpu
    wall = time.monotonic() - t0
    r["server_cpu_us_per_req"] = cpu * 1e6 / max(1, r["requests"])
    r["server_cpus"] = cpu / wall  # average CPUs the server kept busy
    r["wrk_cpus"] = wrk_cpu / wall
    r["others_cpus"] = max(0.0, others / wall)  # other processes on the machine
    r["busy_before"] = busy
    return r


def measure(server, models, bodies, args, out_dir, conn_sets, quiet, results, problems,
            retry, rep):
    """Runs wrk against `server` for each model (repeat `rep`); appends figures to results.

    A run disturbed by other processes is repeated (once, while retry["budget"] seconds of
    wrk time last); the disturbed one is kept in results.json under "discarded"."""
    tag = server.label.replace(" ", "_").replace(",", "")
    for model in models:  # warm-up, not recorded
        run_wrk(server.url(f"/v2/models/{model}/infer"), bodies[model], 2, 16,
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
            bad = r["non2xx"] + sum(r[k] for k in ("errors_connect", "errors_read",
                                                   "errors_write", "errors_timeout"))
            if bad:
                problems.append(f"{server.label} {model} c{conns} rep {rep + 1}: "
                                f"{r['non2xx']} non-2xx, socket errors connect "
                                f"{r['errors_connect']} read {r['errors_read']} write "
                                f"{r['errors_write']} timeout {r['errors_timeout']}")
            log(f"{server.label:<36} {model:<18} c{conns:<2} rep {rep + 1}: "
                f"p50 {r['p50_us']:.0f}us p99 {r['p99_us']:.0f}us "
                f"max {r.get('max_us', 0):.0f}us {r['rps']:.0f} req/s; CPUs: server "
                f"{r['server_cpus']:.2f} wrk {r['wrk_cpus']:.2f} others "
                f"{r['others_cpus']:.2f}; server {r['server_cpu_us_per_req']:.0f}us/req")
            results.setdefault(server.label, {}).setdefault(model, {}).setdefault(
                conns, []).append(r)


def median(runs, key):
    return statistics.median(r[key] for r in runs) if runs else None


def fmt_us(v):
    return "n/m" if v is None else f"{v:,.0f} µs"


def fmt_rps(v):
    return "n/m" if v is None else f"{v:,.0f}"


def report(info, args, models, results, labels, problems, sanity_samples, started, out_dir,
           retry_count=0):
    lines = []
    w = lines.append
    strata_label, peer_labels = labels[0], labels[1:]
    w(f"## REST latency and throughput: strata vs FastAPI + uvicorn\n")
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
    w("```sh")
    w(f"/usr/bin/python3 bench/rest_bench.py {shlex.join(sys.argv[1:])}".rstrip())
    seen = set()
    for c in COMMANDS:
        c = c.replace(out_dir, "$OUT").replace(ROOT + "/", "")
        c = re.sub(r"(^|(?<=[\s=]))" + re.escape(os.path.expanduser("~")) + "/", "~/", c)
        c = re.sub(r"-r\d+\.txt", "", c)
        generic = re.sub(r"--port \d+", "--port PORT", c)
        generic = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", generic)
        if generic not in seen:
            seen.add(generic)
            w(generic)
    w("```")
    w(f"\nRaw wrk output and results.json: {out_dir}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="strata vs FastAPI REST benchmark (issue 2)")
    ap.add_argument("--repository", default=os.path.join(ROOT, "examples", "repository"))
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
    ap.add_argument("--peer-deps", default=DEFAULT_PEER_DEPS,
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
    if subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode != 0:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    out_dir = args.out or tempfile.mkdtemp(prefix="strata-rest-bench-")
    os.makedirs(out_dir, exist_ok=True)
    repository = os.path.abspath(args.repository)

    train(repository)
    strata_bin = args.strata
    if not strata_bin:
        if not args.no_build:
            build_strata()
        strata_bin = find_strata()
        if not strata_bin:
            sys.exit("no strata binary found (looked for " + ", ".join(STRATA_CANDIDATES) + ")")
    info = machine_info()
    info["strata_binary"] = os.path.relpath(strata_bin, ROOT)
    info["strata_binary_mtime"] = time.strftime(
        "%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(strata_bin)))
    # Others may rebuild build/release while this runs: measure a private copy.
    private = os.path.join(out_dir, "strata")
    shutil.copy2(strata_bin, private)
    strata_bin = private
    log(f"machine: {info}")

    samples, bodies = {}, {}
    for m in models:
        samples[m] = load_samples(repository, m)
        bodies[m] = os.path.join(out_dir, f"{m}_1row.json")
        with open(bodies[m], "w") as f:
            json.dump(one_row_body(samples[m], MODELS[m]), f)

    c1, c16 = (1, 1, args.duration), (2, 16, args.duration_16)
    servers, notes = [], []
    if not args.skip_strata:
        port = free_port()
        cmd = [strata_bin, "serve", "--repository", repository, "--port", str(port),
               "--http-threads", str(args.http_threads)]
        serve_help = subprocess.run([strata_bin, "serve", "--help"], capture_output=True,
                                    text=True).stdout
        if "--grpc-port" in serve_help:
            cmd += ["--grpc-port", "0"]  # gRPC stays on, as by default, on a free port
        servers.append((Server("strata", cmd, port, os.path.join(out_dir, "strata.log")),
                        [c1, c16]))
    stacks = [x for x in args.peer_stacks.split(",") if x] if not args.skip_peer else []
    for stack in stacks:
        if stack not in PEER_STACKS:
            sys.exit(f"unknown peer stack {stack!r}; known: {', '.join(PEER_STACKS)}")
        stack_label, loop, http = PEER_STACKS[stack]
        env, env_note = None, ""
        if stack == "standard":
            env, detail = peer_deps_env(args.peer_deps, fetch=not args.no_fetch)
            if env is None:
                notes.append(f"peer stack {stack_label} skipped: {detail}")
                log(notes[-1])
                continue
            info["peer_extras"] = detail
            env_note = (f"PYTHONPATH={args.peer_deps}/root/usr/lib/python3/dist-packages "
                        f"LD_LIBRARY_PATH={args.peer_deps}/root/usr/lib/x86_64-linux-gnu ")
        for workers in ([1, 2] if args.peer_workers == "both" else [int(args.peer_workers)]):
            port = free_port()
            label = f"FastAPI {stack_label}, {workers} worker{'s' if workers > 1 else ''}"
            conn_sets = [c1, c16] if (workers == 1 or args.peer_workers != "both") else [c16]
            servers.append((Server(label, [PYTHON, PEER, "--repository", repository,
                                           "--port", str(port), "--workers", str(workers),
                                           "--loop", loop, "--http", http],
                                   port, os.path.join(out_dir, f"peer_{stack}_w{workers}.log"),
                                   env=env, env_note=env_note, workers=workers),
                            conn_sets))

    if args.wait_idle > 0:
        busy = QuietWaiter(args.quiet_threshold, args.wait_idle, args.wait_idle).wait()
        log(f"other processes keep {busy:.0%} of the CPUs busy at the start")
    quiet = QuietWaiter(args.quiet_threshold, max_wait_each=10, max_wait_total=60)
    results, problems, sanity_samples, labels = {}, [], {}, []
    retry = {"budget": args.retry_budget, "discarded": []}
    # Rounds: every server once per round, so that a noisy stretch of time (the machine is
    # shared) spreads over all servers instead of falling on one.
    for rep, (server, conn_sets) in ((r, sc) for r in range(args.repeats) for sc in servers):
        if server.label not in labels:
            labels.append(server.label)
        quiet.wait()
        server.start(rep + 1)
        try:
            for m in models:
                with open(bodies[m]) as f:
                    bad, text = sanity(server, m, json.load(f), samples[m])
                sanity_samples[f"{server.label} {m}"] = text
                if bad:
                    problems.extend(bad)
                    raise RuntimeError("sanity check failed:\n" + "\n".join(bad))
            log(f"{server.label}: sanity ok (1-row and 32-row responses of every model match "
                "samples.json)")
            measure(server, models, bodies, args, out_dir, conn_sets, quiet, results, problems,
                    retry, rep)
        finally:
            alive = server.alive()
            code = server.stop()
            if not alive:
                problems.append(f"{server.label} was not running at the end (exit {code})")
            elif code not in (0, -signal.SIGTERM):
                problems.append(f"{server.label} exited with {code} after SIGTERM")
            noisy = [l for l in server.log_tail(200000).splitlines()
                     if re.search(r"\b(warn|warning|error|critical|exception|traceback)\b", l,
                                  re.I)]
            if noisy:
                problems.append(f"{server.label} (round {rep + 1}) log has {len(noisy)} "
                                f"warning/error lines, e.g. `{noisy[0].strip()[:200]}`")
    if quiet.waited > 1:
        log(f"waited {quiet.waited:.0f}s in total for other processes to leave the CPUs")

    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"machine": info, "args": vars(args), "started": started.isoformat(),
                   "results": results, "discarded": retry["discarded"],
                   "problems": problems}, f, indent=1, default=str)
    print(report(info, args, models, results, labels, problems + notes, sanity_samples,
                 started, out_dir, retry_count=len(retry["discarded"])))
    log(f"done in {(datetime.datetime.now().astimezone() - started).total_seconds():.0f}s")


if __name__ == "__main__":
    main()
