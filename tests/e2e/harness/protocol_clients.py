"""Clients for strata's three inference encodings, for the protocol e2e tests:
REST with JSON tensors, REST with the binary tensor extension, and gRPC with
stubs generated from proto/inference.proto (CMake writes them to
$STRATA_PYTHON_PROTO). Each speaks the wire format by hand, the way
tritonclient and the KServe SDK do, so the tests check the bytes on the wire.

Tensors are numpy arrays; BF16 travels as its raw uint16 bits; BYTES tensors
are lists of bytes objects."""
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np

from harness.repositories import EXAMPLES, FIXTURES, PROTOCOL_FIXTURES
from harness.strata_server import BINARY_DIR

sys.path.insert(0, os.environ.get("STRATA_PYTHON_PROTO",
                                  os.path.join(BINARY_DIR, "python_proto")))
import grpc  # noqa: E402
import inference_pb2  # noqa: E402
import inference_pb2_grpc  # noqa: E402

NUMPY_TYPES = {
    "BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
    "UINT64": np.uint64, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32,
    "INT64": np.int64, "FP16": np.float16, "BF16": np.uint16, "FP32": np.float32,
    "FP64": np.float64,
}

# The InferTensorContents field that carries each datatype (none for FP16, BF16).
TYPED_FIELDS = {
    "BOOL": "bool_contents", "UINT8": "uint_contents", "UINT16": "uint_contents",
    "UINT32": "uint_contents", "UINT64": "uint64_contents", "INT8": "int_contents",
    "INT16": "int_contents", "INT32": "int_contents", "INT64": "int64_contents",
    "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}


def make_repository():
    """A repository of the trained examples, the fixture models and the protocol
    fixtures, as symlinks."""
    root = tempfile.mkdtemp(prefix="strata-e2e-protocol-")
    os.mkdir(os.path.join(root, "models"))
    for parent in (EXAMPLES, FIXTURES, PROTOCOL_FIXTURES):
        for name in os.listdir(parent):
            os.symlink(os.path.join(parent, name), os.path.join(root, "models", name))
    return root


def remove_repository(root):
    shutil.rmtree(root)


# Every datatype a backend (TorchScript) takes, the fixture model that takes it,
# and what that model answers (tests/fixtures/make_protocol_fixtures.py).
DTYPE_VALUES = {
    "BOOL": np.array([[True, False, True]]),
    "UINT8": np.array([[0, 7, 255]], dtype=np.uint8),
    "INT8": np.array([[-127, 0, 127]], dtype=np.int8),
    "INT16": np.array([[-32767, 5, 32767]], dtype=np.int16),
    "INT32": np.array([[-2**31 + 1, 9, 2**31 - 1]], dtype=np.int32),
    "INT64": np.array([[-2**63 + 1, 11, 2**63 - 1]], dtype=np.int64),
    "FP16": np.array([[0.5, -65504, 1e-3]], dtype=np.float16),
    "BF16": np.array([[0x3f80, 0xc040, 0x0000]], dtype=np.uint16),  # 1.0, -3.0, 0.0
    "FP32": np.array([[1.5, -2.25, 3.4e38]], dtype=np.float32),
    "FP64": np.array([[1e300, -2.5, 1e-300]], dtype=np.float64),
}


def expected_dtype_output(datatype, value):
    if datatype == "BOOL":
        return np.logical_not(value)
    if datatype == "UINT8":
        return 255 - value
    if datatype == "BF16":
        return value ^ np.uint16(0x8000)  # negation flips the sign bit
    return -value


def first_row(request):
    """The first row of a samples.json request, as (name, datatype, array)."""
    inputs = []
    for tensor in request["inputs"]:
        shape = tensor["shape"]
        width = len(tensor["data"]) // shape[0] if shape[0] else 0
        inputs.append((tensor["name"], tensor["datatype"],
                       np.array(tensor["data"][:width], dtype=np.float32).reshape([1] + shape[1:])))
    return inputs


# --- the binary tensor layout ---------------------------------------------------

def to_raw(datatype, value):
    """The protocol's binary layout of a tensor."""
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(e)) + e for e in value)
    return np.ascontiguousarray(value, dtype=NUMPY_TYPES[datatype]).astype(
        np.dtype(NUMPY_TYPES[datatype]).newbyteorder("<")).tobytes()


def from_raw(datatype, raw, shape):
    if datatype == "BYTES":
        elements, offset = [], 0
        while offset < len(raw):
            (length,) = struct.unpack_from("<I", raw, offset)
            elements.append(raw[offset + 4:offset + 4 + length])
            offset += 4 + length
        return elements
    dtype = np.dtype(NUMPY_TYPES[datatype]).newbyteorder("<")
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


# --- REST ----------------------------------------------------------------------

def json_infer_body(inputs, outputs=None, parameters=None):
    """`inputs`: [(name, datatype, array)]."""
    body = {"inputs": [{"name": n, "datatype": t, "shape": list(np.shape(v)),
                        "data": (np.asarray(v).tolist() if t != "BYTES"
                                 else [e.decode() for e in v])}
                       for n, t, v in inputs]}
    if outputs is not None:
        body["outputs"] = outputs
    if parameters is not None:
        body["parameters"] = parameters
    return json.dumps(body).encode()


def binary_infer_body(inputs, binary_inputs=True, outputs=None, parameters=None):
    """A binary-extension body and its Inference-Header-Content-Length: inputs
    as blobs after the JSON header (as tritonclient sends them)."""
    header = {"inputs": []}
    blobs = b""
    for name, datatype, value in inputs:
        shape = [len(value)] if datatype == "BYTES" else list(np.shape(value))
        tensor = {"name": name, "datatype": datatype, "shape": shape}
        if binary_inputs:
            raw = to_raw(datatype, value)
            tensor["parameters"] = {"binary_data_size": len(raw)}
            blobs += raw
        else:
            tensor["data"] = np.asarray(value).tolist()
        header["inputs"].append(tensor)
    if outputs is not None:
        header["outputs"] = outputs
    if parameters is not None:
        header["parameters"] = parameters
    encoded = json.dumps(header).encode()
    return encoded + blobs, len(encoded)


def rest_infer(server, model, body, header_length=None, headers=None):
    """POSTs `body`; returns (status, JSON header or error, {output: array},
    response headers). Binary outputs are decoded by their binary_data_size."""
    all_headers = {"Content-Type": "application/json" if header_length is None
                   else "application/octet-stream"}
    if header_length is not None:
        all_headers["Inference-Header-Content-Length"] = str(header_length)
    all_headers.update(headers or {})
    conn = server.connection()
    conn.request("POST", f"/v2/models/{model}/infer", body=body, headers=all_headers)
    response = conn.getresponse()
    raw = response.read()
    response_headers = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return (response.status, *decode_rest_response(raw, response_headers), response_headers)


def decode_rest_response(raw, headers):
    length = headers.get("inference-header-content-length")
    header = json.loads(raw[:int(length)] if length is not None else raw)
    outputs = {}
    offset = int(length) if length is not None else 0
    for output in header.get("outputs", []):
        size = output.get("parameters", {}).get("binary_data_size")
        if size is not None:
            outputs[output["name"]] = from_raw(output["datatype"], raw[offset:offset + size],
                                               output["shape"])
            offset += size
        elif output["datatype"] == "BYTES":
            outputs[output["name"]] = [e.encode() for e in output["data"]]
        else:
            dtype = np.float32 if output["datatype"] in ("FP16", "BF16") else \
                NUMPY_TYPES[output["datatype"]]
            outputs[output["name"]] = np.array(output["data"], dtype=dtype).reshape(
                output["shape"])
    return header, outputs


# --- gRPC ----------------------------------------------------------------------

class GrpcClient:
    def __init__(self, port, compression=None):
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", compression=compression,
            options=[("grpc.max_receive_message_length", 64 << 20),
                     ("grpc.max_send_message_length", 64 << 20)])
        self.stub = inference_pb2_grpc.GRPCInferenceServiceStub(self.channel)

    def close(self):
        self.channel.close()

    @staticmethod
    def request(model, inputs, raw=True, outputs=None, request_id=None, parameters=None,
                version=""):
        """A ModelInferRequest; `inputs`: [(name, datatype, array or list)]."""
        request = inference_pb2.ModelInferRequest(model_name=model, model_version=version)
        if request_id is not None:
            request.id = request_id
        for name, datatype, value in inputs:
            tensor = request.inputs.add(name=name, datatype=datatype)
            tensor.shape.extend([len(value)] if datatype == "BYTES" else np.shape(value))
            if raw:
                request.raw_input_contents.append(to_raw(datatype, value))
            elif datatype == "BYTES":
                tensor.contents.bytes_contents.extend(value)
            else:
                getattr(tensor.contents, TYPED_FIELDS[datatype]).extend(
                    np.asarray(value).flatten().tolist())
        for name in outputs or []:
            request.outputs.add(name=name)
        for key, value in (parameters or {}).items():
            parameter = request.parameters[key]
            if isinstance(value, bool):
                parameter.bool_param = value
            elif isinstance(value, int):
                parameter.int64_param = value
            else:
                parameter.string_param = value
        return request

    def infer(self, model, inputs, raw=True, timeout=None, **kwargs):
        return self.stub.ModelInfer(self.request(model, inputs, raw, **kwargs), timeout=timeout)

    @staticmethod
    def outputs(response):
        """{name: array} decoded from raw_output_contents."""
        assert len(response.raw_output_contents) == len(response.outputs)
        return {o.name: from_raw(o.datatype, raw, list(o.shape))
                for o, raw in zip(response.outputs, response.raw_output_contents)}
