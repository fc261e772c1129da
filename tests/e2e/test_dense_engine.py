"""End-to-end tests of the dense engine (issue 17, item 1) against the real binary and
PyTorch itself: the example digits MLP served on the engine, the same model forced onto
LibTorch (`engine: libtorch`), and a convolution that falls back to LibTorch with the
reason in the log. Answers to random batches of 1, 7 and 64 rows must agree with the
saved module's own forward() within 1e-5 x max(1, the output's largest |value|), with the
same argmax in every row (docs/serving.md, "The dense engine")."""
import os
import random
import shutil
import tempfile
import unittest

import torch

from harness.repositories import EXAMPLES
from harness.strata_server import StrataServer

TOLERANCE = 1e-5
DIGITS = "digits_mlp"


class Conv(torch.nn.Module):
    """A 4x4 image as 16 columns, one 3x3 convolution with 2 channels: 8 outputs."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.conv(x.view(-1, 1, 4, 4)), 1)


CONV_CONFIG = """backend: torchscript
max_batch_size: 64
inputs:
  - {name: x, datatype: FP32, shape: [-1, 16]}
outputs:
  - {name: y, datatype: FP32, shape: [-1, 8]}
"""


def make_repository(root):
    models = os.path.join(root, "models")
    shutil.copytree(os.path.join(EXAMPLES, DIGITS), os.path.join(models, DIGITS))
    forced = os.path.join(models, "digits_libtorch")
    shutil.copytree(os.path.join(EXAMPLES, DIGITS), forced)
    with open(os.path.join(forced, "config.yaml"), "a") as f:
        f.write("  engine: libtorch\n")
    os.makedirs(os.path.join(models, "conv", "1"))
    with open(os.path.join(models, "conv", "config.yaml"), "w") as f:
        f.write(CONV_CONFIG)
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(Conv().eval()), os.path.join(models, "conv", "1", "model.pt"))
    return root


def scaled_difference(got, want):
    scale = max(1.0, float(want.abs().max()))
    return float((got - want).abs().max()) / scale


class DenseEngineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="strata-dense-")
        make_repository(cls.root)
        cls.server = StrataServer(cls.root).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.root, ignore_errors=True)

    def torch_module(self, model):
        module = torch.jit.load(os.path.join(self.root, "models", model, "1", "model.pt"))
        return module.eval()

    def served(self, model, name, rows):
        body = {"inputs": [{"name": name, "datatype": "FP32", "shape": list(rows.shape),
                            "data": rows.flatten().tolist()}]}
        status, answer, _ = self.server.infer(model, body)
        self.assertEqual(status, 200, answer)
        return {o["name"]: torch.tensor(o["data"]).reshape(o["shape"]) for o in answer["outputs"]}

    def expect_agreement(self, model, name, width, outputs):
        module = self.torch_module(model)
        generator = random.Random(model)
        for count in (1, 7, 64):
            rows = torch.tensor([[generator.uniform(0, 1) for _ in range(width)]
                                 for _ in range(count)], dtype=torch.float32)
            with torch.no_grad():
                want = module(rows)
            want = want if isinstance(want, dict) else {outputs[0]: want}
            got = self.served(model, name, rows)
            for output in outputs:
                self.assertEqual(list(got[output].shape), list(want[output].shape))
                self.assertLessEqual(scaled_difference(got[output], want[output]), TOLERANCE,
                                     f"{model} {output} {count} rows")
                self.assertTrue(torch.equal(got[output].argmax(1), want[output].argmax(1)),
                                f"{model} {output} {count} rows")

    def test_the_digits_mlp_runs_on_the_dense_engine_and_agrees_with_torch(self):
        self.assertIn(f"model '{DIGITS}' (1): on the dense engine (3 linear layers, "
                      "64 -> 128 -> 64 -> 10", self.server.log_text())
        self.expect_agreement(DIGITS, "pixels", 64, ["logits", "probabilities"])

    def test_engine_libtorch_keeps_the_model_on_libtorch(self):
        self.assertNotIn("model 'digits_libtorch' (1): on the dense engine", self.server.log_text())
        self.expect_agreement("digits_libtorch", "pixels", 64, ["logits", "probabilities"])

    def test_a_convolution_falls_back_to_libtorch_with_the_reason_logged(self):
        self.assertIn("model 'conv' (1): aten::view that changes the shape of an [N, 16] value; "
                      "running it on LibTorch", self.server.log_text())
        self.expect_agreement("conv", "x", 16, ["y"])


if __name__ == "__main__":
    unittest.main()
