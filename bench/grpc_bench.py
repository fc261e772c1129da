#!/usr/bin/python3
"""Throughput and latency of gRPC vs REST-JSON vs REST-binary on the same strata server (issue 7).

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
import http.client
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import PYTHON, ROOT, load, models, report, run_checked, servers  # noqa: E402

PROTOCOLS = ["grpc", "rest-json", "rest-binary"]


def h2load_cell(server, model, protocol, concurrency, path, length, args, work):
    """{"throughput", "mean_us", "failed"} from one h2load run."""
    run = dict(duration=args.duration, warmup=args.warmup)
    if protocol == "grpc":
        with open(path, "rb") as f:
            message = f.read()
        framed = os.path.join(work, f"{model}.grpc.framed")
        with open(framed, "wb") as f:
            f.write(load.grpc_frame(message))
        return load.h2load(
            f"http://127.0.0.1:{server.grpc_port}/inference.GRPCInferenceService/ModelInfer",
            framed, 1, streams=concurrency,
            headers=["content-type: application/grpc", "te: trailers"], **run)
    headers = ["content-type: " + ("application/json" if length is None
                                   else "application/octet-stream")]
    if length is not None:
        headers.append(f"inference-header-content-length: {length}")
    return load.h2load(server.url(f"/v2/models/{model}/infer"), path, concurrency,
                       headers=headers, h1=True, **run)


def python_stubs(out):
    run_checked(["protoc", "-I", os.path.join(ROOT, "proto"), f"--python_out={out}",
                 os.path.join(ROOT, "proto", "inference.proto")], "protoc")
    sys.path.insert(0, out)
    import inference_pb2  # noqa: F401
    return sys.modules["inference_pb2"]


def make_repository(root):
    models_dir = os.path.join(root, "models")
    os.makedirs(models_dir)
    run_checked([PYTHON, os.path.join(ROOT, "tests", "fixtures", "make_protocol_fixtures.py"),
                 "--out", root], "make_protocol_fixtures.py")
    for name in os.listdir(models_dir):
        if name != "wide_fp32":
            shutil.rmtree(os.path.join(models_dir, name))
    models.example_repo(root, ["digits_mlp"])


def model_input(model):
    if model == "digits_mlp":
        tensor = models.one_row_body(models.load_samples(models.EXAMPLES, model))["inputs"][0]
        return tensor["name"], np.array(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
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


def rest_outputs(server, model, body, header_length):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
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
    ap = report.parser(__doc__)
    ap.add_argument("--strata", help="strata binary (default: build/release/strata; a private "
                                     "copy is measured)")
    ap.add_argument("--models", default="digits_mlp,wide_fp32")
    ap.add_argument("--concurrency", default="1,16,64", help="callers, comma-separated")
    ap.add_argument("--duration", type=float, default=5, help="seconds per run")
    ap.add_argument("--warmup", type=float, default=1, help="seconds of warm-up per run")
    ap.add_argument("--repeats", type=int, default=3, help="rounds; figures are medians")
    ap.add_argument("--http-threads", type=int, default=0, help="0: strata's default")
    ap.add_argument("--out", default=None, help="directory for results.json and the log")
    ap.add_argument("--no-h2load", action="store_true", help="skip the h2load cross-check")
    args = ap.parse_args()

    out = report.out_dir(args, "grpc-bench")
    work = os.path.join(out, "work")
    os.makedirs(work, exist_ok=True)
    strata, _ = servers.strata_binary(args.strata, work)
    strata_load = load.build_strata_load()
    pb = python_stubs(work)
    repository = os.path.join(work, "repository")
    make_repository(repository)
    model_names = args.models.split(",")
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    files, sizes = {}, {}
    for model in model_names:
        for protocol, (body, length) in payloads(model, pb).items():
            path = os.path.join(work, f"{model}.{protocol}")
            with open(path, "wb") as f:
                f.write(body)
            files[(model, protocol)] = (path, length)
            sizes[(model, protocol)] = len(body)

    server = servers.Strata(strata, repository, out, grpc=True, http_threads=args.http_threads)
    server.start()
    h2load = not args.no_h2load and shutil.which("h2load")
    results, cross = [], []
    try:
        for model in model_names:
            check_same_answers(server, model, payloads(model, pb))
        for repeat in range(args.repeats):
            for model in model_names:
                for concurrency in concurrencies:
                    for protocol in PROTOCOLS:
                        path, length = files[(model, protocol)]
                        port = server.grpc_port if protocol == "grpc" else server.port
                        result = load.strata_load(strata_load, protocol, port, model, path,
                                                  concurrency, args.duration, args.warmup,
                                                  length)
                        result["repeat"] = repeat
                        results.append(result)
                        print(json.dumps(result), file=sys.stderr)
                        if h2load:
                            cell = h2load_cell(server, model, protocol, concurrency,
                                               path, length, args, work)
                            cell.update(model=model, protocol=protocol,
                                        concurrency=concurrency, repeat=repeat)
                            cross.append(cell)
                            print(json.dumps(cell), file=sys.stderr)
    finally:
        server.stop()
    report.save_results(out, {"strata_load": results, "h2load": cross})

    print("Request body sizes (bytes): " + ", ".join(
        f"{m} {p} {sizes[(m, p)]}" for m in model_names for p in PROTOCOLS))
    print()
    rows = []
    for model in model_names:
        for concurrency in concurrencies:
            for protocol in PROTOCOLS:
                cell = dict(model=model, concurrency=concurrency, protocol=protocol)
                mine = [r for r in results if all(r[k] == v for k, v in cell.items())]
                theirs = [r for r in cross if all(r[k] == v for k, v in cell.items())]
                errors = sum(r["errors"] for r in mine) + sum(r["failed"] for r in theirs)
                if errors:
                    print(f"warning: {errors} failed requests in {model}/{concurrency}/{protocol}",
                          file=sys.stderr)
                ms = lambda v: "—" if v is None else f"{v / 1000:.3f}"  # noqa: E731
                rows.append([model, concurrency, protocol,
                             report.num(report.median(mine, "throughput")),
                             ms(report.median(mine, "p50_us")),
                             ms(report.median(mine, "p99_us")),
                             report.num(report.median(theirs, "throughput")),
                             ms(report.median(theirs, "mean_us"))])
    print("\n".join(report.table(["model", "callers", "protocol", "req/s", "p50 ms", "p99 ms",
                                  "h2load req/s", "h2load mean ms"], rows)))
    print(f"\nraw results: {os.path.join(out, 'results.json')}")


if __name__ == "__main__":
    main()
