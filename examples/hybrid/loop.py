#!/usr/bin/python3
"""The hybrid loop, end to end, on the breast_cancer_xgb example:

  1. serve   a hybrid endpoint `scores` (table -> model; the table has no version yet)
             with the key log on, and send it Zipf(1.0) traffic over --keys ids;
  2. advise  `strata advise` reads the key log: the workload's entropy, peakedness and
             coverage, the three plans and the recommendation, a chart (loop.svg), and
             --export-hot-keys K writes the K hottest keys;
  3. batch   the hot keys joined with their features are precomputed by `strata batch`
             into the endpoint's table;
  4. serve   the running server picks the table version up; new traffic from the same
             distribution is answered from the table for the head and by the model for the
             tail. The share answered by the table is compared with the advisor's forecast
             (the live sketch's expected coverage of the top K), and sampled rows with the
             model's own answers.

  /usr/bin/python3 examples/hybrid/loop.py [--strata build/release/strata] [--work DIR]

Everything runs on loopback with the embedded defaults (RocksDB table, no Redis) and stops by
itself in about half a minute. A row's features are those of sample (id mod 32) of the
model's samples.json: the key decides the answer, as a hybrid plan assumes. Exits 1 when the
table's share misses the forecast by more than --tolerance points or an answer differs from
the model's.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = "breast_cancer_xgb"


def zipf_ids(rng, keys, count, exponent=1.0):
    weights = [1.0 / (r + 1) ** exponent for r in range(keys)]
    return rng.choices(range(keys), weights=weights, k=count)


class Server:
    def __init__(self, strata, repository, args, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [strata, "serve", "--repository", repository, "--host", "127.0.0.1", "--port", "0",
             "--grpc-port", "-1", *args], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(log_path) as f:
                match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", f.read())
            if match:
                self.port = int(match.group(1))
                return
            if self.process.poll() is not None:
                raise SystemExit("strata serve exited early; see " + log_path)
            time.sleep(0.05)
        self.stop()
        raise SystemExit("strata serve did not start in 60 s; see " + log_path)

    def call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = json.loads(response.read())
        conn.close()
        if response.status != 200:
            raise SystemExit(f"{method} {path}: {response.status} {data}")
        return data

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def send(server, ids, features, rows_per_request):
    """Sends `ids` in requests of `rows_per_request`; returns rows per layer and answers."""
    layers = {"table": 0, "cache": 0, "model": 0}
    answers = {}
    for start in range(0, len(ids), rows_per_request):
        chunk = ids[start:start + rows_per_request]
        body = server.call("POST", "/v2/models/scores/infer", {"inputs": [
            {"name": "id", "datatype": "INT64", "shape": [len(chunk)], "data": chunk},
            {"name": "features", "datatype": "FP32", "shape": [len(chunk), 30],
             "data": [x for i in chunk for x in features(i)]}]})
        out = {o["name"]: o["data"] for o in body["outputs"]}
        for i, layer, p in zip(chunk, out["layer"], out["probability"]):
            layers[layer] += 1
            answers[i] = p
    return layers, answers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strata", default=os.path.join(ROOT, "build", "release", "strata"))
    parser.add_argument("--work", help="keep the files here (default: a temporary directory)")
    parser.add_argument("--keys", type=int, default=20000, help="ids 0..keys-1")
    parser.add_argument("--rows", type=int, default=40000, help="rows per traffic phase")
    parser.add_argument("--hot", type=int, default=1000, help="K: hot keys to precompute")
    parser.add_argument("--tolerance", type=float, default=3.0,
                        help="allowed gap between forecast and measured table share, points")
    args = parser.parse_args()
    strata = os.path.realpath(args.strata)
    if not os.access(strata, os.X_OK):
        raise SystemExit(f"no strata binary at {strata}; build it with scripts/build.sh")
    samples_path = os.path.join(ROOT, "examples", "repository", "models", MODEL, "1",
                                "samples.json")
    if not os.path.exists(samples_path):
        subprocess.run([os.path.join(ROOT, "examples", "train_all.sh")], check=True)
    with open(samples_path) as f:
        request = json.load(f)["request"]["inputs"][0]
    sample_rows = [request["data"][r * 30:(r + 1) * 30] for r in range(request["shape"][0])]

    def features(i):
        return sample_rows[i % len(sample_rows)]

    work = args.work or tempfile.mkdtemp(prefix="strata-loop-")
    os.makedirs(work, exist_ok=True)
    repository = os.path.join(work, "repository")
    shutil.rmtree(repository, ignore_errors=True)
    os.makedirs(os.path.join(repository, "models"))
    os.symlink(os.path.join(ROOT, "examples", "repository", "models", MODEL),
               os.path.join(repository, "models", MODEL))
    endpoints = os.path.join(work, "strata.yaml")
    with open(endpoints, "w") as f:
        f.write("endpoints:\n  scores:\n    plan: hybrid\n    table: head\n    key: [id]\n"
                f"    model: {MODEL}\n    cache: {{max_bytes: 0}}   # table and model only\n")
    key_log = os.path.join(work, "keys.jsonl")
    if os.path.exists(key_log):
        os.remove(key_log)
    rng = random.Random(2026)
    print(f"[1/4] serve: hybrid endpoint 'scores' (table 'head' empty, model {MODEL}), "
          f"key log {key_log}")
    server = Server(strata, repository, ["--endpoints", endpoints, "--key-log", key_log, "--key-log-raw-keys",
                                         "--poll-interval-ms", "200"],
                    os.path.join(work, "serve.log"))
    failed = False
    try:
        layers, _ = send(server, zipf_ids(rng, args.keys, args.rows), features, 100)
        print(f"      {args.rows} rows of Zipf(1.0) traffic over {args.keys} ids: {layers}")

        print(f"[2/4] advise: strata advise --key-log keys.jsonl --export-hot-keys {args.hot}")
        hot = os.path.join(work, "hot_keys.jsonl")
        report = subprocess.run(
            [strata, "advise", "--key-log", key_log, "--endpoint", "scores",
             "--repository", repository, "--model", MODEL, "--chart",
             os.path.join(work, "loop.svg"), "--export-hot-keys", str(args.hot),
             "--export-to", hot], capture_output=True, text=True, check=True)
        for line in report.stdout.splitlines():
            if line.startswith(("  entropy", "  distinct", "  coverage", "  static", "  hybrid",
                                "  dynamic", "recommendation")):
                print("      " + line.strip())
        live = server.call("GET", "/v2/advisor/scores")
        forecast = next(p["expected"] for p in live["coverage"] if p["keys"] >= args.hot)
        print(f"      the live sketch (GET /v2/advisor/scores) forecasts the top {args.hot} keys "
              f"take {100 * forecast:.1f}% of new traffic")

        print(f"[3/4] batch: precompute the {args.hot} hot keys into table 'head'")
        batch_input = os.path.join(work, "hot_features.jsonl")
        with open(hot) as f, open(batch_input, "w") as out:
            for line in f:
                i = json.loads(line)["id"]
                out.write(json.dumps({"id": i, "features": features(i)}) + "\n")
        subprocess.run([strata, "batch", "-r", repository, "-m", MODEL, "--progress", "off",
                        "-i", batch_input, "-k", "id:INT64", "-t", "head",
                        "--tables", os.path.join(repository, "tables")],
                       check=True, capture_output=True, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            meta = server.call("GET", "/v2/models/scores")
            if meta.get("properties", {}).get("table_version"):
                break
            time.sleep(0.1)
        else:
            raise SystemExit("the server did not pick up the table in 30 s")
        print(f"      table 'head' version {meta['properties']['table_version']} is serving")

        print("[4/4] serve: new traffic from the same distribution")
        layers, answers = send(server, zipf_ids(rng, args.keys, args.rows), features, 100)
        share = layers["table"] / args.rows
        print(f"      {args.rows} rows: {layers}")
        print(f"      table share {100 * share:.1f}% vs forecast {100 * forecast:.1f}% "
              f"({100 * (share - forecast):+.1f} points)")
        if abs(share - forecast) * 100 > args.tolerance:
            print(f"FAIL: more than {args.tolerance} points apart")
            failed = True
        # Every layer's answers equal the model's own, asked directly.
        check = sorted(answers)[:: max(1, len(answers) // 64)]
        body = server.call("POST", f"/v2/models/{MODEL}/infer", {"inputs": [
            {"name": "features", "datatype": "FP32", "shape": [len(check), 30],
             "data": [x for i in check for x in features(i)]}]})
        direct = body["outputs"][0]["data"]
        worst = max(abs(answers[i] - p) for i, p in zip(check, direct))
        print(f"      {len(check)} sampled rows against the model's own answers: "
              f"largest difference {worst:.2e}")
        if worst > 1e-5:
            print("FAIL: an answer differs from the model's")
            failed = True
    finally:
        server.stop()
    print(f"files in {work}: keys.jsonl, hot_keys.jsonl, loop.svg, serve.log")
    if not args.work and not failed:
        shutil.rmtree(work)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
