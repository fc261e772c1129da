"""End-to-end tests of static endpoints in `strata serve --endpoints`: tables
built by `strata batch` (RocksDB, and Redis with a real redis-server on a free
port) answered by key lookup, many rows per request; bad keys; new table
versions picked up while serving; a corrupt version refused while the
previous serves; Redis stopped and started again while serving."""
import os
import re
import shutil
import socket
import tempfile
import unittest

from harness import xgb_example
from harness.redis_server import RedisServer
from harness.repositories import TOLERANCE
from harness.strata_server import StrataServer, run_strata
from harness.waiting import wait_for

POLL = ["--poll-interval-ms", "100"]


def batch(repository, table, source, job, *store):
    code, _, err = run_strata(
        "batch", "-r", repository, "-m", xgb_example.MODEL, "--progress", "off", *xgb_example.MAP,
        "-i", source, "-k", "id:INT64,name", "-t", table, "--job-id", job, *store)
    assert code == 0, err


def write_endpoints(directory, text):
    path = os.path.join(directory, "strata.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def lookup_body(ids, names, id_type="INT64"):
    return {"inputs": [
        {"name": "id", "datatype": id_type, "shape": [len(ids)], "data": ids},
        {"name": "name", "datatype": "BYTES", "shape": [len(names)], "data": names}]}


def outputs(body):
    return {o["name"]: o["data"] for o in body["outputs"]}


def layer_rows(server, endpoint):
    """{layer: rows} of `endpoint` from strata_endpoint_rows_total in /metrics."""
    conn = server.connection()
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    rows = {}
    for labels, value in re.findall(r'^strata_endpoint_rows_total\{([^}]*)\} (\S+)$', text,
                                    re.M):
        if f'endpoint="{endpoint}"' in labels:
            rows[re.search(r'layer="(\w+)"', labels).group(1)] = float(value)
    return rows


class StaticEndpointTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repository = xgb_example.make_repository()
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-static-")
        source = os.path.join(cls.dir, "in.csv")
        cls.expected = xgb_example.write_csv(source, 300)
        batch(cls.repository, "scores", source, "1")
        endpoints = write_endpoints(cls.dir, (
            "endpoints:\n"
            "  scores: {plan: static, table: scores, key: [id, name], default: 0.01}\n"))
        cls.server = StrataServer(cls.repository, ["--endpoints", endpoints, *POLL]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.repository)
        shutil.rmtree(cls.dir)

    def test_many_rows_per_request_with_defaults_for_misses(self):
        ids = list(range(0, 300, 3)) + [5000, 7]
        names = [f"row {i}" for i in range(0, 300, 3)] + ["row 5000", "not row 7"]
        status, body, _ = self.server.infer("scores", lookup_body(ids, names))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["model_name"], "scores")
        self.assertEqual(body["model_version"], "1")
        got = outputs(body)
        self.assertEqual(got["found"], [True] * 100 + [False, False])
        for i, p in zip(ids[:100], got["probability"][:100]):
            self.assertLessEqual(abs(p - self.expected[i]), TOLERANCE)
        self.assertAlmostEqual(got["probability"][100], 0.01, places=6)
        self.assertAlmostEqual(got["probability"][101], 0.01, places=6)
        p = body["parameters"]
        self.assertEqual((p["table"], p["table_version"]), ("scores", 1))
        self.assertEqual((p["model"], p["model_version"]), (xgb_example.MODEL, 1))
        self.assertEqual(p["layer"], "table")
        self.assertNotIn("degraded", p)

    def test_rows_per_layer_are_counted_in_metrics(self):
        before = layer_rows(self.server, "scores")
        ids, names = [1, 2, 3, 4000, 4001], ["row 1", "row 2", "row 3", "x", "y"]
        status, body, _ = self.server.infer("scores", lookup_body(ids, names))
        self.assertEqual(status, 200, body)
        after = layer_rows(self.server, "scores")
        self.assertEqual(after.get("table", 0) - before.get("table", 0), 3)
        self.assertEqual(after.get("default", 0) - before.get("default", 0), 2)

    def test_outputs_can_be_selected_and_the_version_named(self):
        body = lookup_body([4], ["row 4"])
        body["outputs"] = [{"name": "found"}]
        status, answer, _ = self.server.infer("scores", body, version="1")
        self.assertEqual(status, 200, answer)
        self.assertEqual(outputs(answer), {"found": [True]})
        status, answer, _ = self.server.infer("scores", body, version="9")
        self.assertEqual(status, 404, answer)
        self.assertIn("serves table 'scores' version 1", answer["error"])

    def test_metadata_and_ready(self):
        status, body, _ = self.server.request("GET", "/v2/models/scores")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["plan"], "static")
        self.assertEqual(body["platform"], "strata_static")
        self.assertEqual(body["versions"], ["1"])
        self.assertEqual(body["state"], "READY")
        self.assertEqual(body["inputs"], [
            {"name": "id", "datatype": "INT64", "shape": [-1]},
            {"name": "name", "datatype": "BYTES", "shape": [-1]}])
        self.assertEqual([o["name"] for o in body["outputs"]], ["probability", "found"])
        self.assertEqual(body["properties"]["model"], xgb_example.MODEL)
        self.assertEqual(body["properties"]["store"], "rocksdb")
        self.assertGreater(int(body["properties"]["in_memory_bytes"]), 0)  # a small table
        status, body, _ = self.server.request("GET", "/v2/models/scores/ready")
        self.assertEqual((status, body), (200, {"name": "scores", "ready": True}))
        # The model keeps its own dynamic endpoint.
        status, body, _ = self.server.request("GET", f"/v2/models/{xgb_example.MODEL}/ready")
        self.assertEqual(status, 200, body)

    def test_wrong_key_types_or_missing_key_columns_are_400(self):
        body = lookup_body([1, 2], ["row 1", "row 2"])
        del body["inputs"][1]
        status, answer, _ = self.server.infer("scores", body)
        self.assertEqual(status, 400, answer)
        self.assertIn("needs key column 'name'", answer["error"])
        status, answer, _ = self.server.infer(
            "scores", lookup_body([1.5, 2.0], ["row 1", "row 2"], id_type="FP32"))
        self.assertEqual(status, 400, answer)
        self.assertIn("'id' must be an integer", answer["error"])
        body = lookup_body([1], ["row 1"])
        body["inputs"].append({"name": "store", "datatype": "INT64", "shape": [1], "data": [1]})
        status, answer, _ = self.server.infer("scores", body)
        self.assertEqual(status, 400, answer)
        self.assertIn("'store' is not one of them", answer["error"])
        body = lookup_body([1, 2], ["row 1"])
        status, answer, _ = self.server.infer("scores", body)
        self.assertEqual(status, 400, answer)


class StaticVersionTest(unittest.TestCase):
    """Versions 1-3 are built first; 3 is corrupted, 1 published; then 2 and
    3 are published while serving."""

    def setUp(self):
        self.repository = xgb_example.make_repository()
        self.dir = tempfile.mkdtemp(prefix="strata-e2e-static-versions-")
        source = os.path.join(self.dir, "in.csv")
        xgb_example.write_csv(source, 200)
        for job in ("1", "2", "3"):
            batch(self.repository, "scores", source, job)
        db = os.path.join(self.repository, "tables", "scores", "3", "db")
        sst = sorted(f for f in os.listdir(db) if f.endswith(".sst"))[0]
        with open(os.path.join(db, sst), "r+b") as f:
            f.seek(64)
            f.write(b"\xff" * 64)
        code, _, err = run_strata("table", "publish", "scores", "1", "-r", self.repository)
        self.assertEqual(code, 0, err)
        self.endpoints = write_endpoints(self.dir, "endpoints:\n  scores: {default: 0}\n")

    def tearDown(self):
        shutil.rmtree(self.repository)
        shutil.rmtree(self.dir)

    def table_version(self, server):
        status, body, _ = server.infer("scores", lookup_body([1], ["row 1"]))
        self.assertEqual(status, 200, body)
        self.assertEqual(outputs(body)["found"], [True])
        return body["parameters"]["table_version"]

    def test_new_version_picked_up_and_corrupt_version_refused(self):
        with StrataServer(self.repository, ["--endpoints", self.endpoints, *POLL]) as server:
            # A hot key: its answer is kept by the I/O threads that answered it
            # (serving/static_answer_cache.h); the new version must show all the same.
            for _ in range(10):
                self.assertEqual(self.table_version(server), 1)
            code, _, err = run_strata("table", "publish", "scores", "2",
                                              "-r", self.repository)
            self.assertEqual(code, 0, err)
            wait_for(lambda: self.table_version(server) == 2)
            # `strata table publish 3` would refuse the corrupt version; point
            # CURRENT at it by hand, as a broken publisher might.
            with open(os.path.join(self.repository, "tables", "scores", "CURRENT"), "w") as f:
                f.write("3\n")
            refused = wait_for(lambda: server.request("GET", "/v2/models/scores")[1]
                               ["properties"].get("refused"))
            self.assertIn("version 3 refused", refused)
            for _ in range(20):
                self.assertEqual(self.table_version(server), 2)
            self.assertIn("version 2 keeps serving", server.log_text())

    def test_an_endpoint_without_a_table_is_not_ready_until_one_appears(self):
        endpoints = write_endpoints(self.dir, "endpoints:\n  later: {table: later}\n")
        with StrataServer(self.repository, ["--endpoints", endpoints, *POLL]) as server:
            status, body, _ = server.request("GET", "/v2/models/later/ready")
            self.assertEqual(status, 503, body)
            self.assertIn("has no version", body["reason"])
            status, body, _ = server.infer("later", lookup_body([1], ["row 1"]))
            self.assertEqual(status, 503, body)
            source = os.path.join(self.dir, "in.csv")
            batch(self.repository, "later", source, "later")
            wait_for(lambda: server.request("GET", "/v2/models/later/ready")[0] == 200)
            status, body, _ = server.infer("later", lookup_body([1], ["row 1"]))
            self.assertEqual(status, 200, body)

    def test_a_bad_endpoints_file_stops_the_server_with_a_clear_error(self):
        endpoints = write_endpoints(self.dir, "endpoints:\n  x: {plan: dynamc}\n")
        code, out, err = run_strata("serve", "-r", self.repository, "--port", "0",
                                            "--endpoints", endpoints, timeout=30)
        self.assertEqual(code, 2)
        self.assertIn("endpoint 'x': plan 'dynamc' is not supported", out + err)


class PersistentRedis(RedisServer):
    """A redis-server that keeps its data across a stop and start (an RDB
    file in its own directory), on the same port."""

    def __init__(self, directory):
        super().__init__(["--dir", directory])
        self.directory = directory

    def stop(self):
        """Saves the data, then stops the server."""
        if self.process and self.process.poll() is None:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as c:
                c.sendall(b"SHUTDOWN SAVE\r\n")
            self.process.wait(timeout=10)


class RedisStaticEndpointTest(unittest.TestCase):
    def setUp(self):
        self.repository = xgb_example.make_repository()
        self.dir = tempfile.mkdtemp(prefix="strata-e2e-static-redis-")
        self.redis = PersistentRedis(self.dir).start()
        source = os.path.join(self.dir, "in.csv")
        self.expected = xgb_example.write_csv(source, 200)
        batch(self.repository, "shared", source, "1", "--store", "redis",
              "--redis", self.redis.url)
        self.endpoints = write_endpoints(self.dir, (
            "endpoints:\n"
            "  shared: {store: redis, default: 0.5, on_store_error: default}\n"
            "  strict: {table: shared, store: redis, on_store_error: unavailable}\n"))

    def tearDown(self):
        self.redis.stop()
        shutil.rmtree(self.repository)
        shutil.rmtree(self.dir)

    def test_redis_stopped_while_serving_then_back(self):
        args = ["--endpoints", self.endpoints, "--redis", self.redis.url, *POLL]
        body = lookup_body([3, 999], ["row 3", "row 999"])
        with StrataServer(self.repository, args) as server:
            status, answer, _ = server.infer("shared", body)
            self.assertEqual(status, 200, answer)
            self.assertEqual(outputs(answer)["found"], [True, False])
            self.assertLessEqual(abs(outputs(answer)["probability"][0] - self.expected[3]),
                                 TOLERANCE)
            self.assertEqual(answer["parameters"]["table_version"], 1)
            status, meta, _ = server.request("GET", "/v2/models/shared")
            self.assertEqual(meta["properties"]["store"], "redis")

            self.redis.stop()
            before = layer_rows(server, "shared")
            status, answer, _ = server.infer("shared", body)
            self.assertEqual(status, 200, answer)
            self.assertEqual(outputs(answer)["found"], [False, False])
            self.assertEqual(outputs(answer)["probability"], [0.5, 0.5])
            self.assertIs(answer["parameters"]["degraded"], True)
            self.assertEqual(answer["parameters"]["layer"], "default")
            after = layer_rows(server, "shared")  # a degraded answer's rows are defaults
            self.assertEqual(after.get("default", 0) - before.get("default", 0), 2)
            self.assertEqual(after.get("table", 0), before.get("table", 0))
            status, answer, headers = server.infer("strict", body)
            self.assertEqual(status, 503, answer)
            self.assertIn("endpoint 'strict'", answer["error"])
            self.assertEqual(headers.get("Retry-After"), "1")

            self.redis.start()
            def recovered():
                status, answer, _ = server.infer("shared", body)
                return status == 200 and "degraded" not in answer["parameters"] and answer
            answer = wait_for(recovered)
            self.assertEqual(outputs(answer)["found"], [True, False])
            status, answer, _ = server.infer("strict", body)
            self.assertEqual(status, 200, answer)
            self.assertEqual(outputs(answer)["found"], [True, False])


if __name__ == "__main__":
    unittest.main()
