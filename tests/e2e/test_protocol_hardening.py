"""End-to-end tests of what Triton's own clients and an outside fault hunt
found (issue 11), against the real binary: each test is named after the
defect it pins down. The clients are written from the protocol: raw HTTP
(http.client) and stubs generated from proto/inference.proto, sending the
very parameters and calls that tritonclient, Triton's C++ gRPC client and
perf_analyzer send (docs/protocol.md lists strata's decision on each).

Models: the protocol fixtures (tests/fixtures/make_protocol_fixtures.py:
dtype_<type> answers y = -x for x <TYPE> [-1, 3]), a copy of dtype_fp32 with
a labels file, and the fixture corrupt_pt (fails to load) for readiness."""
import http.client
import json
import os
import shutil
import tempfile
import unittest

import grpc
import numpy as np

from harness.protocol_clients import (GrpcClient, binary_infer_body, from_raw, json_infer_body,
                                      rest_infer)
import inference_pb2  # noqa: E402 (generated; protocol_clients puts it on the path)
from harness.repositories import FIXTURES, PROTOCOL_FIXTURES
from harness.strata_server import StrataServer

SERVICE = "/inference.GRPCInferenceService/"
LABELS = ["zero", "one", "two"]


def make_repository(names, labelled=False):
    """A repository of the named fixture models (symlinks); with `labelled`,
    also "labelled": dtype_fp32 whose output y names labels.txt."""
    root = tempfile.mkdtemp(prefix="strata-e2e-hardening-")
    models = os.path.join(root, "models")
    os.mkdir(models)
    for name in names:
        parent = PROTOCOL_FIXTURES if name.startswith("dtype_") else FIXTURES
        os.symlink(os.path.join(parent, name), os.path.join(models, name))
    if labelled:
        source = os.path.join(PROTOCOL_FIXTURES, "dtype_fp32")
        target = os.path.join(models, "labelled")
        os.mkdir(target)
        os.symlink(os.path.join(source, "1"), os.path.join(target, "1"))
        with open(os.path.join(source, "config.yaml")) as f:
            config = f.read()
        config = config.replace("{name: y, datatype: FP32, shape: [-1, 3]}",
                                "{name: y, datatype: FP32, shape: [-1, 3], "
                                "label_filename: labels.txt}")
        assert "label_filename" in config, config
        with open(os.path.join(target, "config.yaml"), "w") as f:
            f.write(config)
        with open(os.path.join(target, "labels.txt"), "w") as f:
            f.write("\n".join(LABELS) + "\n")
    return root


def strict_json(raw):
    """json.loads that refuses NaN, Infinity and -Infinity, as strict JSON
    parsers (JavaScript, Go, Rust) do."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(raw, parse_constant=refuse)


def fetch(server, method, path, body=None, headers=None):
    """(status, raw body, lower-cased headers) of one HTTP call."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    return response.status, raw, {k.lower(): v for k, v in response.getheaders()}


X = [("x", "FP32", np.array([[1.0, -3.0, 2.0]], dtype=np.float32))]  # y = [[-1, 3, -2]]


class ProtocolTestCase(unittest.TestCase):
    def assertCode(self, call, code, *fragments):
        """`call` fails with gRPC status `code` and a message holding `fragments`."""
        with self.assertRaises(grpc.RpcError) as raised:
            call()
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        for fragment in fragments:
            self.assertIn(fragment, raised.exception.details() or "")
        return raised.exception.details()

    def assertRestError(self, status, raw, expected, *fragments):
        """An HTTP `expected` status with {"error": ...} holding `fragments`."""
        self.assertEqual(status, expected, raw)
        error = strict_json(raw)["error"]
        for fragment in fragments:
            self.assertIn(fragment, error)


class HardeningTest(ProtocolTestCase):
    @classmethod
    def setUpClass(cls):
        cls.repository = make_repository(["dtype_fp32", "dtype_fp64", "dtype_int32",
                                          "dtype_bool"], labelled=True)
        cls.server = StrataServer(cls.repository, ["--control-api"]).__enter__()
        assert cls.server.grpc_port, cls.server.log_text()
        cls.client = GrpcClient(cls.server.grpc_port)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.repository)

    def post_json(self, model, body):
        return fetch(self.server, "POST", f"/v2/models/{model}/infer",
                    body if isinstance(body, (bytes, str)) else json.dumps(body),
                    {"Content-Type": "application/json"})

    # --- 1. perf_analyzer: equal compute counts --------------------------

    def test_statistics_report_equal_compute_counts(self):
        for _ in range(3):
            self.client.infer("dtype_fp64", [("x", "FP64", np.array([[1, 2, 3]], np.float64))])
        status, raw, _ = fetch(self.server, "GET", "/v2/models/dtype_fp64/stats")
        self.assertEqual(status, 200, raw)
        stats = strict_json(raw)["model_stats"][0]
        phases = stats["inference_stats"]
        counts = {p: phases[p]["count"] for p in ("compute_input", "compute_infer",
                                                  "compute_output")}
        self.assertEqual(len(set(counts.values())), 1, counts)
        self.assertGreaterEqual(counts["compute_infer"], 3)
        self.assertGreater(phases["compute_infer"]["ns"], 0)
        for batch in stats["batch_stats"]:
            self.assertEqual(batch["compute_input"]["count"], batch["compute_infer"]["count"])
            self.assertEqual(batch["compute_output"]["count"], batch["compute_infer"]["count"])
        grpc_stats = self.client.stub.ModelStatistics(
            inference_pb2.ModelStatisticsRequest(name="dtype_fp64")).model_stats[0]
        s = grpc_stats.inference_stats
        self.assertEqual(s.compute_input.count, s.compute_infer.count)
        self.assertEqual(s.compute_output.count, s.compute_infer.count)
        self.assertGreaterEqual(s.compute_infer.count, counts["compute_infer"])

    # --- 2. the parameters Triton's clients send --------------------------

    def test_triton_cpp_client_parameters_are_accepted(self):
        # libgrpcclient adds triton_enable_empty_final_response to every
        # ModelInfer; tritonclient sends priority as uint64 and sequence_id 0
        # for "no sequence".
        request = GrpcClient.request("dtype_fp32", X)
        request.parameters["triton_enable_empty_final_response"].bool_param = False
        request.parameters["priority"].uint64_param = 1
        request.parameters["sequence_id"].int64_param = 0
        response = self.client.stub.ModelInfer(request)
        np.testing.assert_array_equal(GrpcClient.outputs(response)["y"], [[-1, 3, -2]])
        body = json.loads(json_infer_body(X))
        body["parameters"] = {"triton_enable_empty_final_response": True, "priority": 0,
                              "sequence_id": "", "sequence_start": False}
        status, raw, _ = self.post_json("dtype_fp32", body)
        self.assertEqual(status, 200, raw)

    def test_parameters_strata_cannot_honour_are_refused_by_name(self):
        refused = {"sequence_id": 5, "sequence_start": True, "triton_some_option": True}
        for key, value in refused.items():
            self.assertCode(lambda: self.client.infer("dtype_fp32", X, parameters={key: value}),
                            grpc.StatusCode.INVALID_ARGUMENT,
                            f"parameter '{key}' is not supported by strata")
            body = json.loads(json_infer_body(X))
            body["parameters"] = {key: value}
            status, raw, _ = self.post_json("dtype_fp32", body)
            self.assertRestError(status, raw, 400, f"parameter '{key}' is not supported")

    # --- 3, 4. model control ----------------------------------------------

    def test_grpc_unload_accepts_unload_dependents(self):
        stub = self.client.stub
        for dependents in (False, True):
            request = inference_pb2.RepositoryModelUnloadRequest(model_name="dtype_int32")
            request.parameters["unload_dependents"].bool_param = dependents
            stub.RepositoryModelUnload(request)
            self.assertFalse(stub.ModelReady(
                inference_pb2.ModelReadyRequest(name="dtype_int32")).ready)
            stub.RepositoryModelLoad(inference_pb2.RepositoryModelLoadRequest(
                model_name="dtype_int32"))
            self.assertTrue(stub.ModelReady(
                inference_pb2.ModelReadyRequest(name="dtype_int32")).ready)
        # tritonclient.http sends the same as a JSON body.
        status, raw, _ = fetch(self.server, "POST", "/v2/repository/models/dtype_int32/unload",
                              json.dumps({"parameters": {"unload_dependents": False}}))
        self.assertEqual(status, 200, raw)
        status, raw, _ = fetch(self.server, "POST", "/v2/repository/models/dtype_int32/load", "{}")
        self.assertEqual(status, 200, raw)

    def test_load_refuses_a_config_override_over_rest_and_grpc(self):
        path = "/v2/repository/models/dtype_int32/load"
        config = json.dumps({"max_batch_size": 8})
        status, raw, _ = fetch(self.server, "POST", path,
                              json.dumps({"parameters": {"config": config}}))
        self.assertRestError(status, raw, 400, "parameter 'config' is not supported")
        status, raw, _ = fetch(self.server, "POST", path,
                              json.dumps({"parameters": {"file:1/model.pt": "AAAA"}}))
        self.assertRestError(status, raw, 400, "parameter 'file:1/model.pt' is not supported")
        status, raw, _ = fetch(self.server, "POST", path, "this is not JSON")
        self.assertRestError(status, raw, 400, "malformed JSON")
        request = inference_pb2.RepositoryModelLoadRequest(model_name="dtype_int32")
        request.parameters["config"].string_param = config
        details = self.assertCode(lambda: self.client.stub.RepositoryModelLoad(request),
                                  grpc.StatusCode.INVALID_ARGUMENT)
        _, raw, _ = fetch(self.server, "POST", path,
                         json.dumps({"parameters": {"config": config}}))
        self.assertEqual(details, strict_json(raw)["error"])  # REST and gRPC agree

    def test_a_refused_control_body_is_answered_and_the_server_lives(self):
        # A malformed body used to be answered through a reply callback that
        # had already been moved away: std::bad_function_call, and the
        # process terminated.
        for action, body in (("default", "not json"), ("labels", '{"version": 1}'),
                             ("load", "not json")):
            status, raw, _ = fetch(self.server, "POST",
                                   f"/v2/repository/models/dtype_int32/{action}", body)
            self.assertEqual(status, 400, (action, raw))
            self.assertIn("error", strict_json(raw))
        status, _, _ = fetch(self.server, "GET", "/v2/health/live")
        self.assertEqual(status, 200)

    # --- 5. classification ------------------------------------------------

    def test_classification_is_answered_over_json_binary_and_grpc(self):
        expected = [b"3.000000:1:one", b"-1.000000:0:zero"]
        body = json_infer_body(X, outputs=[{"name": "y", "parameters": {"classification": 2}}])
        status, header, outputs, _ = rest_infer(self.server, "labelled", body)
        self.assertEqual(status, 200, header)
        self.assertEqual(header["outputs"][0]["datatype"], "BYTES")
        self.assertEqual(header["outputs"][0]["shape"], [1, 2])
        self.assertEqual(outputs["y"], expected)

        body, length = binary_infer_body(X, outputs=[
            {"name": "y", "parameters": {"classification": 2, "binary_data": True}}])
        status, header, outputs, _ = rest_infer(self.server, "labelled", body, length)
        self.assertEqual(status, 200, header)
        self.assertEqual(outputs["y"], expected)

        request = GrpcClient.request("labelled", X)
        request.outputs.add(name="y").parameters["classification"].int64_param = 2
        response = self.client.stub.ModelInfer(request)
        self.assertEqual(list(response.outputs[0].shape), [1, 2])
        self.assertEqual(from_raw("BYTES", response.raw_output_contents[0], [2]), expected)

    def test_classification_without_labels_and_of_every_row(self):
        x = [("x", "INT32", np.array([[5, -7, 1], [0, 2, -2]], dtype=np.int32))]
        body = json_infer_body(x, outputs=[{"name": "y", "parameters": {"classification": 9}}])
        status, header, outputs, _ = rest_infer(self.server, "dtype_int32", body)
        self.assertEqual(status, 200, header)
        self.assertEqual(header["outputs"][0]["shape"], [2, 3])
        self.assertEqual(outputs["y"], [b"7:1", b"-1:2", b"-5:0", b"2:2", b"0:0", b"-2:1"])

    def test_classification_of_what_cannot_be_ranked_is_refused(self):
        x = [("x", "BOOL", np.array([[True, False, True]]))]
        body = json_infer_body(x, outputs=[{"name": "y", "parameters": {"classification": 1}}])
        status, header, _, _ = rest_infer(self.server, "dtype_bool", body)
        self.assertEqual(status, 400, header)
        self.assertIn("output 'y' is BOOL", header["error"])
        request = GrpcClient.request("dtype_fp32", X)
        request.outputs.add(name="y").parameters["classification"].int64_param = 0
        self.assertCode(lambda: self.client.stub.ModelInfer(request),
                        grpc.StatusCode.INVALID_ARGUMENT, "'classification' must be a positive")

    # --- 6. clear gRPC errors ---------------------------------------------

    def test_shared_memory_is_refused_for_what_it_is(self):
        # As tritonclient sends an input in shared memory: parameters, no raw
        # contents, while another input is raw.
        request = GrpcClient.request("dtype_fp32", X)
        shm = request.inputs.add(name="z", datatype="FP32", shape=[1, 3])
        shm.parameters["shared_memory_region"].string_param = "input_data"
        shm.parameters["shared_memory_byte_size"].int64_param = 12
        details = self.assertCode(lambda: self.client.stub.ModelInfer(request),
                                  grpc.StatusCode.INVALID_ARGUMENT,
                                  "input 'z': parameter 'shared_memory_", "is not supported",
                                  "shared-memory")
        self.assertNotIn("raw_input_contents", details)

    def test_unsupported_rpcs_are_named(self):
        unary = self.client.channel.unary_unary(
            SERVICE + "SystemSharedMemoryStatus",
            request_serializer=lambda _: b"", response_deserializer=lambda b: b)
        self.assertCode(lambda: unary(None), grpc.StatusCode.UNIMPLEMENTED,
                        "strata does not support the RPC " + SERVICE + "SystemSharedMemoryStatus",
                        "ModelInfer")
        stream = self.client.channel.stream_stream(
            SERVICE + "ModelStreamInfer",
            request_serializer=lambda m: m.SerializeToString(), response_deserializer=lambda b: b)
        self.assertCode(lambda: list(stream(iter([GrpcClient.request("dtype_fp32", X)]))),
                        grpc.StatusCode.UNIMPLEMENTED, "ModelStreamInfer")

    def test_a_message_that_does_not_parse_is_invalid_argument(self):
        call = self.client.channel.unary_unary(
            SERVICE + "ModelInfer", request_serializer=lambda b: b,
            response_deserializer=lambda b: b)
        # Field 1 (model_name), length 127, but one byte follows.
        self.assertCode(lambda: call(b"\x0a\x7f\x01"), grpc.StatusCode.INVALID_ARGUMENT,
                        "ModelInfer", "inference.ModelInferRequest")

    # --- 12. timeouts and float range ---------------------------------------

    def test_huge_timeouts_mean_no_deadline(self):
        for timeout in ("9223372036854775807", "18446744073709551615", "1e30"):
            body = json_infer_body(X)[:-1] + b', "parameters": {"timeout": ' + \
                timeout.encode() + b"}}"
            status, raw, _ = self.post_json("dtype_fp32", body)
            self.assertEqual(status, 200, (timeout, raw))
        for set_param in (lambda p: setattr(p, "int64_param", 2**63 - 1),
                          lambda p: setattr(p, "uint64_param", 2**64 - 1),
                          lambda p: setattr(p, "double_param", 1e30)):
            request = GrpcClient.request("dtype_fp32", X)
            set_param(request.parameters["timeout"])
            self.client.stub.ModelInfer(request)
        request = GrpcClient.request("dtype_fp32", X)
        request.parameters["timeout"].double_param = float("nan")
        self.assertCode(lambda: self.client.stub.ModelInfer(request),
                        grpc.StatusCode.INVALID_ARGUMENT, "'timeout' must be a finite number")

    def test_fp32_beyond_float_range_is_refused(self):
        body = b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], ' \
               b'"data": [1e39, 0, 0]}]}'
        status, raw, _ = self.post_json("dtype_fp32", body)
        self.assertRestError(status, raw, 400, "input 'x': value 1e+39 is out of range for "
                             "its 32-bit floating-point datatype")
        status, raw, _ = self.post_json("dtype_fp32", body.replace(b"1e39", b"3.4028235e38"))
        self.assertEqual(status, 200, raw)
        self.assertEqual(strict_json(raw)["outputs"][0]["data"][0], -3.4028235e38)
        # The typed gRPC path carries float32 itself: nothing to narrow.
        edge = np.finfo(np.float32).max
        response = self.client.infer(
            "dtype_fp32", [("x", "FP32", np.array([[edge, 0, 0]], np.float32))], raw=False)
        self.assertEqual(GrpcClient.outputs(response)["y"][0][0], -edge)

    # --- 13. non-finite outputs are strict JSON ------------------------------

    def test_non_finite_outputs_are_strict_json(self):
        for model, dtype in (("dtype_fp32", "FP32"), ("dtype_fp64", "FP64")):
            x = [("x", dtype, np.array([[np.inf, np.nan, 1.0]], dtype=np.float64))]
            body, length = binary_infer_body(x)
            status, raw, headers = fetch(self.server, "POST", f"/v2/models/{model}/infer", body,
                                        {"Inference-Header-Content-Length": str(length)})
            self.assertEqual(status, 200, raw)
            self.assertNotIn("inference-header-content-length", headers)
            data = strict_json(raw)["outputs"][0]["data"]
            self.assertEqual(data, ["-Infinity", "NaN", -1.0])
            # What tritonclient's as_numpy does with it.
            values = np.array(data, dtype=np.float32)
            self.assertEqual(values[0], -np.inf)
            self.assertTrue(np.isnan(values[1]))
            # And what a client sends back is read as it was written.
            echo = {"inputs": [{"name": "x", "datatype": dtype, "shape": [1, 3], "data": data}]}
            status, raw, _ = self.post_json(model, echo)
            self.assertEqual(strict_json(raw)["outputs"][0]["data"], ["Infinity", "NaN", 1.0])

    # --- 15. ids and error bodies --------------------------------------------

    def test_an_empty_request_id_is_echoed(self):
        body = json.loads(json_infer_body(X))
        body["id"] = ""
        status, raw, _ = self.post_json("dtype_fp32", body)
        self.assertEqual(status, 200, raw)
        self.assertEqual(strict_json(raw)["id"], "")
        del body["id"]
        _, raw, _ = self.post_json("dtype_fp32", body)
        self.assertNotIn("id", strict_json(raw))

    def test_readiness_ignores_models_unloaded_on_purpose(self):
        status, raw, _ = fetch(self.server, "GET", "/v2/health/ready")
        self.assertEqual((status, strict_json(raw)), (200, {"ready": True}))
        stub = self.client.stub
        stub.RepositoryModelUnload(inference_pb2.RepositoryModelUnloadRequest(
            model_name="dtype_bool"))
        try:
            self.assertTrue(stub.ServerReady(inference_pb2.ServerReadyRequest()).ready)
        finally:
            stub.RepositoryModelLoad(inference_pb2.RepositoryModelLoadRequest(
                model_name="dtype_bool"))


class ReadinessTest(ProtocolTestCase):
    """A server with a model that failed to load (corrupt_pt)."""

    @classmethod
    def setUpClass(cls):
        cls.repository = make_repository(["dtype_fp32", "corrupt_pt"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.repository)

    def test_readiness_is_strict_by_default(self):
        with StrataServer(self.repository) as server:
            status, raw, _ = fetch(server, "GET", "/v2/health/ready")
            self.assertEqual(status, 503, raw)
            body = strict_json(raw)
            self.assertFalse(body["ready"])
            self.assertIn("model 'corrupt_pt' is not ready", body["error"])
            client = GrpcClient(server.grpc_port)
            try:
                self.assertFalse(client.stub.ServerReady(inference_pb2.ServerReadyRequest()).ready)
                self.assertTrue(client.stub.ServerLive(inference_pb2.ServerLiveRequest()).live)
                # The healthy model still serves.
                client.infer("dtype_fp32", X)
            finally:
                client.close()
            # A not-ready model's 503 carries "error", as the 404 does.
            status, raw, _ = fetch(server, "GET", "/v2/models/corrupt_pt/ready")
            self.assertRestError(status, raw, 503, "model 'corrupt_pt' is not ready")
            self.assertFalse(strict_json(raw)["ready"])
            status, raw, _ = fetch(server, "GET", "/v2/models/no_such_model/ready")
            self.assertRestError(status, raw, 404, "Request for unknown model")

    def test_lenient_readiness_is_ready_once_started(self):
        with StrataServer(self.repository, ["--lenient-readiness"]) as server:
            status, raw, _ = fetch(server, "GET", "/v2/health/ready")
            self.assertEqual((status, strict_json(raw)), (200, {"ready": True}))
            client = GrpcClient(server.grpc_port)
            try:
                self.assertTrue(client.stub.ServerReady(inference_pb2.ServerReadyRequest()).ready)
            finally:
                client.close()


if __name__ == "__main__":
    unittest.main()
