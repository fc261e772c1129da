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
import collections
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import xgb_example
from harness.repositories import EXAMPLES, TOLERANCE
from harness.metrics import metric, parse_metrics
from harness.strata_server import STRATA_BIN, StrataServer, run_strata

POLL = ["--poll-interval-ms", "100"]
KEYS = 300          # ids 0..299, each with its own features (xgb_example.feature_rows)
TABLE_KEYS = 100    # the table holds ids 0..99


def request(ids):
    features = [x for row in xgb_example.feature_rows(ids) for x in row]
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
        cls.model_dir = os.path.join(cls.repository, "models", xgb_example.MODEL)
        os.makedirs(os.path.join(cls.model_dir, "1"))
        source = os.path.join(EXAMPLES, xgb_example.MODEL)
        shutil.copy(os.path.join(source, "config.yaml"), cls.model_dir)
        shutil.copy(os.path.join(source, "1", "model.json"), os.path.join(cls.model_dir, "1"))
        csv = os.path.join(cls.dir, "head.csv")
        xgb_example.write_csv(csv, TABLE_KEYS)
        code, _, err = run_strata(
            "batch", "-r", cls.repository, "-m", xgb_example.MODEL, "--progress", "off",
            *xgb_example.MAP, "-i", csv, "-k", "id:INT64", "-t", "head", "--job-id", "1")
        assert code == 0, err
        endpoints = os.path.join(cls.dir, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write("endpoints:\n"
                    "  scores:\n"
                    "    plan: hybrid\n"
                    "    table: head\n"
                    "    key: [id]\n"
                    f"    model: {xgb_example.MODEL}\n"
                    "    cache: {max_bytes: 1MiB, ttl_s: 0}\n"
                    "  cached:\n"  # no table version: a cache in front of the model
                    f"    {{plan: hybrid, table: nothing_yet, key: [id], model: {xgb_example.MODEL}}}\n")
        cls.endpoints = endpoints
        cls.key_log = os.path.join(cls.dir, "keys.jsonl")
        cls.server = StrataServer(cls.repository, ["--endpoints", endpoints, *POLL,
                                                   "--key-log", cls.key_log, "--key-log-raw-keys"]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.dir)

    def expected(self, ids, version=1):
        """XGBoost's own answers for the ids' features, from the version's model file."""
        return xgb_example.predict(xgb_example.feature_rows(ids),
                               os.path.join(self.model_dir, str(version), "model.json"))

    def hybrid(self, ids):
        status, body, _ = self.server.infer("scores", request(ids))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["model_name"], "scores")
        return body

    def check(self, body, ids, expected, layers):
        got = outputs(body)
        self.assertEqual(len(got["probability"]), len(ids))
        for i, p, want in zip(ids, got["probability"], expected):
            self.assertAlmostEqual(p, want, delta=TOLERANCE, msg=f"id {i}")
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
        self.check(body, ids, self.expected(ids), layers)
        self.assertEqual(body["parameters"]["layer"], "mixed")
        self.assertEqual(body["parameters"]["table"], "head")
        self.assertEqual(body["model_version"], "1")
        # The same keys again: the model's rows now come from the cache; a new
        # key not in the table still goes to the model.
        ids2 = ids + [260]
        layers2 = ["table" if i < TABLE_KEYS else "cache" for i in ids] + ["model"]
        self.check(self.hybrid(ids2), ids2, self.expected(ids2), layers2)
        # All from the table; all from the cache.
        body = self.hybrid([1, 2, 3])
        self.check(body, [1, 2, 3], self.expected([1, 2, 3]), ["table"] * 3)
        self.assertEqual(body["parameters"]["layer"], "table")
        body = self.hybrid([150, 250])
        self.check(body, [150, 250], self.expected([150, 250]), ["cache"] * 2)
        self.assertEqual(body["parameters"]["layer"], "cache")
        # Every key, in a shuffled order, equals XGBoost's own answers.
        everything = [(i * 37) % KEYS for i in range(KEYS)]
        got = outputs(self.hybrid(everything))
        for i, p, want in zip(everything, got["probability"], self.expected(everything)):
            self.assertAlmostEqual(p, want, delta=TOLERANCE, msg=f"id {i}")
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
            status, body, _ = self.server.infer("cached", request(ids))
            self.assertEqual(status, 200, body)
            self.check(body, ids, self.expected(ids), [layer] * 3)
            self.assertNotIn("table", body["parameters"])

    def test_1c_grpc_reaches_the_same_plan(self):
        from harness import protocol_clients  # grpc stubs generated by CMake
        client = protocol_clients.GrpcClient(self.server.grpc_port)
        try:
            ids = [4, 4000, 4000]
            features = xgb_example.feature_rows(ids)
            response = client.infer("scores", [("id", "INT64", ids), ("features", "FP32", features)])
            got = protocol_clients.GrpcClient.outputs(response)
            self.assertEqual(got["layer"], [b"table", b"model", b"model"])
            for p, i, want in zip(got["probability"], ids, self.expected(ids)):
                self.assertAlmostEqual(float(p), want, delta=TOLERANCE, msg=f"id {i}")
            self.assertEqual(response.parameters["layer_model"].int64_param, 2)
            response = client.infer("scores", [("id", "INT64", ids[1:]),
                                               ("features", "FP32", features[1:])])
            self.assertEqual(protocol_clients.GrpcClient.outputs(response)["layer"],
                             [b"cache", b"cache"])
        finally:
            client.close()

    def test_2_bad_requests(self):
        status, body, _ = self.server.infer("scores", {"inputs": request([1])["inputs"][1:]})
        self.assertEqual(status, 400, body)
        self.assertIn("id", body["error"])
        bad = request([300, 301])
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
        done = subprocess.run([STRATA_BIN, "advise", "--key-log", self.key_log, "--endpoint", "scores",
                               "--json", "--model-us-per-row", "200", "--model-p99-us", "600"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        report = json.loads(done.stdout)
        self.assertEqual(report["requests"], len(records))
        self.assertEqual(report["top_keys"][0]["key"], {"id": 11})

    def test_3c_layer_duration_metric_times_each_layer(self):
        """strata_endpoint_layer_duration_seconds{endpoint,layer}: one
        observation per request for each layer that answered rows of it, and
        the model layer's time covers the model's own request time."""
        def scrape():
            conn = self.server.connection()
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
            conn.close()
            return parse_metrics(text)

        family = "strata_endpoint_layer_duration_seconds"
        before = scrape()
        self.hybrid([1, 2, 3])           # table only
        self.hybrid([4, 6000, 6001])     # table and model (new keys)
        self.hybrid([6000, 6001])        # cache only
        self.hybrid([5, 6000, 6002])     # all three
        after = scrape()

        def delta(name, **labels):
            return metric(after, name, **labels) - metric(before, name, **labels)

        for layer, requests in (("table", 3), ("cache", 2), ("model", 2)):
            labels = dict(endpoint="scores", layer=layer)
            self.assertEqual(delta(family + "_count", **labels), requests, layer)
            self.assertEqual(delta(family + "_bucket", le="+Inf", **labels), requests, layer)
            self.assertGreater(delta(family + "_sum", **labels), 0, layer)
        self.assertEqual(delta("strata_endpoint_rows_total", endpoint="scores", layer="model"), 3)
        # The model layer's time includes the model requests it made (queue and compute).
        model_requests = delta("strata_inference_request_duration_seconds_sum",
                               model=xgb_example.MODEL)
        self.assertGreater(model_requests, 0)
        self.assertGreaterEqual(delta(family + "_sum", endpoint="scores", layer="model"),
                                model_requests)

    def test_4_version_swap_never_serves_the_old_versions_answers(self):
        ids = [5, 120, 121, 122, 50]
        v1 = self.expected(ids)
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
            status, meta, _ = self.server.request("GET", f"/v2/models/{xgb_example.MODEL}")
            if status == 200 and "2" in meta.get("versions", []):
                status, body, _ = self.server.infer(
                    xgb_example.MODEL, {"inputs": request([0])["inputs"][1:]})
                if status == 200 and body["model_version"] == "2":
                    break
            time.sleep(0.1)
        else:
            self.fail("version 2 did not take traffic")
        v2 = self.expected(ids, version=2)
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
        done = subprocess.run([STRATA_BIN, "advise", "--key-log", self.key_log, "--endpoint", "scores",
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
                f.write(json.dumps({"id": i, "features": xgb_example.features(i)}) + "\n")
        code, _, err = run_strata(
            "batch", "-r", self.repository, "-m", xgb_example.MODEL, "--progress", "off",
            "-i", batch_input, "-k", "id:INT64", "-t", "head", "--job-id", "hot",
            "--max-psi", "0")
        self.assertEqual(code, 0, err)
        expected = self.expected([260, 270], version=2)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            body = self.hybrid([260, 270, 5])
            if outputs(body)["layer"][:2] == ["table", "table"]:
                break
            time.sleep(0.1)
        self.assertEqual(outputs(body)["layer"][:2], ["table", "table"], body)
        self.assertEqual(body["parameters"]["table_version"], 2)
        self.check(body, [260, 270, 5], expected + self.expected([5], version=2),
                   ["table", "table", outputs(body)["layer"][2]])


    def run_other_server(self, flags, requests):
        """Runs a second server on the repository with `flags`, sends
        `requests` (lists of ids) to the hybrid endpoint, returns its key log."""
        key_log = os.path.join(self.dir, "other-keys.jsonl")
        if os.path.exists(key_log):
            os.unlink(key_log)
        with StrataServer(self.repository, ["--endpoints", self.endpoints, "--grpc-port", "-1",
                                            "--key-log", key_log, "--key-log-raw-keys", *flags]) as server:
            conn = server.connection()
            for ids in requests:
                status, body, _ = server.infer("scores", request(ids), conn=conn)
                self.assertEqual(status, 200, body)
            conn.close()
        with open(key_log) as f:
            return key_log, [json.loads(line) for line in f]

    def test_6_key_log_sample_logs_a_random_share_of_rows(self):
        sample, per_request, count = 0.25, 100, 40
        requests = [list(range(r * per_request, (r + 1) * per_request)) for r in range(count)]
        key_log, lines = self.run_other_server(["--key-log-sample", str(sample)], requests)
        total = per_request * count
        # Binomial(4000, 0.25): 1000 rows, standard deviation 27; six of them either way.
        self.assertLess(abs(len(lines) - sample * total), 6 * (total * sample * (1 - sample)) ** 0.5,
                        len(lines))
        self.assertTrue(all(r["sample"] == sample and r["endpoint"] == "scores" for r in lines))
        logged = [r["key"]["id"] for r in lines]
        self.assertEqual(len(set(logged)), len(logged), "a row logged twice")
        self.assertLessEqual(set(logged), set(range(total)))
        # Rows are sampled one by one, not whole requests: every request has
        # some of its rows logged, none all of them (Binomial(100, 0.25) each).
        per = collections.Counter(i // per_request for i in logged)
        self.assertEqual(len(per), count, per)
        self.assertTrue(all(5 <= n <= 50 for n in per.values()), per)
        # strata advise scales the rate by the sample: the logged rows' rate / 0.25.
        done = subprocess.run([STRATA_BIN, "advise", "--key-log", key_log, "--json",
                               "--model-us-per-row", "200"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        report = json.loads(done.stdout)
        self.assertEqual(report["sample"], sample)
        self.assertEqual(report["requests"], len(lines))
        seconds = max(r["ts"] for r in lines) - min(r["ts"] for r in lines)
        self.assertGreater(seconds, 0)
        self.assertAlmostEqual(report["requests_per_second"], len(lines) / seconds / sample,
                               delta=0.01 * len(lines) / seconds / sample)

    def test_7_key_log_hash_writes_xxh64_of_the_key_text(self):
        self.assertEqual(xxh64(b""), 0xEF46DB3751D8E999)  # the algorithm's own test vector
        ids = [7, 7, 250, 12345678901, 7]
        key_log, lines = self.run_other_server(["--key-log-hash"], [ids, [250]])
        with open(key_log) as f:
            text = f.read()
        self.assertNotIn('"key":', text)
        self.assertNotIn('"id"', text)  # never the key's values
        self.assertNotIn("12345678901", text)
        self.assertTrue(all("sample" not in r for r in lines))
        self.assertEqual([r["key_hash"] for r in lines],
                         ["%016x" % xxh64(json.dumps({"id": i}, separators=(",", ":")).encode())
                          for i in ids + [250]])
        done = subprocess.run([STRATA_BIN, "advise", "--key-log", key_log, "--json",
                               "--model-us-per-row", "200"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        report = json.loads(done.stdout)
        self.assertEqual((report["requests"], report["distinct_keys"]), (6, 3))
        self.assertEqual(report["top_keys"][0]["key"], "%016x" % xxh64(b'{"id":7}'))


_M64 = (1 << 64) - 1
_P1, _P2, _P3, _P4, _P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                           0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M64


def _round(acc, lane):
    return (_rotl((acc + lane * _P2) & _M64, 31) * _P1) & _M64


def xxh64(data, seed=0):
    """XXH64 of `data` (what --key-log-hash writes, core/fingerprint.h)."""
    n, i = len(data), 0
    lane = lambda at, size: int.from_bytes(data[at:at + size], "little")  # noqa: E731
    if n >= 32:
        v = [(seed + _P1 + _P2) & _M64, (seed + _P2) & _M64, seed, (seed - _P1) & _M64]
        while i + 32 <= n:
            v = [_round(v[k], lane(i + 8 * k, 8)) for k in range(4)]
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M64
        for x in v:
            h = ((h ^ _round(0, x)) * _P1 + _P4) & _M64
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        h = (_rotl(h ^ _round(0, lane(i, 8)), 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        h = (_rotl(h ^ ((lane(i, 4) * _P1) & _M64), 23) * _P2 + _P3) & _M64
        i += 4
    while i < n:
        h = (_rotl(h ^ ((data[i] * _P5) & _M64), 11) * _P1) & _M64
        i += 1
    h = ((h ^ (h >> 33)) * _P2) & _M64
    h = ((h ^ (h >> 29)) * _P3) & _M64
    return h ^ (h >> 32)


class DynamicCacheTest(unittest.TestCase):
    """`plan: dynamic` under the model's own name: the prediction cache in
    front of the model, keyed by each row's input bytes; callers send the
    model's own requests and get the model's answers."""

    def test_the_models_callers_get_a_cache(self):
        rows, expected = xgb_example.samples()
        with tempfile.TemporaryDirectory(prefix="strata-e2e-dynamic-") as d:
            endpoints = os.path.join(d, "strata.yaml")
            with open(endpoints, "w") as f:
                f.write("endpoints:\n"
                        f"  {xgb_example.MODEL}: {{plan: dynamic, model: {xgb_example.MODEL}, "
                        "cache: {max_bytes: 1MiB}}\n")
            repository = xgb_example.make_repository()
            try:
                with StrataServer(repository, ["--endpoints", endpoints, *POLL]) as server:
                    body = {"inputs": [{"name": "features", "datatype": "FP32",
                                        "shape": [len(rows), 30],
                                        "data": [x for r in rows for x in r]}]}
                    for want_layer in ("model", "cache"):
                        status, got, _ = server.infer(xgb_example.MODEL, body)
                        self.assertEqual(status, 200, got)
                        out = outputs(got)
                        self.assertEqual(set(out["layer"]), {want_layer})
                        for p, e in zip(out["probability"], expected):
                            self.assertAlmostEqual(p, e, delta=TOLERANCE)
                    # Half the rows again, in another order, with two new ones
                    # (rows with a feature changed): hits and misses mixed.
                    changed = [r[:] for r in rows[:2]]
                    for r in changed:
                        r[0] += 1.0
                    mixed = rows[16:] + changed
                    status, got, _ = server.infer(xgb_example.MODEL, {"inputs": [
                        {"name": "features", "datatype": "FP32", "shape": [len(mixed), 30],
                         "data": [x for r in mixed for x in r]}]})
                    self.assertEqual(status, 200, got)
                    self.assertEqual(outputs(got)["layer"], ["cache"] * 16 + ["model"] * 2)
                    status, direct, _ = server.infer(xgb_example.MODEL, {"inputs": [
                        {"name": "features", "datatype": "FP32", "shape": [2, 30],
                         "data": [x for r in changed for x in r]}]})
                    self.assertEqual(outputs(direct)["layer"], ["cache", "cache"])
                    self.assertEqual(outputs(direct)["probability"],
                                     outputs(got)["probability"][16:])
                    # Metadata says what answers; the sketch counts rows by content.
                    status, meta, _ = server.request("GET", f"/v2/models/{xgb_example.MODEL}")
                    self.assertEqual(meta["plan"], "dynamic")
                    self.assertEqual(meta["properties"]["cache_key"], "row inputs")
                    status, live, _ = server.request("GET", f"/v2/advisor/{xgb_example.MODEL}")
                    self.assertEqual(status, 200, live)
                    self.assertTrue(live["hashed_keys"])
                    self.assertEqual(live["requests"], 2 * len(rows) + len(mixed) + 2)
                    self.assertEqual(live["distinct_keys"], len(rows) + 2)
            finally:
                shutil.rmtree(repository)


if __name__ == "__main__":
    unittest.main()
