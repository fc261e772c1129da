"""`strata check` (docs/checks.md): the five checks against a real strata server with the
trained breast_cancer_xgb example -- a good version passes all five, a version whose model
answers wrongly fails functional and the report names the sample and output, shifted held-out
rows fail statistical -- and against a tiny stdlib KServe v2 server that is not strata
(functional passes, end-to-end is skipped with its reason); usage errors exit 2."""
import http.server
import json
import os
import shutil
import tempfile
import threading
import unittest

from harness.repositories import EXAMPLES
from harness.strata_server import StrataServer, run_strata

MODEL = "breast_cancer_xgb"
# A modest load so the test stays short on a shared 2-core machine; the objective is loose
# because the point here is the check's logic, not a timing target.
LOAD = ["--rate", "50", "--duration", "1", "--p99-ms", "2000"]


def make_repository(root):
    """breast_cancer_xgb with version 1 (the trained example) and version 2, the same trees
    with another base_score: a model that loads and answers, but wrongly."""
    model_dir = os.path.join(root, "models", MODEL)
    shutil.copytree(os.path.join(EXAMPLES, MODEL, "1"), os.path.join(model_dir, "1"))
    with open(os.path.join(EXAMPLES, MODEL, "config.yaml")) as f:
        config = f.read()
    with open(os.path.join(model_dir, "config.yaml"), "w") as f:
        f.write(config + "version_policy: all\n")
    shutil.copytree(os.path.join(model_dir, "1"), os.path.join(model_dir, "2"))
    path = os.path.join(model_dir, "2", "model.json")
    with open(path) as f:
        text = f.read()
    assert '"base_score":"5E-1"' in text
    with open(path, "w") as f:
        f.write(text.replace('"base_score":"5E-1"', '"base_score":"9.9E-1"'))


def check(url, *args):
    return run_strata("check", "--url", url, *args, timeout=120)


class StrataCheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="strata-check-")
        make_repository(cls.root)
        cls.server = StrataServer(cls.root).__enter__()
        cls.url = f"http://127.0.0.1:{cls.server.port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.root, ignore_errors=True)

    def run_json(self, *args):
        code, out, err = check(self.url, "--model", MODEL, "--repository", self.root, "--json",
                               *LOAD, *args)
        report = json.loads(out)
        return code, {c["check"]: c for c in report["checks"]}, report, err

    def test_a_good_version_passes_all_five(self):
        code, checks, report, err = self.run_json("--version", "1")
        self.assertEqual(code, 0, (checks, err))
        self.assertTrue(report["passed"])
        self.assertEqual(list(checks), ["functional", "statistical", "error_handling", "load",
                                        "end_to_end"])
        for name, result in checks.items():
            self.assertEqual(result["status"], "pass", (name, result))
        self.assertEqual(checks["statistical"]["figures"]["rows"], 143)
        self.assertLessEqual(checks["statistical"]["figures"]["psi"], 0.2)
        self.assertEqual(checks["error_handling"]["figures"]["refused_4xx"],
                         checks["error_handling"]["figures"]["requests"])
        self.assertEqual(checks["load"]["figures"]["sent"], 50)
        self.assertEqual(checks["load"]["figures"]["errors"], 0)
        self.assertGreaterEqual(checks["end_to_end"]["figures"]["recorded"],
                                checks["end_to_end"]["figures"]["answered"])
        # The server is still healthy after the malformed requests.
        status, _, _ = self.server.request("GET", f"/v2/models/{MODEL}/versions/1/ready")
        self.assertEqual(status, 200)

    def test_end_to_end_reads_the_access_log_too(self):
        with StrataServer(self.root, ["--access-log"]) as server:
            url = f"http://127.0.0.1:{server.port}"
            args = ("--model", MODEL, "--version", "1", "--repository", self.root, "--json", *LOAD)
            code, out, err = check(url, *args, "--access-log", server.log.name)
            self.assertEqual(code, 0, (out, err))
            e2e = {c["check"]: c for c in json.loads(out)["checks"]}["end_to_end"]
            self.assertEqual(e2e["status"], "pass", e2e)
            self.assertGreaterEqual(e2e["figures"]["logged"], e2e["figures"]["answered"])
            self.assertIn("the access log gained", e2e["reason"])
            # A log the server does not write to records none of the requests.
            empty = os.path.join(self.root, "other.log")
            open(empty, "w").close()
            code, out, err = check(url, *args, "--access-log", empty)
            self.assertEqual(code, 1, (out, err))
            e2e = {c["check"]: c for c in json.loads(out)["checks"]}["end_to_end"]
            self.assertEqual(e2e["status"], "fail", e2e)
            self.assertEqual(e2e["figures"]["logged"], 0)

    def test_text_report_by_default(self):
        code, out, _ = check(self.url, "--model", MODEL, "--version", "1", "--repository",
                             self.root, *LOAD)
        self.assertEqual(code, 0, out)
        self.assertIn("PASS     functional", out)
        self.assertIn("result: PASS", out)

    def test_wrong_answers_fail_functional_naming_the_sample_and_output(self):
        code, checks, report, _ = self.run_json("--version", "2")
        self.assertEqual(code, 1)
        self.assertFalse(report["passed"])
        functional = checks["functional"]
        self.assertEqual(functional["status"], "fail")
        self.assertIn("sample 0 output 'probability': row 0 element 0: expected",
                      functional["reason"])

    def test_a_shifted_distribution_fails_statistical(self):
        heldout = os.path.join(self.root, "shifted.jsonl")
        with open(os.path.join(EXAMPLES, MODEL, "1", "check", "heldout.jsonl")) as src, \
                open(heldout, "w") as dst:
            for line in src:
                request = json.loads(line)
                tensor = request["inputs"][0]
                tensor["data"] = [x * 1.6 for x in tensor["data"]]
                dst.write(json.dumps(request) + "\n")
        code, checks, _, _ = self.run_json("--version", "1", "--heldout", heldout)
        self.assertEqual(code, 1)
        self.assertEqual(checks["functional"]["status"], "pass")
        statistical = checks["statistical"]
        self.assertEqual(statistical["status"], "fail", statistical)
        self.assertGreater(statistical["figures"]["psi"], 0.2)
        self.assertIn("above 0.2", statistical["reason"])

    def test_psi_bound_from_the_command_line(self):
        code, checks, _, _ = self.run_json("--version", "1", "--psi-max", "0")
        self.assertEqual(code, 1)
        self.assertEqual(checks["statistical"]["status"], "fail")
        self.assertEqual(checks["statistical"]["figures"]["psi_max"], 0)


class TokenCheckTest(unittest.TestCase):
    """With API keys the check sends --token as a bearer token on every request, /metrics
    included."""

    def test_the_token_opens_every_route_the_checks_use(self):
        root = tempfile.mkdtemp(prefix="strata-check-keys-")
        try:
            make_repository(root)
            keys = os.path.join(root, "keys.yaml")
            code, secret, err = run_strata("keys", "add", "--file", keys, "--id", "checker",
                                           "--tenant", "ops", "--scopes", "infer", "metadata",
                                           "metrics")
            self.assertEqual(code, 0, err)
            with StrataServer(root, ["--keys-file", keys]) as server:
                url = f"http://127.0.0.1:{server.port}"
                args = ["--model", MODEL, "--version", "1", "--repository", root, "--json",
                        *LOAD]
                code, out, err = check(url, *args)
                self.assertEqual(code, 1, (out, err))
                self.assertIn("not ready to be checked", err)
                self.assertIn("401", err)
                code, out, err = check(url, *args, "--token", secret.strip())
                self.assertEqual(code, 0, (out, err))
                checks = {c["check"]: c for c in json.loads(out)["checks"]}
                self.assertEqual(checks["end_to_end"]["status"], "pass", checks["end_to_end"])
        finally:
            shutil.rmtree(root, ignore_errors=True)


class DoublerHandler(http.server.BaseHTTPRequestHandler):
    """A KServe v2 server that is not strata: model `doubler`, y = 2 * x, FP32 [-1, 2]; no
    /metrics. Refuses what a careful server refuses, with 4xx."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path in ("/v2/health/ready", "/v2/models/doubler/ready"):
            return self.reply(200, {"ready": True})
        return self.reply(404, {"error": "not found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/v2/models/doubler/infer":
            return self.reply(404, {"error": "unknown model"})
        if self.headers.get("Content-Type") != "application/json":
            return self.reply(415, {"error": "JSON only"})
        try:
            x = self.decode(body)
        except (ValueError, KeyError, TypeError, IndexError, AssertionError) as e:
            return self.reply(400, {"error": str(e) or "bad request"})
        y = {"name": "y", "datatype": "FP32", "shape": x["shape"], "data": [2 * v for v in
                                                                            x["data"]]}
        return self.reply(200, {"model_name": "doubler", "outputs": [y]})

    @staticmethod
    def decode(body):
        request = json.loads(body)
        assert isinstance(request, dict), "not an object"
        (x,) = request["inputs"]
        assert x["name"] == "x" and x["datatype"] == "FP32", "unknown input or datatype"
        assert len(x["shape"]) == 2 and x["shape"][1] == 2, "shape must be [-1, 2]"
        assert x["shape"][0] * 2 == len(x["data"]), "shape does not match the data"
        assert all(isinstance(v, (int, float)) for v in x["data"]), "numbers only"
        return x


class OtherServerCheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DoublerHandler)
        cls.thread = threading.Thread(target=cls.httpd.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = f"http://127.0.0.1:{cls.httpd.server_address[1]}"
        cls.dir = tempfile.mkdtemp(prefix="strata-check-other-")
        cls.samples = os.path.join(cls.dir, "samples.json")
        with open(cls.samples, "w") as f:
            json.dump({"request": {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2],
                                               "data": [1, 2, 3, 4.5]}]},
                       "expected": {"outputs": [{"name": "y", "datatype": "FP32",
                                                 "shape": [2, 2], "data": [2, 4, 6, 9]}]}}, f)

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_functional_passes_and_end_to_end_is_skipped(self):
        code, out, err = check(self.url, "--model", "doubler", "--samples", self.samples,
                               "--json", *LOAD)
        self.assertEqual(code, 0, (out, err))
        checks = {c["check"]: c for c in json.loads(out)["checks"]}
        self.assertEqual(checks["functional"]["status"], "pass")
        self.assertEqual(checks["error_handling"]["status"], "pass", checks["error_handling"])
        self.assertEqual(checks["load"]["status"], "pass", checks["load"])
        self.assertEqual(checks["end_to_end"]["status"], "skipped")
        self.assertIn("no Prometheus /metrics (HTTP 404)", checks["end_to_end"]["reason"])
        self.assertEqual(checks["statistical"]["status"], "skipped")
        self.assertIn("--heldout", checks["statistical"]["reason"])


class UsageErrorTest(unittest.TestCase):
    def assert_usage_error(self, args, message):
        code, out, err = run_strata("check", *args)
        self.assertEqual(code, 2, (out, err))
        self.assertIn(message, err)

    def test_usage_errors_exit_2_with_a_message(self):
        url = "http://127.0.0.1:9"
        self.assert_usage_error(["--url", url], "--url and --model are required")
        self.assert_usage_error(["--url", url, "--model", "m"],
                                "give --samples FILE or --repository DIR")
        self.assert_usage_error(["--url", url, "--model", "m", "--samples", "/no/such/file"],
                                "cannot read /no/such/file")
        self.assert_usage_error(["--url", "localhost:8000", "--model", "m", "--samples",
                                 os.path.join(EXAMPLES, MODEL, "1", "samples.json")],
                                "must look like http://")
        self.assert_usage_error(["--url", url, "--model", "m", "--rate", "-1"], "--rate")
        self.assert_usage_error(["--url", url, "--no-such-flag"], "--no-such-flag")

    def test_unreachable_server_is_a_failure_not_a_usage_error(self):
        code, _, err = run_strata("check", "--url", "http://127.0.0.1:9", "--model", MODEL,
                                  "--samples", os.path.join(EXAMPLES, MODEL, "1", "samples.json"))
        self.assertEqual(code, 1)
        self.assertIn("cannot reach", err)


if __name__ == "__main__":
    unittest.main()
