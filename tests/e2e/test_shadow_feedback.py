"""End-to-end tests of shadow traffic and feedback (`shadow:` and `feedback:` in
`strata serve --endpoints`), with real models over REST.

The breast_cancer_xgb example serves as the primary (its default version, 2)
and as an identical shadow (version 2 again; version 1 is the same model file). `constant_slow`, a TorchScript
model written here, answers 0.99 for every row after a few milliseconds of fixed
work: a shadow that disagrees with XGBoost exactly on the rows XGBoost calls
class 0, and slow enough that a queue of one copy overflows under load.

- A shadow at 100% with a one-copy queue under 6 concurrent clients: every
  primary request is answered with XGBoost's own probabilities, copies are
  dropped and counted, requests + dropped = calls.
- Admission: a slow primary under 6 concurrent clients with `max_in_flight: 1` sheds
  copies before making them (reason `primary_busy`), never fills its 1,000-copy queue,
  and requests + dropped = calls, in /metrics and in GET .../experiment.
- Agreement: the identical shadow differs on 0 rows; constant_slow on exactly
  the samples XGBoost calls class 0, in /metrics and in GET .../experiment.
- A table shadow (`live_model: true`) on a hybrid endpoint recomputes the rows
  its table answered, and only those: 0 differ (the table is the live version's).
- Feedback joins to predictions by request id per arm (JSON, /metrics and the
  status page); unknown ids are 404
  (one) or counted (list form); a request without an id gets one.
- `strata experiment report`: simulated feedback with known rates (arm A right
  with p = 0.9, arm B with p = 0.6, 2,000 rows each) gives intervals that hold
  the true rates and a significant difference; equal rates (0.75) do not."""
import json
import os
import random
import shutil
import tempfile
import unittest

from harness import xgb_example
from harness.load_clients import LoadClients
from harness.metrics import metric, parse_metrics
from harness.repositories import EXAMPLES
from harness.strata_server import StrataServer, run_strata
from harness.waiting import wait_for

MODEL = xgb_example.MODEL
SLOW = "constant_slow"
ROWS_PER_CALL = 50
CALLS_PER_ARM = 40  # 2,000 rows per arm
TABLE_KEYS = 50  # the hybrid endpoint's table holds ids 0..49

ENDPOINTS = f"""endpoints:
  same:
    plan: dynamic
    model: {MODEL}
    shadow: {{model: {MODEL}, version: 2, share: 1.0, queue: 1000}}
  different:
    plan: dynamic
    model: {MODEL}
    shadow: {{model: {SLOW}, share: 1.0, queue: 1000}}
  tiny:
    plan: dynamic
    model: {MODEL}
    shadow: {{model: {SLOW}, share: 1.0, queue: 1, max_in_flight: 0, cpu_share: 1}}
  busy:
    plan: dynamic
    model: {SLOW}
    shadow: {{model: {MODEL}, share: 1.0, queue: 1000, max_in_flight: 1}}
  ab:
    plan: split
    arms:
      - {{name: stable, model: {MODEL}, version: 1, weight: 50}}
      - {{name: canary, model: {SLOW}, weight: 50}}
  sim:
    plan: split
    arms:
      - {{name: A, model: {MODEL}, version: 1, weight: 50}}
      - {{name: B, model: {MODEL}, version: 2, weight: 50}}
    feedback: {{retention: 1000, max_age: 600s}}
  headed:
    plan: hybrid
    table: head
    key: [id]
    model: {MODEL}
    cache: {{max_bytes: 0}}
    shadow: {{live_model: true, share: 1.0}}
  sim_equal:
    plan: split
    arms:
      - {{name: A, model: {MODEL}, version: 1, weight: 50}}
      - {{name: B, model: {MODEL}, version: 2, weight: 50}}
"""


def write_constant_slow(model_dir):
    """A TorchScript model: probability 0.99 for every row, after 150 chained
    30x30 products (a few ms)."""
    import torch

    class ConstantSlow(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.eye(30) * 0.5, requires_grad=False)

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            z = features
            for _ in range(150):
                z = torch.tanh(z @ self.w)
            return torch.full([features.shape[0]], 0.99) + 0.0 * z.sum()

    os.makedirs(os.path.join(model_dir, "1"))
    torch.jit.save(torch.jit.script(ConstantSlow()), os.path.join(model_dir, "1", "model.pt"))
    with open(os.path.join(model_dir, "config.yaml"), "w") as f:
        f.write("backend: torchscript\nmax_batch_size: 1024\n"
                "inputs:\n  - {name: features, datatype: FP32, shape: [-1, 30]}\n"
                "outputs:\n  - {name: probability, datatype: FP32, shape: [-1]}\n"
                "parameters:\n  threads: 1\n")


def body(rows, request_id=None):
    b = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [len(rows), 30],
                     "data": [v for row in rows for v in row]}]}
    if request_id is not None:
        b["id"] = request_id
    return b


class ShadowFeedbackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-shadow-")
        repository = os.path.join(cls.dir, "repo")
        model_dir = os.path.join(repository, "models", MODEL)
        source = os.path.join(EXAMPLES, MODEL)
        for version in ("1", "2"):
            os.makedirs(os.path.join(model_dir, version))
            shutil.copy(os.path.join(source, "1", "model.json"), os.path.join(model_dir, version))
        with open(os.path.join(source, "config.yaml")) as f, \
                open(os.path.join(model_dir, "config.yaml"), "w") as out:
            out.write(f.read() + "version_policy: all\n")
        write_constant_slow(os.path.join(repository, "models", SLOW))
        head = os.path.join(cls.dir, "head.csv")
        xgb_example.write_csv(head, TABLE_KEYS)
        code, _, err = run_strata(
            "batch", "-r", repository, "-m", MODEL, "--progress", "off", *xgb_example.MAP,
            "-i", head, "-k", "id:INT64", "-t", "head", "--job-id", "1")
        assert code == 0, err
        endpoints = os.path.join(cls.dir, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write(ENDPOINTS)
        cls.rows, cls.expected = xgb_example.samples()
        cls.server = StrataServer(repository, ["--endpoints", endpoints]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.dir)

    def metrics(self):
        conn = self.server.connection()
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        return parse_metrics(text)

    def experiment(self, endpoint):
        status, answer, _ = self.server.request("GET", f"/v2/models/{endpoint}/experiment")
        self.assertEqual(status, 200, answer)
        return answer

    def infer(self, endpoint, rows, request_id=None, headers=None, conn=None):
        status, answer, _ = self.server.request(
            "POST", f"/v2/models/{endpoint}/infer", body(rows, request_id),
            {"Content-Type": "application/json", **(headers or {})}, conn)
        self.assertEqual(status, 200, answer)
        return answer

    def feedback(self, endpoint, payload):
        return self.server.request("POST", f"/v2/models/{endpoint}/feedback", payload,
                                   {"Content-Type": "application/json"})

    def check_xgb_answer(self, answer, rows_expected):
        got = answer["outputs"][0]["data"]
        self.assertEqual(len(got), len(rows_expected))
        for g, e in zip(got, rows_expected):
            self.assertAlmostEqual(g, e, places=5)

    def test_tiny_queue_drops_under_load_and_every_primary_answer_is_right(self):
        calls_per_client = 120

        def client(index, stop):
            conn = self.server.connection()
            try:
                for i in range(calls_per_client):
                    k = (index * 7 + i) % len(self.rows)
                    yield k, self.infer("tiny", [self.rows[k]], conn=conn)
            finally:
                conn.close()

        with LoadClients(6, client) as load:
            load.wait()
        load.check(self, min_records_per_client=calls_per_client)
        for _, (k, answer) in load.records():
            self.check_xgb_answer(answer, [self.expected[k]])
        calls = 6 * calls_per_client
        shadow = f"{SLOW}@default"

        def settled():
            m = self.metrics()
            sent = metric(m, "strata_shadow_requests_total", endpoint="tiny", shadow=shadow)
            dropped = metric(m, "strata_shadow_dropped_total", endpoint="tiny", shadow=shadow)
            return (sent, dropped) if sent + dropped == calls else None

        sent, dropped = wait_for(settled)
        self.assertGreater(dropped, 0)
        self.assertGreater(sent, 0)
        # One copy at a time of a slow shadow: its queue of one is full (a few may also be
        # over its CPU share, which counts the shadow's call time, waits included).
        self.assertGreater(metric(self.metrics(), "strata_shadow_dropped_total",
                                  endpoint="tiny", shadow=shadow, reason="queue_full"), 0)
        traffic = self.experiment("tiny")["shadow_traffic"][0]
        self.assertEqual(traffic["requests"] + traffic["dropped"], calls)
        self.assertEqual(sum(traffic["dropped_by"].values()), traffic["dropped"])
        self.assertEqual(traffic["dropped_by"]["primary_busy"], 0)  # max_in_flight: 0
        self.assertEqual(traffic["errors"], 0)

    def test_a_busy_primary_sheds_copies_before_making_them(self):
        calls_per_client = 40

        def client(index, stop):
            conn = self.server.connection()
            try:
                for i in range(calls_per_client):
                    yield i, self.infer("busy", [self.rows[(index + i) % len(self.rows)]],
                                        conn=conn)
            finally:
                conn.close()

        with LoadClients(6, client) as load:
            load.wait()
        load.check(self, min_records_per_client=calls_per_client)
        calls = 6 * calls_per_client
        shadow = f"{MODEL}@default"

        def settled():
            m = self.metrics()
            sent = metric(m, "strata_shadow_requests_total", endpoint="busy", shadow=shadow)
            dropped = metric(m, "strata_shadow_dropped_total", endpoint="busy", shadow=shadow)
            return m if sent + dropped == calls else None

        m = wait_for(settled)
        busy = metric(m, "strata_shadow_dropped_total", endpoint="busy", shadow=shadow,
                      reason="primary_busy")
        self.assertGreater(busy, 0)  # 6 clients of a slow primary: more than 1 in flight
        self.assertEqual(metric(m, "strata_shadow_dropped_total", endpoint="busy",
                                shadow=shadow, reason="queue_full"), 0)
        traffic = self.experiment("busy")["shadow_traffic"][0]
        self.assertEqual(traffic["dropped_by"]["primary_busy"], busy)
        self.assertEqual(traffic["dropped_by"]["queue_full"], 0)
        self.assertEqual(traffic["requests"] + traffic["dropped"], calls)

    def test_agreement_of_an_identical_and_a_different_shadow(self):
        for endpoint in ("same", "different"):
            self.check_xgb_answer(self.infer(endpoint, self.rows), self.expected)
        class0 = sum(1 for p in self.expected if p < 0.5)
        self.assertGreater(class0, 0)

        def pair(endpoint):
            shadows = self.experiment(endpoint)["shadows"]
            return shadows[0] if shadows and shadows[0]["rows"] == len(self.rows) else None

        same = wait_for(lambda: pair("same"))
        self.assertEqual(same["primary"], "2")  # the default version: the newest
        self.assertEqual(same["shadow"], f"{MODEL}@2")
        self.assertEqual(same["disagreeing_rows"], 0)
        self.assertEqual(same["score_difference_buckets"][0]["rows"], len(self.rows))
        different = wait_for(lambda: pair("different"))
        self.assertEqual(different["disagreeing_rows"], class0)
        mean = sum(abs(p - 0.99) for p in self.expected) / len(self.expected)
        self.assertAlmostEqual(different["score_difference_mean"], mean, places=4)
        m = self.metrics()
        labels = {"endpoint": "different", "primary": "2", "shadow": f"{SLOW}@default"}
        self.assertEqual(metric(m, "strata_shadow_disagreeing_rows_total", **labels), class0)
        self.assertEqual(metric(m, "strata_shadow_rows_total", **labels), len(self.rows))
        self.assertEqual(metric(m, "strata_shadow_score_difference_count", **labels),
                         len(self.rows))
        self.assertEqual(metric(m, "strata_shadow_disagreeing_rows_total", endpoint="same",
                                primary="2", shadow=f"{MODEL}@2"), 0)

    def test_table_shadow_recomputes_only_the_table_rows(self):
        ids = list(range(80))  # 50 from the table, 30 from the model
        features = [x for row in xgb_example.feature_rows(ids) for x in row]
        status, answer, _ = self.server.request(
            "POST", "/v2/models/headed/infer",
            {"inputs": [{"name": "id", "datatype": "INT64", "shape": [80], "data": ids},
                        {"name": "features", "datatype": "FP32", "shape": [80, 30],
                         "data": features}]}, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, answer)
        layers = next(o["data"] for o in answer["outputs"] if o["name"] == "layer")
        self.assertEqual(layers.count("table"), TABLE_KEYS)

        def pair():
            shadows = self.experiment("headed")["shadows"]
            return shadows[0] if shadows else None

        live = wait_for(pair)
        self.assertEqual(live["shadow"], "live")
        self.assertEqual(live["rows"], TABLE_KEYS)  # the model's 30 rows are not compared
        self.assertEqual(live["disagreeing_rows"], 0)  # the table is the live version's
        self.assertEqual(live["score_difference_buckets"][0]["rows"], TABLE_KEYS)

    def test_feedback_joins_per_arm(self):
        labels = [1 if p >= 0.5 else 0 for p in self.expected]
        for arm in ("stable", "canary"):
            for k, row in enumerate(self.rows):
                answer = self.infer("ab", [row], request_id=f"{arm}-{k}",
                                    headers={"x-strata-arm": arm})
                self.assertEqual(answer["id"], f"{arm}-{k}")
            items = [{"id": f"{arm}-{k}", "label": labels[k]} for k in range(len(self.rows))]
            status, answer, _ = self.feedback("ab", {"feedback": items})
            self.assertEqual(status, 200, answer)
            self.assertEqual((answer["joined"], answer["unmatched"]), (len(self.rows), 0))
        report = {a["arm"]: a for a in self.experiment("ab")["arms"]}
        self.assertEqual(report["stable"]["version"], "1")
        self.assertEqual(report["stable"]["correct"], len(self.rows))  # its own classes
        self.assertEqual(report["canary"]["correct"], sum(labels))  # always class 1
        m = self.metrics()
        self.assertEqual(metric(m, "strata_feedback_accuracy", endpoint="ab", arm="stable"), 1.0)
        self.assertAlmostEqual(metric(m, "strata_feedback_accuracy", endpoint="ab", arm="canary"),
                               sum(labels) / len(labels))
        self.assertEqual(metric(m, "strata_feedback_auc", endpoint="ab", arm="stable"), 1.0)
        conn = self.server.connection()
        conn.request("GET", "/")
        page = conn.getresponse().read().decode()
        conn.close()
        self.assertIn("Experiments (feedback and shadows)", page)
        self.assertIn(f"stable@1: accuracy 1.000 (n={len(self.rows)})", page)

    def test_unmatched_feedback_and_assigned_ids(self):
        status, answer, _ = self.feedback("ab", {"id": "never-sent", "label": 1})
        self.assertEqual(status, 404)
        self.assertIn("never-sent", answer["error"])
        status, answer, _ = self.feedback("ab", {"feedback": [{"id": "x", "label": 1},
                                                              {"id": "y", "reward": 0.5}]})
        self.assertEqual(status, 200)
        self.assertEqual((answer["joined"], answer["unmatched"]), (0, 2))
        self.assertGreaterEqual(metric(self.metrics(), "strata_feedback_unmatched_total",
                                       endpoint="ab"), 3)
        status, answer, _ = self.feedback("ab", {"id": "x"})
        self.assertEqual(status, 400)
        self.assertIn("label or reward", answer["error"])
        status, answer, _ = self.feedback("same", {"id": "x", "label": 1})
        self.assertEqual(status, 404)
        self.assertIn("does not take feedback", answer["error"])
        answer = self.infer("ab", [self.rows[0]], headers={"x-strata-arm": "stable"})
        self.assertTrue(answer["id"].startswith("strata-"), answer)
        status, joined, _ = self.feedback("ab", {"id": answer["id"], "reward": 0.25})
        self.assertEqual(status, 200, joined)
        self.assertEqual(joined["joined"], 1)

    def simulate(self, endpoint, rates, seed):
        """Sends CALLS_PER_ARM calls of ROWS_PER_CALL rows per arm, then per-row
        feedback that agrees with the predicted class with probability rates[arm]."""
        rng = random.Random(seed)
        conn = self.server.connection()
        items = []
        for arm, rate in rates.items():
            for c in range(CALLS_PER_ARM):
                ids = [c * ROWS_PER_CALL + j for j in range(ROWS_PER_CALL)]
                rid = f"{arm}-{c}"
                answer = self.infer(endpoint, xgb_example.feature_rows(ids), request_id=rid,
                                    headers={"x-strata-arm": arm}, conn=conn)
                for row, p in enumerate(answer["outputs"][0]["data"]):
                    predicted = 1 if p >= 0.5 else 0
                    label = predicted if rng.random() < rate else 1 - predicted
                    items.append({"id": rid, "row": row, "label": label})
        conn.close()
        status, answer, _ = self.feedback(endpoint, {"feedback": items})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["unmatched"], 0)
        code, out, err = run_strata("experiment", "report", endpoint, "--url",
                                    f"http://127.0.0.1:{self.server.port}", "--json")
        self.assertEqual(code, 0, err)
        return json.loads(out)

    def test_report_intervals_hold_known_rates(self):
        report = self.simulate("sim", {"A": 0.9, "B": 0.6}, seed=14)
        arms = {a["arm"]: a["figures"]["accuracy"] for a in report["arms"]}
        for arm, rate in (("A@1", 0.9), ("B@2", 0.6)):
            self.assertEqual(arms[arm]["n"], CALLS_PER_ARM * ROWS_PER_CALL)
            self.assertLessEqual(arms[arm]["low"], rate, arms[arm])
            self.assertGreaterEqual(arms[arm]["high"], rate, arms[arm])
        accuracy = [d for d in report["differences"] if d["figure"] == "accuracy"]
        self.assertEqual(len(accuracy), 1)
        self.assertTrue(accuracy[0]["significant"], accuracy[0])
        self.assertLess(accuracy[0]["p_value"], 1e-6)
        self.assertLess(accuracy[0]["difference"], -0.2)
        code, text, _ = run_strata("experiment", "report", "sim", "--url",
                                   f"http://127.0.0.1:{self.server.port}")
        self.assertEqual(code, 0)
        self.assertIn("B@2 vs A@1: accuracy", text)
        self.assertIn(": significant", text)

    def test_report_equal_rates_are_not_significant(self):
        report = self.simulate("sim_equal", {"A": 0.75, "B": 0.75}, seed=15)
        arms = {a["arm"]: a["figures"]["accuracy"] for a in report["arms"]}
        for arm in ("A@1", "B@2"):
            self.assertLessEqual(arms[arm]["low"], 0.75)
            self.assertGreaterEqual(arms[arm]["high"], 0.75)
        accuracy = [d for d in report["differences"] if d["figure"] == "accuracy"][0]
        self.assertFalse(accuracy["significant"], accuracy)
        self.assertGreater(accuracy["p_value"], 0.05)


if __name__ == "__main__":
    unittest.main()
