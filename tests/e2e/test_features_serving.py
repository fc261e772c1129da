"""strata serve with features (docs/features.md, "Serving with features"):
key-only requests (entity keys and request fields) to a model whose version
has a features.yaml, over REST and gRPC, by the model's own name and through
hybrid and dynamic endpoints; the feature vectors and predictions equal the
binding's and XGBoost's bit for bit (the golden rows); bad input answered 400
naming the field; a model version with a broken features.yaml refused at load
while the previous version serves on; feature tables in RocksDB and in a real
Redis (concurrent requests' lookups share MGETs and each gets its own rows),
which is stopped (kill -STOP) under load: feature requests degrade to
imputed answers within their deadline, requests to a plain model keep their
latency, and both recover after kill -CONT; the same tables over Redis's unix
socket (unix:///path) answer the golden predictions. The served-feature log
holds keyed hashes, never raw keys.
"""
import json
import os
import shutil
import signal
import statistics
import tempfile
import threading
import time
import unittest

import numpy as np

from harness.features_fixture import MODEL, PurchaseFixture
from harness.metrics import metric, parse_metrics
from harness.protocol_clients import GrpcClient, json_infer_body
from harness.redis_server import RedisServer
from harness.strata_server import StrataServer, run_strata

HEAD = 50  # golden rows precomputed into the hybrid endpoint's table


def key_only(rows, parameters=None):
    inputs = [("user_id", "INT64", [r["user_id"] for r in rows]),
              ("product_id", "INT64", [r["product_id"] for r in rows]),
              ("query", "BYTES", [r["query"].encode() for r in rows]),
              ("ts", "INT64", [r["ts"] for r in rows])]
    return json_infer_body(inputs, parameters=parameters)


def infer(server, model, body):
    status, response, _ = server.infer(model, body)
    return status, response


def metrics_text(server):
    conn = server.connection()
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return text


def output(response, name):
    out = next(o for o in response["outputs"] if o["name"] == name)
    return np.asarray(out["data"], dtype=np.float32).reshape(out["shape"])


def write_plain_model(repository):
    """models/plain: a TorchScript model without features (doubles its input)."""
    import torch

    class Double(torch.nn.Module):
        def forward(self, x):
            return x * 2

    version = os.path.join(repository, "models", "plain", "1")
    os.makedirs(version, exist_ok=True)
    torch.jit.script(Double()).save(os.path.join(version, "model.pt"))
    with open(os.path.join(repository, "models", "plain", "config.yaml"), "w") as f:
        f.write("backend: torchscript\nmax_batch_size: 64\ninputs:\n"
                "  - {name: x, datatype: FP32, shape: [-1, 2]}\n"
                "outputs:\n  - {name: y, datatype: FP32, shape: [-1, 2]}\n")


class FeaturesServingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="strata-features-serving-")
        cls.fixture = PurchaseFixture.build(cls.work)
        cls.golden = cls.fixture.golden
        write_plain_model(cls.fixture.repository)
        cls._precompute_head()
        cls.endpoints = os.path.join(cls.work, "endpoints.yaml")
        with open(cls.endpoints, "w") as f:
            f.write("endpoints:\n"
                    "  purchase_hybrid:\n    plan: hybrid\n    table: purchase_head\n"
                    "    key: [user_id, product_id]\n    model: purchase\n    cache: {max_bytes: 0}\n"
                    "  purchase_dynamic:\n    plan: dynamic\n    model: purchase\n")
        cls.secret = os.path.join(cls.work, "secret")
        with open(cls.secret, "w") as f:
            f.write("a-secret-of-more-than-16-bytes\n")
        cls.log = os.path.join(cls.work, "features.jsonl")
        cls.server = StrataServer(cls.fixture.repository, [
            "--tables", cls.fixture.tables, "--endpoints", cls.endpoints,
            "--feature-log", cls.log, "--feature-log-sample", "1",
            "--feature-log-secret", cls.secret, "--poll-interval-ms", "200", "--control-api"])
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def _precompute_head(cls):
        requests = os.path.join(cls.work, "head.csv")
        with open(requests, "w") as f:
            f.write("user_id,product_id,query,ts\n")
            for r in cls.golden.rows[:HEAD]:
                f.write(f"{r['user_id']},{r['product_id']},{r['query']},{r['ts']}\n")
        code, out, err = run_strata(
            "batch", "--repository", cls.fixture.repository, "--model", MODEL, "--input",
            requests, "--key", "user_id:INT64,product_id:INT64", "--table", "purchase_head",
            "--tables", cls.fixture.tables, "--staging", os.path.join(cls.work, "staging"),
            "--job-id", "head", "--progress", "off", "--expect-min", "0", "--expect-max", "1",
            timeout=300)
        if code != 0:
            raise RuntimeError(f"strata batch failed: {err}")

    def expected(self, rows):
        """Golden predictions for `rows` (indices into the golden rows)."""
        return self.golden.predictions[rows]

    def test_model_name_key_only_golden_vectors_and_predictions_bit_identical(self):
        for start in range(0, len(self.golden.rows), 250):
            rows = self.golden.rows[start:start + 250]
            status, response = infer(self.server, MODEL,
                                     key_only(rows, {"return_features": True}))
            self.assertEqual(status, 200, response)
            vectors = output(response, "features")
            want = self.golden.vectors[start:start + 250].astype(np.float32)
            self.assertEqual(vectors.shape, want.shape)
            self.assertTrue(np.array_equal(vectors.view(np.uint32), want.view(np.uint32)),
                            f"rows {start}..: {np.argwhere(vectors != want)[:5]}")
            predictions = output(response, "probability").reshape(-1)
            self.assertTrue(np.array_equal(predictions,
                                           self.golden.predictions[start:start + 250]))

    def test_grpc_key_only(self):
        rows = self.golden.rows[:20]
        client = GrpcClient(self.server.grpc_port)
        try:
            response = client.infer(MODEL, [
                ("user_id", "INT64", np.array([r["user_id"] for r in rows], dtype=np.int64)),
                ("product_id", "INT64", np.array([r["product_id"] for r in rows], dtype=np.int64)),
                ("query", "BYTES", [r["query"].encode() for r in rows]),
                ("ts", "INT64", np.array([r["ts"] for r in rows], dtype=np.int64))])
            got = GrpcClient.outputs(response)["probability"].reshape(-1)
        finally:
            client.close()
        self.assertTrue(np.array_equal(got, self.golden.predictions[:20]))

    def test_hybrid_answers_the_head_from_the_table_and_the_tail_from_features(self):
        rows = list(range(HEAD - 10, HEAD + 10))
        status, response = infer(self.server, "purchase_hybrid",
                                 key_only([self.golden.rows[i] for i in rows]))
        self.assertEqual(status, 200, response)
        layers = output_bytes(response, "layer")
        head_pairs = {(r["user_id"], r["product_id"]): i
                      for i, r in enumerate(self.golden.rows[:HEAD])}
        want = []
        for i, layer in zip(rows, layers):
            pair = (self.golden.rows[i]["user_id"], self.golden.rows[i]["product_id"])
            self.assertEqual(layer, "table" if pair in head_pairs else "model", i)
            want.append(self.golden.predictions[head_pairs.get(pair, i)])
        got = output(response, "probability").reshape(-1)
        np.testing.assert_allclose(got, np.asarray(want, dtype=np.float32), rtol=1e-6)

    def test_dynamic_endpoint_key_only(self):
        rows = self.golden.rows[100:130]
        status, response = infer(self.server, "purchase_dynamic", key_only(rows))
        self.assertEqual(status, 200, response)
        got = output(response, "probability").reshape(-1)
        self.assertTrue(np.array_equal(got, self.golden.predictions[100:130]))

    def test_bad_input_is_refused_naming_the_field(self):
        # user 2, product 3: not in the hybrid endpoint's head, so every plan computes it
        row = self.golden.rows[0]
        cases = [
            ([("product_id", "INT64", [3]), ("ts", "INT64", [row["ts"]])], "user_id"),
            ([("user_id", "BYTES", [b"seven"]), ("product_id", "INT64", [3]),
              ("ts", "INT64", [row["ts"]])], "INT64"),
            ([("user_id", "INT64", [2]), ("product_id", "INT64", [3]),
              ("ts", "INT64", [row["ts"]]), ("colour", "INT64", [3])], "'colour'"),
            ([("user_id", "INT64", [2]), ("product_id", "INT64", [3])], "'ts' is required"),
        ]
        for model in (MODEL, "purchase_dynamic", "purchase_hybrid"):
            for inputs, named in cases:
                status, response = infer(self.server, model, json_infer_body(inputs))
                self.assertEqual(status, 400, (model, inputs, response))
                self.assertIn(named, response["error"], (model, response))
                self.assertIn("user_id" if named == "INT64" else named, response["error"])
        status, response = infer(self.server, "plain", json_infer_body(
            [("x", "FP32", [[1, 2]])], parameters={"return_features": True}))
        self.assertEqual(status, 400, response)
        self.assertIn("return_features", response["error"])

    def test_metrics_and_feature_log(self):
        infer(self.server, MODEL, key_only(self.golden.rows[:5]))
        samples = parse_metrics(metrics_text(self.server))
        self.assertGreater(metric(samples, "strata_feature_lookups_total",
                                  table="user_stats", result="found"), 0)
        self.assertGreater(metric(samples, "strata_feature_stage_duration_seconds_count",
                                  model=MODEL), 0)
        deadline = time.time() + 5
        lines = []
        while time.time() < deadline and not lines:
            with open(self.log) as f:
                lines = [json.loads(line) for line in f if line.strip()]
            time.sleep(0.1)
        self.assertTrue(lines)
        line = lines[0]
        self.assertEqual(line["model"], MODEL)
        self.assertEqual(set(line["entities"]), {"user", "product"})
        self.assertEqual(len(line["entities"]["user"]), 32)  # a keyed hash, not the id
        self.assertEqual(set(line["tables"]), {"user_stats", "product_info"})
        self.assertIn("ts", line["request"])

    def test_broken_features_yaml_is_refused_and_the_previous_version_serves(self):
        model_dir = os.path.join(self.fixture.repository, "models", MODEL)
        broken = os.path.join(model_dir, "2")
        shutil.copytree(os.path.join(model_dir, "1"), broken)
        with open(os.path.join(broken, "features.yaml"), "a") as f:
            f.write("  - {tensor: input__1, features: [no_such_feature]}\n")
        try:
            deadline = time.time() + 20
            reason = ""
            while time.time() < deadline and "features.yaml" not in reason:
                status, index, _ = self.server.request("POST", "/v2/repository/index", b"{}")
                for entry in index or []:
                    if entry["name"] == MODEL and entry.get("version") == "2":
                        reason = entry.get("reason", "")
                time.sleep(0.2)
            self.assertIn("features.yaml", reason)
            status, response = infer(self.server, MODEL, key_only(self.golden.rows[:3]))
            self.assertEqual(status, 200, response)
            self.assertEqual(response["model_version"], "1")
        finally:
            shutil.rmtree(broken, ignore_errors=True)


def output_bytes(response, name):
    return next(o for o in response["outputs"] if o["name"] == name)["data"]


class FeaturesOnRedisTest(unittest.TestCase):
    """Feature tables in Redis; Redis stopped under load, then continued."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="strata-features-redis-")
        cls.fixture = PurchaseFixture.build(cls.work, golden_rows=200)
        write_plain_model(cls.fixture.repository)
        cls.redis = RedisServer()
        cls.redis.start()
        for table, source in (("user_stats", "users"), ("product_info", "products")):
            code, out, err = run_strata(
                "features", "materialize", "--definition", cls.fixture.definition, "--table",
                table, "--source", os.path.join(cls.fixture.data, source + ".csv"), "--redis",
                cls.redis.url)
            if code != 0:
                raise RuntimeError(err)
        cls.server = StrataServer(cls.fixture.repository, [
            "--feature-store", "redis", "--redis", cls.redis.url,
            "--feature-timeout-ms", "50", "--redis-timeout-ms", "200",
            "--redis-retry-ms", "300", "--poll-interval-ms", "200"])
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        try:
            os.kill(cls.redis.process.pid, signal.SIGCONT)
        except Exception:
            pass
        cls.redis.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def feature_call(self, rows):
        start = time.perf_counter()
        status, response = infer(self.server, MODEL, key_only(rows))
        return status, response, time.perf_counter() - start

    def plain_latencies(self, n):
        body = json_infer_body([("x", "FP32", [[1.0, 2.0]])])
        out = []
        for _ in range(n):
            start = time.perf_counter()
            status, _, _ = self.server.infer("plain", body)
            self.assertEqual(status, 200)
            out.append(time.perf_counter() - start)
        return out

    def test_concurrent_requests_share_round_trips_and_get_their_own_answers(self):
        # 32 clients at once, each its own rows: every answer is its rows'
        # (the pipeline splits a shared MGET back correctly), and the
        # lookups (2 tables per request) took fewer MGETs than lookups.
        rows = self.fixture.golden.rows
        clients, each = 32, 8
        before = self.redis.mget_calls()
        answers, barrier = {}, threading.Barrier(clients)

        def client(c):
            barrier.wait()
            for i in range(each):
                n = c * each + i
                answers[n] = self.feature_call([rows[n % len(rows)]])

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        lookups = 2 * clients * each
        mgets = self.redis.mget_calls() - before
        self.assertEqual(len(answers), clients * each)
        for n, (status, response, _) in answers.items():
            self.assertEqual(status, 200, response)
            self.assertNotIn("degraded", response.get("parameters", {}))
            golden = self.fixture.golden.predictions[n % len(rows)]
            self.assertEqual(output(response, "probability").reshape(-1)[0], golden, n)
        self.assertGreater(mgets, 0)
        self.assertLess(mgets, lookups)

    def test_stopped_redis_degrades_within_the_deadline_and_recovers(self):
        rows = self.fixture.golden.rows[:10]
        status, response, _ = self.feature_call(rows)
        self.assertEqual(status, 200, response)
        self.assertTrue(np.array_equal(output(response, "probability").reshape(-1),
                                       self.fixture.golden.predictions[:10]))
        self.assertNotIn("degraded", response.get("parameters", {}))
        baseline = statistics.median(self.plain_latencies(50))
        os.kill(self.redis.process.pid, signal.SIGSTOP)
        try:
            results = []
            worker = threading.Thread(
                target=lambda: results.extend(self.feature_call(rows) for _ in range(20)))
            worker.start()
            during = self.plain_latencies(50)
            worker.join(timeout=60)
            for status, response, took in results:
                self.assertEqual(status, 200, response)
                self.assertTrue(response["parameters"].get("degraded"), response)
                self.assertLess(took, 1.0)  # the 50 ms deadline, loosely
            self.assertEqual(len(results), 20)
            self.assertLess(statistics.median(during), baseline * 5 + 0.005)
        finally:
            os.kill(self.redis.process.pid, signal.SIGCONT)
        deadline = time.time() + 15
        while time.time() < deadline:
            status, response, _ = self.feature_call(rows)
            if status == 200 and not response.get("parameters", {}).get("degraded"):
                break
            time.sleep(0.2)
        self.assertNotIn("degraded", response.get("parameters", {}))
        self.assertTrue(np.array_equal(output(response, "probability").reshape(-1),
                                       self.fixture.golden.predictions[:10]))


class FeaturesOnRedisUnixSocketTest(unittest.TestCase):
    """Feature tables written and read over Redis's unix socket (unix:///path)."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="strata-features-unix-")
        cls.fixture = PurchaseFixture.build(cls.work, golden_rows=100)
        cls.socket = os.path.join(cls.work, "redis.sock")
        cls.redis = RedisServer(["--unixsocket", cls.socket, "--unixsocketperm", "700"])
        cls.redis.start()
        for table, source in (("user_stats", "users"), ("product_info", "products")):
            code, _, err = run_strata(
                "features", "materialize", "--definition", cls.fixture.definition, "--table",
                table, "--source", os.path.join(cls.fixture.data, source + ".csv"), "--redis",
                f"unix://{cls.socket}")
            if code != 0:
                raise RuntimeError(err)
        cls.server = StrataServer(cls.fixture.repository, [
            "--feature-store", "redis", "--redis", f"unix://{cls.socket}"])
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        cls.redis.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_key_only_predictions_over_the_socket_equal_the_golden_ones(self):
        rows = self.fixture.golden.rows
        status, response = infer(self.server, MODEL, key_only(rows))
        self.assertEqual(status, 200, response)
        self.assertNotIn("degraded", response.get("parameters", {}))
        self.assertTrue(np.array_equal(output(response, "probability").reshape(-1),
                                       self.fixture.golden.predictions[:len(rows)]))

    def test_a_relative_socket_path_is_refused_naming_the_form(self):
        code, out, err = run_strata(
            "features", "materialize", "--definition", self.fixture.definition, "--table",
            "user_stats", "--source", os.path.join(self.fixture.data, "users.csv"), "--redis",
            "unix://redis.sock")
        self.assertNotEqual(code, 0)
        self.assertIn("not an absolute path (unix:///path/to.sock)", out + err)


if __name__ == "__main__":
    unittest.main()
