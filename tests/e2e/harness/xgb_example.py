"""The breast_cancer_xgb example as the batch, table and static-serving tests
use it: rows of 30 features that are a deterministic function of a row id,
XGBoost's own answers for them, and CSV input for `strata batch`."""
import json
import os
import tempfile

from harness.repositories import EXAMPLES

MODEL = "breast_cancer_xgb"
MAP = ("--map", "features=" + ",".join(f"f{j}" for j in range(30)))


def samples():
    """(rows of 30 features, XGBoost's probabilities for them)."""
    with open(os.path.join(EXAMPLES, MODEL, "1", "samples.json")) as f:
        s = json.load(f)
    tensor = s["request"]["inputs"][0]
    n, width = tensor["shape"]
    rows = [tensor["data"][i * width:(i + 1) * width] for i in range(n)]
    return rows, s["expected"]["outputs"][0]["data"]


def _mix64(x):
    """SplitMix64's finaliser on a numpy uint64 array: a well-spread hash."""
    import numpy
    x = x + numpy.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> numpy.uint64(30))) * numpy.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> numpy.uint64(27))) * numpy.uint64(0x94D049BB133111EB)
    return x ^ (x >> numpy.uint64(31))


def feature_rows(ids, salt=0):
    """The 30 features of each id in `ids`, a deterministic function of the id
    (and `salt`): feature j is drawn, by a hash of (salt, id, j), inside the
    range the samples span for feature j, and rounded to float32. Unlike
    cycling through the 32 samples, no two ids share a row, so answers
    swapped between ids (or chunks) change the predictions: about 99.95% of
    pairs of ids get different XGBoost answers."""
    import numpy
    rows, _ = samples()
    lo = numpy.array([min(c) for c in zip(*rows)])
    hi = numpy.array([max(c) for c in zip(*rows)])
    with numpy.errstate(over="ignore"):
        h = _mix64(_mix64(numpy.full(len(ids), salt, dtype=numpy.uint64))
                   ^ numpy.array(ids, dtype=numpy.uint64))
        cells = _mix64(h[:, None] ^ numpy.arange(1, 31, dtype=numpy.uint64)[None, :])
    u = (cells >> numpy.uint64(11)).astype(numpy.float64) / float(1 << 53)
    return (lo + (hi - lo) * u).astype(numpy.float32).astype(numpy.float64).tolist()


def features(i, salt=0):
    """Row `i`'s 30 features (feature_rows)."""
    return feature_rows([i], salt)[0]


_BOOSTERS = {}


def predict(rows, model_file=None):
    """XGBoost's own probabilities for `rows` (lists of 30 floats), from the
    model file strata serves (default: the example's version 1)."""
    import numpy
    import xgboost
    model_file = model_file or os.path.join(EXAMPLES, MODEL, "1", "model.json")
    if model_file not in _BOOSTERS:
        booster = xgboost.Booster(model_file=model_file)
        booster.set_param({"nthread": 1})
        _BOOSTERS[model_file] = booster
    x = numpy.array(rows, dtype=numpy.float32).reshape(len(rows), 30)
    return [float(p) for p in _BOOSTERS[model_file].inplace_predict(x)]


def make_repository():
    """A temporary repository holding only the example (a symlink)."""
    root = tempfile.mkdtemp(prefix="strata-e2e-batch-")
    os.mkdir(os.path.join(root, "models"))
    os.symlink(os.path.join(EXAMPLES, MODEL), os.path.join(root, "models", MODEL))
    return root


def write_csv(path, count, bad_line=None, salt=0):
    """Rows id = 0..count-1 with features(id, salt); returns XGBoost's own
    probability by id."""
    table = feature_rows(range(count), salt)
    with open(path, "w") as f:
        f.write("id,name," + ",".join(f"f{j}" for j in range(30)) + "\n")
        for i, row in enumerate(table):
            values = ",".join(repr(x) for x in row)
            if bad_line is not None and i + 2 == bad_line:
                values = "not-a-number" + values[values.index(","):]
            f.write(f"{i},row {i},{values}\n")
    return dict(enumerate(predict(table))) if table else {}
