"""The purchase example (examples/purchase) as the feature-pipeline tests use it:
small synthetic data, the model trained through the strata_features binding,
its feature tables materialized, and GOLDEN rows: key-only requests (user_id,
product_id, query, ts) with the feature vectors the binding computes for them
and XGBoost's own predictions over those vectors. Every caller of the pipeline
(strata batch, strata serve) must reproduce the vectors bit for bit.

    fixture = PurchaseFixture.build(work_dir)          # ~20 s
    fixture.repository, fixture.tables, fixture.definition
    fixture.golden.rows        # list of {"user_id", "product_id", "query", "ts"}
    fixture.golden.vectors     # numpy float32 [n, width]: the binding's
    fixture.golden.predictions # numpy float32 [n]: xgboost's Booster.predict

An identity model, `purchase_vectors` (TorchScript, input__0 -> vector), with
the same features.yaml, lets any caller return the vector it computed.
Needs the binding (STRATA_BINARY_DIR/python) and Debian's numpy, xgboost, torch.
"""
import csv
import os
import shutil
import subprocess
import sys

from harness.strata_server import BINARY_DIR, SOURCE_DIR, run_strata

EXAMPLE = os.path.join(SOURCE_DIR, "examples", "purchase")
MODEL = "purchase"
VECTORS_MODEL = "purchase_vectors"
GOLDEN_ROWS = 1000
# Small data so the fixture builds in seconds; the example's defaults are larger.
DATA_ARGS = ["--users", "400", "--products", "120", "--events", "6000", "--hot", "100"]
QUERIES = ["", "red shoes", "cheap books", "gift games", "new kitchen", "best toys music"]


def binding():
    """The strata_features module of this build."""
    path = os.path.join(BINARY_DIR, "python")
    if path not in sys.path:
        sys.path.insert(0, path)
    import strata_features
    return strata_features


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(BINARY_DIR, "python") + (
        ":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def read_csv(path):
    """A CSV file as a dict of column -> numpy array (the example's types)."""
    import numpy
    ints = {"user_id", "product_id", "ts", "event_time", "last_purchase"}
    floats = {"label", "purchases_30d", "avg_price", "price"}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        if name in ints:
            out[name] = numpy.array([int(v) for v in values], dtype=numpy.int64)
        elif name in floats:
            out[name] = numpy.array([float(v) for v in values])
        else:
            out[name] = values
    return out


class Golden:
    def __init__(self, rows, vectors, predictions):
        self.rows, self.vectors, self.predictions = rows, vectors, predictions

    def columns(self):
        """The rows as a dict of column -> list."""
        return {k: [r[k] for r in self.rows] for k in ("user_id", "product_id", "query", "ts")}

    def write_csv(self, path):
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["user_id", "product_id", "query", "ts"])
            for r in self.rows:
                w.writerow([r["user_id"], r["product_id"], r["query"], r["ts"]])


class PurchaseFixture:
    def __init__(self, work):
        self.work = work
        self.data = os.path.join(work, "data")
        self.repository = os.path.join(work, "repo")
        self.tables = os.path.join(work, "tables")
        self.definition = os.path.join(self.repository, "models", MODEL, "1", "features.yaml")
        self.golden = None

    @classmethod
    def build(cls, work, golden_rows=GOLDEN_ROWS):
        fixture = cls(work)
        for d in (fixture.tables, fixture.repository):
            shutil.rmtree(d, ignore_errors=True)
        fixture._train()
        fixture._materialize()
        fixture._identity_model()
        fixture.golden = fixture._golden(golden_rows)
        return fixture

    def _train(self):
        py = "/usr/bin/python3"
        subprocess.run([py, os.path.join(EXAMPLE, "make_data.py"), self.data, *DATA_ARGS],
                       check=True, capture_output=True)
        subprocess.run([py, os.path.join(EXAMPLE, "train.py"), self.data, self.work],
                       check=True, capture_output=True, env=python_env())

    def _materialize(self):
        for table, source in (("user_stats", "users"), ("product_info", "products")):
            code, out, err = run_strata("features", "materialize", "--definition", self.definition,
                                        "--table", table, "--source",
                                        os.path.join(self.data, source + ".csv"),
                                        "--tables", self.tables)
            if code != 0:
                raise RuntimeError(f"materialize {table} failed: {err}")

    def width(self):
        return binding().Pipeline.load(self.definition).width

    def _identity_model(self):
        """models/purchase_vectors: the same features.yaml, a model that returns its input."""
        import torch

        class Identity(torch.nn.Module):
            def forward(self, x):
                return x

        width = self.width()
        version = os.path.join(self.repository, "models", VECTORS_MODEL, "1")
        os.makedirs(version, exist_ok=True)
        torch.jit.script(Identity()).save(os.path.join(version, "model.pt"))
        shutil.copy(self.definition, os.path.join(version, "features.yaml"))
        with open(os.path.join(self.repository, "models", VECTORS_MODEL, "config.yaml"), "w") as f:
            f.write("backend: torchscript\nmax_batch_size: 4096\ninputs:\n"
                    f"  - {{name: input__0, datatype: FP32, shape: [-1, {width}]}}\n"
                    f"outputs:\n  - {{name: vector, datatype: FP32, shape: [-1, {width}]}}\n")

    def _golden(self, n):
        """n requests over known and unknown users and products, with the binding's
        vectors (features as of now: the tables hold each key's latest row) and
        XGBoost's predictions."""
        import numpy
        import xgboost
        users = read_csv(os.path.join(self.data, "users.csv"))
        products = read_csv(os.path.join(self.data, "products.csv"))
        now = int(max(users["event_time"].max(), products["event_time"].max())) + 3600
        rows = []
        for i in range(n):
            rows.append({"user_id": 1 + (i * 7) % 420, "product_id": 1 + (i * 13) % 125,
                         "query": QUERIES[i % len(QUERIES)], "ts": now + 37 * i})
        sf = binding()
        pipeline = sf.Pipeline.load(self.definition)
        labels = {k: [r[k] for r in rows] for k in ("user_id", "product_id", "query", "ts")}
        vectors, _, _ = sf.build_training_set(
            pipeline, labels, {"user_stats": users, "product_info": products}, label="")
        booster = xgboost.Booster(model_file=os.path.join(self.repository, "models", MODEL, "1",
                                                          "model.json"))
        predictions = booster.predict(xgboost.DMatrix(vectors)).astype(numpy.float32)
        return Golden(rows, vectors, predictions)
