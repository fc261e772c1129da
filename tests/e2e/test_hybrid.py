"""End-to-end tests of hybrid endpoints (`plan: hybrid`) in `strata serve
--endpoints`: a table built by `strata batch` from the breast_cancer_xgb
example covers part of the keys; requests mix table hits, cache hits (keys
repeated that are not in the table) and misses; every row's answer equals
the model's own (samples.json, i.e. XGBoost's), whichever layer answered,
and the layer reported per row is right. After a model version swap the
table (made by version 1) is no longer used and the cache never serves
version 1's answers. Without a table version the endpoint is a cache in
front of the model. The server's key log is read by `strata advise`, and the
whole loop (traffic -> key log -> advise --export-hot-keys -> batch -> the
head served from the table) runs in test_5."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import test_batch as helpers
from strata_server import StrataServer

POLL = ["--poll-interval-ms", "100"]
KEYS = 300          # ids 0..299, features cycling through the 32 samples
TABLE_KEYS = 100    # the table holds ids 0..99


def request(ids, rows):
    features = [x for i in ids for x in rows[i % len(rows)]]
    return {"inputs": [
        {"name": "id", "datatype": "INT64", "shape": [len(ids)], "data": ids},
        {"name": "features", "datatype": "FP32", "shape": [len(ids), 30], "data": features}]}


def outputs(body):
    return {o["name"]: o["data"] for o in body["outputs"]}


class HybridEndpointTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-hybrid-")
        cls.repository = os.path.join(cls.dir, "repo")
        cls.model_dir = os.path.join(cls.repository, "models", helpers.MODEL)
        os.makedirs(os.path.join(cls.model_dir, "1"))
        source = os.path.join(helpers.EXAMPLES, helpers.MODEL)
        shutil.copy(os.path.join(source, "config.yaml"), cls.model_dir)
        shutil.copy(os.path.join(source, "1", "model.json"), os.path.join(cls.model_dir, "1"))
        cls.rows, cls.samples_expected = helpers.samples()
        csv = os.path.join(cls.dir, "head.csv")
        helpers.write_csv(csv, TABLE_KEYS)
        code, _, err = helpers.run_strata(
            "batch", "-r", cls.repository, "-m", helpers.MODEL, "--progress", "off",
            *helpers.MAP, "-i", csv, "-k", "id:INT64", "-t", "head", "--job-id", "1")
        assert code == 0, err
        endpoints = os.path.join(cls.dir, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write("endpoints:\n"
                    "  scores:\n"
                    "    plan: hybrid\n"
                    "    table: head\n"
                    "    key: [id]\n"
                    f"    model: {helpers.MODEL}\n"
                    "    cache: {max_bytes: 1MiB, ttl_s: 0}\n"
                    "  cached:\n"  # no table version: a cache in front of the model
                    f"    {{plan: hybrid, table: nothing_yet, key: [id], model: {helpers.MODEL}}}\n")
        cls.key_log = os.path.join(cls.dir, "keys.jsonl")
        cls.server = StrataServer(cls.repository, ["--endpoints", endpoints, *POLL,
                                                   "--key-log", cls.key_log]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.dir)

    def expected_v1(self, i):
        return self.samples_expected[i % len(self.rows)]

    def model_answers(self, ids, version=None):
        """The model's own answers, asked directly (not through the endpoint)."""
        status, body, _ = self.server.infer(
            helpers.MODEL, {"inputs": request(ids, self.rows)["inputs"][1:]}, version=version)
        self.assertEqual(status, 200, body)
        return outputs(body)["probability"]

    def hybrid(self, ids):
        status, body, _ = self.server.infer("scores", request(ids, self.rows))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["model_name"], "scores")
        return body

    def check(self, body, ids, expected, layers):
        got = outputs(body)
        self.assertEqual(len(got["probability"]), len(ids))
        for i, p, want in zip(ids, got["probability"], expected):
            self.assertAlmostEqual(p, want, delta=helpers.TOLERANCE, msg=f"id {i}")
        self.assertEqual(got["layer"], layers)
        params = body["parameters"]
        for layer in ("table", "cache", "model"):
            self.assertEqual(params[f"layer_{layer}"], layers.count(layer), params)

    def metric(self, layer):
        conn = self.server.connection()
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        for line in text.splitlines():
            if (line.startswith("strata_endpoint_rows_total{")
                    and 'endpoint="scores"' in line and f'layer="{layer}"' in line):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def test_1_layers_and_answers(self):
        # Table hits (0..99), misses (200..219) in one request.
        ids = [3, 150, 40, 200, 201, 99, 250, 7]
        layers = ["table" if i < TABLE_KEYS else "model" for i in ids]
        body = self.hybrid(ids)
        self.check(body, ids, [self.expected_v1(i) for i in ids], layers)
        self.assertEqual(body["parameters"]["layer"], "mixed")
        self.assertEqual(body["parameters"]["table"], "head")
        self.assertEqual(body["model_version"], "1")
        # The same keys again: the model's rows now come from the cache; a new
        # key not in the table still goes to the model.
        ids2 = ids + [260]
        layers2 = ["table" if i < TABLE_KEYS else "cache" for i in ids] + ["model"]
        self.check(self.hybrid(ids2), ids2, [self.expected_v1(i) for i in ids2], layers2)
        # All from the table; all from the cache.
        body = self.hybrid([1, 2, 3])
        self.check(body, [1, 2, 3], [self.expected_v1(i) for i in [1, 2, 3]], ["table"] * 3)
        self.assertEqual(body["parameters"]["layer"], "table")
        body = self.hybrid([150, 250])
        self.check(body, [150, 250], [self.expected_v1(i) for i in [150, 250]], ["cache"] * 2)
        self.assertEqual(body["parameters"]["layer"], "cache")
        # Every key, in a shuffled order, equals XGBoost's own answers.
        everything = [(i * 37) % KEYS for i in range(KEYS)]
        got = outputs(self.hybrid(everything))
        for i, p in zip(everything, got["probability"]):
            self.assertAlmostEqual(p, self.expected_v1(i), delta=helpers.TOLERANCE)
        for i, layer in zip(everything, got["layer"]):
            if i < TABLE_KEYS:
                self.assertEqual(layer, "table")
        # Metrics by layer.
        self.assertGreater(self.metric("table"), 0)
        self.assertGreater(self.metric("cache"), 0)
        self.assertGreater(self.metric("model"), 0)

    def test_1b_without_a_table_it_is_a_cache_in_front_of_the_model(self):
        ids = [1, 2, 1000]
        for layer in ("model", "cache"):
            status, body, _ = self.server.infer("cached", request(ids, self.rows))
            self.assertEqual(status, 200, body)
            self.check(body, ids, [self.expected_v1(i) for i in ids], [layer] * 3)
            self.assertNotIn("table", body["parameters"])

    def test_1c_grpc_reaches_the_same_plan(self):
        import protocol_clients  # grpc stubs generated by CMake
        client = protocol_clients.GrpcClient(self.server.grpc_port)
        try:
            ids = [4, 4000, 4000]
            features = [self.rows[i % len(self.rows)] for i in ids]
            response = client.infer("scores", [("id", "INT64", ids), ("features", "FP32", features)])
            got = protocol_clients.GrpcClient.outputs(response)
            self.assertEqual(got["layer"], [b"table", b"model", b"model"])
            for p, i in zip(got["probability"], ids):
                self.assertAlmostEqual(float(p), self.expected_v1(i), delta=helpers.TOLERANCE)
            self.assertEqual(response.parameters["layer_model"].int64_param, 2)
            response = client.infer("scores", [("id", "INT64", ids[1:]),
                                               ("features", "FP32", features[1:])])
            self.assertEqual(protocol_clients.GrpcClient.outputs(response)["layer"],
                             [b"cache", b"cache"])
        finally:
            client.close()

    def test_2_bad_requests(self):
        status, body, _ = self.server.infer("scores", {"inputs": request([1], self.rows)["inputs"][1:]})
        self.assertEqual(status, 400, body)
        self.assertIn("id", body["error"])
        bad = request([300, 301], self.rows)
        bad["inputs"][1]["shape"] = [1, 30]
        bad["inputs"][1]["data"] = bad["inputs"][1]["data"][:30]
        status, body, _ = self.server.infer("scores", bad)
        self.assertEqual(status, 400, body)

    def test_3_metadata(self):
        status, body, _ = self.server.request("GET", "/v2/models/scores")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["plan"], "hybrid")
        names = [i["name"] for i in body["inputs"]]
        self.assertEqual(names, ["id", "features"])
        self.assertIn("layer", [o["name"] for o in body["outputs"]])

    def test_3b_key_log_is_what_strata_advise_reads(self):
        ids = [11] * 20 + [12, 290]  # 11 becomes the heaviest key
        self.hybrid(ids)
        with open(self.key_log) as f:
            everything = [json.loads(line) for line in f]
        records = [r for r in everything if r["endpoint"] == "scores"]
        self.assertTrue(all(r["endpoint"] in ("scores", "cached") for r in everything))
        self.assertTrue(all(set(r["key"]) == {"id"} for r in records))  # never the features
        logged = [r["key"]["id"] for r in records]
        self.assertEqual(logged[-len(ids):], ids)
        done = subprocess.run([helpers.STRATA_BIN, "advise", "--key-log", self.key_log, "--endpoint", "scores",
                               "--json", "--model-us-per-row", "200", "--model-p99-us", "600"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        report = json.loads(done.stdout)
        self.assertEqual(report["requests"], len(records))
        self.assertEqual(report["top_keys"][0]["key"], {"id": 11})

    def test_4_version_swap_never_serves_the_old_versions_answers(self):
        ids = [5, 120, 121, 122, 50]
        v1 = [self.expected_v1(i) for i in ids]
        self.hybrid(ids)  # 120..122 are now cached under version 1
        body = self.hybrid(ids)
        self.assertEqual(outputs(body)["layer"], ["table", "cache", "cache", "cache", "table"])
        # Version 2: the same trees with another base score, so every answer differs.
        with open(os.path.join(self.model_dir, "1", "model.json")) as f:
            model = json.load(f)
        model["learner"]["learner_model_param"]["base_score"] = "2E-1"
        staging = os.path.join(self.model_dir, ".staging-2")
        os.makedirs(staging)
        with open(os.path.join(staging, "model.json"), "w") as f:
            json.dump(model, f)
        os.rename(staging, os.path.join(self.model_dir, "2"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, meta, _ = self.server.request("GET", f"/v2/models/{helpers.MODEL}")
            if status == 200 and "2" in meta.get("versions", []):
                status, body, _ = self.server.infer(
                    helpers.MODEL, {"inputs": request([0], self.rows)["inputs"][1:]})
                if status == 200 and body["model_version"] == "2":
                    break
            time.sleep(0.1)
        else:
            self.fail("version 2 did not take traffic")
        v2 = self.model_answers(ids, version="2")
        for a, b in zip(v1, v2):
            self.assertGreater(abs(a - b), 1e-3, "version 2 must answer differently")
        # Neither the cache (version 1's entries) nor the table (made by
        # version 1) answers now: every row is version 2's own answer.
        body = self.hybrid(ids)
        self.assertEqual(body["model_version"], "2")
        self.check(body, ids, v2, ["model"] * len(ids))
        self.assertNotIn("table", body["parameters"])
        body = self.hybrid(ids)
        self.check(body, ids, v2, ["cache"] * len(ids))

    def test_5_loop_key_log_advise_export_batch_serves_the_head_from_the_table(self):
        # Traffic: key 260 and 270 are hot (not in the table), ask for them.
        for _ in range(30):
            self.hybrid([260, 270])
        hot = os.path.join(self.dir, "hot.jsonl")
        done = subprocess.run([helpers.STRATA_BIN, "advise", "--key-log", self.key_log, "--endpoint", "scores",
                               "--json", "--model-us-per-row", "200", "--model-p99-us", "600",
                               "--export-hot-keys", "2", "--export-to", hot],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(hot) as f:
            keys = [json.loads(line)["id"] for line in f]
        self.assertEqual(sorted(keys), [260, 270])
        # Join the hot keys with their features and precompute them with the
        # model version now serving (2 after test_4).
        batch_input = os.path.join(self.dir, "hot_features.jsonl")
        with open(batch_input, "w") as f:
            for i in keys:
                f.write(json.dumps({"id": i, "features": self.rows[i % len(self.rows)]}) + "\n")
        code, _, err = helpers.run_strata(
            "batch", "-r", self.repository, "-m", helpers.MODEL, "--progress", "off",
            "-i", batch_input, "-k", "id:INT64", "-t", "head", "--job-id", "hot",
            "--max-psi", "0")
        self.assertEqual(code, 0, err)
        expected = self.model_answers([260, 270])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            body = self.hybrid([260, 270, 5])
            if outputs(body)["layer"][:2] == ["table", "table"]:
                break
            time.sleep(0.1)
        self.assertEqual(outputs(body)["layer"][:2], ["table", "table"], body)
        self.assertEqual(body["parameters"]["table_version"], 2)
        self.check(body, [260, 270, 5], expected + self.model_answers([5]),
                   ["table", "table", outputs(body)["layer"][2]])


class DynamicCacheTest(unittest.TestCase):
    """`plan: dynamic` under the model's own name: the prediction cache in
    front of the model, keyed by each row's input bytes; callers send the
    model's own requests and get the model's answers."""

    def test_the_models_callers_get_a_cache(self):
        rows, expected = helpers.samples()
        with tempfile.TemporaryDirectory(prefix="strata-e2e-dynamic-") as d:
            endpoints = os.path.join(d, "strata.yaml")
            with open(endpoints, "w") as f:
                f.write("endpoints:\n"
                        f"  {helpers.MODEL}: {{plan: dynamic, model: {helpers.MODEL}, "
                        "cache: {max_bytes: 1MiB}}\n")
            repository = helpers.make_repository()
            try:
                with StrataServer(repository, ["--endpoints", endpoints, *POLL]) as server:
                    body = {"inputs": [{"name": "features", "datatype": "FP32",
                                        "shape": [len(rows), 30],
                                        "data": [x for r in rows for x in r]}]}
                    for want_layer in ("model", "cache"):
                        status, got, _ = server.infer(helpers.MODEL, body)
                        self.assertEqual(status, 200, got)
                        out = outputs(got)
                        self.assertEqual(set(out["layer"]), {want_layer})
                        for p, e in zip(out["probability"], expected):
                            self.assertAlmostEqual(p, e, delta=helpers.TOLERANCE)
                    # Half the rows again, in another order, with two new ones
                    # (rows with a feature changed): hits and misses mixed.
                    changed = [r[:] for r in rows[:2]]
                    for r in changed:
                        r[0] += 1.0
                    mixed = rows[16:] + changed
                    status, got, _ = server.infer(helpers.MODEL, {"inputs": [
                        {"name": "features", "datatype": "FP32", "shape": [len(mixed), 30],
                         "data": [x for r in mixed for x in r]}]})
                    self.assertEqual(status, 200, got)
                    self.assertEqual(outputs(got)["layer"], ["cache"] * 16 + ["model"] * 2)
                    status, direct, _ = server.infer(helpers.MODEL, {"inputs": [
                        {"name": "features", "datatype": "FP32", "shape": [2, 30],
                         "data": [x for r in changed for x in r]}]})
                    self.assertEqual(outputs(direct)["layer"], ["cache", "cache"])
                    self.assertEqual(outputs(direct)["probability"],
                                     outputs(got)["probability"][16:])
                    # Metadata says what answers; the sketch counts rows by content.
                    status, meta, _ = server.request("GET", f"/v2/models/{helpers.MODEL}")
                    self.assertEqual(meta["plan"], "dynamic")
                    self.assertEqual(meta["properties"]["cache_key"], "row inputs")
                    status, live, _ = server.request("GET", f"/v2/advisor/{helpers.MODEL}")
                    self.assertEqual(status, 200, live)
                    self.assertTrue(live["hashed_keys"])
                    self.assertEqual(live["requests"], 2 * len(rows) + len(mixed) + 2)
                    self.assertEqual(live["distinct_keys"], len(rows) + 2)
            finally:
                shutil.rmtree(repository)


if __name__ == "__main__":
    unittest.main()
