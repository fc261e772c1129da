"""End-to-end tests of `strata serve` over REST: every endpoint, every bad
input of the foundation issue, and predictions checked against the training
frameworks' own outputs (samples.json, written by the training scripts).

The server runs on a repository that joins the trained examples with the
fixture models (tests/fixtures/make_fixtures.py)."""
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness.repositories import EXAMPLES, FIXTURES, TOLERANCE, load_samples
from harness.strata_server import StrataServer

def make_repository():
    root = tempfile.mkdtemp(prefix="strata-e2e-repo-")
    os.mkdir(os.path.join(root, "models"))
    for parent in (EXAMPLES, FIXTURES):
        for name in os.listdir(parent):
            os.symlink(os.path.join(parent, name),
                       os.path.join(root, "models", name))
    return root


def first_row(request):
    """The first row of a batched request."""
    row = json.loads(json.dumps(request))
    for tensor in row["inputs"]:
        width = len(tensor["data"]) // tensor["shape"][0]
        tensor["data"] = tensor["data"][:width]
        tensor["shape"] = [1] + tensor["shape"][1:]
    return row


def good_request():
    return first_row(load_samples("breast_cancer_xgb")["request"])


class RestApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repository = make_repository()
        cls.server = StrataServer(cls.repository).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.repository)

    def assertClose(self, actual, expected, what):
        self.assertEqual(len(actual), len(expected), what)
        for i, (a, e) in enumerate(zip(actual, expected)):
            self.assertLessEqual(abs(a - e), TOLERANCE,
                                 f"{what}[{i}]: strata {a} vs framework {e}")

    def assertError(self, status, body, expected_status, fragment):
        self.assertEqual(status, expected_status, body)
        self.assertIsInstance(body, dict)
        self.assertIn("error", body)
        self.assertIn(fragment, body["error"])

    def assertStillServing(self):
        status, body, _ = self.server.infer("breast_cancer_xgb", good_request())
        self.assertEqual(status, 200, body)

    # --- health and metadata -------------------------------------------

    def test_health(self):
        status, body, headers = self.server.request("GET", "/v2/health/live")
        self.assertEqual((status, body), (200, {"live": True}))
        self.assertEqual(headers["Content-Type"], "application/json")
        # Readiness is strict: this repository holds the deliberately broken
        # fixture models, so the server says it is not ready, and why
        # (tests/e2e/test_protocol_hardening.py checks the ready and
        # --lenient-readiness cases).
        status, body, _ = self.server.request("GET", "/v2/health/ready?test_1=1")
        self.assertEqual(status, 503, body)
        self.assertFalse(body["ready"])
        self.assertIn("is not ready", body["error"])

    def test_server_metadata(self):
        status, body, _ = self.server.request("GET", "/v2")
        self.assertEqual(status, 200)
        self.assertEqual(body["name"], "strata")
        self.assertIsInstance(body["version"], str)
        self.assertIsInstance(body["extensions"], list)

    def test_model_metadata(self):
        for path in ("/v2/models/digits_mlp", "/v2/models/digits_mlp/versions/1"):
            status, body, _ = self.server.request("GET", path)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["name"], "digits_mlp")
            self.assertEqual(body["versions"], ["1"])
            self.assertEqual(body["platform"], "pytorch_torchscript")
            self.assertEqual(body["inputs"],
                             [{"name": "pixels", "datatype": "FP32", "shape": [-1, 64]}])
            self.assertEqual([o["name"] for o in body["outputs"]],
                             ["logits", "probabilities"])
        status, body, _ = self.server.request("GET", "/v2/models/breast_cancer_xgb")
        self.assertEqual(body["platform"], "xgboost_json")

    def test_model_ready(self):
        status, body, _ = self.server.request("GET", "/v2/models/breast_cancer_xgb/ready")
        self.assertEqual((status, body), (200, {"name": "breast_cancer_xgb", "ready": True}))
        status, _, _ = self.server.request("GET", "/v2/models/breast_cancer_xgb/versions/1/ready")
        self.assertEqual(status, 200)

    def test_highest_version_is_served(self):
        status, body, _ = self.server.request("GET", "/v2/models/multi_version")
        self.assertEqual(body["versions"], ["10"])
        status, body, _ = self.server.infer(
            "multi_version", {"inputs": [{"name": "x", "datatype": "FP32",
                                          "shape": [1, 2], "data": [1, 2]}]})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["model_version"], "10")
        self.assertClose(body["outputs"][0]["data"], [11, 12], "multi_version y")

    # --- predictions equal the frameworks' own ---------------------------

    def check_samples(self, model, expected_key="expected"):
        samples = load_samples(model)
        status, body, _ = self.server.infer(model, samples["request"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["model_name"], model)
        self.assertEqual(body["model_version"], "1")
        expected = samples[expected_key]["outputs"]
        self.assertEqual([o["name"] for o in body["outputs"]],
                         [o["name"] for o in expected])
        for got, want in zip(body["outputs"], expected):
            self.assertEqual(got["datatype"], want["datatype"])
            self.assertEqual(got["shape"], want["shape"])
            self.assertClose(got["data"], want["data"], f"{model}/{want['name']}")

    def test_xgboost_predictions_match_xgboost(self):
        self.check_samples("breast_cancer_xgb")

    def test_mlp_predictions_match_torch(self):
        self.check_samples("digits_mlp")

    def test_single_row_nested_data_and_id(self):
        samples = load_samples("digits_mlp")
        row = first_row(samples["request"])
        row["inputs"][0]["data"] = [row["inputs"][0]["data"]]  # nested [[...]]
        row["id"] = "row-0"
        status, body, _ = self.server.infer("digits_mlp", row, version="1")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["id"], "row-0")
        expected = samples["expected"]["outputs"][0]
        self.assertEqual(body["outputs"][0]["shape"], [1, 10])
        self.assertClose(body["outputs"][0]["data"], expected["data"][:10], "row 0 logits")

    def test_output_selection(self):
        samples = load_samples("digits_mlp")
        request = dict(samples["request"], outputs=[{"name": "probabilities"}])
        status, body, _ = self.server.infer("digits_mlp", request)
        self.assertEqual(status, 200, body)
        self.assertEqual([o["name"] for o in body["outputs"]], ["probabilities"])
        self.assertClose(body["outputs"][0]["data"],
                         samples["expected"]["outputs"][1]["data"], "probabilities")

    def test_several_named_inputs_and_int64(self):
        a, b = [1, 2, 3, 4, 5, 6, 7, 8], [0.5] * 8
        # Inputs given in the other order: strata matches them by name.
        status, body, _ = self.server.infer("two_inputs", {"inputs": [
            {"name": "b", "datatype": "FP32", "shape": [2, 4], "data": b},
            {"name": "a", "datatype": "FP32", "shape": [2, 4], "data": a}]})
        self.assertEqual(status, 200, body)
        outputs = {o["name"]: o["data"] for o in body["outputs"]}
        self.assertClose(outputs["sum"], [x + y for x, y in zip(a, b)], "sum")
        self.assertClose(outputs["product"], [x * y for x, y in zip(a, b)], "product")
        status, body, _ = self.server.infer("int_echo", {"inputs": [
            {"name": "x", "datatype": "INT64", "shape": [1, 3], "data": [1, -2, 2**40]}]})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["outputs"][0]["datatype"], "INT64")
        self.assertEqual(body["outputs"][0]["data"], [2, -4, 2**41])

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        conn = self.server.connection()
        for _ in range(20):
            status, body, _ = self.server.infer("breast_cancer_xgb", good_request(), conn=conn)
            self.assertEqual(status, 200, body)
        conn.close()

    def test_concurrent_clients_get_their_own_answers(self):
        from harness.load_clients import LoadClients  # records every client's exception

        samples = load_samples("digits_mlp")
        request = samples["request"]
        width = 64

        def client(offset, _stop):
            conn = self.server.connection()
            try:
                for i in range(offset, 32, 4):
                    row = {"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, width],
                                       "data": request["inputs"][0]["data"][i * width:(i + 1) * width]}]}
                    status, body, _ = self.server.infer("digits_mlp", row, conn=conn)
                    yield i, status, body
            finally:
                conn.close()

        load = LoadClients(4, client).start()
        load.wait()
        # A client whose connection is reset raises: that fails the test too.
        load.check(self, min_records_per_client=8)
        errors = []
        for _, (i, status, body) in load.records():
            want = samples["expected"]["outputs"][0]["data"][i * 10:(i + 1) * 10]
            got = body["outputs"][0]["data"] if status == 200 else None
            if got is None or max(abs(g - w) for g, w in zip(got, want)) > TOLERANCE:
                errors.append((i, status, body))
        self.assertEqual(errors, [])
        self.assertEqual(sorted(r[0] for _, r in load.records()), list(range(32)))

    # --- bad inputs: clear error, right status, server keeps serving -----

    def test_malformed_json(self):
        status, body, _ = self.server.infer("breast_cancer_xgb", '{"inputs": [{"name": ')
        self.assertError(status, body, 400, "malformed JSON")
        status, body, _ = self.server.infer("breast_cancer_xgb", "not json at all")
        self.assertError(status, body, 400, "malformed JSON")
        self.assertStillServing()

    def test_truncated_body(self):
        """Content-Length promises more bytes than arrive before the client
        half-closes: 400, not a hang and not a crash."""
        body = json.dumps(good_request()).encode()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as sock:
            sock.sendall(b"POST /v2/models/breast_cancer_xgb/infer HTTP/1.1\r\n"
                         b"Host: localhost\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode()
                         + body[: len(body) // 2])
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        head, _, payload = reply.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 400"), reply)
        self.assertIn("truncated", json.loads(payload)["error"])
        self.assertStillServing()

    def test_wrong_datatype(self):
        request = good_request()
        request["inputs"][0]["datatype"] = "FP64"
        status, body, _ = self.server.infer("breast_cancer_xgb", request)
        self.assertError(status, body, 400, "has datatype FP64 but model 'breast_cancer_xgb' expects FP32")
        request["inputs"][0]["datatype"] = "FLOAT"
        status, body, _ = self.server.infer("breast_cancer_xgb", request)
        self.assertError(status, body, 400, "unknown datatype 'FLOAT'")
        request["inputs"][0]["datatype"] = "INT32"
        status, body, _ = self.server.infer("breast_cancer_xgb", request)
        self.assertError(status, body, 400, "expected an integer")
        self.assertStillServing()

    def test_wrong_shape(self):
        request = good_request()
        request["inputs"][0]["shape"] = [2, 15]
        status, body, _ = self.server.infer("breast_cancer_xgb", request)
        self.assertError(status, body, 400, "has shape [2,15] but model 'breast_cancer_xgb' expects [-1,30]")
        self.assertStillServing()

    def test_wrong_element_count(self):
        request = good_request()
        request["inputs"][0]["data"] = request["inputs"][0]["data"][:29]
        status, body, _ = self.server.infer("breast_cancer_xgb", request)
        self.assertError(status, body, 400, "has 29 elements but shape [1,30] needs 30")
        self.assertStillServing()

    def test_unknown_model(self):
        status, body, _ = self.server.infer("no_such_model", good_request())
        self.assertEqual(status, 404)
        self.assertTrue(body["error"].startswith("Request for unknown model"), body)
        self.assertIn("'no_such_model'", body["error"])
        status, body, _ = self.server.request("GET", "/v2/models/no_such_model")
        self.assertEqual(status, 404)
        status, body, _ = self.server.request("GET", "/v2/models/no_such_model/ready")
        self.assertEqual(status, 404)
        self.assertStillServing()

    def test_unknown_version(self):
        status, body, _ = self.server.infer("breast_cancer_xgb", good_request(), version="7")
        self.assertError(status, body, 404, "version '7' is not found")
        status, body, _ = self.server.request("GET", "/v2/models/breast_cancer_xgb/versions/7/ready")
        self.assertEqual(status, 404)
        self.assertStillServing()

    def test_unknown_input_and_output_names(self):
        request = good_request()
        request["outputs"] = [{"name": "nope"}]
        status, body, _ = self.server.infer("breast_cancer_xgb", request)
        self.assertError(status, body, 400, "unknown output 'nope'")
        request = good_request()
        request["inputs"][0]["name"] = "feature"
        status, body, _ = self.server.infer("breast_cancer_xgb", request)
        self.assertError(status, body, 400, "unknown input 'feature'")
        self.assertStillServing()

    def test_unsupported_parameters_and_encodings_are_rejected(self):
        request = dict(good_request(), parameters={"sequence_id": 7})
        status, body, _ = self.server.infer("breast_cancer_xgb", request)
        self.assertError(status, body, 400, "'sequence_id' is not supported")
        # Triton parameters strata cannot honour stay refused; the one
        # Triton's C++ client always sends is accepted (docs/protocol.md).
        request = dict(good_request(), parameters={"triton_unknown_option": True})
        status, body, _ = self.server.infer("breast_cancer_xgb", request)
        self.assertError(status, body, 400, "'triton_unknown_option' is not supported")
        request = dict(good_request(), parameters={"triton_enable_empty_final_response": False})
        status, body, _ = self.server.infer("breast_cancer_xgb", request)
        self.assertEqual(status, 200, body)
        # gzip and deflate are decoded (tests/e2e/test_binary_tensor.py); a body
        # that only claims to be gzip is refused, and other codings get 415.
        status, body, _ = self.server.request(
            "POST", "/v2/models/breast_cancer_xgb/infer", json.dumps(good_request()),
            {"Content-Encoding": "gzip"})
        self.assertError(status, body, 400, "not valid gzip data")
        status, body, _ = self.server.request(
            "POST", "/v2/models/breast_cancer_xgb/infer", json.dumps(good_request()),
            {"Content-Encoding": "br"})
        self.assertError(status, body, 415, "Content-Encoding 'br'")
        self.assertStillServing()

    def test_wrong_method_and_unknown_path(self):
        status, body, headers = self.server.request("GET", "/v2/models/breast_cancer_xgb/infer")
        self.assertError(status, body, 405, "POST")
        status, body, _ = self.server.request("GET", "/v3/anything")
        self.assertEqual(status, 404)

    def test_corrupt_artifacts_are_reported_not_ready(self):
        for model, fragment in (("corrupt_xgb", "failed to load"),
                                ("corrupt_pt", "failed to load"),
                                ("broken_config", "invalid YAML"),
                                ("signature_mismatch", "30")):
            status, body, _ = self.server.request("GET", f"/v2/models/{model}/ready")
            self.assertEqual(status, 503, (model, body))
            self.assertFalse(body["ready"])
            self.assertIn(fragment, body["reason"], model)
            status, body, _ = self.server.request("GET", f"/v2/models/{model}")
            self.assertEqual(status, 200)
            self.assertEqual(body["state"], "UNAVAILABLE")
            status, body, _ = self.server.infer(model, good_request())
            self.assertError(status, body, 503, "is not ready")
        self.assertIn("corrupt_xgb", self.server.log_text())
        self.assertStillServing()


class BodyLimitTest(unittest.TestCase):
    def test_oversize_body_gets_413_and_server_keeps_serving(self):
        repository = make_repository()
        try:
            with StrataServer(repository, ["--max-body-size", "4KiB"]) as server:
                big = good_request()
                big["inputs"][0]["data"] = big["inputs"][0]["data"] * 10
                status, body, _ = server.infer("breast_cancer_xgb", json.dumps(big) + " " * 4096)
                self.assertEqual(status, 413, body)
                self.assertIn("exceeds the limit of 4096 bytes", body["error"])
                status, body, _ = server.infer("breast_cancer_xgb", good_request())
                self.assertEqual(status, 200, body)
        finally:
            shutil.rmtree(repository)


class ShutdownTest(unittest.TestCase):
    def test_sigterm_finishes_in_flight_requests_and_exits_zero(self):
        # Three requests to the slow model (40 ms each, one at a time) are in
        # flight when SIGTERM arrives: each must still get its correct 200
        # answer, and a closed connection counts as a failure.
        repository = make_repository()
        try:
            server = StrataServer(repository).__enter__()
            request = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4],
                                   "data": [1, 2, 3, 4]}]}
            with ThreadPoolExecutor(3) as pool:
                calls = [pool.submit(server.infer, "slow", request) for _ in range(3)]
                wait_arrived(self, server, "slow", 3)
                self.assertEqual(server.stop(), 0, server.log_text())
                for call in calls:
                    status, body, _ = call.result()
                    self.assertEqual(status, 200, body)
                    self.assertEqual(body["outputs"][0]["data"], [2, 4, 6, 8])
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", server.port), timeout=2)
            server.__exit__(None, None, None)
        finally:
            shutil.rmtree(repository)


def wait_arrived(test, server, model, count):
    """Waits until `count` requests for `model` reached the server's core (in
    flight, or already answered)."""
    series = ("strata_inference_in_flight_requests{", "strata_inference_requests_total{")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        conn = server.connection()
        conn.request("GET", "/metrics")
        lines = conn.getresponse().read().decode().splitlines()
        conn.close()
        seen = sum(float(line.rsplit(" ", 1)[1]) for line in lines
                   if line.startswith(series) and f'model="{model}"' in line)
        if seen >= count:
            return
        time.sleep(0.002)
    test.fail(f"{count} requests for {model} never reached the server")

if __name__ == "__main__":
    unittest.main()
