"""Starts the real `strata serve` binary for end-to-end tests and stops it.

Used as a context manager:

    with StrataServer(repository) as server:
        status, body = server.request("GET", "/v2/health/live")

The server listens on free loopback ports (--port 0, and --grpc-port 0 unless
the test passes its own --grpc-port); `port` and `grpc_port` name them. Its
log goes to a file that failing tests print. `run_strata` runs the binary's
other commands (batch, table, advise, ...).
"""
import http.client
import json
import os
import re
import signal
import subprocess
import tempfile
import time

STRATA_BIN = os.environ.get("STRATA_BIN", "build/release/strata")
SOURCE_DIR = os.environ.get(
    "STRATA_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
BINARY_DIR = os.environ.get("STRATA_BINARY_DIR",
                            os.path.join(SOURCE_DIR, "build", "release"))


class StrataServer:
    def __init__(self, repository, extra_args=(), start_timeout=60):
        self.repository = repository
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.process = None
        self.port = None
        self.grpc_port = None  # None when gRPC is off (--grpc-port -1)
        self.admin_port = None  # set with --admin-port
        self.log = tempfile.NamedTemporaryFile(
            mode="w+", prefix="strata-e2e-", suffix=".log", delete=False)

    def __enter__(self):
        grpc_args = [] if "--grpc-port" in self.extra_args else ["--grpc-port", "0"]
        self.process = subprocess.Popen(
            [STRATA_BIN, "serve", "--repository", self.repository,
             "--host", "127.0.0.1", "--port", "0", *grpc_args, *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            match = re.search(r"listening on https?://127\.0\.0\.1:(\d+)",
                              self.log_text())
            if match:
                self.port = int(match.group(1))
                # Printed before the HTTP line when gRPC is on.
                grpc = re.search(r"gRPC listening on 127\.0\.0\.1:(\d+)", self.log_text())
                self.grpc_port = int(grpc.group(1)) if grpc else None
                admin = re.search(r"admin routes .* on port (\d+)", self.log_text())
                self.admin_port = int(admin.group(1)) if admin else None
                return self
            if self.process.poll() is not None:
                raise RuntimeError("strata exited early:\n" + self.log_text())
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError("strata did not start in time:\n" + self.log_text())

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.unlink(self.log.name)
        return False

    def stop(self, timeout=30):
        """Sends SIGTERM and returns the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def log_text(self):
        with open(self.log.name) as f:
            return f.read()

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, body=None, headers=None, conn=None):
        """Returns (status, decoded JSON body or None, response headers)."""
        own = conn is None
        conn = conn or self.connection()
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        if own:
            conn.close()
        parsed = json.loads(raw) if raw else None
        return response.status, parsed, dict(response.getheaders())

    def infer(self, model, body, version=None, conn=None):
        path = f"/v2/models/{model}"
        if version is not None:
            path += f"/versions/{version}"
        return self.request("POST", path + "/infer", body,
                            {"Content-Type": "application/json"}, conn)


def run_strata(*args, stdin=None, timeout=120):
    """Runs the binary; returns (exit code, stdout, stderr)."""
    done = subprocess.run([STRATA_BIN, *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr
