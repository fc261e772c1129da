#!/usr/bin/python3
"""Starts `strata serve` on the purchase example and sends key-only requests: only
(user_id, product_id) and the request fields (query, ts); the server looks the
features up in the feature tables, transforms them and runs the model. Prints the
answers, or says the step was skipped when this server refuses key-only requests.
"""

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROWS = [(1, 1, "red shoes"), (2, 17, "cheap books"), (5, 42, ""), (999999, 3, "gift")]
TS = 1735603200


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def key_only_body(rows):
    n = len(rows)
    return {"inputs": [
        {"name": "user_id", "datatype": "INT64", "shape": [n], "data": [r[0] for r in rows]},
        {"name": "product_id", "datatype": "INT64", "shape": [n], "data": [r[1] for r in rows]},
        {"name": "query", "datatype": "BYTES", "shape": [n], "data": [r[2] for r in rows]},
        {"name": "ts", "datatype": "INT64", "shape": [n], "data": [TS] * n}]}


def wait_ready(port, process, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def ask(port, endpoint):
    status, body = post(port, f"/v2/models/{endpoint}/infer", key_only_body(ROWS))
    if status != 200:
        print(f"{endpoint}: skipped: this server refuses key-only requests ({status}: "
              f"{body.get('error', body)})")
        return
    outputs = {o["name"]: o for o in body.get("outputs", [])}
    probability = outputs.get("probability", {}).get("data", [])
    layers = body.get("parameters", {}).get("layer") or outputs.get("layer", {}).get("data")
    for i, (user, product, query) in enumerate(ROWS):
        layer = f"  [{layers[i]}]" if isinstance(layers, list) and i < len(layers) else ""
        print(f"{endpoint}: user {user:>6} product {product:>3} query {query!r:<14} -> "
              f"P(purchase) = {probability[i]:.4f}{layer}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--repository", required=True)
    ap.add_argument("--tables", required=True)
    ap.add_argument("--endpoints")
    args = ap.parse_args()
    port = free_port()
    command = [args.strata, "serve", "--repository", args.repository, "--tables", args.tables,
               "--port", str(port), "--grpc-port", "-1"]
    if args.endpoints:
        command += ["--endpoints", args.endpoints]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if not wait_ready(port, process):
            process.kill()
            error = process.communicate()[1].strip().splitlines()[-3:]
            print("serve: skipped: the server did not become ready with the purchase model "
                  "(it needs the feature stage of strata serve):\n  " + "\n  ".join(error))
            return 0
        ask(port, "purchase")
        if args.endpoints:
            ask(port, "purchase_hybrid")
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
