"""A synthetic feature fixture of the issue's benchmark shape (issue 13): 20 numeric features
over 2 entity tables (user: 10 FLOAT64 columns, item: 10), transformed by standardize, min_max,
clip, log1p and identity with their parameters written in the definition, assembled into one
input tensor of width 20 for a TorchScript model that sums it (the model is not what is
measured: the feature stage is).

    fixture = Features20.build(work_dir, users=2000, items=2000)
    fixture.repository, fixture.tables, fixture.definition, fixture.data
    fixture.body(n)   # a key-only request of n (user_id, item_id) rows
"""
import csv
import json
import os
import random

MODEL = "features20"
TABLES = (("user_f", "user", "user_id", "u"), ("item_f", "item", "item_id", "i"))
TRANSFORMS = ["standardize", "min_max", "clip", "log1p", "identity"]
PARAMS = {"standardize": "{mean: 50, std: 20}", "min_max": "{min: 0, max: 100}",
          "clip": "{low: 5, high: 95}", "log1p": None, "identity": None}


def definition():
    lines = ["# 20 numeric features over 2 entity tables (bench/lib/features20.py).",
             "entities:", "  user: {keys: [user_id]}", "  item: {keys: [item_id]}",
             "key_types: {user_id: INT64, item_id: INT64}", "tables:"]
    for table, entity, _, prefix in TABLES:
        columns = ", ".join(f"{prefix}{c}: FLOAT64" for c in range(10))
        lines += [f"  {table}:", f"    entity: {entity}", "    on_store_error: impute",
                  f"    columns: {{{columns}}}"]
    lines.append("features:")
    names = []
    for table, _, _, prefix in TABLES:
        for c in range(10):
            transform = TRANSFORMS[c % len(TRANSFORMS)]
            params = PARAMS[transform]
            name = f"f_{prefix}{c}"
            names.append(name)
            extra = f", params: {params}" if params else ""
            lines.append(f"  - {{name: {name}, from: {table}.{prefix}{c}, "
                         f"transform: {transform}{extra}}}")
    lines += ["outputs:", f"  - {{tensor: input__0, features: [{', '.join(names)}]}}"]
    return "\n".join(lines) + "\n"


class Features20:
    def __init__(self, work, users, items):
        self.work = work
        self.users, self.items = users, items
        self.data = os.path.join(work, "data")
        self.repository = os.path.join(work, "repo")
        self.tables = os.path.join(work, "tables")
        self.version = os.path.join(self.repository, "models", MODEL, "1")
        self.definition = os.path.join(self.version, "features.yaml")

    @classmethod
    def build(cls, work, users=2000, items=2000, seed=7):
        fixture = cls(work, users, items)
        os.makedirs(fixture.data, exist_ok=True)
        os.makedirs(fixture.version, exist_ok=True)
        with open(fixture.definition, "w") as f:
            f.write(definition())
        rng = random.Random(seed)
        for (table, _, key, prefix), n in zip(TABLES, (users, items)):
            fixture._write_source(table, key, prefix, n, rng)
        fixture._model()
        return fixture

    def source(self, table):
        return os.path.join(self.data, table + ".csv")

    def _write_source(self, table, key, prefix, n, rng):
        with open(self.source(table), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow([key, "event_time"] + [f"{prefix}{c}" for c in range(10)])
            for k in range(1, n + 1):
                w.writerow([k, 1_700_000_000] + [round(rng.uniform(0, 100), 3)
                                                 for _ in range(10)])

    def _model(self):
        import torch

        class Sum(torch.nn.Module):
            def forward(self, x):
                return x.sum(dim=1, keepdim=True)

        torch.jit.script(Sum()).save(os.path.join(self.version, "model.pt"))
        with open(os.path.join(self.repository, "models", MODEL, "config.yaml"), "w") as f:
            f.write("backend: torchscript\nmax_batch_size: 4096\ninputs:\n"
                    "  - {name: input__0, datatype: FP32, shape: [-1, 20]}\n"
                    "outputs:\n  - {name: score, datatype: FP32, shape: [-1, 1]}\n")

    def materialize_args(self, table):
        """`strata features materialize` arguments for `table` (add --tables or --redis)."""
        return ["features", "materialize", "--definition", self.definition, "--table", table,
                "--source", self.source(table)]

    def body(self, n, offset=0):
        users = [1 + (offset + 7 * i) % self.users for i in range(n)]
        items = [1 + (offset + 13 * i) % self.items for i in range(n)]
        return json.dumps({"inputs": [
            {"name": "user_id", "datatype": "INT64", "shape": [n], "data": users},
            {"name": "item_id", "datatype": "INT64", "shape": [n], "data": items}]})
