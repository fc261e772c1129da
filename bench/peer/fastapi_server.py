#!/usr/bin/python3
"""The peer for bench/rest_bench.py: the same example models behind FastAPI + uvicorn.

A straightforward, reasonably tuned Python KServe v2 REST server, the kind one would write
to serve these models without strata:

  POST /v2/models/{name}/infer   KServe v2 JSON request -> KServe v2 JSON response
  GET  /v2/health/ready          {"ready": true}

Models (loaded once per worker, at import):
  digits_mlp         torch.jit.load(model.pt), eval(), torch.set_num_threads(1),
                     called under torch.inference_mode(); forward() returns a dict
                     {"logits", "probabilities"}.
  breast_cancer_xgb  xgboost.Booster(model_file=model.json), nthread=1,
                     Booster.inplace_predict -> probability.

Fairness notes (the comparison with strata must be honest):
  - The body is read as bytes and parsed with the stdlib json module, the data goes straight into a
    float32 numpy array, and the response is serialised with json.dumps into a plain Response:
    no pydantic request/response models and no jsonable_encoder, which would only slow it down.
  - The handler is `async def`: the models take tens of microseconds, so running them on the
    event loop is cheaper than FastAPI's thread-pool hand-off for a sync `def` handler.
  - One intra-op thread per model (like strata's `threads: 1` configs); with --workers 2 each
    process gets one core's worth.
  - uvicorn uses uvloop/httptools when they are installed (`--loop auto --http auto`), else
    asyncio/h11; rest_bench.py runs both stacks explicitly.
  - --workers N > 1: N processes, each with its own SO_REUSEPORT listening socket and
    TCP_NODELAY on (see main() for why not uvicorn.run(workers=N)).

Run:  /usr/bin/python3 bench/peer/fastapi_server.py --repository examples/repository \
          --port 8001 [--workers 2]
"""

import argparse
import json
import os
import sys

# Read by the worker processes too (uvicorn re-imports this module by name in each worker).
_REPO_ENV = "STRATA_PEER_REPOSITORY"
_VERSION = "1"

app = None  # set below when the module is imported with a repository


def _load_models(repository):
    import numpy as np
    import torch
    import xgboost as xgb

    torch.set_num_threads(1)
    models = {}

    # --- digits_mlp: TorchScript -------------------------------------------------------------
    mlp_path = os.path.join(repository, "models", "digits_mlp", _VERSION, "model.pt")
    if os.path.exists(mlp_path):
        module = torch.jit.load(mlp_path, map_location="cpu")
        module.eval()

        def run_mlp(x):  # x: float32 ndarray [N, 64]
            with torch.inference_mode():
                out = module(torch.from_numpy(x))
            return [
                ("logits", list(out["logits"].shape), out["logits"].numpy()),
                ("probabilities", list(out["probabilities"].shape),
                 out["probabilities"].numpy()),
            ]

        models["digits_mlp"] = ("pixels", 64, run_mlp)

    # --- breast_cancer_xgb: XGBoost JSON -----------------------------------------------------
    xgb_path = os.path.join(repository, "models", "breast_cancer_xgb", _VERSION, "model.json")
    if os.path.exists(xgb_path):
        booster = xgb.Booster(model_file=xgb_path)
        booster.set_param({"nthread": 1})

        def run_xgb(x):  # x: float32 ndarray [N, 30]
            p = booster.inplace_predict(x)  # binary:logistic -> probability, shape [N]
            return [("probability", [x.shape[0]], np.asarray(p, dtype=np.float32))]

        models["breast_cancer_xgb"] = ("features", 30, run_xgb)

    # Warm up: TorchScript's profiling executor optimises the graph over the first calls.
    for _, (_, width, run) in models.items():
        for rows in (1, 1, 1, 4, 32, 1):
            run(np.zeros((rows, width), dtype=np.float32))
    return models


def _make_app(repository):
    import numpy as np
    from fastapi import FastAPI, Request
    from fastapi.responses import Response

    models = _load_models(repository)
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    float32 = np.float32
    dumps = json.dumps
    loads = json.loads

    def error(status, message):
        return Response(dumps({"error": message}), status_code=status,
                        media_type="application/json")

    worker_pid = {"X-Worker-Pid": str(os.getpid())}  # lets rest_bench.py see every worker up

    @api.get("/v2/health/ready")
    async def ready():
        return Response(b'{"ready":true}', media_type="application/json", headers=worker_pid)

    @api.post("/v2/models/{name}/infer")
    async def infer(name: str, request: Request):
        entry = models.get(name)
        if entry is None:
            return error(404, f"unknown model '{name}'")
        input_name, width, run = entry
        try:
            body = loads(await request.body())
            inputs = body["inputs"]
            if len(inputs) != 1:
                return error(400, f"expected 1 input, got {len(inputs)}")
            tensor = inputs[0]
            if tensor.get("name") != input_name or tensor.get("datatype") != "FP32":
                return error(400, f"expected input '{input_name}' of datatype FP32")
            shape = tensor["shape"]
            if len(shape) != 2 or shape[1] != width:
                return error(400, f"expected shape [-1, {width}], got {shape}")
            x = np.asarray(tensor["data"], dtype=float32)
            if x.size != shape[0] * width:
                return error(400, "data length does not match shape")
            x = x.reshape(shape[0], width)
        except (ValueError, KeyError, TypeError) as e:
            return error(400, f"bad request: {e}")
        outputs = [{"name": out_name, "datatype": "FP32", "shape": out_shape,
                    "data": array.ravel().tolist()}
                   for out_name, out_shape, array in run(x)]
        response = {"model_name": name, "model_version": _VERSION, "outputs": outputs}
        if "id" in body:
            response["id"] = body["id"]
        return Response(dumps(response), media_type="application/json")

    return api


if os.environ.get(_REPO_ENV):
    app = _make_app(os.environ[_REPO_ENV])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repository", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loop", default="auto", help="uvicorn --loop: auto, asyncio, uvloop")
    parser.add_argument("--http", default="auto", help="uvicorn --http: auto, h11, httptools")
    args = parser.parse_args()

    import uvicorn

    os.environ[_REPO_ENV] = os.path.abspath(args.repository)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if args.workers == 1:
        uvicorn.run("fastapi_server:app", host=args.host, port=args.port, loop=args.loop,
                    http=args.http, log_level="warning", access_log=False)
        return
    # Several workers. uvicorn.run(workers=N) is not used, for two reasons that would both
    # handicap the peer:
    #  1. uvicorn 0.17's Config.bind_socket() creates the shared socket as
    #     socket.socket(family=AF_INET), i.e. with proto 0; the workers rebuild it with proto 0,
    #     and asyncio only sets TCP_NODELAY on sockets whose proto is IPPROTO_TCP. Without
    #     TCP_NODELAY, h11's separate header and body writes meet Nagle + delayed ACK, and every
    #     keep-alive request takes ~40 ms (measured: 365 req/s instead of ~5,000).
    #  2. With one shared listening socket, whichever worker wakes first accepts most of wrk's
    #     16 connections at once, so the load is often lopsided (measured: 6,800-12,400 req/s
    #     from run to run). Each worker gets its own SO_REUSEPORT socket instead, and the
    #     kernel spreads the connections over them (as gunicorn --reuse-port does).
    # The supervisor is uvicorn's own (SIGTERM/SIGINT stop the workers).
    import signal
    import socket

    from uvicorn.subprocess import get_subprocess
    from uvicorn.supervisors import Multiprocess

    class ReusePortMultiprocess(Multiprocess):
        def startup(self):
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self.signal_handler)
            for sock in self.sockets:  # one socket per worker
                process = get_subprocess(config=self.config, target=self.target,
                                         sockets=[sock])
                process.start()
                self.processes.append(process)

    config = uvicorn.Config("fastapi_server:app", host=args.host, port=args.port,
                            workers=args.workers, loop=args.loop, http=args.http,
                            log_level="warning", access_log=False)
    sockets = []
    for _ in range(args.workers):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((args.host, args.port))
        sock.set_inheritable(True)
        sockets.append(sock)
    ReusePortMultiprocess(config, target=uvicorn.Server(config).run, sockets=sockets).run()


if __name__ == "__main__":
    main()
