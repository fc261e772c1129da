"""End-to-end tests of the REST extensions that real clients use: the binary
tensor extension (requests and responses, as tritonclient frames them),
malformed binary bodies, request and response compression, and the Triton
model configuration route."""
import gzip
import json
import struct
import unittest
import zlib

import grpc
import numpy as np

from harness.protocol_clients import (DTYPE_VALUES, GrpcClient, binary_infer_body,
                                      decode_rest_response, expected_dtype_output, first_row,
                                      json_infer_body, make_repository, remove_repository,
                                      rest_infer, to_raw)
from harness.repositories import load_samples
from harness.strata_server import StrataServer

DIGITS = "digits_mlp"


def digits_row():
    return first_row(load_samples(DIGITS)["request"])


class BinaryTensorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repository = make_repository()
        cls.server = StrataServer(cls.repository).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        remove_repository(cls.repository)

    def post(self, body, headers, model=DIGITS):
        conn = self.server.connection()
        conn.request("POST", f"/v2/models/{model}/infer", body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        return response.status, raw, {k.lower(): v for k, v in response.getheaders()}

    def assertBadRequest(self, body, headers, fragment, status=400, model=DIGITS):
        got, raw, _ = self.post(body, headers, model)
        self.assertEqual(got, status, raw)
        self.assertIn(fragment, json.loads(raw)["error"])
        self.assertStillServing()

    def assertStillServing(self):
        status, _, _, _ = rest_infer(self.server, DIGITS, json_infer_body(digits_row()))
        self.assertEqual(status, 200)

    def json_answer(self, model, inputs):
        status, header, outputs, _ = rest_infer(self.server, model, json_infer_body(inputs))
        self.assertEqual(status, 200, header)
        return outputs

    # --- the extension, both ways ------------------------------------------

    def test_listed_in_server_metadata(self):
        _, body, _ = self.server.request("GET", "/v2")
        self.assertIn("binary_tensor_data", body["extensions"])
        self.assertIn("model_configuration", body["extensions"])

    def test_binary_inputs_and_outputs_as_tritonclient_sends_them(self):
        inputs = digits_row()
        body, length = binary_infer_body(inputs, parameters={"binary_data_output": True})
        status, header, outputs, headers = rest_infer(self.server, DIGITS, body, length)
        self.assertEqual(status, 200, header)
        self.assertEqual(headers["content-type"], "application/octet-stream")
        self.assertGreater(int(headers["inference-header-content-length"]), 0)
        for output in header["outputs"]:
            self.assertNotIn("data", output)
            self.assertEqual(output["parameters"]["binary_data_size"],
                             4 * int(np.prod(output["shape"])))
        expected = self.json_answer(DIGITS, inputs)
        for name, value in expected.items():
            self.assertEqual(outputs[name].tobytes(), value.astype(np.float32).tobytes(), name)

    def test_per_output_binary_data_overrides_the_default(self):
        inputs = digits_row()
        body, length = binary_infer_body(
            inputs, parameters={"binary_data_output": True},
            outputs=[{"name": "logits", "parameters": {"binary_data": False}},
                     {"name": "probabilities"}])
        status, header, _, headers = rest_infer(self.server, DIGITS, body, length)
        self.assertEqual(status, 200, header)
        by_name = {o["name"]: o for o in header["outputs"]}
        self.assertIn("data", by_name["logits"])
        self.assertIn("binary_data_size", by_name["probabilities"]["parameters"])
        self.assertIn("inference-header-content-length", headers)

    def test_json_inputs_with_binary_outputs_and_the_reverse(self):
        inputs = digits_row()
        expected = self.json_answer(DIGITS, inputs)
        # JSON inputs, one output asked for as binary: framed response.
        body = json_infer_body(inputs, outputs=[{"name": "probabilities",
                                                 "parameters": {"binary_data": True}}])
        status, header, outputs, headers = rest_infer(self.server, DIGITS, body)
        self.assertEqual(status, 200, header)
        self.assertEqual([o["name"] for o in header["outputs"]], ["probabilities"])
        self.assertEqual(outputs["probabilities"].tobytes(),
                         expected["probabilities"].astype(np.float32).tobytes())
        # Binary inputs, no binary outputs asked for: a plain JSON response.
        body, length = binary_infer_body(inputs)
        status, header, outputs, headers = rest_infer(self.server, DIGITS, body, length)
        self.assertEqual(status, 200, header)
        self.assertNotIn("inference-header-content-length", headers)
        self.assertEqual(headers["content-type"], "application/json")
        np.testing.assert_array_equal(outputs["logits"], expected["logits"])

    def test_every_datatype_in_binary_form_including_half_precision(self):
        for datatype, value in DTYPE_VALUES.items():
            model = "dtype_" + datatype.lower()
            body, length = binary_infer_body([("x", datatype, value)],
                                             parameters={"binary_data_output": True})
            status, header, outputs, _ = rest_infer(self.server, model, body, length)
            self.assertEqual(status, 200, (datatype, header))
            self.assertEqual(header["outputs"][0]["datatype"], datatype)
            np.testing.assert_array_equal(outputs["y"],
                                          expected_dtype_output(datatype, value), datatype)

    def test_half_precision_output_as_json_numbers(self):
        value = DTYPE_VALUES["FP16"]
        body, length = binary_infer_body([("x", "FP16", value)])
        status, header, _, _ = rest_infer(self.server, "dtype_fp16", body, length)
        self.assertEqual(status, 200, header)
        # Numbers in the shortest form that reads back as the same float32,
        # hence the same float16.
        data = header["outputs"][0]["data"]
        np.testing.assert_array_equal(np.array(data, dtype=np.float32).astype(np.float16),
                                      (-value).flatten())
        self.assertTrue(all(isinstance(x, float) for x in data), data)

    def test_binary_and_grpc_agree_on_half_precision(self):
        client = GrpcClient(self.server.grpc_port)
        try:
            for datatype in ("FP16", "BF16"):
                inputs = [("x", datatype, DTYPE_VALUES[datatype])]
                body, length = binary_infer_body(inputs, parameters={"binary_data_output": True})
                _, _, binary, _ = rest_infer(self.server, "dtype_" + datatype.lower(), body, length)
                grpc_y = GrpcClient.outputs(client.infer("dtype_" + datatype.lower(), inputs))["y"]
                self.assertEqual(binary["y"].tobytes(), grpc_y.tobytes(), datatype)
        finally:
            client.close()

    # --- malformed binary bodies: 400, clear message, server keeps serving --

    def binary_headers(self, length):
        return {"Content-Type": "application/octet-stream",
                "Inference-Header-Content-Length": str(length)}

    def test_header_length_beyond_the_body(self):
        body, length = binary_infer_body(digits_row())
        self.assertBadRequest(body, self.binary_headers(len(body) + 10),
                              f"Inference-Header-Content-Length is {len(body) + 10} but the "
                              f"body has only {len(body)} bytes")

    def test_header_length_that_is_not_a_number(self):
        body, _ = binary_infer_body(digits_row())
        self.assertBadRequest(body, self.binary_headers("12abc"), "is not a byte count")

    def test_header_length_that_cuts_the_json(self):
        body, length = binary_infer_body(digits_row())
        self.assertBadRequest(body, self.binary_headers(length - 5), "malformed JSON")

    def test_sizes_that_do_not_match_the_shape(self):
        name, datatype, value = digits_row()[0]
        header = {"inputs": [{"name": name, "datatype": datatype, "shape": [1, 64],
                              "parameters": {"binary_data_size": 252}}]}
        encoded = json.dumps(header).encode()
        body = encoded + to_raw(datatype, value)[:252]
        self.assertBadRequest(body, self.binary_headers(len(encoded)),
                              "input 'pixels' has 63 elements but shape [1,64] needs 64")

    def test_blobs_that_do_not_add_up(self):
        body, length = binary_infer_body(digits_row())
        self.assertBadRequest(body[:-8], self.binary_headers(length),
                              "binary_data_size is 256 bytes but only 248 bytes")
        self.assertBadRequest(body + b"\0\0\0\0", self.binary_headers(length),
                              "4 bytes of binary data follow the JSON header but no input "
                              "claims them")

    def test_truncated_bytes_lengths(self):
        for blob, fragment in ((b"\x05\x00\x00\x00abc", "declares 5 bytes but only 3 remain"),
                               (b"\x03\x00", "a 4-byte length prefix at byte 0 has only 2")):
            header = {"inputs": [{"name": "s", "datatype": "BYTES", "shape": [1],
                                  "parameters": {"binary_data_size": len(blob)}}]}
            encoded = json.dumps(header).encode()
            self.assertBadRequest(encoded + blob, self.binary_headers(len(encoded)), fragment)

    def test_binary_size_without_the_header(self):
        body, _ = binary_infer_body(digits_row())
        self.assertBadRequest(body, {"Content-Type": "application/json"}, "malformed JSON")
        header = {"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 64],
                              "parameters": {"binary_data_size": 256}}]}
        self.assertBadRequest(json.dumps(header).encode(), {"Content-Type": "application/json"},
                              "binary_data_size is 256 bytes but only 0 bytes")

    def test_data_and_binary_size_together(self):
        header = {"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 1],
                              "data": [1.0], "parameters": {"binary_data_size": 4}}]}
        encoded = json.dumps(header).encode()
        self.assertBadRequest(encoded + struct.pack("<f", 1.0), self.binary_headers(len(encoded)),
                              "has both 'data' and a binary_data_size")

    # --- compression -----------------------------------------------------

    def test_compressed_requests(self):
        inputs = digits_row()
        expected = self.json_answer(DIGITS, inputs)
        json_body = json_infer_body(inputs)
        binary_body, length = binary_infer_body(inputs, parameters={"binary_data_output": True})
        for encoding, compress in (("gzip", gzip.compress), ("deflate", zlib.compress)):
            status, raw, headers = self.post(compress(json_body),
                                             {"Content-Type": "application/json",
                                              "Content-Encoding": encoding})
            self.assertEqual(status, 200, raw)
            _, outputs = decode_rest_response(raw, headers)
            np.testing.assert_array_equal(outputs["logits"], expected["logits"])
            # The header length counts the uncompressed JSON.
            status, raw, headers = self.post(compress(binary_body),
                                             {**self.binary_headers(length),
                                              "Content-Encoding": encoding})
            self.assertEqual(status, 200, raw)
            _, outputs = decode_rest_response(raw, headers)
            self.assertEqual(outputs["logits"].tobytes(),
                             expected["logits"].astype(np.float32).tobytes())

    def test_bad_compression_is_refused_clearly(self):
        body = json_infer_body(digits_row())
        self.assertBadRequest(body, {"Content-Encoding": "gzip"}, "not valid gzip data")
        self.assertBadRequest(gzip.compress(body)[:-10], {"Content-Encoding": "gzip"},
                              "truncated")
        self.assertBadRequest(body, {"Content-Encoding": "br"},
                              "Content-Encoding 'br' is not supported", status=415)

    def test_large_responses_are_compressed_when_accepted(self):
        inputs = [("x", "FP32", np.ones((64, 4096), dtype=np.float32))]
        body = json_infer_body(inputs)
        plain_status, plain, plain_headers = self.post(body, {}, "wide_fp32")
        self.assertEqual(plain_status, 200)
        self.assertNotIn("content-encoding", plain_headers)
        for encoding, decompress in (("gzip", gzip.decompress), ("deflate", zlib.decompress)):
            status, raw, headers = self.post(body, {"Accept-Encoding": encoding}, "wide_fp32")
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("content-encoding"), encoding)
            self.assertLess(len(raw), len(plain))
            self.assertEqual(decompress(raw), plain)
        # Small responses stay uncompressed.
        _, _, headers = self.post(json_infer_body(digits_row()), {"Accept-Encoding": "gzip"})
        self.assertNotIn("content-encoding", headers)

    def test_bodies_and_messages_past_the_size_limit_are_refused(self):
        with StrataServer(self.repository, ["--max-body-size", "64KiB"]) as small:
            bomb = gzip.compress(b" " * (1 << 20))
            conn = small.connection()
            conn.request("POST", f"/v2/models/{DIGITS}/infer", body=bomb,
                         headers={"Content-Encoding": "gzip"})
            response = conn.getresponse()
            body = json.loads(response.read())
            conn.close()
            self.assertEqual(response.status, 413, body)
            self.assertIn("inflates beyond the limit of 65536 bytes", body["error"])
            # The same limit bounds a gRPC message.
            client = GrpcClient(small.grpc_port)
            try:
                big = [("x", "FP32", np.zeros((8, 4096), dtype=np.float32))]
                with self.assertRaises(grpc.RpcError) as raised:
                    client.infer("wide_fp32", big)
                self.assertEqual(raised.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
                small_input = [("x", "FP32", np.zeros((1, 4096), dtype=np.float32))]
                self.assertEqual(len(client.infer("wide_fp32", small_input).outputs), 1)
            finally:
                client.close()

    # --- model configuration ------------------------------------------

    def test_model_config_route(self):
        status, config, _ = self.server.request("GET", f"/v2/models/{DIGITS}/config")
        self.assertEqual(status, 200, config)
        self.assertEqual(config["name"], DIGITS)
        self.assertEqual(config["platform"], "pytorch_torchscript")
        self.assertGreater(config["max_batch_size"], 0)
        self.assertEqual(config["input"], [{"name": "pixels", "data_type": "TYPE_FP32",
                                            "dims": [64], "optional": False}])
        self.assertEqual([o["name"] for o in config["output"]], ["logits", "probabilities"])
        self.assertEqual(config["output"][0]["dims"], [10])
        status, versioned, _ = self.server.request("GET", f"/v2/models/{DIGITS}/versions/1/config")
        self.assertEqual((status, versioned), (200, config))
        status, body, _ = self.server.request("GET", "/v2/models/nope/config")
        self.assertEqual(status, 404)
        self.assertIn("Request for unknown model", body["error"])
        status, xgb, _ = self.server.request("GET", "/v2/models/breast_cancer_xgb/config")
        self.assertEqual(xgb["input"][0]["dims"], [30])
        self.assertEqual(xgb["backend"], "xgboost")


if __name__ == "__main__":
    unittest.main()
