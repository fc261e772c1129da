"""End-to-end test of rollout control over gRPC (`strata.control.v1.Rollouts`,
proto/strata_control.proto) against the real binary, with stubs generated
from the project's proto: a split `ab` whose stable arm is version 1 of the
TorchScript model `m` (versions 1 and 2: y = 2x), with API keys and an
audit log. A call
without a key is UNAUTHENTICATED and a key without the `control` scope
PERMISSION_DENIED; the `ops` key starts a rollout of m@2, reads its status,
pauses, resumes and promotes it, the REST status route sees the same
rollout, a wrong action is FAILED_PRECONDITION, and each call is a line of
the audit log."""
import io
import json
import os
import shutil
import sys
import tempfile
import unittest

import torch

from harness.strata_server import BINARY_DIR, StrataServer, run_strata
from harness.waiting import wait_for

sys.path.insert(0, os.environ.get("STRATA_PYTHON_PROTO",
                                  os.path.join(BINARY_DIR, "python_proto")))
import grpc  # noqa: E402
import strata_control_pb2 as control  # noqa: E402
import strata_control_pb2_grpc as control_grpc  # noqa: E402

CONFIG = """backend: torchscript
max_batch_size: 64
inputs:
  - {name: x, datatype: FP32, shape: [-1, 2]}
outputs:
  - {name: y, datatype: FP32, shape: [-1, 2]}
version_policy: all
"""

ENDPOINTS = """endpoints:
  ab:
    plan: split
    sticky_key: user_id
    arms:
      - {name: stable, model: m, version: 1, weight: 100}
"""


class Double(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


SECRETS = {"ops": "ops-secret-0123456789abcdef", "viewer": "viewer-secret-0123456789abcdef"}


def keys_yaml():
    def entry(key_id, scopes):
        code, out, err = run_strata("keys", "hash", stdin=SECRETS[key_id] + "\n")
        assert code == 0, err
        return (f"  - id: {key_id}\n    tenant: t\n    secret_sha256: {out.strip()}\n"
                f"    scopes: [{', '.join(scopes)}]\n    models: [ab]\n")
    return "keys:\n" + entry("ops", ["control", "metadata"]) + entry("viewer", ["metadata"])


class RolloutGrpcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-rollout-grpc-")
        repository = os.path.join(cls.dir, "repo")
        for version in (1, 2):
            os.makedirs(os.path.join(repository, "models", "m", str(version)))
            buffer = io.BytesIO()
            torch.jit.save(torch.jit.script(Double()), buffer)
            with open(os.path.join(repository, "models", "m", str(version), "model.pt"),
                      "wb") as f:
                f.write(buffer.getvalue())
        with open(os.path.join(repository, "models", "m", "config.yaml"), "w") as f:
            f.write(CONFIG)
        files = {"endpoints.yaml": ENDPOINTS, "keys.yaml": keys_yaml()}
        for name, text in files.items():
            with open(os.path.join(cls.dir, name), "w") as f:
                f.write(text)
        cls.audit = os.path.join(cls.dir, "audit.jsonl")
        cls.server = StrataServer(repository, [
            "--endpoints", os.path.join(cls.dir, "endpoints.yaml"), "--control-api",
            "--keys-file", os.path.join(cls.dir, "keys.yaml"), "--audit-log", cls.audit,
            "--state-dir", os.path.join(cls.dir, "state"), "--rollout-tick-ms", "100",
            "--no-rollout-checks"]).__enter__()
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.server.grpc_port}")
        cls.stub = control_grpc.RolloutsStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.dir)

    def call(self, method, request, key="ops"):
        metadata = [("authorization", f"Bearer {SECRETS[key]}")] if key else []
        return getattr(self.stub, method)(request, metadata=metadata, timeout=10)

    def code_of(self, method, request, key):
        with self.assertRaises(grpc.RpcError) as raised:
            self.call(method, request, key)
        return raised.exception.code(), raised.exception.details()

    def rest_status(self):
        status, body, _ = self.server.request(
            "GET", "/v2/repository/endpoints/ab/rollout", None,
            {"authorization": f"Bearer {SECRETS['ops']}"})
        self.assertEqual(status, 200, body)
        return body

    def test_rollout_control_over_grpc_with_scopes_and_audit(self):
        ab = control.RolloutRequest(endpoint="ab")
        start = control.StartRolloutRequest(endpoint="ab", candidate="m@2",
                                            steps="30:600s:1000000,100", gates=["error"])
        code, details = self.code_of("Start", start, None)
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED, details)
        code, details = self.code_of("Start", start, "viewer")
        self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED, details)
        code, details = self.code_of("Status", control.RolloutRequest(endpoint="nope"), "ops")
        self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED, details)  # key: ab only

        started = self.call("Start", start)
        self.assertEqual((started.endpoint, started.status), ("ab", "pending"))
        self.assertEqual((started.candidate.model, started.candidate.version), ("m", "2"))
        self.assertEqual((started.stable.model, started.stable.version), ("m", "1"))
        running = wait_for(lambda: (lambda s: s if s.status == "running" else None)(
            self.call("Status", ab)), 30)
        self.assertEqual((running.step, running.weight), (0, 30))
        self.assertEqual(json.loads(running.json)["status"], "running")
        self.assertEqual(self.rest_status()["weight"], 30)  # the same rollout as REST's
        self.assertEqual(self.call("Pause", ab).status, "paused")
        code, details = self.code_of("Pause", ab, "ops")
        self.assertEqual(code, grpc.StatusCode.FAILED_PRECONDITION, details)
        self.assertIn("pause needs running", details)
        self.assertEqual(self.call("Resume", ab).status, "running")
        promoted = self.call("Promote", ab)
        self.assertEqual((promoted.status, promoted.weight), ("promoted", 100))
        self.assertEqual(self.rest_status()["status"], "promoted")
        code, _ = self.code_of("Abort", ab, "ops")
        self.assertEqual(code, grpc.StatusCode.FAILED_PRECONDITION)

        with open(self.audit) as f:
            lines = [json.loads(line) for line in f]
        grpc_lines = [(e["action"], e["target"], e["status"]) for e in lines]
        self.assertTrue(all(e["remote"] for e in lines), lines)
        for want in (("endpoints.rollout.start", "ab", 401),
                     ("endpoints.rollout.start", "ab", 403),
                     ("endpoints.rollout.start", "ab", 200),
                     ("endpoints.rollout.pause", "ab", 200),
                     ("endpoints.rollout.pause", "ab", 400),
                     ("endpoints.rollout.promote", "ab", 200)):
            self.assertIn(want, grpc_lines, lines)


if __name__ == "__main__":
    unittest.main()
