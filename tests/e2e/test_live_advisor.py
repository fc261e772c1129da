"""End-to-end tests of the live workload sketches (`strata serve`, on by default):
a hybrid endpoint over the breast_cancer_xgb example receives a Zipf-like
workload whose exact counts the test keeps; GET /v2/advisor/{endpoint} must
report the requests, distinct keys, entropy, heaviest keys and coverage of
that workload, with the cost figures the server measured; /metrics carries the
strata_workload_* families; `strata advise --server` reads the binary snapshot
and recommends a plan; bad calls get clear errors; --no-workload-sketches turns
it all off."""
import collections
import json
import math
import os
import random
import shutil
import subprocess
import tempfile
import unittest

from harness import xgb_example
from harness.repositories import EXAMPLES
from harness.strata_server import BINARY_DIR, STRATA_BIN, StrataServer, run_strata

import sys  # noqa: E402  (the gRPC stubs are generated into the build tree)
sys.path.insert(0, os.environ.get("STRATA_PYTHON_PROTO", os.path.join(BINARY_DIR, "python_proto")))
import grpc  # noqa: E402
import inference_pb2  # noqa: E402
import inference_pb2_grpc  # noqa: E402

KEYS = 2000        # ids 0..1999, each with its own features (xgb_example.feature_rows)
TABLE_KEYS = 50    # the table holds ids 0..49
ROWS_PER_REQUEST = 50
REQUESTS = 300
# Cost figures given to `strata advise`, so that the recommendation depends
# only on the workload (the measured ones vary with the machine).
PINNED = ["--model-us-per-row", "200", "--model-p50-us", "200", "--model-p99-us", "600",
          "--lookup-us", "5", "--bytes-per-entry", "64", "--overhead-us", "30",
          "--rate", "1000", "--memory-budget", "1GiB"]


def request(ids):
    features = [x for row in xgb_example.feature_rows(ids) for x in row]
    return {"inputs": [
        {"name": "id", "datatype": "INT64", "shape": [len(ids)], "data": ids},
        {"name": "features", "datatype": "FP32", "shape": [len(ids), 30], "data": features}]}


def zipf_ids(count, seed):
    """Ids drawn with P(rank r) ~ 1 / r (Zipf 1.0) over KEYS ids, rank 1 = id 0."""
    rng = random.Random(seed)
    weights = [1.0 / (r + 1) for r in range(KEYS)]
    return rng.choices(range(KEYS), weights=weights, k=count)


def entropy_bits(counts):
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def write_endpoints(path, model):
    with open(path, "w") as f:
        f.write("endpoints:\n"
                "  scores:\n"
                "    plan: hybrid\n"
                "    table: head\n"
                "    key: [id]\n"
                f"    model: {model}\n"
                "    cache: {max_bytes: 0}\n")


class LiveAdvisorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-live-advisor-")
        cls.repository = os.path.join(cls.dir, "repo")
        model_dir = os.path.join(cls.repository, "models", xgb_example.MODEL)
        os.makedirs(os.path.join(model_dir, "1"))
        source = os.path.join(EXAMPLES, xgb_example.MODEL)
        shutil.copy(os.path.join(source, "config.yaml"), model_dir)
        shutil.copy(os.path.join(source, "1", "model.json"), os.path.join(model_dir, "1"))
        cls.rows, _ = xgb_example.samples()
        csv = os.path.join(cls.dir, "head.csv")
        xgb_example.write_csv(csv, TABLE_KEYS)
        code, _, err = run_strata(
            "batch", "-r", cls.repository, "-m", xgb_example.MODEL, "--progress", "off",
            *xgb_example.MAP, "-i", csv, "-k", "id:INT64", "-t", "head", "--job-id", "1")
        assert code == 0, err
        cls.endpoints = os.path.join(cls.dir, "strata.yaml")
        write_endpoints(cls.endpoints, xgb_example.MODEL)
        cls.server = StrataServer(cls.repository, ["--endpoints", cls.endpoints, "--key-log-raw-keys"]).__enter__()
        # The workload, with its exact counts.
        ids = zipf_ids(ROWS_PER_REQUEST * REQUESTS, seed=11)
        cls.counts = collections.Counter(ids)
        conn = cls.server.connection()
        for start in range(0, len(ids), ROWS_PER_REQUEST):
            status, body, _ = cls.server.infer(
                "scores", request(ids[start:start + ROWS_PER_REQUEST]), conn=conn)
            assert status == 200, body
        conn.close()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.dir)

    def get(self, path):
        return self.server.request("GET", path)

    def test_endpoint_reports_the_workload_it_saw(self):
        status, body, _ = self.get("/v2/advisor/scores?top=10")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["endpoint"], "scores")
        self.assertEqual(body["requests"], sum(self.counts.values()))
        # Fewer distinct keys than the sample holds: counted exactly.
        self.assertTrue(body["distinct_exact"])
        self.assertEqual(body["distinct_keys"], len(self.counts))
        self.assertAlmostEqual(body["entropy_bits"], entropy_bits(self.counts), delta=0.1)
        self.assertAlmostEqual(body["peakedness"],
                               1 - entropy_bits(self.counts) / math.log2(len(self.counts)),
                               delta=0.02)
        # The heaviest keys, heaviest first, with their counts.
        top = body["top"]
        self.assertEqual(len(top), 10)
        exact_top = self.counts.most_common(12)
        for entry, (key, count) in zip(top[:5], exact_top[:5]):
            self.assertEqual(entry["key"], {"id": key})
            self.assertEqual(entry["count"] - entry["error"], count, entry)
        # Coverage of the top 10 and 100 keys against the exact shares.
        total = sum(self.counts.values())
        for point in body["coverage"]:
            k = int(point["keys"])
            exact = sum(c for _, c in self.counts.most_common(k)) / total
            self.assertAlmostEqual(point["share"], exact, delta=0.01, msg=f"K={k}")
            self.assertLessEqual(point["expected"], point["share"] + 1e-9)
        self.assertEqual(int(body["coverage"][-1]["keys"]), len(self.counts))
        self.assertGreater(body["sketch_bytes"], 0)
        self.assertLess(body["sketch_bytes"], 16 << 20)

    def test_figures_are_measured_by_the_server(self):
        _, body, _ = self.get("/v2/advisor/scores")
        figures = body["figures"]
        for name in ("model_us_per_row", "model_p50_us", "model_p99_us", "lookup_us",
                     "bytes_per_entry"):
            self.assertIn(name, figures)
            self.assertGreater(figures[name], 0, name)
        # The table is held in memory: its measured cost per entry.
        _, meta, _ = self.get("/v2/models/scores")
        self.assertEqual(meta["properties"]["table_rows"], str(TABLE_KEYS))
        self.assertAlmostEqual(figures["bytes_per_entry"],
                               int(meta["properties"]["in_memory_bytes"]) / TABLE_KEYS,
                               delta=1)
        self.assertLessEqual(figures["model_p50_us"], figures["model_p99_us"])

    def test_index_lists_the_sketched_endpoints(self):
        status, body, _ = self.get("/v2/advisor")
        self.assertEqual(status, 200, body)
        self.assertEqual([e["endpoint"] for e in body["endpoints"]], ["scores"])
        self.assertEqual(body["endpoints"][0]["requests"], sum(self.counts.values()))
        self.assertNotIn("top", body["endpoints"][0])

    def test_metrics_carry_the_workload_families(self):
        conn = self.server.connection()
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        values = {}
        for line in text.splitlines():
            if line.startswith("strata_workload_") and 'endpoint="scores"' in line:
                values[line.rsplit(" ", 1)[0]] = float(line.rsplit(" ", 1)[1])
        self.assertEqual(values['strata_workload_keys_total{endpoint="scores"}'],
                         sum(self.counts.values()))
        self.assertEqual(values['strata_workload_distinct_keys{endpoint="scores"}'],
                         len(self.counts))
        self.assertAlmostEqual(values['strata_workload_entropy{endpoint="scores"}'],
                               entropy_bits(self.counts), delta=0.1)
        total = sum(self.counts.values())
        top10 = sum(c for _, c in self.counts.most_common(10)) / total
        self.assertAlmostEqual(
            values['strata_workload_top_keys_share{endpoint="scores",top="10"}'], top10,
            delta=0.01)
        self.assertIn('strata_workload_peakedness{endpoint="scores"}', values)
        self.assertGreater(values['strata_workload_sketch_bytes{endpoint="scores"}'], 0)

    def test_advise_reads_the_live_sketch(self):
        url = f"http://127.0.0.1:{self.server.port}"
        result = subprocess.run(
            [STRATA_BIN, "advise", "--server", url, "--endpoint", "scores", "--json",
             "--memory-budget", "1GiB"],
            capture_output=True, text=True, timeout=120, cwd=self.dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual(report["endpoint"], "scores")
        self.assertIn("live sketches", report["source"])
        self.assertEqual(report["requests"], sum(self.counts.values()))
        self.assertEqual(report["distinct_keys"], len(self.counts))
        # The cost figures are the ones the server measured.
        _, live, _ = self.get("/v2/advisor/scores")
        self.assertAlmostEqual(report["figures"]["lookup_us"], live["figures"]["lookup_us"],
                               delta=0.05 * live["figures"]["lookup_us"])
        self.assertEqual(report["figures"]["bytes_per_entry"], live["figures"]["bytes_per_entry"])
        # Hot keys exported from the live sketch are a batch-job input.
        out = os.path.join(self.dir, "hot.jsonl")
        result = subprocess.run(
            [STRATA_BIN, "advise", "--server", url, "--endpoint", "scores",
             "--export-hot-keys", "5", "--export-to", out],
            capture_output=True, text=True, timeout=120, cwd=self.dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out) as f:
            exported = [json.loads(line) for line in f]
        self.assertEqual([e["id"] for e in exported],
                         [k for k, _ in self.counts.most_common(5)])

    def advise(self, url, *flags):
        result = subprocess.run(
            [STRATA_BIN, "advise", "--server", url, "--endpoint", "scores", "--json", *PINNED,
             *flags], capture_output=True, text=True, timeout=120, cwd=self.dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def test_the_recommendation_follows_the_workload(self):
        """With the cost figures pinned, the workload the live sketch saw
        decides the plan, and each answer here is the only right one:
        - the Zipf workload (a few % of requests are a key's first, so a table
          of the whole key space is not possible) with a model costing 200 µs a
          row: a table of the head answers ~97% of requests for ~35 µs, the
          model the rest: hybrid, at a fraction of dynamic's cost;
        - the same with its key space declared (2,000 ids): a table of every
          key answers every request: static;
        - a flat workload (every request a new key) on another server: no
          table of keys seen so far answers anything: dynamic."""
        url = f"http://127.0.0.1:{self.server.port}"
        report = self.advise(url)
        self.assertEqual(report["recommendation"], "hybrid", report["reason"])
        self.assertTrue(report["reason"].startswith("hybrid: the top"), report["reason"])
        self.assertGreater(report["unseen_share"], 0.01)  # why static is out

        report = self.advise(url, "--key-space", str(KEYS))
        self.assertEqual(report["recommendation"], "static", report["reason"])
        self.assertTrue(report["reason"].startswith("static: the whole key space (2,000 keys)"),
                        report["reason"])

        with StrataServer(self.repository, ["--endpoints", self.endpoints, "--key-log-raw-keys",
                                            "--grpc-port", "-1"]) as flat:
            conn = flat.connection()
            for start in range(100000, 100000 + 50 * ROWS_PER_REQUEST, ROWS_PER_REQUEST):
                status, body, _ = flat.infer(
                    "scores", request(list(range(start, start + ROWS_PER_REQUEST))), conn=conn)
                self.assertEqual(status, 200, body)
            conn.close()
            report = self.advise(f"http://127.0.0.1:{flat.port}")
        self.assertEqual(report["distinct_keys"], 50 * ROWS_PER_REQUEST)
        self.assertEqual(report["recommendation"], "dynamic", report["reason"])
        self.assertTrue(report["reason"].startswith("dynamic: a table does not pay"),
                        report["reason"])

    def test_bad_calls_get_clear_errors(self):
        status, body, _ = self.get("/v2/advisor/nope")
        self.assertEqual(status, 404)
        self.assertIn("no workload sketch for 'nope'", body["error"])
        status, body, _ = self.get("/v2/advisor/scores?top=lots")
        self.assertEqual(status, 400)
        self.assertIn("top=lots", body["error"])
        status, body, headers = self.server.request("POST", "/v2/advisor/scores", body="{}")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET")
        conn = self.server.connection()
        conn.request("GET", "/v2/advisor/scores/snapshot")
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Content-Type"), "application/octet-stream")
        self.assertIn(b"STRATA-SNAPSHOT-2", raw[:32])

    def test_endpoint_metadata_and_readiness_over_grpc(self):
        with grpc.insecure_channel(f"127.0.0.1:{self.server.grpc_port}") as channel:
            stub = inference_pb2_grpc.GRPCInferenceServiceStub(channel)
            meta = stub.ModelMetadata(inference_pb2.ModelMetadataRequest(name="scores"),
                                      timeout=10)
            self.assertEqual(meta.name, "scores")
            self.assertEqual(meta.platform, "strata_hybrid")
            self.assertEqual([t.name for t in meta.inputs], ["id", "features"])
            self.assertEqual(list(meta.inputs[1].shape), [-1, 30])
            self.assertIn("layer", [t.name for t in meta.outputs])
            self.assertEqual(meta.properties["plan"], "hybrid")
            self.assertEqual(meta.properties["model"], xgb_example.MODEL)
            self.assertEqual(meta.properties["state"], "READY")
            ready = stub.ModelReady(inference_pb2.ModelReadyRequest(name="scores"), timeout=10)
            self.assertTrue(ready.ready)
            with self.assertRaises(grpc.RpcError) as caught:
                stub.ModelMetadata(inference_pb2.ModelMetadataRequest(name="nope"), timeout=10)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_status_page_shows_models_endpoints_and_workload(self):
        conn = self.server.connection()
        conn.request("GET", "/")
        response = conn.getresponse()
        page = response.read().decode()
        conn.close()
        self.assertEqual(response.status, 200)
        self.assertTrue(response.getheader("Content-Type").startswith("text/html"))
        self.assertIn(f'<a href="/v2/models/{xgb_example.MODEL}">{xgb_example.MODEL}</a>', page)
        self.assertIn('<a href="/v2/models/scores">scores</a></td><td>hybrid</td>', page)
        # The workload row: requests and distinct keys as the sketch counted them.
        self.assertIn(f'<a href="/v2/advisor/scores">scores</a></td><td class=num>'
                      f'{sum(self.counts.values())}</td><td class=num>{len(self.counts)}</td>',
                      page)
        status, _, headers = self.server.request("POST", "/", body="{}")
        self.assertEqual(status, 405)

    def test_a_models_own_endpoint_is_sketched_by_row_content(self):
        rng = random.Random(3)
        # Rows are samples: sample r asked for with weight 1/(r+1).
        picks = rng.choices(range(len(self.rows)),
                            weights=[1 / (r + 1) for r in range(len(self.rows))], k=400)
        counts = collections.Counter(picks)
        with StrataServer(self.repository, ["--grpc-port", "-1"]) as s:
            status, body, _ = s.request("GET", f"/v2/advisor/{xgb_example.MODEL}")
            self.assertEqual(status, 404)  # not called yet
            self.assertIn("not been called yet", body["error"])
            # A keyed endpoint's sketch exists from the start, but there is nothing to
            # advise on yet.
            status, body, _ = s.request("GET", "/v2/advisor")
            self.assertEqual(body["endpoints"], [])
            conn = s.connection()
            for start in range(0, len(picks), 4):
                chunk = picks[start:start + 4]
                status, body, _ = s.infer(xgb_example.MODEL, {"inputs": [
                    {"name": "features", "datatype": "FP32", "shape": [len(chunk), 30],
                     "data": [x for r in chunk for x in self.rows[r]]}]}, conn=conn)
                self.assertEqual(status, 200, body)
            conn.close()
            status, body, _ = s.request("GET", f"/v2/advisor/{xgb_example.MODEL}?top=3")
            self.assertEqual(status, 200, body)
            self.assertTrue(body["hashed_keys"])
            self.assertEqual(body["requests"], len(picks))
            self.assertEqual(body["distinct_keys"], len(counts))
            self.assertAlmostEqual(body["entropy_bits"], entropy_bits(counts), delta=0.1)
            top = body["top"][0]
            self.assertRegex(top["key"], "^[0-9a-f]{16}$")
            self.assertEqual(top["count"], counts.most_common(1)[0][1])
            for name in ("model_us_per_row", "model_p50_us", "model_p99_us"):
                self.assertGreater(body["figures"][name], 0, name)
            self.assertNotIn("lookup_us", body["figures"])
            # strata advise reads it; its keys cannot be exported.
            url = f"http://127.0.0.1:{s.port}"
            result = subprocess.run(
                [STRATA_BIN, "advise", "--server", url, "--endpoint", xgb_example.MODEL, "--json"],
                capture_output=True, text=True, timeout=120, cwd=self.dir)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(json.loads(result.stdout)["distinct_keys"], len(counts))
            result = subprocess.run(
                [STRATA_BIN, "advise", "--server", url, "--endpoint", xgb_example.MODEL,
                 "--export-hot-keys", "3", "--export-to", os.path.join(self.dir, "no.jsonl")],
                capture_output=True, text=True, timeout=120, cwd=self.dir)
            self.assertEqual(result.returncode, 1)
            self.assertIn("fingerprints of the rows' inputs", result.stderr)

    def test_advise_on_an_idle_endpoint_says_so(self):
        with StrataServer(self.repository, ["--endpoints", self.endpoints,
                                            "--grpc-port", "-1"]) as s:
            status, body, _ = s.request("GET", "/v2/advisor/scores")
            self.assertEqual(status, 200, body)
            self.assertEqual(body["requests"], 0)
            self.assertEqual(body["top"], [])
            result = subprocess.run(
                [STRATA_BIN, "advise", "--server", f"http://127.0.0.1:{s.port}",
                 "--endpoint", "scores"], capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 1)
            self.assertIn("has seen no requests for endpoint 'scores' yet", result.stderr)

    def test_sketches_can_be_turned_off(self):
        with StrataServer(self.repository, ["--endpoints", self.endpoints,
                                            "--no-workload-sketches", "--grpc-port", "-1"]) as s:
            status, body, _ = s.infer("scores", request([1, 2, 3]))
            self.assertEqual(status, 200, body)
            status, body, _ = s.request("GET", "/v2/advisor/scores")
            self.assertEqual(status, 404)
            self.assertIn("--no-workload-sketches", body["error"])
            _, body, _ = s.request("GET", "/v2/advisor")
            self.assertEqual(body["endpoints"], [])


if __name__ == "__main__":
    unittest.main()
