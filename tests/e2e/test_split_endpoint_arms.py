"""End-to-end tests of split arms that are other endpoints (`endpoint: NAME`
in a split's arms): a table `head` built by `strata batch` from the
breast_cancer_xgb example holds ids 0..99; the split `ab` sends each id
either to the model (a model arm, version 1) or to the hybrid endpoint
`scores` (table -> model), and `ab_static` either to the model or to the
static endpoint `lookup` on the same table. Every answer equals XGBoost's
own, a key always gets the same arm, the arm and the version that answered
are in the response (parameters and the x-strata-arm header), /metrics and
the access log, and the forcing header reaches no further than the split.
An arm naming an unknown endpoint, or arms that lead back to their own
split, stop the server at start with a clear reason. A split of `policy:
thompson` moves its traffic to the arm whose feedback rewards are better,
and keeps the other at its minimum share."""
import os
import shutil
import tempfile
import unittest

from harness import xgb_example
from harness.metrics import metric, parse_metrics
from harness.repositories import EXAMPLES, TOLERANCE
from harness.strata_server import StrataServer, run_strata

MODEL = xgb_example.MODEL
KEYS = 100  # ids 0..99: all in the table

ENDPOINTS = f"""endpoints:
  ab:
    plan: split
    sticky_key: id
    arms:
      - {{name: model, model: {MODEL}, version: 1, weight: 50}}
      - {{name: hybrid, endpoint: scores, weight: 50}}
  scores: {{plan: hybrid, table: head, key: [id], model: {MODEL}}}
  ab_static:
    plan: split
    sticky_key: id
    arms:
      - {{name: model, model: {MODEL}, weight: 50}}
      - {{name: table, endpoint: lookup, weight: 50}}
  lookup: {{plan: static, table: head, key: [id]}}
"""


def request(i):
    return {"inputs": [
        {"name": "id", "datatype": "INT64", "shape": [1], "data": [i]},
        {"name": "features", "datatype": "FP32", "shape": [1, 30],
         "data": xgb_example.feature_rows([i])[0]}]}


class SplitEndpointArmsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-split-arms-")
        cls.repository = os.path.join(cls.dir, "repo")
        model_dir = os.path.join(cls.repository, "models", MODEL)
        os.makedirs(os.path.join(model_dir, "1"))
        source = os.path.join(EXAMPLES, MODEL)
        shutil.copy(os.path.join(source, "config.yaml"), model_dir)
        shutil.copy(os.path.join(source, "1", "model.json"), os.path.join(model_dir, "1"))
        csv = os.path.join(cls.dir, "head.csv")
        cls.expected = xgb_example.write_csv(csv, KEYS)
        code, _, err = run_strata(
            "batch", "-r", cls.repository, "-m", MODEL, "--progress", "off", *xgb_example.MAP,
            "-i", csv, "-k", "id:INT64", "-t", "head", "--job-id", "1")
        assert code == 0, err

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def write_endpoints(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def call(self, server, endpoint, i, headers=None, conn=None):
        status, body, reply_headers = server.request(
            "POST", f"/v2/models/{endpoint}/infer", request(i),
            {"Content-Type": "application/json", **(headers or {})}, conn)
        self.assertEqual(status, 200, body)
        params = body["parameters"]
        self.assertEqual(reply_headers.get("x-strata-arm"), params["arm"])
        self.assertEqual(params["model_version"], body["model_version"])
        outputs = {o["name"]: o["data"] for o in body["outputs"]}
        self.assertAlmostEqual(outputs["probability"][0], self.expected[i], delta=TOLERANCE,
                               msg=f"{endpoint} id {i} arm {params['arm']}")
        return params["arm"], params["model_version"], outputs

    def arms(self, server, endpoint):
        conn = server.connection()
        answers = {i: self.call(server, endpoint, i, conn=conn) for i in range(KEYS)}
        conn.close()
        return answers

    def test_model_and_endpoint_arms_answer_sticky_and_are_named_everywhere(self):
        endpoints = self.write_endpoints("arms.yaml", ENDPOINTS)
        with StrataServer(self.repository, ["--endpoints", endpoints, "--access-log"]) as server:
            for endpoint, other in (("ab", "hybrid"), ("ab_static", "table")):
                first = self.arms(server, endpoint)
                again = self.arms(server, endpoint)
                self.assertEqual({i: a[0] for i, a in first.items()},
                                 {i: a[0] for i, a in again.items()})  # sticky
                counts = [a[0] for a in first.values()]
                self.assertTrue(25 <= counts.count(other) <= 75, counts.count(other))
                self.assertEqual(set(counts), {"model", other})
                for arm, version, outputs in first.values():
                    if arm == "model":
                        self.assertEqual(version, "1")
                        self.assertEqual(outputs["layer"], ["model"])
                    elif other == "hybrid":
                        self.assertEqual(version, "1")  # the hybrid's model version
                        self.assertEqual(outputs["layer"], ["table"])
                    else:
                        self.assertEqual(outputs["found"], [True])
                self.check_metrics(server, endpoint, first)
            # The forcing header chooses the split's arm, and goes no further.
            model_key = next(i for i, a in first.items() if a[0] == "model")
            arm, _, outputs = self.call(server, "ab_static", model_key, {"x-strata-arm": "table"})
            self.assertEqual(arm, "table")
            self.assertEqual(outputs["found"], [True])
            status, body, _ = server.request("GET", "/v2/models/ab")
            self.assertEqual(status, 200, body)
            status, _, _ = server.request("GET", "/v2/models/ab/ready")
            self.assertEqual(status, 200)
            log = server.log_text()
            for arm in ("model", "hybrid", "table"):
                self.assertIn(f'"arm":"{arm}"', log)

    def check_metrics(self, server, endpoint, answers):
        """strata_split_requests_total counts each arm at the version that answered."""
        conn = server.connection()
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        samples = parse_metrics(text)
        for arm in {a[0] for a in answers.values()}:
            version = next(a[1] for a in answers.values() if a[0] == arm)
            want = sum(2 for a in answers.values() if a[0] == arm)
            got = metric(samples, "strata_split_requests_total", endpoint=endpoint, arm=arm,
                         version=version)
            self.assertEqual(got, want, (endpoint, arm, version))

    def test_thompson_sampling_moves_traffic_to_the_rewarded_arm(self):
        endpoints = self.write_endpoints("bandit.yaml", (
            "endpoints:\n  bandit:\n    plan: split\n    policy: thompson\n"
            "    min_share: 0.1\n    arms:\n"
            f"      - {{name: good, model: {MODEL}, weight: 50}}\n"
            f"      - {{name: bad, model: {MODEL}, weight: 50}}\n"))
        with StrataServer(self.repository, ["--endpoints", endpoints,
                                            "--rollout-tick-ms", "100"]) as server:
            conn = server.connection()
            arms = []
            for i in range(400):
                status, body, _ = server.request(
                    "POST", "/v2/models/bandit/infer", {"inputs": request(i % KEYS)["inputs"][1:]},
                    {"Content-Type": "application/json"}, conn)
                self.assertEqual(status, 200, body)
                arm = body["parameters"]["arm"]
                arms.append(arm)
                status, answer, _ = server.request(
                    "POST", "/v2/models/bandit/feedback",
                    {"id": body["id"], "reward": 1 if arm == "good" else 0},
                    {"Content-Type": "application/json"}, conn)
                self.assertEqual(status, 200, answer)
            conn.close()
        self.assertGreater(arms[:50].count("bad"), 5)  # both arms served at first
        late = arms[-150:]
        self.assertGreater(late.count("good"), 105, late.count("good"))  # about 90%
        self.assertGreater(late.count("bad"), 0)  # the floor keeps the other arm served

    def refused(self, text):
        endpoints = self.write_endpoints("bad.yaml", text)
        code, out, err = run_strata("serve", "-r", self.repository, "--endpoints", endpoints,
                                    "--port", "0", "--grpc-port", "0", timeout=60)
        self.assertEqual(code, 2, out + err)
        return out + err

    def test_unknown_endpoints_and_cycles_stop_the_start(self):
        err = self.refused("endpoints:\n  ab:\n    plan: split\n    arms:\n"
                           "      - {name: x, endpoint: nowhere, weight: 1}\n")
        self.assertIn("endpoint 'ab': arm 'x' names the endpoint 'nowhere', which the file "
                      "does not declare", err)
        err = self.refused("endpoints:\n"
                           "  a: {plan: split, arms: [{name: x, endpoint: b, weight: 1}]}\n"
                           "  b: {plan: split, arms: [{name: y, endpoint: a, weight: 1}]}\n")
        self.assertIn("its arms lead back to it: a -> b -> a", err)


if __name__ == "__main__":
    unittest.main()
