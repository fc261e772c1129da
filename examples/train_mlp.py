#!/usr/bin/python3
"""Train the `digits_mlp` example model (PyTorch MLP exported as TorchScript).

Data: scikit-learn's bundled 8x8 digits dataset (1797 rows, 64 pixels valued 0..16,
10 classes, no download); pixels are scaled to [0, 1] by dividing by 16. Writes,
under --out (default: examples/repository):

  models/digits_mlp/config.yaml      copied from the committed example if absent/different
  models/digits_mlp/1/model.pt       torch.jit.script module:
                                     forward(pixels: Tensor[N, 64]) ->
                                       {"logits": [N, 10], "probabilities": [N, 10]}
  models/digits_mlp/1/samples.json   32 test rows + the saved module's own outputs
  models/digits_mlp/1/check/         reference.json (training probabilities' histogram) and
                                     heldout.jsonl (the test rows), for `strata check`

Deterministic: fixed split, torch.manual_seed(0), one thread, seeded shuffling;
running it twice gives byte-identical samples.json. Run with /usr/bin/python3.
"""

import time

_T0 = time.monotonic()  # includes the (slow) imports below in the reported seconds

import os
import sys

# TorchScript serialises some module constants in set-iteration order, which depends on
# Python's string hash seed; pin it so that model.pt is byte-identical across runs.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import argparse
import io
import json
import shutil
import tempfile
from typing import Dict

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from check_files import check_files

MODEL = "digits_mlp"
VERSION = "1"
N_SAMPLES = 32
SEED = 0
EPOCHS = 30
BATCH = 32
LR = 1e-3
EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(EXAMPLES_DIR, "repository")


def atomic_write(path, data):
    """Write bytes to `path` via a temp file in the same directory and os.replace."""
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_version(model_dir, version, files):
    """Write `files` (ordered list of (name, bytes)) into model_dir/version.

    A new version directory is assembled under a hidden temp name and renamed into
    place, so a repository watcher never sees a half-written version. An existing
    one has its files replaced one by one, in order (artifact before samples.json).
    """
    os.makedirs(model_dir, exist_ok=True)
    vdir = os.path.join(model_dir, version)
    if os.path.isdir(vdir):
        for name, data in files:
            atomic_write(os.path.join(vdir, name), data)
        return vdir
    tmp = tempfile.mkdtemp(dir=model_dir, prefix="." + version + ".")
    try:
        for name, data in files:
            atomic_write(os.path.join(tmp, name), data)
        os.chmod(tmp, 0o755)
        os.rename(tmp, vdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return vdir


def copy_config(out):
    """Make sure <out>/models/<MODEL>/config.yaml exists (copied from the committed one)."""
    src = os.path.join(DEFAULT_OUT, "models", MODEL, "config.yaml")
    dst = os.path.join(out, "models", MODEL, "config.yaml")
    if os.path.abspath(src) == os.path.abspath(dst) or not os.path.exists(src):
        return
    with open(src, "rb") as f:
        data = f.read()
    if os.path.exists(dst):
        with open(dst, "rb") as f:
            if f.read() == data:
                return
    atomic_write(dst, data)


def tensor(name, t):
    arr = np.asarray(t.detach().cpu().numpy() if torch.is_tensor(t) else t, dtype=np.float32)
    return {
        "name": name,
        "datatype": "FP32",
        "shape": list(arr.shape),
        "data": [float(x) for x in arr.reshape(-1)],
    }


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(64, 128), torch.nn.ReLU(),
            torch.nn.Linear(128, 64), torch.nn.ReLU(),
            torch.nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


class Served(torch.nn.Module):
    """What the server runs: named outputs as a Dict[str, Tensor]."""

    def __init__(self, mlp: MLP):
        super().__init__()
        self.mlp = mlp

    def forward(self, pixels: torch.Tensor) -> Dict[str, torch.Tensor]:
        logits = self.mlp.net(pixels)
        return {"logits": logits, "probabilities": torch.softmax(logits, dim=1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="repository root (default: %(default)s)")
    args = ap.parse_args()

    torch.manual_seed(SEED)
    torch.set_num_threads(1)

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=SEED, stratify=y)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)

    model = MLP()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    model.eval()

    scripted = torch.jit.script(Served(model))
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    model_bytes = buf.getvalue()

    # Expected outputs come from the saved artifact, loaded back as the server will.
    loaded = torch.jit.load(io.BytesIO(model_bytes))
    loaded.eval()
    with torch.inference_mode():
        out_all = loaded(torch.from_numpy(np.ascontiguousarray(x_test)))
        accuracy = float((out_all["logits"].argmax(dim=1).numpy() == y_test).mean())
        rows = torch.from_numpy(np.ascontiguousarray(x_test[:N_SAMPLES]))
        outs = loaded(rows)
        train_scores = loaded(torch.from_numpy(np.ascontiguousarray(x_train)))["probabilities"]
    assert isinstance(outs, dict) and list(outs) == ["logits", "probabilities"], type(outs)
    for v in outs.values():
        assert v.dtype == torch.float32 and tuple(v.shape) == (N_SAMPLES, 10)

    samples = {
        "model": MODEL,
        "request": {"inputs": [tensor("pixels", rows)]},
        "expected": {"outputs": [tensor(k, v) for k, v in outs.items()]},
    }
    samples_bytes = (json.dumps(samples) + "\n").encode()

    out = os.path.abspath(args.out)
    model_dir = os.path.join(out, "models", MODEL)
    copy_config(out)
    checks = check_files("probabilities", train_scores.numpy(), "pixels", x_test)
    vdir = write_version(model_dir, VERSION, [("model.pt", model_bytes)] + checks +
                         [("samples.json", samples_bytes)])
    print("%s: test accuracy %.4f (%d rows), %.2f s" % (
        os.path.join(vdir, "model.pt"), accuracy, len(y_test), time.monotonic() - _T0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
