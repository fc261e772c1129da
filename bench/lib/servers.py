"""One launcher for every server a benchmark runs: strata and its peers.

  Strata(binary, repository, out, ...)  `strata serve` on a free loopback port (REST; gRPC off,
                                        or on another free port), flags, endpoints file
  nginx(out, body)                      nginx answering every request with a fixed
                                        `return 200` JSON body: the HTTP floor
  redis(out)                            redis-server, no persistence
  haproxy(out, ports)                   HAProxy, round robin over strata replicas on `ports`,
                                        health checks on /v2/health/ready every 100 ms
  fastapi_peer(repository, out, ...)    bench/peer/fastapi_server.py on uvicorn (asyncio+h11
                                        or uvloop+httptools), 1..N workers

Each is a `Server`: start() waits until it is ready (GET of a health path, or the port open),
failing early with its log's tail if it exits; stop() sends SIGTERM and waits (SIGKILL to its
own process group after a timeout); its output goes to OUT/<label>[_<tag>].log. CPU and memory
come from /proc: `CpuAccount` (the server's, the client's and everyone else's CPUs over a
block), `RssSampler`, `status_kb`, `reset_peak_rss`, `Instructions` (perf stat).
Only ever binds 127.0.0.1.
"""

import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from . import BENCH, PYTHON, ROOT, log, read, record
from .machine import total_busy_cpu_seconds

STRATA_CANDIDATES = ["build/release/strata", "build/release/src/cli/strata"]
PEER = os.path.join(BENCH, "peer", "fastapi_server.py")
FETCH_PEER_DEPS = os.path.join(BENCH, "peer", "fetch_peer_deps.sh")
FETCH_OPENBLAS = os.path.join(BENCH, "fetch_openblas.sh")
DEFAULT_PEER_DEPS = os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                 os.path.expanduser("~/.cache"), "strata-bench", "peer-deps")
PEER_STACKS = {  # name -> (label, uvicorn --loop, uvicorn --http)
    "plain": ("asyncio+h11", "asyncio", "h11"),
    "standard": ("uvloop+httptools", "uvloop", "httptools"),
}
HEALTH = "/v2/health/ready"


class Unavailable(RuntimeError):
    """A peer cannot run here (a dependency is missing); the message says why."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def http(method, url, body=None, timeout=30, headers=None):
    """(status, parsed JSON or text) for one request; `body` is bytes, str or JSON-able."""
    data = None if body is None else (body if isinstance(body, bytes) else
                                      body.encode() if isinstance(body, str) else
                                      json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def post_raw(url, body, timeout=10):
    """(status, raw bytes) of a JSON POST."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# ---------------------------------------------------------------------------------------------
# a server process


class Server:
    """A process this driver starts, owns and stops. `ready_path`: GET it until 200 (a
    multi-worker server answers with X-Worker-Pid: wait until `workers` distinct ones did);
    None: wait for the port to accept connections."""

    def __init__(self, label, cmd, port, out, env=None, env_note="", workers=1,
                 ready_path=HEALTH, cwd=ROOT):
        self.label, self.cmd, self.port, self.out = label, cmd, port, out
        self.env, self.env_note, self.workers = env, env_note, workers
        self.ready_path, self.cwd = ready_path, cwd
        self.proc = self.log_file = None
        self.log_path = self._log_path(None)

    def _log_path(self, tag):
        slug = re.sub(r"[^\w.-]+", "_", self.label).strip("_")
        return os.path.join(self.out, f"{slug}{'' if tag is None else f'_{tag}'}.log")

    @property
    def pid(self):
        return self.proc.pid

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, tag=None, timeout=90):
        """Starts it (log: OUT/<label>[_<tag>].log) and waits until it is ready."""
        log(f"starting {self.label}: {self.env_note}{shlex.join(self.cmd)}")
        record(self.cmd, self.env_note)
        self.log_path = self._log_path(tag)
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env=self.env)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        pids = set()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode} while "
                                   f"starting; log:\n{self.log_tail()}")
            try:
                if self.ready_path is None:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                with urllib.request.urlopen(self.url(self.ready_path), timeout=2) as r:
                    if r.status == 200:
                        pids.add(r.headers.get("X-Worker-Pid"))
                        if len(pids) >= self.workers:
                            return
                        continue  # a new connection may reach another worker
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.label} not ready after {timeout}s; log:\n{self.log_tail()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, problems=None, timeout=20):
        """SIGTERM, wait, SIGKILL its process group after `timeout`. With a `problems` list,
        notes there that it had died before, or exited badly after SIGTERM."""
        if self.proc is None:
            return None
        was_alive = self.proc.poll() is None
        if was_alive:
            os.kill(self.proc.pid, signal.SIGTERM)  # our own child, by pid
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.label} did not stop within {timeout}s of SIGTERM; killing it")
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session, started by us
                self.proc.wait()
        if self.log_file and not self.log_file.closed:
            self.log_file.close()
        code = self.proc.returncode
        if problems is not None:
            if not was_alive:
                problems.append(f"{self.label} was not running at the end (exit {code}); log "
                                f"tail:\n{self.log_tail(1500)}")
            elif code not in (0, -signal.SIGTERM):
                problems.append(f"{self.label} exited with {code} after SIGTERM")
        return code

    def log_tail(self, n=4000):
        return read(self.log_path)[-n:]

    def log_problems(self, pattern=r"\b(warn|warning|error|critical|exception|traceback)\b"):
        """Warning/error lines of its log, as a list of at most one problem."""
        noisy = [l for l in self.log_tail(500000).splitlines() if re.search(pattern, l, re.I)]
        if not noisy:
            return []
        return [f"{self.label} log has {len(noisy)} warning/error lines, e.g. "
                f"`{noisy[0].strip()[:240]}`"]

    def finish(self, problems):
        """stop(problems) plus the warnings of its log, for a driver's `finally`."""
        self.stop(problems)
        problems.extend(self.log_problems())

    def cpu_seconds(self):
        return proc_tree_cpu_seconds(self.pid)

    def rss_kb(self, key="VmRSS"):
        return status_kb(self.pid, key)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()


def stop_all(servers, problems=None):
    for s in reversed(list(servers)):
        s.stop(problems)


# ---------------------------------------------------------------------------------------------
# strata


def find_strata():
    for rel in STRATA_CANDIDATES:
        path = os.path.join(ROOT, rel)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def build_strata():
    log("building strata (cmake --preset release && cmake --build build/release --target strata)")
    from . import run
    if not os.path.exists(os.path.join(ROOT, "build/release/build.ninja")):
        r = run(["cmake", "--preset", "release"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"cmake --preset release failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    r = run(["cmake", "--build", "build/release", "--target", "strata"],
            capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("building strata failed (pass --strata PATH to measure an existing binary):\n"
                 f"{r.stdout[-6000:]}\n{r.stderr[-4000:]}")


def strata_binary(path, out, build=False):
    """(a private copy of the strata binary in OUT, info about it). Others may rebuild
    build/release while a benchmark runs, so it measures a copy. `path` None: the build tree's
    (after an incremental build when `build`)."""
    if not path:
        if build:
            build_strata()
        path = find_strata()
    if not path or not os.path.isfile(path):
        sys.exit("no strata binary: build it (cmake --preset release && cmake --build "
                 "build/release --target strata) or pass --strata PATH")
    info = {"strata_binary": os.path.relpath(path, ROOT) if path.startswith(ROOT + "/")
            else path,
            "strata_binary_mtime": time.strftime("%Y-%m-%d %H:%M",
                                                 time.localtime(os.path.getmtime(path)))}
    r = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(path)), "describe",
                        "--always", "--dirty"], capture_output=True, text=True)
    if r.returncode == 0:  # the checkout the binary was built in (may differ from this one)
        info["strata_binary_commit"] = r.stdout.strip()
    os.makedirs(out, exist_ok=True)
    private = os.path.join(out, "strata")
    shutil.copy2(path, private)
    return private, info


class Strata(Server):
    """`strata serve` on a free loopback port. grpc: False (-1, off), True (a free port, waited
    for too). http_threads: None or 0 keeps strata's default (one per core). ready: "health"
    (GET /v2/health/ready) or "port"."""

    def __init__(self, binary, repository, out, label="strata", grpc=False, http_threads=None,
                 endpoints=None, extra=(), env=None, env_note="", ready="health"):
        port = free_port()
        self.grpc_port = free_port() if grpc else None
        cmd = [binary, "serve", "--repository", repository, "--port", str(port),
               "--grpc-port", str(self.grpc_port or -1)]
        if http_threads:
            cmd += ["--http-threads", str(http_threads)]
        if endpoints:
            cmd += ["--endpoints", endpoints]
        cmd += list(extra)
        super().__init__(label, cmd, port, out, env=env, env_note=env_note,
                         ready_path=HEALTH if ready == "health" else None)

    @property
    def http_port(self):
        return self.port

    def _wait_ready(self, timeout):
        super()._wait_ready(timeout)
        if self.grpc_port:
            wait_port(self.grpc_port, self.proc, timeout)


def openblas_env(fetch=True):
    """(env, libdir) running LibTorch on OpenBLAS (fetched by bench/fetch_openblas.sh), or
    (None, why not)."""
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
    """Which BLAS the process mapped: 'openblas', 'netlib (reference)' or '?'."""
    maps = read(f"/proc/{pid}/maps")
    if "openblas" in maps:
        return "openblas"
    if "/blas/libblas.so" in maps:
        return "netlib (reference)"
    return "?"


# ---------------------------------------------------------------------------------------------
# peers


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port} reuseport;
    location / {{
      default_type application/json;
      return 200 '{body}';
    }}
  }}
}}
"""
FLOOR_BODY = ('{"model_name":"floor","model_version":"1","outputs":[{"name":"y",'
              '"datatype":"FP32","shape":[1],"data":[0.5]}]}')


def nginx(out, body=FLOOR_BODY, workers=None, label="nginx"):
    """nginx answering every request (any method, any path) with `return 200 BODY` as
    application/json: the HTTP floor, what a request costs when the server does nothing.
    `workers`: worker processes (default: one per core, as strata's HTTP threads)."""
    from . import need
    need("nginx")
    if isinstance(body, (dict, list)):
        body = json.dumps(body, separators=(",", ":"))
    port = free_port()
    d = os.path.join(out, re.sub(r"[^\w.-]+", "_", label))
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(workers=workers or os.cpu_count(), dir=d, port=port,
                                  body=body.replace("\\", "\\\\").replace("'", "\\'")))
    return Server(label, ["nginx", "-p", d + "/", "-e", "stderr", "-c", conf], port, out,
                  ready_path="/")


class Redis(Server):
    """redis-server on a free loopback port, without persistence; with `unix_socket` (a path)
    it listens there too (`redis_unix_url`)."""

    def __init__(self, out, label="redis", unix_socket=None):
        from . import need
        need("redis-server")
        port = free_port()
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--loglevel", "warning"]
        if unix_socket:
            cmd += ["--unixsocket", unix_socket, "--unixsocketperm", "700"]
        self.unix_socket = unix_socket
        super().__init__(label, cmd, port, out, ready_path=None)

    @property
    def redis_url(self):
        return f"redis://127.0.0.1:{self.port}"

    @property
    def redis_unix_url(self):
        return f"unix://{self.unix_socket}"


def redis(out, label="redis", unix_socket=None):
    return Redis(out, label, unix_socket)


HAPROXY_CONFIG = """global
  maxconn 4000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
frontend strata
  bind 127.0.0.1:{port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /v2/health/ready
  http-check expect status 200
  default-server inter 100ms fall 1 rise 1
{servers}
"""


def haproxy(out, ports, label="haproxy"):
    """HAProxy in front of strata replicas on `ports` (the config of tests/e2e/test_replicas.py:
    one failed readiness check takes a replica out, a refused connection is retried on another;
    a request already sent is never retried). Its config: OUT/<label>.cfg."""
    if not shutil.which("haproxy"):
        raise Unavailable("haproxy is not installed (scripts/install-deps.sh)")
    port = free_port()
    config = os.path.join(out, f"{label}.cfg")
    with open(config, "w") as f:
        f.write(HAPROXY_CONFIG.format(port=port, servers="\n".join(
            f"  server r{i} 127.0.0.1:{p} check" for i, p in enumerate(ports))))
    return Server(label, ["haproxy", "-db", "-f", config], port, out, ready_path=None)


def peer_deps_env(dest=DEFAULT_PEER_DEPS, fetch=True):
    """(environment with uvloop + httptools from `dest`, their versions), fetching them with
    bench/peer/fetch_peer_deps.sh when missing; raises Unavailable when that fails."""
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
        record([FETCH_PEER_DEPS, dest])
        f = subprocess.run([FETCH_PEER_DEPS, dest], capture_output=True, text=True, timeout=180)
        if f.returncode != 0:
            raise Unavailable(f"fetch failed: {(f.stdout + f.stderr).strip()[-300:]}")
        r = subprocess.run(probe, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise Unavailable(f"uvloop/httptools not importable: {r.stderr.strip()[-300:]}")
    return env, r.stdout.strip()


def fastapi_peer(repository, out, stack="plain", workers=1, peer_deps=DEFAULT_PEER_DEPS,
                 fetch=True):
    """bench/peer/fastapi_server.py on uvicorn: stack "plain" (asyncio+h11, Debian's uvicorn)
    or "standard" (uvloop+httptools, uvicorn[standard]; raises Unavailable when they cannot be
    had). The server's `extras` says which uvloop/httptools it runs."""
    if stack not in PEER_STACKS:
        sys.exit(f"unknown peer stack {stack!r}; known: {', '.join(PEER_STACKS)}")
    stack_label, loop, http_impl = PEER_STACKS[stack]
    env, env_note, extras = None, "", None
    if stack == "standard":
        env, extras = peer_deps_env(peer_deps, fetch)
        env_note = (f"PYTHONPATH={peer_deps}/root/usr/lib/python3/dist-packages "
                    f"LD_LIBRARY_PATH={peer_deps}/root/usr/lib/x86_64-linux-gnu ")
    port = free_port()
    label = f"FastAPI {stack_label}, {workers} worker{'s' if workers > 1 else ''}"
    s = Server(label, [PYTHON, PEER, "--repository", repository, "--port", str(port),
                       "--workers", str(workers), "--loop", loop, "--http", http_impl],
               port, out, env=env, env_note=env_note, workers=workers)
    s.extras, s.stack = extras, stack
    return s


# ---------------------------------------------------------------------------------------------
# CPU and memory from /proc


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


def own_cpu_seconds():
    """CPU seconds of this process and its reaped children (wrk runs and the like)."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


class CpuAccount:
    """CPUs used over a `with` block by the server (its process tree), by this process and its
    children (the load generator), and by everyone else: .result = {server_cpus, client_cpus,
    others_cpus, server_cpu_s, wall_s}."""

    def __init__(self, server_or_pid):
        self.pid = getattr(server_or_pid, "pid", server_or_pid)

    def __enter__(self):
        self.s0, self.a0 = proc_tree_cpu_seconds(self.pid), total_busy_cpu_seconds()
        self.o0, self.t0 = own_cpu_seconds(), time.monotonic()
        return self

    def __exit__(self, *exc):
        wall = time.monotonic() - self.t0
        server = proc_tree_cpu_seconds(self.pid) - self.s0
        own = own_cpu_seconds() - self.o0
        total = total_busy_cpu_seconds() - self.a0
        self.result = {"server_cpus": server / wall, "client_cpus": own / wall,
                       "others_cpus": max(0.0, (total - server - own) / wall),
                       "server_cpu_s": server, "wall_s": wall}


def status_kb(pid, key="VmRSS"):
    for line in read(f"/proc/{pid}/status").splitlines():
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


class _Sampler:
    """Calls self.sample() every `interval` s on a thread while in a `with` block."""

    def __init__(self, interval):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class RssSampler(_Sampler):
    """VmRSS of `pid` every `interval` s: .samples = [(time.monotonic(), kB)]."""

    def __init__(self, server_or_pid, interval=0.05):
        super().__init__(interval)
        self.pid = getattr(server_or_pid, "pid", server_or_pid)
        self.samples = []

    def sample(self):
        kb = status_kb(self.pid, "VmRSS")
        if kb is not None:
            self.samples.append((time.monotonic(), kb))

    def between(self, t0, t1):
        return [kb for t, kb in self.samples if t0 <= t <= t1]


class Prober(_Sampler):
    """GETs `url` every `interval` s: .records = [(time.monotonic(), status, seconds)]."""

    def __init__(self, url, interval=0.1):
        super().__init__(interval)
        self.url, self.records = url, []

    def sample(self):
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


def perf_works():
    """Whether `perf stat -e instructions` counts here (not in every container)."""
    try:
        r = subprocess.run(["perf", "stat", "-x", ",", "-e", "instructions", "true"],
                           capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and "not supported" not in r.stderr and \
        any(line.split(",")[0].isdigit() for line in r.stderr.splitlines())


class Instructions:
    """Instructions a server retires during a `with` block (`perf stat -p`), when `enabled`:
    a cost per request that other processes' load does not change, unlike CPU time."""

    def __init__(self, server_or_pid, enabled=True):
        self.pid = getattr(server_or_pid, "pid", server_or_pid)
        self.enabled, self.count = enabled, None

    def __enter__(self):
        if self.enabled:
            self.proc = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "instructions",
                                          "-p", str(self.pid)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         text=True)
            time.sleep(0.1)  # attached before the load starts
        return self

    def __exit__(self, *exc):
        if not self.enabled:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return
        for line in err.splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2].startswith("instructions") and fields[0].isdigit():
                self.count = int(fields[0])
