"""The machine a benchmark ran on, and a bounded wait for other processes to leave the CPUs."""

import os
import platform
import re
import subprocess
import time

from . import PYTHON, ROOT, read

PEER_STACK_PROBE = (
    "import torch, xgboost, numpy, fastapi, uvicorn, starlette, sys\n"
    "try:\n import uvloop; loop = 'uvloop ' + uvloop.__version__\n"
    "except ImportError: loop = 'asyncio'\n"
    "try:\n import httptools; h = 'httptools ' + httptools.__version__\n"
    "except ImportError: h = 'h11'\n"
    "print(f'Python {sys.version.split()[0]}, torch {torch.__version__}, "
    "xgboost {xgboost.__version__}, numpy {numpy.__version__}, "
    "fastapi {fastapi.__version__}, starlette {starlette.__version__}, "
    "uvicorn {uvicorn.__version__} ({loop}, {h})')")


def _out(cmd):
    try:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                              timeout=20).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_info():
    """CPUs, CPU model, memory, kernel, OS, the Python stack, wrk's version, git describe."""
    cpu = "unknown"
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "os": (re.search(r'PRETTY_NAME="([^"]*)"', read("/etc/os-release")) or [None, "?"])[1],
        "python_stack": _out([PYTHON, "-c", PEER_STACK_PROBE]),
        "wrk": _out(["sh", "-c", "wrk -v 2>&1 | head -1"]),
        "git": _out(["git", "describe", "--always", "--dirty"]),
    }


def uptime():
    return _out(["uptime"])


def loadavg():
    return float(read("/proc/loadavg", "0").split()[0])


def _cpu_sample():
    f = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
    return sum(f[:8]), f[3] + (f[4] if len(f) > 4 else 0)


def cpu_busy_fraction(interval=0.5):
    """Fraction of all CPUs busy over `interval` (from /proc/stat), e.g. others' compilers."""
    t0, i0 = _cpu_sample()
    time.sleep(interval)
    t1, i1 = _cpu_sample()
    return 0.0 if t1 == t0 else 1.0 - (i1 - i0) / (t1 - t0)


def total_busy_cpu_seconds():
    """CPU seconds spent busy (all CPUs, all processes) since boot, from /proc/stat."""
    total, idle = _cpu_sample()
    return (total - idle) / os.sysconf("SC_CLK_TCK")


class QuietWaiter:
    """Before each load run, waits (bounded) for other processes to leave the CPUs alone."""

    def __init__(self, threshold=0.2, max_wait_each=10, max_wait_total=60):
        self.threshold, self.max_each, self.budget = threshold, max_wait_each, max_wait_total
        self.waited = 0.0

    def wait(self):
        """Returns the busy fraction seen last (0..1)."""
        start = time.monotonic()
        busy = cpu_busy_fraction(0.3)
        while (busy > self.threshold and time.monotonic() - start < self.max_each
               and self.waited + (time.monotonic() - start) < self.budget):
            busy = cpu_busy_fraction(1.0)
        self.waited += time.monotonic() - start
        return busy
