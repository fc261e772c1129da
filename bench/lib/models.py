"""The models a benchmark serves, its request bodies and the checks of the answers.

  bench_models(...)        the repository of bench/make_bench_models.py (mlp1k, mlp2k, ...)
  example_repo(dest, ...)  a repository of examples/repository models (trained if missing)
  sample_rows(...)         a model's samples.json request, one feature list per row
  sanity(server, ...)      the 1-row and the whole sample request give the expected outputs
  build_table(...)         `strata batch`: rows keyed by id into a prediction table
  model_stats / stats_diff /v2/models/{m}/stats (batches, queue and compute time)
  endpoint_rows            strata_endpoint_rows_total from /metrics
"""

import json
import math
import os
import re
import shutil
import sys
import urllib.request

from . import BENCH, PYTHON, ROOT, log, run, run_checked
from .servers import http, post_raw

EXAMPLES = os.path.join(ROOT, "examples", "repository")
EXAMPLE_WIDTH = {"digits_mlp": 64, "breast_cancer_xgb": 30}
EXAMPLE_LABEL = {"digits_mlp": "digits_mlp (TorchScript MLP)",
                 "breast_cancer_xgb": "breast_cancer_xgb (XGBoost)"}


def train_examples(repository=EXAMPLES):
    """examples/train_all.sh (skips models already trained)."""
    log("training example models if needed (examples/train_all.sh)")
    r = run(["examples/train_all.sh", repository], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"examples/train_all.sh failed:\n{r.stdout}\n{r.stderr}")
    for line in r.stdout.splitlines():
        log("  " + line)


def example_repo(dest, models):
    """DEST/models/<m> -> examples/repository/models/<m> (symlinks), training them first if
    needed; returns DEST."""
    if any(not os.path.isdir(os.path.join(EXAMPLES, "models", m, "1")) for m in models):
        train_examples()
    os.makedirs(os.path.join(dest, "models"), exist_ok=True)
    for m in models:
        os.symlink(os.path.join(EXAMPLES, "models", m), os.path.join(dest, "models", m))
    return dest


def bench_models(models_dir, out, extra=()):
    """The repository of bench/make_bench_models.py: `models_dir` when given (--models-dir),
    else written into OUT/repository with the `extra` options."""
    if models_dir:
        return os.path.abspath(models_dir)
    repo = os.path.join(out, "repository")
    run_checked([PYTHON, os.path.join(BENCH, "make_bench_models.py"), "--out", repo, *extra],
                "make_bench_models.py")
    return repo


def body_path(repo, model):
    """The 1-row request make_bench_models.py wrote for `model`."""
    return os.path.join(repo, "bodies", f"{model}_1row.json")


def subset_repo(repo, models, out, name):
    """OUT/name/models/<m>: copies of the named models only (so RSS counts just them)."""
    dest = os.path.join(out, name)
    shutil.rmtree(dest, ignore_errors=True)
    for m in models:
        shutil.copytree(os.path.join(repo, "models", m), os.path.join(dest, "models", m))
    return dest


def load_samples(repository, model):
    with open(os.path.join(repository, "models", model, "1", "samples.json")) as f:
        return json.load(f)


def sample_rows(repository, model):
    """(rows, width): the first input of the model's samples.json request, row by row."""
    tensor = load_samples(repository, model)["request"]["inputs"][0]
    n, width = tensor["shape"]
    return [tensor["data"][i * width:(i + 1) * width] for i in range(n)], width


def one_row_body(samples, width=None):
    """A 1-row KServe v2 request: the first row of the samples' request."""
    tensor = samples["request"]["inputs"][0]
    width = width or tensor["shape"][1]
    return {"inputs": [{"name": tensor["name"], "datatype": tensor["datatype"],
                        "shape": [1, width], "data": tensor["data"][:width]}]}


def expected_rows(expected, rows):
    """The expected outputs cut down to the first `rows` rows: {name: (shape, data)}."""
    out = {}
    for o in expected["outputs"]:
        per_row = math.prod(o["shape"][1:])
        out[o["name"]] = ([rows] + o["shape"][1:], o["data"][:rows * per_row])
    return out


def close_f32(a, b):
    return abs(a - b) <= 1e-6 + 2e-6 * abs(b)


def check_response(label, status, raw, model, want):
    """Problems of one response (none when it carries the expected prediction)."""
    if status != 200:
        return [f"{label}: HTTP {status}: {raw[:300]!r}"]
    try:
        got = json.loads(raw)
    except ValueError as e:
        return [f"{label}: response is not JSON ({e}): {raw[:300]!r}"]
    problems = []
    if got.get("model_name") != model:
        problems.append(f"{label}: model_name {got.get('model_name')!r}, want {model!r}")
    outputs = {o.get("name"): o for o in got.get("outputs", [])}
    for name, (shape, data) in want.items():
        o = outputs.get(name)
        if o is None:
            problems.append(f"{label}: output {name!r} missing (got {sorted(outputs)})")
            continue
        if o.get("datatype") != "FP32" or list(o.get("shape", [])) != shape:
            problems.append(f"{label}: output {name!r} is {o.get('datatype')} "
                            f"{o.get('shape')}, want FP32 {shape}")
            continue
        bad = [i for i, (g, w) in enumerate(zip(o.get("data", []), data)) if not close_f32(g, w)]
        if len(o.get("data", [])) != len(data) or bad:
            problems.append(f"{label}: output {name!r} differs from samples.json at "
                            f"{len(bad)} of {len(data)} values (first: index {bad[:1]})")
    return problems


def sanity(server, model, body, samples):
    """(problems, the 1-row response's text): `body` (1 row) and the whole sample request must
    both give samples.json's expected outputs."""
    url = server.url(f"/v2/models/{model}/infer")
    status, raw = post_raw(url, body)
    problems = check_response(f"{server.label} {model} 1 row", status, raw, model,
                              expected_rows(samples["expected"], 1))
    status, raw_all = post_raw(url, samples["request"])
    rows = samples["request"]["inputs"][0]["shape"][0]
    problems += check_response(f"{server.label} {model} {rows} rows", status, raw_all, model,
                               expected_rows(samples["expected"], rows))
    return problems, raw.decode(errors="replace")


def write_keyed_csv(path, ids, rows):
    """A CSV `id,f0..f{w-1}` for `strata batch`: id i gets the features rows[i % len(rows)]."""
    width = len(rows[0])
    text = [",".join(repr(x) for x in row) for row in rows]
    with open(path, "w") as f:
        f.write("id," + ",".join(f"f{j}" for j in range(width)) + "\n")
        for i in ids:
            f.write(f"{i},{text[i % len(text)]}\n")
    return width


def build_table(strata, repo, model, csv, table, width, extra=()):
    """`strata batch`: the model's predictions for every row of `csv` (write_keyed_csv), keyed
    by id:INT64, into table `table` (RocksDB under repo/tables, or `extra` --store ...)."""
    return run_checked([strata, "batch", "-r", repo, "-m", model, "--progress", "off",
                        "--map", "features=" + ",".join(f"f{j}" for j in range(width)),
                        "-i", csv, "-k", "id:INT64", "-t", table, *extra], "strata batch")


def model_stats(server, model):
    """{batch_size: (batches, compute ns)} plus totals, from /v2/models/{m}/stats."""
    status, body = http("GET", server.url(f"/v2/models/{model}/stats"))
    if status != 200:
        raise RuntimeError(f"stats for {model}: {status} {body}")
    out = {"batches": {}, "success": [0, 0], "queue": [0, 0], "compute": [0, 0]}
    for s in body["model_stats"]:
        for b in s.get("batch_stats", []):
            c, ns = out["batches"].get(b["batch_size"], (0, 0))
            out["batches"][b["batch_size"]] = (c + b["compute_infer"]["count"],
                                               ns + b["compute_infer"]["ns"])
        if s.get("adaptive_batching"):
            out["adaptive"] = s["adaptive_batching"]
        st = s["inference_stats"]
        for key, name in (("success", "success"), ("queue", "queue"),
                          ("compute", "compute_infer")):
            out[key][0] += st[name]["count"]
            out[key][1] += st[name]["ns"]
    return out


def stats_diff(before, after):
    d = {"batches": {}}
    for size, (c, ns) in after["batches"].items():
        c0, ns0 = before["batches"].get(size, (0, 0))
        if c > c0:
            d["batches"][size] = (c - c0, ns - ns0)
    for key in ("success", "queue", "compute"):
        d[key] = [after[key][0] - before[key][0], after[key][1] - before[key][1]]
    batches = sum(c for c, _ in d["batches"].values())
    rows = sum(size * c for size, (c, _) in d["batches"].items())
    d["batch_count"] = batches
    if after.get("adaptive"):
        d["adaptive"] = after["adaptive"]  # the adaptive batcher's limits at the end
    d["mean_batch_rows"] = rows / batches if batches else None
    return d


def endpoint_rows(server):
    """strata_endpoint_rows_total from /metrics: {(endpoint, layer): rows}."""
    with urllib.request.urlopen(server.url("/metrics"), timeout=30) as r:
        text = r.read().decode()
    rows = {}
    for m in re.finditer(r"^strata_endpoint_rows_total\{([^}]*)\} (\S+)$", text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        rows[(labels.get("endpoint"), labels.get("layer"))] = float(m.group(2))
    return rows


MODEL_CALL_BENCH = os.path.join(ROOT, "build", "release", "bench", "model_call_bench")


def find_model_call_bench(path=None):
    """bench/model_call_bench (C++, Google Benchmark): `path`, or the release build's."""
    if path:
        return path
    if os.access(MODEL_CALL_BENCH, os.X_OK):
        return MODEL_CALL_BENCH
    sys.exit("no bench/model_call_bench: cmake --build build/release --target model_call_bench"
             " (needs libbenchmark-dev), or pass --model-call-bench PATH")


def model_call_bench(binary, model_dir, rows="1", min_time=0.5, repeats=1, env=None,
                     env_note=""):
    """In-process cost of one Model::Run() through strata's backend: the Google Benchmark
    iterations' results (real_time / cpu_time in µs, `rows`), one per repetition and size."""
    cmd = [binary, f"--model_dir={model_dir}", f"--rows={rows}",
           f"--benchmark_min_time={min_time}", "--benchmark_format=json"]
    if repeats > 1:
        cmd.append(f"--benchmark_repetitions={repeats}")
    r = run_checked(cmd, "model_call_bench", env=env, env_note=env_note, timeout=600)
    # The backend's log lines (e.g. the OpenBLAS thread count) come before the JSON.
    text = r.stdout[r.stdout.index("\n{") + 1:] if not r.stdout.startswith("{") else r.stdout
    return [b for b in json.loads(text)["benchmarks"] if b.get("run_type") == "iteration"]
