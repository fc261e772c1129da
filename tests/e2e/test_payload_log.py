"""Issue 15, item 4: payload logging with per-field redaction. With a policy, a
kept field appears with its values, a hashed field only as its keyed hash
(HMAC-SHA256 with --key-hash-secret, 32 hex digits), a dropped field (named
`drop`, or not named at all) only by its name; no raw value of a hashed or
dropped field, no API key and no secret appears in any log (the payload log,
the server log, the access log). Over REST and gRPC."""
import hashlib
import hmac
import io
import json
import os
import shutil
import tempfile
import unittest

import torch

from harness.protocol_clients import grpc, inference_pb2, inference_pb2_grpc
from harness.strata_server import StrataServer, run_strata
from harness.waiting import wait_for

SECRET = b"payload-log-test-secret-0123456789"
API_KEY = "sk_payload_0123456789"
USER_ID = 918273645     # hashed: its digits never appear raw
SALARY = 86420.5        # dropped (named drop)
AGE = 37                # kept
POLICY = """inputs:
  age: keep
  user_id: hash
  salary: drop
outputs:
  score: keep
"""


class Scorer(torch.nn.Module):
    def forward(self, age: torch.Tensor, user_id: torch.Tensor,
                salary: torch.Tensor) -> dict[str, torch.Tensor]:
        score = age.to(torch.float32) * 0.5
        return {"score": score, "risk": salary * 3.0 + user_id.to(torch.float32) * 0.0}


def make_repository(root):
    version = os.path.join(root, "models", "scorer", "1")
    os.makedirs(version)
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(Scorer()), buf)
    with open(os.path.join(version, "model.pt"), "wb") as f:
        f.write(buf.getvalue())
    with open(os.path.join(root, "models", "scorer", "config.yaml"), "w") as f:
        f.write("backend: torchscript\nmax_batch_size: 8\ninputs:\n"
                "  - {name: age, datatype: INT64, shape: [-1]}\n"
                "  - {name: user_id, datatype: INT64, shape: [-1]}\n"
                "  - {name: salary, datatype: FP32, shape: [-1]}\n"
                "outputs:\n  - {name: score, datatype: FP32, shape: [-1]}\n"
                "  - {name: risk, datatype: FP32, shape: [-1]}\n"
                "parameters:\n  threads: 1\n")


def keyed_hash(text):
    return hmac.new(SECRET, text.encode(), hashlib.sha256).hexdigest()[:32]


def rest_body(request_id):
    return json.dumps({"id": request_id, "inputs": [
        {"name": "age", "datatype": "INT64", "shape": [1], "data": [AGE]},
        {"name": "user_id", "datatype": "INT64", "shape": [1], "data": [USER_ID]},
        {"name": "salary", "datatype": "FP32", "shape": [1], "data": [SALARY]}]})


class PayloadLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(prefix="strata-payload-log-")
        cls.repository = os.path.join(cls.directory, "repository")
        make_repository(cls.repository)
        cls.payload_log = os.path.join(cls.directory, "payload.jsonl")
        paths = {name: os.path.join(cls.directory, name)
                 for name in ("policy.yaml", "secret", "keys.yaml")}
        with open(paths["policy.yaml"], "w") as f:
            f.write(POLICY)
        with open(paths["secret"], "wb") as f:
            f.write(SECRET)
        code, digest, err = run_strata("keys", "hash", stdin=API_KEY + "\n")
        assert code == 0, err
        with open(paths["keys.yaml"], "w") as f:
            f.write("keys:\n  - id: client\n    tenant: t\n    secret_sha256: %s\n"
                    "    scopes: [infer, metadata, metrics]\n    models: [\"*\"]\n" %
                    digest.strip())
        cls.paths = paths
        cls.server = StrataServer(cls.repository, [
            "--payload-log", cls.payload_log, "--payload-log-policy", paths["policy.yaml"],
            "--payload-log-sample", "1", "--key-hash-secret", paths["secret"],
            "--keys-file", paths["keys.yaml"], "--access-log"])
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.directory, ignore_errors=True)

    def lines(self, request_id):
        with open(self.payload_log) as f:
            found = [json.loads(line) for line in f if request_id in line]
        return found

    def infer_rest(self, request_id):
        status, body, _ = self.server.request(
            "POST", "/v2/models/scorer/infer", rest_body(request_id),
            {"Content-Type": "application/json", "Authorization": "Bearer " + API_KEY})
        self.assertEqual(status, 200, body)
        return body

    def assert_redacted(self, line):
        self.assertEqual(line["model"], "scorer")
        self.assertEqual(line["version"], "1")
        self.assertEqual(line["inputs"]["age"]["data"], [AGE])
        self.assertEqual(line["inputs"]["user_id"], {
            "datatype": "INT64", "shape": [1], "hash": [keyed_hash(str(USER_ID))]})
        self.assertNotIn("salary", line["inputs"])
        self.assertIn("salary", line["dropped_inputs"])
        self.assertEqual(line["outputs"]["score"]["data"], [AGE * 0.5])
        self.assertNotIn("risk", line["outputs"])
        self.assertEqual(line["dropped_outputs"], ["risk"])

    def test_rest_request_is_logged_redacted(self):
        self.infer_rest("rest-1")
        line = wait_for(lambda: self.lines("rest-1"))
        self.assertEqual(len(line), 1)
        self.assertEqual(line[0]["request_id"], "rest-1")
        self.assert_redacted(line[0])

    def test_grpc_request_is_logged_redacted(self):
        request = inference_pb2.ModelInferRequest(model_name="scorer", id="grpc-1")
        for name, dtype, field, value in (("age", "INT64", "int64_contents", AGE),
                                          ("user_id", "INT64", "int64_contents", USER_ID),
                                          ("salary", "FP32", "fp32_contents", SALARY)):
            tensor = request.inputs.add(name=name, datatype=dtype, shape=[1])
            getattr(tensor.contents, field).append(value)
        with grpc.insecure_channel("127.0.0.1:%d" % self.server.grpc_port) as channel:
            stub = inference_pb2_grpc.GRPCInferenceServiceStub(channel)
            stub.ModelInfer(request, metadata=[("authorization", "Bearer " + API_KEY)])
        line = wait_for(lambda: self.lines("grpc-1"))
        self.assert_redacted(line[0])

    def test_no_raw_value_key_or_secret_in_any_log(self):
        for i in range(3):
            self.infer_rest("leak-%d" % i)
        wait_for(lambda: len(self.lines("leak-")) == 3)
        with open(self.payload_log) as f:
            payload = f.read()
        server_log = self.server.log_text()
        self.assertIn('"access":', server_log)  # the access log is on
        for text, where in ((payload, "payload log"), (server_log, "server log")):
            for raw in (str(USER_ID), "86420", "259261", API_KEY, "Bearer",
                        SECRET.decode()):
                self.assertNotIn(raw, text, "%r in the %s" % (raw, where))
        # The access log holds no payload value, not even a kept one.
        access = [line for line in server_log.splitlines() if '"access":' in line]
        self.assertTrue(access)
        for line in access:
            self.assertNotIn(str(AGE * 0.5), line)
            self.assertNotIn('"data"', line)

    def test_lines_are_counted_in_metrics(self):
        self.infer_rest("count-1")
        wait_for(lambda: self.lines("count-1"))
        conn = self.server.connection()
        conn.request("GET", "/metrics", headers={"Authorization": "Bearer " + API_KEY})
        text = conn.getresponse().read().decode()
        conn.close()
        self.assertRegex(text, r'strata_payload_log_lines_total\{result="written"\} [1-9]')
        self.assertRegex(text, r'strata_payload_log_lines_total\{result="dropped"\} 0\b')


class PayloadLogFlagsTest(unittest.TestCase):
    def test_a_payload_log_needs_a_policy(self):
        directory = tempfile.mkdtemp(prefix="strata-payload-flags-")
        try:
            os.makedirs(os.path.join(directory, "models"))
            code, out, err = run_strata("serve", "-r", directory, "--port", "0",
                                        "--grpc-port", "-1", "--payload-log",
                                        os.path.join(directory, "p.jsonl"), timeout=60)
            self.assertEqual(code, 2)
            self.assertIn("--payload-log-policy", out + err)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
