#!/usr/bin/python3
"""gRPC vs REST-JSON vs REST-binary on the same strata server (issue 7).

A benchmark, not a test: it measures this machine and prints a markdown report. One strata
server (gRPC and REST on 127.0.0.1) serves two TorchScript models:

  digits_mlp  the example MLP (1 x 64 FP32 in, 2 x 1 x 10 FP32 out): a small payload
  wide_fp32   a 4096 -> 16 linear layer (1 x 4096 FP32 in, 1 x 16 out): a large payload

For each model, each protocol and each concurrency (1, 16, 64 callers), bench/grpc_load's
strata_load sends the same 1-row request in a closed loop for --duration seconds after a
--warmup, and reports throughput and latency percentiles. gRPC callers are concurrent HTTP/2
streams on one connection; REST callers are keep-alive HTTP/1.1 connections (one request in
flight each). The three encodings of a request:

  grpc         ModelInferRequest with raw_input_contents; outputs come back raw
  rest-json    KServe v2 JSON tensors both ways
  rest-binary  the binary tensor extension both ways (binary_data_output), as tritonclient sends

Every (model, concurrency, protocol) cell runs --repeats times, repeats interleaved, and the
report gives the median of each figure. Before measuring, the three encodings must give
bit-identical outputs.

The load client shares the machine's cores with the server, and its own cost differs by
protocol (gRPC's C++ client library does more per call than strata_load's Beast HTTP/1.1 loop).
So each cell is measured a second time with h2load (nghttp2-client), one lean C client for both
protocols: HTTP/2 with C streams on one connection for gRPC (the request framed as a gRPC
message), --h1 with C connections for REST. h2load gives throughput and mean latency only.

Usage:
  /usr/bin/python3 bench/grpc_bench.py --strata build/release/strata
  /usr/bin/python3 bench/grpc_bench.py --duration 2 --repeats 1      # a quick look
Options: --strata PATH, --out DIR (raw results.json), --concurrency 1,16,64,
--models digits_mlp,wide_fp32, --http-threads N (default: strata's own, one per core).

Needs the strata binary, cmake and a C++ toolchain (to build strata_load), protoc, and
/usr/bin/python3 with numpy, torch and grpcio. Only talks to 127.0.0.1; every run ends by itself.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PROTOCOLS = ["grpc", "rest-json", "rest-binary"]


def h2load_cell(h2load, server, model, protocol, concurrency, path, length, args, work):
    """{"throughput", "mean_us"} from one h2load run."""
    if protocol == "grpc":
        with open(path, "rb") as f:
            message = f.read()
        framed = os.path.join(work, f"{model}.grpc.framed")
        with open(framed, "wb") as f:
            f.write(b"\0" + len(message).to_bytes(4, "big") + message)
        cmd = [h2load, "-c", "1", "-m", str(concurrency), "-d", framed,
               "-H", "content-type: application/grpc", "-H", "te: trailers",
               f"http://127.0.0.1:{server.grpc_port}/inference.GRPCInferenceService/ModelInfer"]
    else:
        cmd = [h2load, "--h1", "-c", str(concurrency), "-d", path,
               "-H", "content-type: " + ("application/json" if length is None
                                         else "application/octet-stream"),
               f"http://127.0.0.1:{server.http_port}/v2/models/{model}/infer"]
        if length is not None:
            cmd[-1:-1] = ["-H", f"inference-header-content-length: {length}"]
    cmd[1:1] = ["-D", str(int(args.duration)), "--warm-up-time", str(int(max(args.warmup, 1)))]
    text = run(cmd, capture_output=True, text=True).stdout
    finished = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", text)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", text)
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", text)
    if not (finished and done and mean):
        sys.exit("cannot read h2load's output:\n" + text)
    value, unit = re.match(r"([\d.]+)(\w+)", mean.group(1)).groups()
    scale = {"us": 1, "ms": 1000, "s": 1e6}[unit]
    return {"throughput": float(finished.group(1)), "mean_us": float(value) * scale,
            "failed": int(done.group(1)) - int(done.group(2))}


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, **kwargs)


def build_load_client(build_dir):
    run(["cmake", "-S", os.path.join(SOURCE_DIR, "bench", "grpc_load"), "-B", build_dir,
         "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"], stdout=subprocess.DEVNULL)
    run(["cmake", "--build", build_dir], stdout=subprocess.DEVNULL)
    return os.path.join(build_dir, "strata_load")


def python_stubs(out):
    run(["protoc", "-I", os.path.join(SOURCE_DIR, "proto"), f"--python_out={out}",
         os.path.join(SOURCE_DIR, "proto", "inference.proto")])
    sys.path.insert(0, out)
    import inference_pb2  # noqa: F401
    return sys.modules["inference_pb2"]


def make_repository(root):
    models = os.path.join(root, "models")
    os.makedirs(models)
    run(["/usr/bin/python3", os.path.join(SOURCE_DIR, "tests", "fixtures",
                                          "make_protocol_fixtures.py"), "--out", root],
        stdout=subprocess.DEVNULL)
    for name in os.listdir(models):
        if name != "wide_fp32":
            shutil.rmtree(os.path.join(models, name))
    os.symlink(os.path.join(SOURCE_DIR, "examples", "repository", "models", "digits_mlp"),
               os.path.join(models, "digits_mlp"))


def model_input(model):
    if model == "digits_mlp":
        path = os.path.join(SOURCE_DIR, "examples", "repository", "models", "digits_mlp", "1",
                            "samples.json")
        with open(path) as f:
            tensor = json.load(f)["request"]["inputs"][0]
        width = tensor["shape"][1]
        return tensor["name"], np.array(tensor["data"][:width], dtype=np.float32).reshape(1, width)
    return "x", np.sin(np.arange(4096, dtype=np.float32)).reshape(1, 4096)


def payloads(model, pb):
    """{protocol: (bytes, header_length or None)}."""
    name, value = model_input(model)
    raw = value.astype("<f4").tobytes()
    rest_json = json.dumps({"inputs": [{"name": name, "datatype": "FP32",
                                        "shape": list(value.shape),
                                        "data": value.flatten().tolist()}]}).encode()
    header = json.dumps({"inputs": [{"name": name, "datatype": "FP32", "shape": list(value.shape),
                                     "parameters": {"binary_data_size": len(raw)}}],
                         "parameters": {"binary_data_output": True}}).encode()
    request = pb.ModelInferRequest(model_name=model)
    request.inputs.add(name=name, datatype="FP32", shape=list(value.shape))
    request.raw_input_contents.append(raw)
    return {"grpc": (request.SerializeToString(), None),
            "rest-json": (rest_json, None),
            "rest-binary": (header + raw, len(header))}


class Server:
    def __init__(self, strata, repository, extra):
        self.log = tempfile.NamedTemporaryFile(mode="w+", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [strata, "serve", "--repository", repository, "--host", "127.0.0.1", "--port", "0",
             "--grpc-port", "0", *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = open(self.log.name).read()
            http_port = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
            grpc_port = re.search(r"gRPC listening on 127\.0\.0\.1:(\d+)", text)
            if http_port and grpc_port:
                self.http_port, self.grpc_port = int(http_port.group(1)), int(grpc_port.group(1))
                return
            if self.process.poll() is not None:
                sys.exit("strata exited:\n" + text)
            time.sleep(0.05)
        sys.exit("strata did not start")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        os.unlink(self.log.name)


def rest_outputs(server, model, body, header_length):
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if header_length is not None:
        headers["Inference-Header-Content-Length"] = str(header_length)
    conn.request("POST", f"/v2/models/{model}/infer", body=body, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    assert response.status == 200, raw
    length = response.getheader("Inference-Header-Content-Length")
    header = json.loads(raw[:int(length)] if length else raw)
    offset, outputs = int(length or 0), {}
    for output in header["outputs"]:
        size = output.get("parameters", {}).get("binary_data_size")
        if size is None:
            outputs[output["name"]] = np.array(output["data"], dtype=np.float32).tobytes()
        else:
            outputs[output["name"]] = raw[offset:offset + size]
            offset += size
    return outputs


def grpc_outputs(server, body):
    import grpc
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer",
                               request_serializer=lambda b: b,
                               response_deserializer=sys.modules["inference_pb2"]
                               .ModelInferResponse.FromString)
    response = call(body, timeout=30)
    channel.close()
    return {o.name: raw for o, raw in zip(response.outputs, response.raw_output_contents)}


def check_same_answers(server, model, encoded):
    answers = {p: (grpc_outputs(server, body) if p == "grpc" else
                   rest_outputs(server, model, body, length))
               for p, (body, length) in encoded.items()}
    reference = answers["grpc"]
    for protocol, outputs in answers.items():
        if outputs != reference:
            sys.exit(f"{model}: {protocol} answers differ from gRPC's")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strata", default=os.path.join(SOURCE_DIR, "build", "release", "strata"))
    ap.add_argument("--models", default="digits_mlp,wide_fp32")
    ap.add_argument("--concurrency", default="1,16,64")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--http-threads", type=int, default=0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-h2load", action="store_true", help="skip the h2load cross-check")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="strata-grpc-bench-")
    out = args.out or work
    os.makedirs(out, exist_ok=True)
    load = build_load_client(os.path.join(SOURCE_DIR, "build", "grpc-load"))
    pb = python_stubs(work)
    repository = os.path.join(work, "repository")
    make_repository(repository)
    models = args.models.split(",")
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    files, sizes = {}, {}
    for model in models:
        for protocol, (body, length) in payloads(model, pb).items():
            path = os.path.join(work, f"{model}.{protocol}")
            with open(path, "wb") as f:
                f.write(body)
            files[(model, protocol)] = (path, length)
            sizes[(model, protocol)] = len(body)

    extra = ["--http-threads", str(args.http_threads)] if args.http_threads else []
    server = Server(args.strata, repository, extra)
    h2load = None if args.no_h2load else shutil.which("h2load")
    results, cross = [], []
    try:
        for model in models:
            check_same_answers(server, model, payloads(model, pb))
        for repeat in range(args.repeats):
            for model in models:
                for concurrency in concurrencies:
                    for protocol in PROTOCOLS:
                        path, length = files[(model, protocol)]
                        port = server.grpc_port if protocol == "grpc" else server.http_port
                        cmd = [load, "--protocol", protocol, "--port", str(port), "--model", model,
                               "--payload", path, "--concurrency", str(concurrency),
                               "--duration", str(args.duration), "--warmup", str(args.warmup)]
                        if length is not None:
                            cmd += ["--header-length", str(length)]
                        line = run(cmd, capture_output=True, text=True).stdout.strip()
                        result = json.loads(line)
                        result["repeat"] = repeat
                        results.append(result)
                        print(line, file=sys.stderr)
                        if h2load:
                            cell = h2load_cell(h2load, server, model, protocol, concurrency,
                                               path, length, args, work)
                            cell.update(model=model, protocol=protocol,
                                        concurrency=concurrency, repeat=repeat)
                            cross.append(cell)
                            print(json.dumps(cell), file=sys.stderr)
    finally:
        server.stop()
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"strata_load": results, "h2load": cross}, f, indent=1)

    print("Request body sizes (bytes): " + ", ".join(
        f"{m} {p} {sizes[(m, p)]}" for m in models for p in PROTOCOLS))
    print()
    print("| model | callers | protocol | req/s | p50 ms | p99 ms | h2load req/s | "
          "h2load mean ms |")
    print("|---|---|---|---|---|---|---|---|")
    for model in models:
        for concurrency in concurrencies:
            for protocol in PROTOCOLS:
                def median(rows, key):
                    rows = [r for r in rows if r["model"] == model and
                            r["concurrency"] == concurrency and r["protocol"] == protocol]
                    return statistics.median(r[key] for r in rows) if rows else float("nan")
                errors = sum(r["errors"] for r in results if r["model"] == model and
                             r["concurrency"] == concurrency and r["protocol"] == protocol)
                errors += sum(r["failed"] for r in cross if r["model"] == model and
                              r["concurrency"] == concurrency and r["protocol"] == protocol)
                if errors:
                    print(f"warning: {errors} failed requests in {model}/{concurrency}/{protocol}",
                          file=sys.stderr)
                print(f"| {model} | {concurrency} | {protocol} | "
                      f"{median(results, 'throughput'):.0f} | "
                      f"{median(results, 'p50_us') / 1000:.3f} | "
                      f"{median(results, 'p99_us') / 1000:.3f} | "
                      f"{median(cross, 'throughput'):.0f} | "
                      f"{median(cross, 'mean_us') / 1000:.3f} |")
    print(f"\nraw results: {os.path.join(out, 'results.json')}")


if __name__ == "__main__":
    main()
