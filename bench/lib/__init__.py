"""bench/lib: what every benchmark driver in bench/ shares.

  servers  one launcher: strata (REST/gRPC ports, flags, repository, log file, readiness wait)
           and the peers (nginx's fixed response, redis-server, the FastAPI peer); CPU and
           resident memory of a server from /proc
  load     one wrapper over the load generators: wrk (post.lua), h2load, redis-benchmark,
           bench/grpc_load's strata_load and the open-loop generator (openloop.py)
  zipf     one seeded Zipf generator
  models   the benchmark model repositories, request bodies, sanity checks, /stats and /metrics
  machine  the machine description and the wait for quiet CPUs
  report   medians, spreads, markdown tables, results.json with the command line used

A driver does `sys.path.insert(0, <bench>)` and then `from lib import servers, load, ...`.
Everything external that a driver runs goes through `run()` or `record()`, so that its report
can list the exact commands (report.commands_block).
"""

import os
import shlex
import subprocess
import sys
import time

LIB = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(LIB)
ROOT = os.path.dirname(BENCH)
PYTHON = "/usr/bin/python3"

COMMANDS = []  # every external command run, in order, for the report


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def record(cmd, env_note=""):
    """Notes `cmd` (a list or a string) for the report's command list; returns it as text."""
    text = env_note + (cmd if isinstance(cmd, str) else shlex.join(cmd))
    COMMANDS.append(text)
    return text


def run(cmd, env_note="", **kw):
    """subprocess.run from the repository root, recorded for the report."""
    record(cmd, env_note)
    kw.setdefault("cwd", ROOT)
    return subprocess.run(cmd, **kw)


def run_checked(cmd, what=None, **kw):
    """run() that raises with the tail of stderr when the command fails; returns the result."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    done = run(cmd, **kw)
    if done.returncode != 0:
        name = what or os.path.basename(str(cmd[0]))
        raise RuntimeError(f"{name} failed ({done.returncode}):\n"
                           f"{(done.stdout or '')[-2000:]}\n{(done.stderr or '')[-2000:]}")
    return done


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def need(tool, package=None):
    """Exits with an install hint when `tool` is not on PATH."""
    import shutil
    if shutil.which(tool) is None:
        sys.exit(f"{tool} is not installed (Debian: apt-get install {package or tool}; "
                 "scripts/install-deps.sh installs every benchmark tool)")
