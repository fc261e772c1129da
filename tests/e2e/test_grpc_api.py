"""End-to-end tests of strata's gRPC frontend (inference.GRPCInferenceService)
against the real binary: every RPC, typed and raw inputs, every datatype,
errors as gRPC status codes, deadlines, overload, compression and server
reflection; and the same answers over REST-JSON, REST-binary and gRPC."""
import os
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np

from harness.protocol_clients import (DTYPE_VALUES, GrpcClient, binary_infer_body,
                                      expected_dtype_output, first_row, json_infer_body,
                                      make_repository, remove_repository, rest_infer)
import grpc_reflection_pb2  # noqa: E402 (generated; protocol_clients puts it on the path)
import inference_pb2  # noqa: E402
from harness.metrics import metric, parse_metrics
from harness.strata_server import StrataServer

from harness.repositories import TOLERANCE, load_samples


class GrpcApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repository = make_repository()
        cls.server = StrataServer(cls.repository).__enter__()
        assert cls.server.grpc_port, cls.server.log_text()
        cls.client = GrpcClient(cls.server.grpc_port)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.__exit__(None, None, None)
        remove_repository(cls.repository)

    def assertCode(self, call, code, fragment=""):
        with self.assertRaises(grpc.RpcError) as raised:
            call()
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        self.assertIn(fragment, raised.exception.details())
        return raised.exception.details()

    def assertStillServing(self):
        response = self.client.stub.ServerLive(inference_pb2.ServerLiveRequest())
        self.assertTrue(response.live)

    # --- health and metadata ---------------------------------------------

    def test_server_live_ready_and_metadata(self):
        stub = self.client.stub
        self.assertTrue(stub.ServerLive(inference_pb2.ServerLiveRequest()).live)
        # Strict readiness: the repository holds the deliberately broken
        # fixture models (test_protocol_hardening.py checks the ready case).
        self.assertFalse(stub.ServerReady(inference_pb2.ServerReadyRequest()).ready)
        metadata = stub.ServerMetadata(inference_pb2.ServerMetadataRequest())
        self.assertEqual(metadata.name, "strata")
        self.assertTrue(metadata.version)
        for extension in ("binary_tensor_data", "model_configuration", "statistics"):
            self.assertIn(extension, metadata.extensions)
        _, rest, _ = self.server.request("GET", "/v2")
        self.assertEqual(list(metadata.extensions), rest["extensions"])

    def test_model_ready(self):
        stub = self.client.stub
        ready = lambda name, version="": stub.ModelReady(  # noqa: E731
            inference_pb2.ModelReadyRequest(name=name, version=version)).ready
        self.assertTrue(ready("digits_mlp"))
        self.assertTrue(ready("breast_cancer_xgb", "1"))
        self.assertFalse(ready("corrupt_pt"))
        self.assertCode(lambda: ready("no_such_model"), grpc.StatusCode.NOT_FOUND,
                        "Request for unknown model: 'no_such_model' is not found")
        self.assertCode(lambda: ready("digits_mlp", "7"), grpc.StatusCode.NOT_FOUND,
                        "version '7'")

    def test_model_metadata_matches_rest(self):
        for model in ("digits_mlp", "breast_cancer_xgb", "two_inputs"):
            metadata = self.client.stub.ModelMetadata(
                inference_pb2.ModelMetadataRequest(name=model))
            status, rest, _ = self.server.request("GET", f"/v2/models/{model}")
            self.assertEqual(status, 200)
            self.assertEqual(metadata.name, rest["name"])
            self.assertEqual(list(metadata.versions), rest["versions"])
            self.assertEqual(metadata.platform, rest["platform"])
            for grpc_tensors, rest_tensors in ((metadata.inputs, rest["inputs"]),
                                               (metadata.outputs, rest["outputs"])):
                self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in grpc_tensors],
                                 [(t["name"], t["datatype"], t["shape"]) for t in rest_tensors])
            self.assertEqual(metadata.properties["state"], "READY")
        broken = self.client.stub.ModelMetadata(inference_pb2.ModelMetadataRequest(name="corrupt_pt"))
        self.assertEqual(broken.properties["state"], "UNAVAILABLE")
        self.assertTrue(broken.properties["reason"])
        self.assertCode(lambda: self.client.stub.ModelMetadata(
            inference_pb2.ModelMetadataRequest(name="nope")), grpc.StatusCode.NOT_FOUND)

    def test_model_config_matches_rest_config(self):
        config = self.client.stub.ModelConfig(
            inference_pb2.ModelConfigRequest(name="digits_mlp")).config
        status, rest, _ = self.server.request("GET", "/v2/models/digits_mlp/config")
        self.assertEqual(status, 200, rest)
        self.assertEqual(config.name, "digits_mlp")
        self.assertEqual(config.platform, "pytorch_torchscript")
        self.assertEqual(config.backend, "torchscript")
        self.assertGreater(config.max_batch_size, 0)
        self.assertEqual([(i.name, inference_pb2.DataType.Name(i.data_type), list(i.dims))
                          for i in config.input],
                         [(i["name"], i["data_type"], i["dims"]) for i in rest["input"]])
        self.assertEqual([(o.name, list(o.dims)) for o in config.output],
                         [(o["name"], o["dims"]) for o in rest["output"]])
        self.assertEqual(rest["max_batch_size"], config.max_batch_size)
        # The batch dimension is not part of the dims when the model batches.
        self.assertEqual(list(config.input[0].dims), [64])
        self.assertCode(lambda: self.client.stub.ModelConfig(
            inference_pb2.ModelConfigRequest(name="nope")), grpc.StatusCode.NOT_FOUND)

    def test_model_statistics_agree_with_rest_and_count_requests(self):
        stub = self.client.stub
        before = stub.ModelStatistics(inference_pb2.ModelStatisticsRequest(name="int_echo"))
        self.assertEqual(len(before.model_stats), 1)
        for _ in range(3):
            self.client.infer("int_echo", [("x", "INT64", np.array([[1, 2, 3]]))])
        after = stub.ModelStatistics(inference_pb2.ModelStatisticsRequest(name="int_echo"))
        stats = after.model_stats[0]
        self.assertEqual(stats.name, "int_echo")
        self.assertEqual(stats.version, "1")
        self.assertEqual(stats.inference_stats.success.count,
                         before.model_stats[0].inference_stats.success.count + 3)
        self.assertGreater(stats.last_inference, 0)
        status, rest, _ = self.server.request("GET", "/v2/models/int_echo/stats")
        self.assertEqual(status, 200)
        self.assertEqual(rest["model_stats"][0]["inference_stats"]["success"]["count"],
                         stats.inference_stats.success.count)
        self.assertEqual(rest["model_stats"][0]["execution_count"], stats.execution_count)
        every = stub.ModelStatistics(inference_pb2.ModelStatisticsRequest())
        self.assertIn("digits_mlp", [s.name for s in every.model_stats])
        self.assertCode(lambda: stub.ModelStatistics(
            inference_pb2.ModelStatisticsRequest(name="nope")), grpc.StatusCode.NOT_FOUND)

    # --- inference -------------------------------------------------------

    def test_infer_typed_and_raw_match_the_frameworks(self):
        for model in ("digits_mlp", "breast_cancer_xgb"):
            samples = load_samples(model)
            inputs = [(t["name"], t["datatype"],
                       np.array(t["data"], dtype=np.float32).reshape(t["shape"]))
                      for t in samples["request"]["inputs"]]
            for raw in (False, True):
                response = self.client.infer(model, inputs, raw=raw, request_id=f"{model}-{raw}")
                self.assertEqual(response.model_name, model)
                self.assertEqual(response.model_version, "1")
                self.assertEqual(response.id, f"{model}-{raw}")
                self.assertEqual(len(response.outputs[0].contents.fp32_contents), 0)
                outputs = GrpcClient.outputs(response)
                for tensor in samples["expected"]["outputs"]:
                    name = tensor["name"]
                    actual = outputs[name].flatten()
                    expected = np.array(tensor["data"], dtype=np.float64).flatten()
                    self.assertEqual(list(response.outputs[[o.name for o in response.outputs]
                                                           .index(name)].shape),
                                     tensor["shape"], name)
                    self.assertEqual(actual.shape, expected.shape, name)
                    self.assertLessEqual(np.max(np.abs(actual - expected)), TOLERANCE,
                                         f"{model}/{name} raw={raw}")

    def test_every_datatype_typed_and_raw(self):
        for datatype, value in DTYPE_VALUES.items():
            model = "dtype_" + datatype.lower()
            expected = expected_dtype_output(datatype, value)
            for raw in (True, False) if datatype not in ("FP16", "BF16") else (True,):
                response = self.client.infer(model, [("x", datatype, value)], raw=raw)
                self.assertEqual(response.outputs[0].datatype, datatype)
                self.assertEqual(list(response.outputs[0].shape), [1, 3])
                actual = GrpcClient.outputs(response)["y"]
                np.testing.assert_array_equal(actual, expected, f"{datatype} raw={raw}")

    def test_half_precision_must_be_raw(self):
        for datatype in ("FP16", "BF16"):
            # As a client might try: the values in fp32_contents.
            request = inference_pb2.ModelInferRequest(model_name="dtype_" + datatype.lower())
            tensor = request.inputs.add(name="x", datatype=datatype, shape=[1, 3])
            tensor.contents.fp32_contents.extend([1.0, 2.0, 3.0])
            self.assertCode(lambda: self.client.stub.ModelInfer(request),
                            grpc.StatusCode.INVALID_ARGUMENT,
                            f"{datatype} has no typed contents field; send it in "
                            "raw_input_contents")

    def test_datatypes_without_a_backend_are_decoded_and_named(self):
        # No backend takes UINT16/32/64 or BYTES; the frontend still decodes them,
        # typed and raw, and the core names the mismatch.
        cases = {"UINT16": np.array([[1, 2, 65535]], dtype=np.uint16),
                 "UINT32": np.array([[1, 2, 2**32 - 1]], dtype=np.uint32),
                 "UINT64": np.array([[1, 2, 2**64 - 1]], dtype=np.uint64),
                 "BYTES": [b"ab", b"", b"\x00\xff"]}
        for datatype, value in cases.items():
            for raw in (True, False):
                self.assertCode(
                    lambda: self.client.infer("dtype_int32", [("x", datatype, value)], raw=raw),
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"input 'x' has datatype {datatype} but model 'dtype_int32' expects INT32")

    def test_typed_values_out_of_range_and_in_the_wrong_field(self):
        request = GrpcClient.request("dtype_uint8", [("x", "UINT8", np.array([[1, 2, 3]]))],
                                     raw=False)
        request.inputs[0].contents.uint_contents[2] = 256
        self.assertCode(lambda: self.client.stub.ModelInfer(request),
                        grpc.StatusCode.INVALID_ARGUMENT, "256 is out of range for UINT8")
        request = GrpcClient.request("digits_mlp",
                                     [("pixels", "FP32", np.zeros((1, 64), np.float32))], raw=False)
        values = list(request.inputs[0].contents.fp32_contents)
        request.inputs[0].contents.ClearField("fp32_contents")
        request.inputs[0].contents.fp64_contents.extend(values)
        self.assertCode(lambda: self.client.stub.ModelInfer(request),
                        grpc.StatusCode.INVALID_ARGUMENT,
                        "belongs in contents.fp32_contents, but contents.fp64_contents")

    def test_two_inputs_in_raw_order_and_output_selection(self):
        a = np.array([[1, 2, 3, 4]], dtype=np.float32)
        b = np.array([[10, 20, 30, 40]], dtype=np.float32)
        for raw in (True, False):
            response = self.client.infer("two_inputs", [("b", "FP32", b), ("a", "FP32", a)],
                                         raw=raw, outputs=["product"])
            self.assertEqual([o.name for o in response.outputs], ["product"])
            np.testing.assert_array_equal(GrpcClient.outputs(response)["product"], a * b)
        response = self.client.infer("two_inputs", [("a", "FP32", a), ("b", "FP32", b)])
        self.assertEqual([o.name for o in response.outputs], ["sum", "product"])
        np.testing.assert_array_equal(GrpcClient.outputs(response)["sum"], a + b)

    def test_versions(self):
        x = np.array([[1, 2]], dtype=np.float32)
        response = self.client.infer("multi_version", [("x", "FP32", x)])
        self.assertEqual(response.model_version, "10")
        np.testing.assert_array_equal(GrpcClient.outputs(response)["y"], x + 10)
        self.assertEqual(self.client.infer("multi_version", [("x", "FP32", x)],
                                           version="10").model_version, "10")

    def test_large_input(self):
        x = np.linspace(-1, 1, 4096, dtype=np.float32).reshape(1, 4096)
        grpc_y = GrpcClient.outputs(self.client.infer("wide_fp32", [("x", "FP32", x)]))["y"]
        self.assertEqual(grpc_y.shape, (1, 16))
        status, _, rest, _ = rest_infer(self.server, "wide_fp32",
                                        json_infer_body([("x", "FP32", x)]))
        self.assertEqual(status, 200)
        np.testing.assert_array_equal(grpc_y, rest["y"])

    # --- errors ----------------------------------------------------------

    def test_errors_carry_status_codes_and_clear_messages(self):
        x = [("pixels", "FP32", np.zeros((1, 64), np.float32))]
        self.assertCode(lambda: self.client.infer("no_such_model", x),
                        grpc.StatusCode.NOT_FOUND,
                        "Request for unknown model: 'no_such_model' is not found")
        self.assertCode(lambda: self.client.infer("digits_mlp", x, version="3"),
                        grpc.StatusCode.NOT_FOUND)
        self.assertCode(lambda: self.client.infer("corrupt_pt", [("x", "FP32", np.zeros((1, 2)))]),
                        grpc.StatusCode.UNAVAILABLE, "is not ready")
        self.assertCode(lambda: self.client.infer(
            "digits_mlp", [("pixels", "FP32", np.zeros((1, 63), np.float32))]),
            grpc.StatusCode.INVALID_ARGUMENT, "shape [1,63]")
        self.assertCode(lambda: self.client.infer(
            "digits_mlp", [("wrong", "FP32", np.zeros((1, 64), np.float32))]),
            grpc.StatusCode.INVALID_ARGUMENT, "unknown input 'wrong'")
        self.assertCode(lambda: self.client.infer("digits_mlp", x, outputs=["nope"]),
                        grpc.StatusCode.INVALID_ARGUMENT, "unknown output 'nope'")
        self.assertCode(lambda: self.client.infer("digits_mlp", x,
                                                  parameters={"sequence_id": 5}),
                        grpc.StatusCode.INVALID_ARGUMENT, "'sequence_id' is not supported")
        request = GrpcClient.request("digits_mlp", x)
        request.raw_input_contents.append(b"\0\0\0\0")
        self.assertCode(lambda: self.client.stub.ModelInfer(request),
                        grpc.StatusCode.INVALID_ARGUMENT, "2 raw_input_contents for 1 inputs")
        request = GrpcClient.request("digits_mlp", x)
        request.raw_input_contents[0] = request.raw_input_contents[0][:-4]
        self.assertCode(lambda: self.client.stub.ModelInfer(request),
                        grpc.StatusCode.INVALID_ARGUMENT, "has 63 elements but shape [1,64] needs 64")
        request = GrpcClient.request("digits_mlp", [("s", "BYTES", [b"abc"])])
        request.raw_input_contents[0] = b"\x09\x00\x00\x00abc"
        self.assertCode(lambda: self.client.stub.ModelInfer(request),
                        grpc.StatusCode.INVALID_ARGUMENT, "declares 9 bytes but only 3 remain")
        self.assertStillServing()

    def test_unimplemented_rpcs_answer_unimplemented(self):
        call = self.client.channel.unary_unary(
            "/inference.GRPCInferenceService/SystemSharedMemoryStatus",
            request_serializer=lambda _: b"", response_deserializer=lambda b: b)
        self.assertCode(lambda: call(None), grpc.StatusCode.UNIMPLEMENTED,
                        "strata does not support the RPC "
                        "/inference.GRPCInferenceService/SystemSharedMemoryStatus")

    def test_model_control_is_off_by_default(self):
        stub = self.client.stub
        self.assertCode(lambda: stub.RepositoryIndex(inference_pb2.RepositoryIndexRequest()),
                        grpc.StatusCode.PERMISSION_DENIED, "--control-api")
        self.assertCode(lambda: stub.RepositoryModelUnload(
            inference_pb2.RepositoryModelUnloadRequest(model_name="digits_mlp")),
            grpc.StatusCode.PERMISSION_DENIED)
        self.assertTrue(stub.ModelReady(inference_pb2.ModelReadyRequest(name="digits_mlp")).ready)

    # --- deadlines and overload (the "slow" fixture: ~40 ms a call, one
    # instance, a queue of 4) -------------------------------------------

    def slow_inputs(self):
        return [("x", "FP32", np.array([[1, 2, 3, 4]], dtype=np.float32))]

    def slow_rows_run(self):
        stats = self.client.stub.ModelStatistics(inference_pb2.ModelStatisticsRequest(name="slow"))
        return stats.model_stats[0].inference_count

    def occupy_slow(self, pool):
        """Three calls that keep the slow model's one instance busy ~120 ms."""
        blockers = [pool.submit(self.client.infer, "slow", self.slow_inputs()) for _ in range(3)]
        time.sleep(0.03)
        return blockers

    def test_call_deadline_becomes_the_request_timeout(self):
        before = self.slow_rows_run()
        with ThreadPoolExecutor(3) as pool:
            blockers = self.occupy_slow(pool)
            # Queued behind the blockers past its 50 ms deadline: the client
            # sees DEADLINE_EXCEEDED, and the server, which got the deadline
            # as the request timeout, drops it instead of running it late.
            self.assertCode(lambda: self.client.infer("slow", self.slow_inputs(), timeout=0.05),
                            grpc.StatusCode.DEADLINE_EXCEEDED)
            for blocker in blockers:
                np.testing.assert_array_equal(GrpcClient.outputs(blocker.result())["y"],
                                              [[2, 4, 6, 8]])
        time.sleep(0.2)  # long enough for a late run to show in the statistics
        self.assertEqual(self.slow_rows_run(), before + 3)
        self.assertStillServing()

    def test_timeout_parameter_is_answered_by_the_server(self):
        with ThreadPoolExecutor(3) as pool:
            blockers = self.occupy_slow(pool)
            # No call deadline: the DEADLINE_EXCEEDED status comes from the server.
            self.assertCode(lambda: self.client.infer("slow", self.slow_inputs(),
                                                      parameters={"timeout": 1000}),
                            grpc.StatusCode.DEADLINE_EXCEEDED, "deadline")
            for blocker in blockers:
                blocker.result()

    def test_overload_is_resource_exhausted(self):
        codes = []
        lock = threading.Lock()

        def call(_):
            try:
                self.client.infer("slow", self.slow_inputs(), timeout=30)
                code = grpc.StatusCode.OK
            except grpc.RpcError as e:
                code = e.code()
            with lock:
                codes.append(code)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(call, range(16)))
        self.assertIn(grpc.StatusCode.RESOURCE_EXHAUSTED, codes)
        self.assertIn(grpc.StatusCode.OK, codes)
        self.assertEqual(set(codes), {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED})
        self.assertStillServing()

    # --- transport -------------------------------------------------------

    def test_compressed_calls(self):
        x = [("x", "FP32", np.linspace(0, 1, 4096, dtype=np.float32).reshape(1, 4096))]
        plain = GrpcClient.outputs(self.client.infer("wide_fp32", x))["y"]
        for compression in (grpc.Compression.Gzip, grpc.Compression.Deflate):
            client = GrpcClient(self.server.grpc_port, compression=compression)
            try:
                np.testing.assert_array_equal(
                    GrpcClient.outputs(client.infer("wide_fp32", x))["y"], plain)
            finally:
                client.close()

    def test_server_reflection_describes_the_service(self):
        call = self.client.channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=grpc_reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=grpc_reflection_pb2.ServerReflectionResponse.FromString)
        listing = next(call(iter([grpc_reflection_pb2.ServerReflectionRequest(list_services="")])))
        services = [s.name for s in listing.list_services_response.service]
        self.assertIn("inference.GRPCInferenceService", services)

        from google.protobuf import descriptor_pb2
        found = next(call(iter([grpc_reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="inference.GRPCInferenceService")])))
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in found.file_descriptor_response.file_descriptor_proto]
        service = [s for f in files for s in f.service if s.name == "GRPCInferenceService"][0]
        methods = {m.name for m in service.method}
        self.assertTrue({"ServerLive", "ServerReady", "ModelReady", "ServerMetadata",
                         "ModelMetadata", "ModelInfer", "ModelConfig",
                         "ModelStatistics"} <= methods, methods)

    # --- one answer, three encodings ---------------------------------------

    def test_json_binary_and_grpc_give_identical_outputs(self):
        cases = [("digits_mlp", first_row(load_samples("digits_mlp")["request"])),
                 ("breast_cancer_xgb", first_row(load_samples("breast_cancer_xgb")["request"])),
                 ("wide_fp32", [("x", "FP32",
                                 np.sin(np.arange(4096, dtype=np.float32)).reshape(1, 4096))])]
        cases += [("dtype_" + t.lower(), [("x", t, v)]) for t, v in DTYPE_VALUES.items()
                  if t not in ("FP16", "BF16")]
        for model, inputs in cases:
            status, _, json_outputs, _ = rest_infer(self.server, model, json_infer_body(inputs))
            self.assertEqual(status, 200, model)
            body, length = binary_infer_body(inputs, parameters={"binary_data_output": True})
            status, _, binary_outputs, _ = rest_infer(self.server, model, body, length)
            self.assertEqual(status, 200, model)
            grpc_outputs = GrpcClient.outputs(self.client.infer(model, inputs))
            self.assertEqual(set(json_outputs), set(grpc_outputs))
            for name, value in grpc_outputs.items():
                # Binary and gRPC carry the same bytes; JSON carries the same numbers.
                self.assertEqual(binary_outputs[name].tobytes(), value.tobytes(), (model, name))
                np.testing.assert_array_equal(json_outputs[name].astype(value.dtype), value,
                                              (model, name))


class GrpcModelControlTest(unittest.TestCase):
    """RepositoryIndex and RepositoryModelLoad/Unload with --control-api."""

    @classmethod
    def setUpClass(cls):
        cls.repository = make_repository()
        cls.server = StrataServer(cls.repository, ["--control-api"]).__enter__()
        cls.client = GrpcClient(cls.server.grpc_port)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.__exit__(None, None, None)
        remove_repository(cls.repository)

    def test_index_unload_and_load(self):
        stub = self.client.stub
        index = stub.RepositoryIndex(inference_pb2.RepositoryIndexRequest())
        states = {(m.name, m.version): m.state for m in index.models}
        self.assertEqual(states[("int_echo", "1")], "READY")
        self.assertIn("UNAVAILABLE", [m.state for m in index.models if m.name == "corrupt_pt"])
        ready = stub.RepositoryIndex(inference_pb2.RepositoryIndexRequest(ready=True))
        self.assertNotIn("corrupt_pt", [m.name for m in ready.models])
        _, rest, _ = self.server.request("POST", "/v2/repository/index", b"{}")
        self.assertEqual(sorted((m["name"], m.get("version", "")) for m in rest),
                         sorted((m.name, m.version) for m in index.models))

        x = [("x", "INT64", np.array([[1, 2, 3]]))]
        stub.RepositoryModelUnload(inference_pb2.RepositoryModelUnloadRequest(model_name="int_echo"))
        self.assertFalse(stub.ModelReady(inference_pb2.ModelReadyRequest(name="int_echo")).ready)
        with self.assertRaises(grpc.RpcError) as raised:
            self.client.infer("int_echo", x)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAVAILABLE)

        stub.RepositoryModelLoad(inference_pb2.RepositoryModelLoadRequest(model_name="int_echo"))
        self.assertTrue(stub.ModelReady(inference_pb2.ModelReadyRequest(name="int_echo")).ready)
        np.testing.assert_array_equal(GrpcClient.outputs(self.client.infer("int_echo", x))["y"],
                                      [[2, 4, 6]])

    def test_bad_control_requests(self):
        stub = self.client.stub
        request = inference_pb2.RepositoryModelLoadRequest(model_name="int_echo")
        request.parameters["config"].string_param = "{}"
        with self.assertRaises(grpc.RpcError) as raised:
            stub.RepositoryModelLoad(request)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("parameter 'config' is not supported", raised.exception.details())
        with self.assertRaises(grpc.RpcError) as raised:
            stub.RepositoryIndex(inference_pb2.RepositoryIndexRequest(repository_name="other"))
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as raised:
            stub.RepositoryModelLoad(inference_pb2.RepositoryModelLoadRequest(model_name="nope"))
        self.assertEqual(raised.exception.code(), grpc.StatusCode.NOT_FOUND)


class GrpcShutdownTest(unittest.TestCase):
    def wait_arrived(self, server, model, count):
        """Waits until `count` requests for `model` reached the server's core
        (in flight, or already answered)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            conn = server.connection()
            conn.request("GET", "/metrics")
            samples = parse_metrics(conn.getresponse().read().decode())
            conn.close()
            if (metric(samples, "strata_inference_in_flight_requests", model=model) +
                    metric(samples, "strata_inference_requests_total", model=model)) >= count:
                return
            time.sleep(0.002)
        self.fail(f"{count} requests for {model} never reached the server")

    def test_sigterm_finishes_grpc_calls_in_flight_and_exits_zero(self):
        repository = make_repository()
        try:
            server = StrataServer(repository).__enter__()
            client = GrpcClient(server.grpc_port)
            x = [("x", "FP32", np.array([[1, 2, 3, 4]], dtype=np.float32))]
            with ThreadPoolExecutor(3) as pool:
                calls = [pool.submit(client.infer, "slow", x, timeout=30) for _ in range(3)]
                self.wait_arrived(server, "slow", 3)
                self.assertEqual(server.stop(), 0)
                for call in calls:
                    np.testing.assert_array_equal(GrpcClient.outputs(call.result())["y"],
                                                  [[2, 4, 6, 8]])
            client.close()
            server.__exit__(None, None, None)
        finally:
            remove_repository(repository)


if __name__ == "__main__":
    unittest.main()
