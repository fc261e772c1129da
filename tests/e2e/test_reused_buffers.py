"""End-to-end tests of reused storage (issue 17, item 1): decoded inputs, the dense engine's
outputs and response bodies are written into buffers earlier requests gave back
(src/core/buffer_pool.h). Whatever came before, an answer holds only its own request's
values: the same row answers the same after requests of other sizes (over the pool's 64 KiB
cap included), over REST and gRPC (typed and raw) in turn, and concurrent requests merged
into one batch each get their own rows back."""
import os
import random
import shutil
import tempfile
import threading
import unittest

import numpy as np

from harness.protocol_clients import GrpcClient
from harness.repositories import EXAMPLES
from harness.strata_server import StrataServer

DIGITS = "digits_mlp"
BATCHED = "digits_batched"
TOLERANCE = 1e-5


def make_repository(root):
    models = os.path.join(root, "models")
    shutil.copytree(os.path.join(EXAMPLES, DIGITS), os.path.join(models, DIGITS))
    shutil.copytree(os.path.join(EXAMPLES, DIGITS), os.path.join(models, BATCHED))
    with open(os.path.join(models, BATCHED, "config.yaml"), "a") as f:
        f.write("dynamic_batching: {max_queue_delay_us: 20000, preferred_batch_sizes: [8]}\n")


def rows(count, seed):
    generator = random.Random(seed)
    return np.array([[generator.uniform(0, 1) for _ in range(64)] for _ in range(count)],
                    dtype=np.float32)


class ReusedBuffersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="strata-reuse-")
        make_repository(cls.root)
        cls.server = StrataServer(cls.root).__enter__()
        cls.grpc = GrpcClient(cls.server.grpc_port)

    @classmethod
    def tearDownClass(cls):
        cls.grpc.close()
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.root, ignore_errors=True)

    def rest(self, model, batch):
        body = {"inputs": [{"name": "pixels", "datatype": "FP32", "shape": list(batch.shape),
                            "data": batch.flatten().tolist()}]}
        status, answer, _ = self.server.infer(model, body)
        self.assertEqual(status, 200, answer)
        return {o["name"]: np.array(o["data"], dtype=np.float32).reshape(o["shape"])
                for o in answer["outputs"]}

    def via_grpc(self, batch, raw):
        response = self.grpc.infer(DIGITS, [("pixels", "FP32", batch)], raw=raw)
        return {name: np.asarray(value, dtype=np.float32)
                for name, value in GrpcClient.outputs(response).items()}

    def test_a_row_answers_the_same_whatever_came_before(self):
        row = rows(1, "x")
        first = self.rest(DIGITS, row)
        for count, seed in ((3, "a"), (300, "large"), (1, "b"), (64, "c")):
            answer = self.rest(DIGITS, rows(count, seed))
            self.assertEqual(answer["probabilities"].shape, (count, 10))
            again = self.rest(DIGITS, row)
            for name in ("logits", "probabilities"):
                np.testing.assert_array_equal(again[name], first[name], f"after {count} rows")

    def test_rest_and_grpc_in_turn_answer_alike(self):
        row = rows(1, "y")
        want = self.rest(DIGITS, row)
        for _ in range(3):
            for raw in (True, False):
                got = self.via_grpc(row, raw)
                self.rest(DIGITS, rows(5, "between"))
                for name in ("logits", "probabilities"):
                    np.testing.assert_array_equal(got[name], want[name], f"raw={raw}")

    def test_concurrent_requests_in_one_batch_get_their_own_rows(self):
        singles = [rows(1, f"row{i}") for i in range(16)]
        want = [self.rest(DIGITS, single)["probabilities"] for single in singles]
        got = [None] * len(singles)

        def ask(i):
            got[i] = self.rest(BATCHED, singles[i])["probabilities"]

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(singles))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for i, (g, w) in enumerate(zip(got, want)):
            self.assertIsNotNone(g, i)
            self.assertLessEqual(float(np.abs(g - w).max()), TOLERANCE, f"request {i}")
            self.assertEqual(int(g.argmax()), int(w.argmax()), f"request {i}")


if __name__ == "__main__":
    unittest.main()
