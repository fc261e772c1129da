"""End-to-end tests of rollouts that judge themselves (`strata rollout`) on a
split endpoint served by the real binary: TorchScript versions of one model
`m` are the stable arm (version 1, y = 2x) and the candidates: version 2 the
same (healthy), version 3 raises on every call, version 4 about ten times
slower; each version is warmed up as it loads, so a cold candidate is not
mistaken for a slow one. Rollouts are judged every 100 ms with steps of about a second, so
each test runs in seconds. A good candidate is promoted through every step
while each key only ever moves from the stable to the candidate version; a
failing and a slow candidate are rolled back in a bounded time with no
failure for the keys on the stable arm; at one request a second a healthy
candidate holds its step; a candidate that never gets ready is rolled back;
after SIGKILL and a restart the rollout resumes at its step."""
import io
import json
import os
import random
import shutil
import signal
import tempfile
import threading
import time
import unittest

import torch

from harness.strata_server import StrataServer, run_strata
from harness.waiting import wait_for

KEYS = 400


class Double(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


class Fails(torch.nn.Module):
    """Fails every call but the warm-up's (zeros)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.abs().sum() > 0):
            raise RuntimeError("this candidate fails every call")
        return x * 2


class Flip(torch.nn.Module):
    """Answers without errors, but swaps the two scores: the wrong class."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x[:, 1], x[:, 0]], dim=1) * 2


class Slow(torch.nn.Module):
    """y = 2x after about 40 ms of fixed work (chained 512x512 products), ten
    times the stable arm's p99 on a busy machine and more on a quiet one."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(512, 512, generator=g) / 30.0,
                                    requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.ones(1, 512)
        for _ in range(400):
            z = torch.tanh(z @ self.w)
        return x * 2.0 + 0.0 * z.sum()


CONFIG = """backend: torchscript
max_batch_size: 64
inputs:
  - {name: x, datatype: FP32, shape: [-1, 2]}
outputs:
  - {name: y, datatype: FP32, shape: [-1, 2]}
parameters:
  threads: 1
version_policy: all
warmup: {generate: zeros, count: 5}
"""

ENDPOINTS = """endpoints:
  ab:
    plan: split
    sticky_key: user_id
    arms:
      - {name: stable, model: m, version: 1, weight: 100}
"""


SAMPLE = {"request": {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2],
                                  "data": [1, 2]}]},
          "expected": {"outputs": [{"name": "y", "datatype": "FP32", "shape": [1, 2],
                                    "data": [2, 4]}]}}


def body(key):
    return {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]},
                       {"name": "user_id", "datatype": "INT64", "shape": [1], "data": [key]}]}


class Traffic:
    """Requests to `ab` on a thread of its own, key after key, at most `rate` a
    second (None: as fast as one connection goes). Records (key, status, arm,
    version, wall time in ms) per request."""

    def __init__(self, server, rate=None, label_one=None):
        self.server, self.rate, self.label_one = server, rate, label_one
        self.random = random.Random(7)
        self.results = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()

    def run(self):
        conn = self.server.connection()
        key = 0
        while not self.stop_event.is_set():
            status, answer, _ = self.server.request(
                "POST", "/v2/models/ab/infer", body(key % KEYS),
                {"Content-Type": "application/json"}, conn)
            params = (answer or {}).get("parameters", {}) if status == 200 else {}
            if status == 200 and self.label_one is not None:
                self.send_feedback(conn, answer["id"])
            self.results.append((key % KEYS, status, params.get("arm"),
                                 params.get("model_version"), time.time() * 1000))
            key += 1
            if self.rate:
                self.stop_event.wait(1.0 / self.rate)
        conn.close()


    def send_feedback(self, conn, request_id):
        """The observed outcome: class 1 with probability `label_one`
        (what version 1 predicts for every request; Flip predicts 0)."""
        label = int(self.random.random() < self.label_one)
        status, answer, _ = self.server.request(
            "POST", "/v2/models/ab/feedback", {"id": request_id, "label": label},
            {"Content-Type": "application/json"}, conn)
        assert status == 200, (status, answer)


class RolloutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-rollout-")
        cls.repository = os.path.join(cls.dir, "repo")
        model_dir = os.path.join(cls.repository, "models", "m")
        for version, module in ((1, Double()), (2, Double()), (3, Fails()), (4, Slow()),
                                (5, Fails()), (6, Flip())):
            os.makedirs(os.path.join(model_dir, str(version)))
            buffer = io.BytesIO()
            torch.jit.save(torch.jit.script(module), buffer)
            with open(os.path.join(model_dir, str(version), "model.pt"), "wb") as f:
                f.write(buffer.getvalue())
        # Versions 2 and 5 ship samples: their rollouts run the pre-traffic
        # checks (docs/checks.md), which 2 passes and 5 fails.
        for version in (2, 5):
            with open(os.path.join(model_dir, str(version), "samples.json"), "w") as f:
                json.dump(SAMPLE, f)
        with open(os.path.join(model_dir, "config.yaml"), "w") as f:
            f.write(CONFIG)
        cls.endpoints = os.path.join(cls.dir, "strata.yaml")
        with open(cls.endpoints, "w") as f:
            f.write(ENDPOINTS)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def setUp(self):
        self.state_dir = tempfile.mkdtemp(prefix="state-", dir=self.dir)

    def serve(self):
        return StrataServer(self.repository, ["--endpoints", self.endpoints, "--control-api",
                                              "--state-dir", self.state_dir,
                                              "--rollout-tick-ms", "100"])

    def start(self, server, candidate, steps, *extra):
        code, out, err = run_strata("rollout", "start", "ab", "--candidate", candidate,
                                    "--steps", steps, "--url", f"http://127.0.0.1:{server.port}",
                                    *extra)
        self.assertEqual(code, 0, err)
        return out

    def status(self, server):
        status, answer, _ = server.request("GET", "/v2/repository/endpoints/ab/rollout")
        self.assertEqual(status, 200, answer)
        return answer

    def wait_status(self, server, wanted, timeout):
        return wait_for(lambda: (lambda s: s if s["status"] in wanted else None)(
            self.status(server)), timeout)

    def metric(self, server, prefix):
        conn = server.connection()
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        for line in text.splitlines():
            if line.startswith(prefix):
                return float(line.rsplit(" ", 1)[1])
        return None

    def assert_only_the_stable_arm(self, server, version):
        """Once a rollout is over, the split has no canary arm (forcing it is
        a 400 naming the arms) and the stable arm answers at `version`."""
        status, answer, _ = server.request(
            "POST", "/v2/models/ab/infer", body(1),
            {"Content-Type": "application/json", "x-strata-arm": "canary"})
        self.assertEqual(status, 400, answer)
        self.assertIn("its arms: stable", answer["error"])
        status, answer, _ = server.request("POST", "/v2/models/ab/infer", body(2),
                                           {"Content-Type": "application/json"})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["parameters"]["arm"], "stable")
        self.assertEqual(answer["parameters"]["model_version"], version)

    def test_a_good_candidate_is_promoted_through_every_step_and_keys_stay_sticky(self):
        with self.serve() as server, Traffic(server) as traffic:
            self.start(server, "m@2", "20:1s:40,50:1s:40,100")
            done = self.wait_status(server, ("promoted", "rolled_back", "failed"), 60)
            self.assertEqual(done["status"], "promoted", done)
            history = [e["what"] for e in done["history"]]
            self.assertTrue(any(h.startswith("step 1 at 20%") for h in history), history)
            self.assertTrue(any(h.startswith("step 2 at 50%") for h in history), history)
            self.assert_only_the_stable_arm(server, "2")
        self.assertTrue(all(status == 200 for _, status, _, _, _ in traffic.results))
        # Stickiness: a key's version only ever goes from 1 to 2, never back.
        seen = {}
        for key, _, _, version, _ in traffic.results:
            if seen.get(key) == "2":
                self.assertEqual(version, "2", f"key {key} went back to the stable version")
            seen[key] = version
        self.assertGreater(sum(1 for v in seen.values() if v == "2"), 0)

    def test_a_candidate_failing_its_checks_never_gets_traffic(self):
        with self.serve() as server, Traffic(server) as traffic:
            self.start(server, "m@5", "50:1s:1,100")
            done = self.wait_status(server, ("promoted", "rolled_back", "failed"), 60)
            self.assertEqual(done["status"], "failed", done)
            self.assertIn("pre-traffic checks failed: functional", done["reason"])
            after = len(traffic.results)
            wait_for(lambda: len(traffic.results) > after + 50)
        self.assertTrue(traffic.results)
        self.assertTrue(all(s == 200 and arm == "stable" and v == "1"
                            for _, s, arm, v, _ in traffic.results), traffic.results[-5:])

    def check_rolled_back(self, candidate, gate, bound_s, *gates):
        with self.serve() as server, Traffic(server) as traffic:
            began = time.monotonic()
            self.start(server, candidate, "20:30s:40,100", *gates)
            done = self.wait_status(server, ("promoted", "rolled_back", "failed"), 30)
            took = time.monotonic() - began
            self.assertEqual(done["status"], "rolled_back", done)
            self.assertIn(f"gate {gate} failed", done["reason"])
            self.assertLess(took, bound_s)
            self.assertEqual(self.metric(server, 'strata_rollout_rollbacks_total{endpoint="ab"}'),
                             1)
            self.assertEqual(self.metric(
                server, 'strata_rollout_state{endpoint="ab",state="rolled_back"}'), 1)
            self.assert_only_the_stable_arm(server, "1")
            after = len(traffic.results)
            wait_for(lambda: len(traffic.results) > after + 200)
        # While the candidate had its share (from step 1 to the roll back), a
        # key the stable arm answered never failed; after the roll back the
        # stable version answers every request.
        began_ms = next(e["unix_ms"] for e in done["history"] if e["what"].startswith("step 1"))
        ended_ms = done["history"][-1]["unix_ms"]
        during = [r for r in traffic.results if began_ms + 5 < r[4] < ended_ms - 5]
        stable_keys = {k for k, s, arm, _, _ in during if arm == "stable"}
        failed = [k for k, s, _, _, _ in during if s != 200]
        self.assertFalse(stable_keys & set(failed))
        # (The one request in flight at the roll back may still be the candidate's.)
        self.assertTrue(all(s == 200 and v == "1"
                            for _, s, _, v, _ in traffic.results[after + 1:]))
        return failed

    def test_a_failing_candidate_is_rolled_back_and_stable_clients_see_no_failure(self):
        failed = self.check_rolled_back("m@3", "error", 10)
        self.assertGreater(len(failed), 0)  # the canary's share did fail, briefly

    def test_a_candidate_answering_wrongly_is_rolled_back_on_feedback(self):
        with self.serve() as server, Traffic(server, label_one=0.9) as traffic:
            began = time.monotonic()
            self.start(server, "m@6", "50:30s:40,100", "--gate", "error", "--gate", "quality",
                       "--gate", "min-samples:30")
            done = self.wait_status(server, ("promoted", "rolled_back", "failed"), 60)
            took = time.monotonic() - began
        self.assertEqual(done["status"], "rolled_back", done)
        self.assertIn("gate quality failed", done["reason"])
        self.assertLess(took, 30)
        # No request failed: only the answers were wrong.
        self.assertTrue(all(s == 200 for _, s, _, _, _ in traffic.results))

    def test_a_ten_times_slower_candidate_is_rolled_back(self):
        # Each slow call holds the one client connection: fewer samples
        # are enough, and the bound is wider.
        self.check_rolled_back("m@4", "latency", 20, "--gate", "error", "--gate", "latency",
                               "--gate", "min-samples:15")

    def test_low_traffic_holds_a_healthy_candidate_and_an_unready_one_is_rolled_back(self):
        with self.serve() as server:
            with Traffic(server, rate=1):
                self.start(server, "m@2", "50:1s:1,100")
                wait_for(lambda: self.status(server)["status"] == "running")
                began = time.monotonic()
                wait_for(lambda: time.monotonic() - began > 6 and
                         self.status(server)["candidate_window"]["requests"] >= 2, 20)
                now = self.status(server)
                self.assertEqual(now["status"], "running", now)
                self.assertEqual(now["step"], 1)
                self.assertIn("not enough data", now["reason"])
                verdicts = {g["gate"]: g["verdict"] for g in now["gates"]}
                self.assertEqual(verdicts, {"error": "not_enough_data",
                                            "latency": "not_enough_data"})
            code, _, err = run_strata("rollout", "abort", "ab", "--url",
                                      f"http://127.0.0.1:{server.port}")
            self.assertEqual(code, 0, err)
            # Version 9 does not exist: never ready, rolled back after its timeout.
            self.start(server, "m@9", "50:1s:1,100", "--load-timeout", "1s")
            done = self.wait_status(server, ("rolled_back", "failed", "running"), 20)
            self.assertEqual(done["status"], "rolled_back", done)
            self.assertIn("not ready within 1000 ms", done["reason"])

    def test_a_killed_server_resumes_the_rollout_at_its_step(self):
        with self.serve() as server:
            with Traffic(server):
                self.start(server, "m@2", "10:0s:5,40:600s:5,100")
                wait_for(lambda: self.status(server)["step"] == 2, 30)
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
        with self.serve() as server:
            now = self.status(server)
            self.assertEqual((now["status"], now["step"], now["weight"]), ("running", 2, 40))
            self.assertIn("resumed after a restart at step 2", now["history"][-1]["what"])
            self.assertEqual(self.metric(server, 'strata_rollout_weight{endpoint="ab"}'), 40)
            with Traffic(server) as traffic:
                wait_for(lambda: len(traffic.results) > 300)
            versions = {v for _, s, _, v, _ in traffic.results if s == 200}
            self.assertEqual(versions, {"1", "2"})
            conn = server.connection()
            conn.request("GET", "/")
            page = conn.getresponse().read().decode()
            conn.close()
            self.assertIn("<h2>Rollouts</h2>", page)
            self.assertIn("<td>m@2</td><td>running</td><td>2 of 3</td><td>40%</td>", page)


if __name__ == "__main__":
    unittest.main()
