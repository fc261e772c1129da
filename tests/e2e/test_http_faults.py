"""End-to-end tests of the REST frontend's defences (docs/operations.md), each
against its own real `strata serve` on loopback: running out of file
descriptors, request-body memory (stalled uploads, gzip bursts), bodies that
stop arriving, and `Expect: 100-continue`.

The server serves one small XGBoost model, so it starts fast and holds few
descriptors. Memory and CPU are read from /proc/<pid>."""
import gzip
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import unittest

from harness.metrics import metric, parse_metrics
from harness.strata_server import SOURCE_DIR, StrataServer
from harness.waiting import wait_for

EXAMPLES = os.path.join(SOURCE_DIR, "examples", "repository", "models")
MODEL = "breast_cancer_xgb"
INFER = f"/v2/models/{MODEL}/infer"
MIB = 1 << 20


def make_repository():
    root = tempfile.mkdtemp(prefix="strata-e2e-faults-")
    os.mkdir(os.path.join(root, "models"))
    os.symlink(os.path.join(EXAMPLES, MODEL), os.path.join(root, "models", MODEL))
    return root


def small_request():
    """One row of the model's sample request, as JSON bytes."""
    with open(os.path.join(EXAMPLES, MODEL, "1", "samples.json")) as f:
        request = json.load(f)["request"]
    for tensor in request["inputs"]:
        width = len(tensor["data"]) // tensor["shape"][0]
        tensor["data"] = tensor["data"][:width]
        tensor["shape"] = [1] + tensor["shape"][1:]
    return json.dumps(request).encode()


def proc_status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def request_head(length, extra=""):
    return (f"POST {INFER} HTTP/1.1\r\nHost: strata\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n{extra}\r\n").encode()


def read_head(sock, timeout):
    """The status line and headers of the next response (or 1xx), as text;
    '' when the connection ends first."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0].decode(errors="replace")


def read_response(sock, timeout=10):
    """(status, headers, body) of one whole response with a Content-Length."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response: %r" % data)
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


class FaultServer:
    """A StrataServer on a one-model repository, with helpers."""

    def __init__(self, test, args):
        self.repository = make_repository()
        test.addCleanup(shutil.rmtree, self.repository)
        self.server = StrataServer(self.repository, ["--grpc-port", "-1", *args]).__enter__()
        test.addCleanup(self.server.__exit__, None, None, None)
        self.pid = self.server.process.pid

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.server.port), timeout=10)

    def metrics(self, conn=None):
        own = conn is None
        conn = conn or self.server.connection()
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        if own:
            conn.close()
        return parse_metrics(text)

    def infer_small(self):
        status, body, _ = self.server.request("POST", INFER, small_request(),
                                              {"Content-Type": "application/json"})
        return status, body


class DescriptorExhaustionTest(unittest.TestCase):
    LOG_LIMIT = 16 << 10
    CLIENTS = 60

    def test_running_out_of_descriptors_pauses_accepts_and_recovers(self):
        fault = FaultServer(self, ["--http-threads", "1"])
        pid = fault.pid
        watcher = fault.server.connection()  # kept alive: /metrics while exhausted
        self.assertEqual(metric(fault.metrics(watcher), "strata_http_accept_pauses_total"), 0)
        # Room for a few more connections only.
        limit = open_fds(pid) + 8
        os.system(f"prlimit --pid {pid} --nofile={limit}:{limit}")
        clients = [socket.create_connection(("127.0.0.1", fault.server.port), timeout=5)
                   for _ in range(self.CLIENTS)]
        self.addCleanup(lambda: [c.close() for c in clients])
        deadline = time.monotonic() + 10
        while open_fds(pid) < limit and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(open_fds(pid), limit, "the server never reached its descriptor limit")

        log_before = len(fault.server.log_text())
        cpu_before = cpu_seconds(pid)
        time.sleep(3)
        cpu = cpu_seconds(pid) - cpu_before
        log_growth = len(fault.server.log_text()) - log_before
        self.assertLess(cpu, 0.3, f"{cpu:.2f} s of CPU in 3 s at the descriptor limit")
        self.assertLess(log_growth, self.LOG_LIMIT, "the log grew by %d bytes" % log_growth)
        self.assertIn("Too many open files", fault.server.log_text())
        self.assertGreater(metric(fault.metrics(watcher), "strata_http_accept_pauses_total"), 0)

        for c in clients:
            c.close()
        status, _ = fault.infer_small()
        self.assertEqual(status, 200)
        watcher.close()


class GrpcDescriptorExhaustionTest(unittest.TestCase):
    """gRPC 1.51's own acceptor never accepted again after its first EMFILE
    (grpc/grpc#20418); strata accepts the gRPC port's connections itself."""
    CLIENTS = 60

    def test_grpc_accepts_again_once_descriptors_free_up(self):
        import grpc
        from harness import protocol_clients  # noqa: F401 (puts the generated stubs on the path)
        import inference_pb2
        import inference_pb2_grpc
        repository = make_repository()
        self.addCleanup(shutil.rmtree, repository)
        server = StrataServer(repository, ["--http-threads", "1"]).__enter__()
        self.addCleanup(server.__exit__, None, None, None)
        pid, port = server.process.pid, server.grpc_port
        self.assertIsNotNone(port)
        limit = open_fds(pid) + 8
        os.system(f"prlimit --pid {pid} --nofile={limit}:{limit}")
        clients = [socket.create_connection(("127.0.0.1", port), timeout=5)
                   for _ in range(self.CLIENTS)]
        deadline = time.monotonic() + 10
        while open_fds(pid) < limit and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(open_fds(pid), limit, "the server never reached its descriptor limit")
        cpu_before = cpu_seconds(pid)
        time.sleep(2)
        self.assertLess(cpu_seconds(pid) - cpu_before, 0.3, "the gRPC acceptor spins")
        for c in clients:
            c.close()
        time.sleep(0.5)
        # A new channel after the shortage must be served.
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = inference_pb2_grpc.GRPCInferenceServiceStub(channel)
            live = stub.ServerLive(inference_pb2.ServerLiveRequest(), timeout=10)
        self.assertTrue(live.live)
        conn = server.connection()
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        self.assertGreater(metric(parse_metrics(text), "strata_http_accept_pauses_total"), 0)


class BodyBudgetTest(unittest.TestCase):
    STALLED = 16
    BODY = 8 * MIB      # announced by each stalled upload
    SENT = 6 * MIB      # what each sends before it stalls
    BUDGET = 32 * MIB   # room for four of them
    TIMEOUT_S = 2

    def test_stalled_uploads_are_bounded_refused_and_timed_out(self):
        fault = FaultServer(self, ["--http-threads", "2", "--max-body-size", "16MiB",
                                   "--body-memory-budget", "32MiB",
                                   "--body-timeout-ms", str(self.TIMEOUT_S * 1000)])
        rss_before = proc_status_kib(fault.pid, "VmRSS")
        uploads = []
        for _ in range(self.STALLED):
            sock = fault.connect()
            self.addCleanup(sock.close)
            sock.sendall(request_head(self.BODY) + b" " * self.SENT)
            uploads.append(sock)
        stalled_at = time.monotonic()

        # Beyond the budget: 503 with Retry-After, not a body held in memory.
        time.sleep(0.5)
        rss_growth = (proc_status_kib(fault.pid, "VmRSS") - rss_before) * 1024
        self.assertLess(rss_growth, self.BUDGET + 16 * MIB,
                        f"RSS grew {rss_growth / MIB:.0f} MiB under stalled uploads")
        refused, held = [], []
        for sock in uploads:
            try:
                status, headers, _ = read_response(sock, timeout=0.05)
                self.assertEqual(status, 503)
                self.assertEqual(headers.get("retry-after"), "1")
                refused.append(sock)
            except socket.timeout:
                held.append(sock)
        self.assertEqual(len(held), self.BUDGET // self.BODY)
        self.assertEqual(len(refused), self.STALLED - len(held))

        # A client that asks first is refused before it sends its body.
        asker = fault.connect()
        self.addCleanup(asker.close)
        asker.sendall(request_head(self.BODY, "Expect: 100-continue\r\n"))
        self.assertTrue(read_head(asker, 2).startswith("HTTP/1.1 503"))

        # Small requests are served meanwhile.
        self.assertEqual(fault.infer_small()[0], 200)

        # The stalled uploads are closed once their body stops arriving.
        for sock in held:
            sock.settimeout(self.TIMEOUT_S + 3)
            try:
                self.assertEqual(sock.recv(1), b"")
            except ConnectionResetError:
                pass
            self.assertLess(time.monotonic() - stalled_at, self.TIMEOUT_S + 1.5)
        # The stream closes a timed-out socket before its handler counts it,
        # so a client can see the close a moment before the count moves.
        wait_for(lambda: metric(fault.metrics(), "strata_http_refused_requests_total",
                                reason="body_timeout") >= len(held), timeout=5)
        samples = fault.metrics()
        self.assertEqual(metric(samples, "strata_http_refused_requests_total",
                                reason="body_budget"), len(refused) + 1)
        self.assertEqual(metric(samples, "strata_http_refused_requests_total",
                                reason="body_timeout"), len(held))
        self.assertEqual(metric(samples, "strata_http_body_bytes"), 0)

    def test_gzip_bursts_stay_within_the_budget(self):
        fault = FaultServer(self, ["--http-threads", "8", "--max-body-size", "32MiB",
                                   "--body-memory-budget", "40MiB"])
        # Valid JSON that inflates to 30 MiB: a small request and whitespace.
        inflated = small_request() + b" " * (30 * MIB)
        body = gzip.compress(inflated, compresslevel=9)
        self.assertLess(len(body), 64 << 10)
        rss_before = proc_status_kib(fault.pid, "VmRSS")
        peak = [rss_before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], proc_status_kib(fault.pid, "VmRSS"))
                time.sleep(0.002)

        def upload(sock):
            sock.sendall(request_head(len(body), "Content-Encoding: gzip\r\n") + body)

        sampler = threading.Thread(target=sample)
        sampler.start()
        socks = [fault.connect() for _ in range(8)]
        for sock in socks:
            self.addCleanup(sock.close)
        senders = [threading.Thread(target=upload, args=(s,)) for s in socks]
        for t in senders:
            t.start()
        for t in senders:
            t.join()
        answers = [read_response(s, timeout=60) for s in socks]
        done.set()
        sampler.join()
        statuses = sorted(status for status, _, _ in answers)
        self.assertTrue(set(statuses) <= {200, 503}, statuses)
        self.assertIn(200, statuses)
        for status, headers, _ in answers:
            if status == 503:
                self.assertEqual(headers.get("retry-after"), "1")
        growth = (peak[0] - rss_before) * 1024
        self.assertLess(growth, 128 * MIB, f"RSS peaked {growth / MIB:.0f} MiB above idle")
        samples = fault.metrics()
        self.assertEqual(metric(samples, "strata_http_refused_requests_total",
                                reason="body_budget"), statuses.count(503))
        self.assertEqual(metric(samples, "strata_http_body_bytes"), 0)


class ExpectContinueTest(unittest.TestCase):
    def test_100_continue_comes_before_the_body_and_413_without_it(self):
        fault = FaultServer(self, ["--max-body-size", "4MiB"])
        body = small_request() + b" " * (2 * MIB)  # curl asks first above 1 MB
        sock = fault.connect()
        self.addCleanup(sock.close)
        started = time.monotonic()
        sock.sendall(request_head(len(body), "Expect: 100-continue\r\n"))
        head = read_head(sock, 2)
        self.assertLess(time.monotonic() - started, 0.5)
        self.assertEqual(head, "HTTP/1.1 100 Continue")
        sock.sendall(body)
        status, _, answer = read_response(sock)
        self.assertEqual(status, 200, answer)
        self.assertEqual(json.loads(answer)["model_name"], MODEL)

        # Too large by its Content-Length: 413 at once, and no 100 Continue.
        big = fault.connect()
        self.addCleanup(big.close)
        started = time.monotonic()
        big.sendall(request_head(64 * MIB, "Expect: 100-continue\r\n"))
        status, headers, answer = read_response(big, timeout=2)
        self.assertLess(time.monotonic() - started, 0.5)
        self.assertEqual(status, 413, answer)
        self.assertIn("--max-body-size", json.loads(answer)["error"])
        self.assertEqual(headers.get("connection"), "close")

        # An expectation strata cannot meet.
        odd = fault.connect()
        self.addCleanup(odd.close)
        odd.sendall(request_head(10, "Expect: something-else\r\n"))
        self.assertEqual(read_response(odd, timeout=2)[0], 417)


if __name__ == "__main__":
    unittest.main()
