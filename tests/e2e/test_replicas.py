"""Many replicas on one machine, for real: three `strata serve` processes behind
a real HAProxy (health checks on /v2/health/ready) and one real shared
redis-server, all on loopback ports.

- a table published once to Redis is served by every replica;
- a rolling update (SIGTERM, drain, restart on the new model version, one
  replica at a time) under continuous load fails no request;
- a replica killed with SIGKILL costs at most the requests in flight, and
  HAProxy routes around it;
- a load ramp drives strata_saturation_ratio across the autoscaling target,
  printing the replica count the HPA formula gives next to the latency.

And the drain sequence of one replica (DrainTest): readiness 503 at once while
serving goes on for --drain-delay, liveness 200 until the listeners close,
in-flight REST and gRPC requests finished after the close, exit 0.

Load is bounded: a few client threads for a few seconds per test."""
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from harness import xgb_example
from harness.load_clients import LoadClients
from harness.metrics import metric, parse_metrics
from harness.protocol_clients import GrpcClient
import inference_pb2  # noqa: E402 (generated; protocol_clients puts it on the path)
from harness.redis_server import RedisServer
from harness.repositories import EXAMPLES, TOLERANCE
from harness.strata_server import BINARY_DIR, STRATA_BIN, run_strata

MODEL = xgb_example.MODEL
SLOW_MODEL_PT = os.path.join(os.path.abspath(BINARY_DIR), "fixture_repository", "models", "slow", "1",
                             "model.pt")
DRAIN_DELAY = 1.0  # seconds; HAProxy checks every 100 ms, so it has long marked a drain down
TARGET = 0.7       # the HPA's target for strata_saturation_ratio (deploy/k8s/autoscaling)
SLOW_CONFIG = """backend: torchscript
max_batch_size: 16
instances: 1
max_queue_size: {queue}
inputs:
  - {{name: x, datatype: FP32, shape: [-1, 4]}}
outputs:
  - {{name: y, datatype: FP32, shape: [-1, 4]}}
parameters:
  threads: 1
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_repository(queue=8):
    """breast_cancer_xgb version 1 (its own directory, so that versions can be
    added) and `slow` (~40 ms a call, one instance)."""
    root = tempfile.mkdtemp(prefix="strata-e2e-replicas-")
    xgb = os.path.join(root, "models", MODEL)
    os.makedirs(xgb)
    shutil.copy(os.path.join(EXAMPLES, MODEL, "config.yaml"), xgb)
    os.symlink(os.path.join(EXAMPLES, MODEL, "1"), os.path.join(xgb, "1"))
    slow = os.path.join(root, "models", "slow")
    os.makedirs(os.path.join(slow, "1"))
    with open(os.path.join(slow, "config.yaml"), "w") as f:
        f.write(SLOW_CONFIG.format(queue=queue))
    os.symlink(SLOW_MODEL_PT, os.path.join(slow, "1", "model.pt"))
    return root


def publish_version(repository, version):
    """Adds version `version` of the XGBoost model (the same trees)."""
    os.symlink(os.path.join(EXAMPLES, MODEL, "1"),
               os.path.join(repository, "models", MODEL, str(version)))


def xgb_body():
    rows, _ = xgb_example.samples()
    return json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 30],
                                   "data": rows[0]}]})


def slow_body():
    return json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4],
                                   "data": [1, 2, 3, 4]}]})


def get(port, path, timeout=5):
    """(status, body) of a GET on a new connection; ("refused", None) when
    nothing listens."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body
    except ConnectionRefusedError:
        return "refused", None
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__, None


class Replica:
    """`strata serve` on fixed loopback ports, so that it can be restarted
    where HAProxy expects it."""

    def __init__(self, repository, args):
        self.repository = repository
        self.args = list(args)
        self.port, self.grpc_port = free_port(), free_port()
        self.process = None
        self.log = tempfile.NamedTemporaryFile(mode="w+", prefix="strata-replica-",
                                               suffix=".log", delete=False)

    def start(self, timeout=30):
        self.process = subprocess.Popen(
            [STRATA_BIN, "serve", "-r", self.repository, "--host", "127.0.0.1",
             "--port", str(self.port), "--grpc-port", str(self.grpc_port),
             "--poll-interval-ms", "0", *self.args],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("strata exited early:\n" + self.log_text())
            if get(self.port, "/v2/health/ready")[0] == 200:
                return self
            time.sleep(0.05)
        self.process.kill()
        self.process.wait()
        raise RuntimeError("strata did not become ready:\n" + self.log_text())

    def signal(self, sig):
        self.process.send_signal(sig)

    def wait(self, timeout=60):
        return self.process.wait(timeout=timeout)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_text(self):
        with open(self.log.name) as f:
            return f.read()

    def metrics(self):
        status, body = get(self.port, "/metrics")
        assert status == 200, status
        return parse_metrics(body.decode())


class Haproxy:
    """A real HAProxy in front of `replicas`: round robin, a health check on
    /v2/health/ready every 100 ms (one failure marks a server down, one
    success up), and the usual retry of a refused connection on another
    server (retries 3, option redispatch; a request already sent is never
    retried). Its own config and ports; the CSV stats page tells server state."""

    def __init__(self, replicas):
        self.port, self.stats_port = free_port(), free_port()
        self.dir = tempfile.mkdtemp(prefix="strata-haproxy-")
        servers = "\n".join(f"  server r{i} 127.0.0.1:{r.port} check"
                            for i, r in enumerate(replicas))
        self.config = os.path.join(self.dir, "haproxy.cfg")
        with open(self.config, "w") as f:
            f.write(f"""global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
frontend strata
  bind 127.0.0.1:{self.port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /v2/health/ready
  http-check expect status 200
  default-server inter 100ms fall 1 rise 1
{servers}
frontend stats
  bind 127.0.0.1:{self.stats_port}
  stats enable
  stats uri /stats
""")
        self.process = None

    def start(self):
        self.process = subprocess.Popen(["haproxy", "-db", "-f", self.config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("haproxy exited")
            try:
                if self.states():
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("haproxy did not start")

    def states(self):
        """{server name: status} of the backend (UP, DOWN, ...)."""
        status, body = get(self.stats_port, "/stats;csv")
        if status != 200:
            raise OSError(f"stats: {status}")
        lines = body.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
        return {r["svname"]: r["status"].split(" ")[0] for r in rows
                if r["pxname"] == "replicas" and r["svname"] not in ("FRONTEND", "BACKEND")}

    def wait_state(self, server, state, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.states().get(server) == state:
                return
            time.sleep(0.02)
        raise AssertionError(f"{server} never became {state}: {self.states()}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir)


def infer_client(port, model, body):
    """A LoadClients client: keep-alive POSTs to `model` until stopped; one
    record per request: (status or "error", model version, seconds taken).
    A broken connection is recorded as a failure and reopened."""
    def client(index, stop):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while not stop.is_set():
                start = time.monotonic()
                try:
                    conn.request("POST", f"/v2/models/{model}/infer", body,
                                 {"Content-Type": "application/json"})
                    response = conn.getresponse()
                    answer = response.read()
                    version = (json.loads(answer).get("model_version")
                               if response.status == 200 else answer[:200])
                    yield response.status, version, time.monotonic() - start
                except (OSError, http.client.HTTPException) as e:
                    yield "error", repr(e), time.monotonic() - start
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        finally:
            conn.close()
    return client


def answers(load):
    """Every client's records, in time order."""
    return [record for _, record in load.records()]


def failures(records):
    return [r for r in records if r[0] != 200]


class ReplicasTest(unittest.TestCase):
    REPLICAS = 3

    @classmethod
    def setUpClass(cls):
        cls.repository = make_repository(queue=8)
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-replicas-data-")
        cls.redis = RedisServer().start()
        source = os.path.join(cls.dir, "in.csv")
        cls.expected = xgb_example.write_csv(source, 200)
        code, _, err = run_strata(
            "batch", "-r", cls.repository, "-m", MODEL, "--progress", "off", *xgb_example.MAP,
            "-i", source, "-k", "id:INT64,name", "-t", "scores", "--job-id", "1",
            "--store", "redis", "--redis", cls.redis.url)
        assert code == 0, err
        cls.endpoints = os.path.join(cls.dir, "strata.yaml")
        with open(cls.endpoints, "w") as f:
            f.write("endpoints:\n  scores: {store: redis, default: 0.5}\n")
        cls.args = ["--endpoints", cls.endpoints, "--redis", cls.redis.url,
                    "--drain-delay", str(DRAIN_DELAY), "--drain-timeout", "10",
                    "--http-threads", "2"]
        cls.replicas = [Replica(cls.repository, cls.args) for _ in range(cls.REPLICAS)]
        cls.haproxy = Haproxy(cls.replicas)
        try:
            for replica in cls.replicas:
                replica.start()
            cls.haproxy.start()
            for i in range(cls.REPLICAS):
                cls.haproxy.wait_state(f"r{i}", "UP")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.haproxy.stop()
        for replica in cls.replicas:
            replica.stop()
            os.unlink(replica.log.name)
        cls.redis.stop()
        shutil.rmtree(cls.repository)
        shutil.rmtree(cls.dir)

    def lookup(self, port, ids):
        body = json.dumps({"inputs": [
            {"name": "id", "datatype": "INT64", "shape": [len(ids)], "data": ids},
            {"name": "name", "datatype": "BYTES", "shape": [len(ids)],
             "data": [f"row {i}" for i in ids]}]})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/v2/models/scores/infer", body,
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = json.loads(response.read())
        conn.close()
        self.assertEqual(response.status, 200, answer)
        return answer

    def test_a_table_published_once_to_redis_is_served_by_every_replica(self):
        ids = [0, 17, 99, 150, 199]
        for port in [r.port for r in self.replicas] + [self.haproxy.port] * self.REPLICAS:
            answer = self.lookup(port, ids)
            got = {o["name"]: o["data"] for o in answer["outputs"]}
            self.assertEqual(got["found"], [True] * len(ids), port)
            for i, p in zip(ids, got["probability"]):
                self.assertLessEqual(abs(p - self.expected[i]), TOLERANCE)
            self.assertEqual(answer["parameters"]["table_version"], 1)
        # The balancer spread those lookups over every replica.
        for replica in self.replicas:
            self.assertGreaterEqual(
                metric(replica.metrics(), "strata_endpoint_rows_total", endpoint="scores",
                       layer="table"), 2 * len(ids))

    def current_version(self):
        status, body = get(self.haproxy.port, f"/v2/models/{MODEL}")
        self.assertEqual(status, 200)
        return max(int(v) for v in json.loads(body)["versions"])

    def test_rolling_update_under_load_fails_no_request(self):
        old = self.current_version()
        publish_version(self.repository, old + 1)
        with LoadClients(4, infer_client(self.haproxy.port, MODEL, xgb_body())) as load:
            time.sleep(0.5)
            for i, replica in enumerate(self.replicas):
                replica.signal(signal.SIGTERM)  # drains: not ready, then closes, then exits
                self.assertEqual(replica.wait(timeout=30), 0, replica.log_text())
                self.haproxy.wait_state(f"r{i}", "DOWN", timeout=1)
                replica.start()
                self.haproxy.wait_state(f"r{i}", "UP")
            time.sleep(0.5)
        load.check(self)
        records = answers(load)
        self.assertGreater(len(records), 200)
        self.assertEqual(failures(records), [])
        versions = [r[1] for r in records]
        self.assertEqual(set(versions), {str(old), str(old + 1)})
        self.assertEqual(set(versions[-20:]), {str(old + 1)})  # the last answers: all new

    def test_sigkill_costs_only_the_requests_in_flight(self):
        clients = 6
        with LoadClients(clients, infer_client(self.haproxy.port, MODEL, xgb_body())) as load:
            time.sleep(1.0)
            killed_at = time.monotonic()
            self.replicas[0].signal(signal.SIGKILL)
            self.replicas[0].wait()
            self.haproxy.wait_state("r0", "DOWN", timeout=2)
            down_at = time.monotonic()
            time.sleep(1.5)
        load.check(self)
        timed = [(t, r) for records in load.by_client for t, r in records]
        lost = [(t, r) for t, r in timed if r[0] != 200]
        after = [r for t, r in timed if t > killed_at + 1.0]
        print(f"\nSIGKILL of 1 of {self.REPLICAS} replicas under {clients} clients: "
              f"{len(lost)} failed of {len(timed)} ({sorted(set(str(r[1])[:70] for _, r in lost))})")
        # Each client has one request outstanding, lost if the killed replica
        # held it. Until HAProxy has seen the kill (its check, or the RST on an
        # idle server connection it reuses) a client's next request may go
        # there too and be closed unanswered (HAProxy's way of letting the
        # client retry it): at most one more per client, only in that window.
        # Nothing else may fail.
        for records in load.by_client:
            client_lost = [(t, r) for t, r in records if r[0] != 200]
            self.assertLessEqual(len(client_lost), 2, client_lost)
        self.assertTrue(all(killed_at <= t <= down_at + 0.2 for t, _ in lost), lost)
        self.assertGreater(len(after), 10)
        self.assertEqual(failures(after), [])  # routed around it
        self.replicas[0].start()
        self.haproxy.wait_state("r0", "UP")

    def saturations(self):
        return [metric(r.metrics(), "strata_process_saturation_ratio") for r in self.replicas]

    def test_load_ramp_drives_saturation_across_the_target(self):
        step_seconds = 4
        rows = []
        for clients in (1, 2, 4, 6):
            with LoadClients(clients, infer_client(self.haproxy.port, "slow",
                                                   slow_body())) as load:
                time.sleep(step_seconds)
                ratios = self.saturations()
            load.check(self)
            latencies = sorted(r[2] for r in answers(load) if r[0] == 200)
            mean = sum(ratios) / len(ratios)
            desired = math.ceil(self.REPLICAS * mean / TARGET)
            rows.append((clients, mean, desired, latencies[len(latencies) // 2],
                         latencies[int(len(latencies) * 0.99)], len(failures(answers(load)))))
            time.sleep(0.5)
        print(f"\nload ramp over {self.REPLICAS} replicas (model slow: CPU-bound, 1 instance each); "
              f"HPA target {TARGET}: desired = ceil({self.REPLICAS} x mean / {TARGET})")
        print("clients  mean saturation  desired replicas  p50 ms  p99 ms  failed")
        for c, mean, desired, p50, p99, failed in rows:
            print(f"{c:7d}  {mean:15.2f}  {desired:16d}  {p50 * 1e3:6.0f}  {p99 * 1e3:6.0f}  "
                  f"{failed:6d}")
        means = [r[1] for r in rows]
        self.assertLess(means[0], TARGET)   # one client: below target, keep or shrink
        self.assertGreater(means[-1], TARGET)  # saturated: scale up
        self.assertLessEqual(rows[0][2], self.REPLICAS)
        self.assertGreater(rows[-1][2], self.REPLICAS)
        for lower, higher in zip(means, means[1:]):  # more load, no less saturation
            self.assertGreater(higher, lower - 0.05)
        self.assertEqual(sum(r[5] for r in rows), 0)


class DrainTest(unittest.TestCase):
    """One replica's drain sequence, watched from outside."""

    def setUp(self):
        self.repository = make_repository(queue=64)
        self.replica = Replica(self.repository, ["--drain-delay", "1.5", "--drain-timeout", "60",
                                                 "--http-threads", "2"])
        try:
            self.replica.start()
        except BaseException:
            shutil.rmtree(self.repository)
            raise

    def tearDown(self):
        self.replica.stop()
        os.unlink(self.replica.log.name)
        shutil.rmtree(self.repository)

    def probe(self, stop, timeline):
        """Readiness and liveness over REST and gRPC, each on a new connection
        (as a kubelet or a balancer does), until the process is gone."""
        grpc = GrpcClient(self.replica.grpc_port)
        while not stop.is_set():
            # Each probe is stamped with when it was asked: the listener may
            # close between the two.
            for what, path in (("ready", "/v2/health/ready"), ("live", "/v2/health/live")):
                asked = time.monotonic()
                timeline.append((asked, what, get(self.replica.port, path)[0]))
            asked = time.monotonic()
            try:
                answer = grpc.stub.ServerReady(inference_pb2.ServerReadyRequest(),
                                               timeout=2).ready
            except Exception as e:  # noqa: B902 -- a closed port is an answer here
                answer = type(e).__name__
            # When it was asked (for what the server says after the signal)
            # and when it was answered (for what it said before).
            timeline.append((asked, "grpc_ready", answer))
            timeline.append((time.monotonic(), "grpc_ready_answered", answer))
            time.sleep(0.02)
        grpc.close()

    def test_readiness_503_at_once_liveness_200_until_the_close_and_in_flight_finish(self):
        timeline = []
        stop = threading.Event()
        prober = threading.Thread(target=self.probe, args=(stop, timeline))
        prober.start()
        time.sleep(0.3)
        signalled = time.monotonic()
        self.replica.signal(signal.SIGTERM)
        time.sleep(1.5 - 0.15)
        # Six slow requests (~40 ms each, one instance, run one at a time)
        # straddle the close.
        rest = http_pool_infer(self.replica.port, 3)
        grpc_client = GrpcClient(self.replica.grpc_port)
        x = [("x", "FP32", np.array([[1, 2, 3, 4]], dtype=np.float32))]
        with ThreadPoolExecutor(3) as pool:
            grpc_calls = [pool.submit(grpc_client.infer, "slow", x, timeout=60)
                          for _ in range(3)]
            rest_results = [f.result() for f in rest]
            grpc_results = [c.result() for c in grpc_calls]
            grpc_done = time.monotonic()
        grpc_client.close()
        self.assertEqual(self.replica.wait(timeout=60), 0, self.replica.log_text())
        stop.set()
        prober.join()
        for status, answer, _ in rest_results:
            self.assertEqual(status, 200, answer)
            self.assertEqual(json.loads(answer)["outputs"][0]["data"], [2, 4, 6, 8])
        for result in grpc_results:
            np.testing.assert_array_equal(GrpcClient.outputs(result)["y"], [[2, 4, 6, 8]])
        self.check_timeline(timeline, signalled, grpc_done)

    def check_timeline(self, timeline, signalled, in_flight_done):
        after = [(t, what, s) for t, what, s in timeline if t > signalled + 0.1]
        # The listener closed before the first probe of either kind it refused.
        closed = min(t for t, what, s in after if what in ("ready", "live") and s == "refused")
        # Readiness: 503 at once, until the listener closes after the delay.
        ready = [s for t, what, s in after if what == "ready" and t < closed]
        self.assertGreater(len(ready), 10)
        self.assertEqual(set(ready), {503})
        self.assertGreaterEqual(closed - signalled, 1.5 - 0.1)
        # Liveness: 200 to the end; never 503, and refused only once closed.
        live = [(t, s) for t, what, s in timeline if what == "live"]
        self.assertEqual({s for t, s in live if t < closed}, {200})
        self.assertEqual({s for t, s in live if t >= closed} - {"refused"}, set())
        grpc_ready = [s for t, what, s in after if what == "grpc_ready" and t < closed - 0.1]
        self.assertEqual(set(grpc_ready), {False})
        before = [s for t, what, s in timeline
                  if what == "grpc_ready_answered" and t < signalled]
        self.assertEqual(set(before), {True})
        # The slow requests were still being answered after the listener closed.
        self.assertGreater(in_flight_done, closed)


def http_pool_infer(port, count):
    """`count` slow REST requests at once, each on its own connection; futures
    of (status, body, seconds)."""
    def one(_):
        start = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/v2/models/slow/infer", slow_body(),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body, time.monotonic() - start
    pool = ThreadPoolExecutor(count)
    futures = [pool.submit(one, i) for i in range(count)]
    pool.shutdown(wait=False)
    return futures


if __name__ == "__main__":
    unittest.main()
