"""End-to-end tests of split endpoints (`plan: split`) in `strata serve
--endpoints`: two versions of the breast_cancer_xgb example serve as the
arms `stable` (version 1) and `canary` (version 2). About 1000 distinct
keys split as the weights say, a key always gets the same arm, raising the
canary's weight (a restart with the new endpoints file) only moves keys
into the canary, the x-strata-arm request header forces an arm, and the arm
and version that answered are in the response (parameters and the
x-strata-arm header; gRPC response parameters, with the sticky and forcing
headers as gRPC metadata), in /metrics and in the access log."""
import os
import shutil
import tempfile
import unittest

from harness import xgb_example
from harness.protocol_clients import GrpcClient
from harness.repositories import EXAMPLES
from harness.strata_server import StrataServer

KEYS = 1000
MODEL = xgb_example.MODEL


def endpoints_yaml(canary_weight):
    arms = ("    arms:\n"
            f"      - {{name: stable, model: {MODEL}, version: 1, weight: {100 - canary_weight}}}\n"
            f"      - {{name: canary, model: {MODEL}, version: 2, weight: {canary_weight}}}\n")
    return ("endpoints:\n"
            "  ab:\n    plan: split\n    sticky_key: user_id\n" + arms +
            "  ab_header:\n    plan: split\n    sticky_header: x-user-id\n" + arms +
            "  ab_random:\n    plan: split\n" + arms)


def request(user_id=None):
    inputs = [{"name": "features", "datatype": "FP32", "shape": [1, 30],
               "data": xgb_example.feature_rows([user_id or 0])[0]}]
    if user_id is not None:
        inputs.append({"name": "user_id", "datatype": "INT64", "shape": [1], "data": [user_id]})
    return {"inputs": inputs}


class SplitEndpointTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-split-")
        cls.repository = os.path.join(cls.dir, "repo")
        model_dir = os.path.join(cls.repository, "models", MODEL)
        source = os.path.join(EXAMPLES, MODEL)
        for version in ("1", "2"):
            os.makedirs(os.path.join(model_dir, version))
            shutil.copy(os.path.join(source, "1", "model.json"), os.path.join(model_dir, version))
        with open(os.path.join(source, "config.yaml")) as f, \
                open(os.path.join(model_dir, "config.yaml"), "w") as out:
            out.write(f.read() + "version_policy: all\n")
        cls.endpoints = os.path.join(cls.dir, "strata.yaml")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def serve(self, canary_weight):
        with open(self.endpoints, "w") as f:
            f.write(endpoints_yaml(canary_weight))
        return StrataServer(self.repository, ["--endpoints", self.endpoints, "--access-log"])

    def call(self, server, endpoint, body, headers=None, conn=None):
        status, answer, reply_headers = server.request(
            "POST", f"/v2/models/{endpoint}/infer", body,
            {"Content-Type": "application/json", **(headers or {})}, conn)
        self.assertEqual(status, 200, answer)
        arm = answer["parameters"]["arm"]
        self.assertEqual(reply_headers.get("x-strata-arm"), arm)
        self.assertEqual(answer["parameters"]["model_version"],
                         {"stable": "1", "canary": "2"}[arm], answer)
        self.assertEqual(len(answer["outputs"][0]["data"]), 1)
        return arm

    def arms_of_keys(self, server, endpoint="ab", keys=range(KEYS)):
        conn = server.connection()
        arms = {k: self.call(server, endpoint, request(k), conn=conn) for k in keys}
        conn.close()
        return arms

    def split_requests(self, server, endpoint, arm, version):
        _, _, _ = server.request("GET", "/v2/health/live")
        conn = server.connection()
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        want = (f'strata_split_requests_total{{arm="{arm}",endpoint="{endpoint}",'
                f'version="{version}"}}')
        for line in text.splitlines():
            if line.startswith(want):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def check_grpc(self, server, rest_arms):
        """gRPC metadata carries the sticky header and the forcing header; the
        response parameters name the arm and the version."""
        client = GrpcClient(server.grpc_port)
        features = [("features", "FP32", [xgb_example.feature_rows([0])[0]])]
        try:
            for k in range(20):
                response = client.stub.ModelInfer(client.request("ab_header", features),
                                                  metadata=[("x-user-id", f"u{k}")])
                arm = response.parameters["arm"].string_param
                self.assertEqual(arm, rest_arms[k])
                self.assertEqual(response.parameters["model_version"].string_param,
                                 {"stable": "1", "canary": "2"}[arm])
            forced = client.stub.ModelInfer(client.request("ab_header", features),
                                            metadata=[("x-user-id", "u1"),
                                                      ("x-strata-arm", "canary")])
            self.assertEqual(forced.parameters["arm"].string_param, "canary")
        finally:
            client.close()

    def test_sticky_split_ramp_forcing_metrics_and_log(self):
        with self.serve(20) as server:
            before = self.arms_of_keys(server)
            canary = sum(1 for a in before.values() if a == "canary")
            self.assertAlmostEqual(canary / KEYS, 0.20, delta=0.05)  # about 4 standard deviations
            # The same key always gets the same arm.
            again = self.arms_of_keys(server, keys=range(0, KEYS, 5))
            self.assertTrue(all(before[k] == a for k, a in again.items()))
            # A header key splits the same way (salted by its own endpoint name).
            conn = server.connection()
            by_header = [self.call(server, "ab_header", request(), {"x-user-id": f"u{k}"}, conn)
                         for k in range(200)]
            repeat = [self.call(server, "ab_header", request(), {"x-user-id": f"u{k}"}, conn)
                      for k in range(200)]
            conn.close()
            self.assertEqual(by_header, repeat)
            self.assertTrue(20 <= by_header.count("canary") <= 65, by_header.count("canary"))
            # The forcing header wins over the key.
            stable_key = next(k for k, a in before.items() if a == "stable")
            self.assertEqual(self.call(server, "ab", request(stable_key),
                                       {"x-strata-arm": "canary"}), "canary")
            status, body, _ = server.request(
                "POST", "/v2/models/ab/infer", request(1),
                {"Content-Type": "application/json", "x-strata-arm": "nope"})
            self.assertEqual(status, 400, body)
            self.assertIn("no arm 'nope'", body["error"])
            # Without a key: random by weight.
            conn = server.connection()
            random_arms = [self.call(server, "ab_random", request(), conn=conn) for _ in range(400)]
            conn.close()
            self.assertAlmostEqual(random_arms.count("canary") / 400, 0.20, delta=0.07)
            # /metrics counts each arm at the version that answered.
            self.assertEqual(self.split_requests(server, "ab", "canary", "2"),
                             canary + sum(1 for a in again.values() if a == "canary") + 1)
            self.assertEqual(self.split_requests(server, "ab", "stable", "1"),
                             KEYS - canary + sum(1 for a in again.values() if a == "stable"))
            self.check_grpc(server, by_header)
            log = server.log_text()
            self.assertIn('"arm":"canary"', log)
            self.assertIn('"arm":"stable"', log)
        # Raising the canary's weight only moves keys into the canary.
        with self.serve(50) as server:
            after = self.arms_of_keys(server)
        moved = [k for k in before if before[k] != after[k]]
        self.assertTrue(all(before[k] == "stable" and after[k] == "canary" for k in moved))
        self.assertAlmostEqual(sum(1 for a in after.values() if a == "canary") / KEYS, 0.5,
                               delta=0.06)
        self.assertGreater(len(moved), 200)


if __name__ == "__main__":
    unittest.main()
