#include "api/kserve_json_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "core/buffer_pool.h"
#include "gtest/gtest.h"

namespace strata::api {
namespace {

std::string DecodeError(std::string_view body) {
  absl::StatusOr<core::InferRequest> request = DecodeInferRequest(body);
  EXPECT_FALSE(request.ok()) << body;
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(request.status().message());
}

TEST(KserveJsonCodecTest, DecodesFlatAndNestedData) {
  for (std::string_view data : {"[1, 2.5, 3, 4]", "[[1, 2.5], [3, 4]]"}) {
    std::string body =
        std::string(
            R"({"id": "r1", "inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": )") +
        std::string(data) + "}]}";
    absl::StatusOr<core::InferRequest> request = DecodeInferRequest(body);
    ASSERT_TRUE(request.ok()) << request.status();
    EXPECT_EQ(request->id, "r1");
    ASSERT_EQ(request->inputs.size(), 1u);
    const core::Tensor& x = request->inputs[0];
    EXPECT_EQ(x.name, "x");
    EXPECT_EQ(x.dtype, core::DataType::kFp32);
    EXPECT_EQ(x.shape, (core::Shape{2, 2}));
    auto values = x.As<float>();
    EXPECT_EQ(std::vector<float>(values.begin(), values.end()), (std::vector<float>{1, 2.5, 3, 4}));
  }
}

// A float array whose numbers are read in one loop must fall back, without
// leaving bytes behind, when an element is not a plain number.
TEST(KserveJsonCodecTest, FloatArrayFallsBackMidwayWithoutLeftovers) {
  absl::StatusOr<core::InferRequest> request = DecodeInferRequest(
      R"({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32",
          "data": [[1, -2.5, "Infinity"], [0.25, 7, 1e3]]}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  auto values = request->inputs[0].As<float>();
  EXPECT_EQ(std::vector<float>(values.begin(), values.end()),
            (std::vector<float>{1, -2.5, std::numeric_limits<float>::infinity(), 0.25, 7, 1000}));
  std::string error = DecodeError(
      R"({"inputs": [{"name": "x", "shape": [3], "datatype": "FP64", "data": [1, true, 2]}]})");
  EXPECT_NE(error.find("input 'x': expected a number, got true"), std::string::npos) << error;
}

TEST(KserveJsonCodecTest, DecodesEveryJsonDatatype) {
  struct Case {
    const char* dtype;
    const char* data;
    size_t bytes;
  };
  for (const Case& c :
       {Case{"BOOL", "[true, false]", 2}, Case{"UINT8", "[0, 255]", 2},
        Case{"UINT16", "[1, 65535]", 4}, Case{"UINT32", "[1, 4294967295]", 8},
        Case{"UINT64", "[1, 18446744073709551615]", 16}, Case{"INT8", "[-128, 127]", 2},
        Case{"INT16", "[-1, 2]", 4}, Case{"INT32", "[-1, 2]", 8},
        Case{"INT64", "[-9223372036854775808, 2]", 16}, Case{"FP32", "[0.5, -1]", 8},
        Case{"FP64", "[0.1, 1e300]", 16}, Case{"BYTES", R"(["ab", ""])", 10}}) {
    std::string body = std::string(R"({"inputs": [{"name": "x", "shape": [2], "datatype": ")") +
                       c.dtype + R"(", "data": )" + c.data + "}]}";
    absl::StatusOr<core::InferRequest> request = DecodeInferRequest(body);
    ASSERT_TRUE(request.ok()) << c.dtype << ": " << request.status();
    EXPECT_EQ(request->inputs[0].data.size(), c.bytes) << c.dtype;
    EXPECT_TRUE(core::ValidateTensorData(request->inputs[0]).ok()) << c.dtype;
  }
}

TEST(KserveJsonCodecTest, IntegerValuesAreRangeChecked) {
  EXPECT_NE(DecodeError(
                R"({"inputs": [{"name": "x", "shape": [1], "datatype": "UINT8", "data": [256]}]})")
                .find("out of range"),
            std::string::npos);
  EXPECT_NE(DecodeError(
                R"({"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1.5]}]})")
                .find("expected an integer"),
            std::string::npos);
  EXPECT_NE(DecodeError(
                R"({"inputs": [{"name": "x", "shape": [1], "datatype": "UINT32", "data": [-1]}]})")
                .find("out of range"),
            std::string::npos);
}

TEST(KserveJsonCodecTest, WrongValueTypesAreNamed) {
  EXPECT_NE(
      DecodeError(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": ["a"]}]})")
          .find("input 'x': expected a number"),
      std::string::npos);
  EXPECT_NE(
      DecodeError(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "data": [1]}]})")
          .find("BOOL data must be true or false"),
      std::string::npos);
  EXPECT_NE(
      DecodeError(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": [1]}]})")
          .find("BYTES data must be JSON strings"),
      std::string::npos);
  EXPECT_NE(
      DecodeError(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP16", "data": [1]}]})")
          .find("FP16 cannot be sent as JSON"),
      std::string::npos);
}

TEST(KserveJsonCodecTest, MalformedRequestsAreRejectedClearly) {
  EXPECT_NE(DecodeError("{\"inputs\": [").find("malformed JSON"), std::string::npos);
  EXPECT_NE(DecodeError("").find("malformed JSON"), std::string::npos);
  EXPECT_NE(DecodeError("[1]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(DecodeError("{}").find("'inputs' array"), std::string::npos);
  EXPECT_NE(
      DecodeError(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FLOAT", "data": [1]}]})")
          .find("unknown datatype 'FLOAT'"),
      std::string::npos);
  EXPECT_NE(
      DecodeError(R"({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]})")
          .find("invalid shape dimension -1"),
      std::string::npos);
  EXPECT_NE(DecodeError(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]})")
                .find("has no 'data'"),
            std::string::npos);
  EXPECT_NE(DecodeError(R"({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]})")
                .find("needs a non-empty string 'name'"),
            std::string::npos);
}

TEST(KserveJsonCodecTest, UnsupportedReservedParametersAreRejected) {
  EXPECT_NE(DecodeError(R"({"parameters": {"sequence_id": 3}, "inputs": []})")
                .find("'sequence_id' is not supported"),
            std::string::npos);
  EXPECT_NE(DecodeError(R"({"parameters": {"binary_data_output": 1}, "inputs": []})")
                .find("'binary_data_output' must be true or false"),
            std::string::npos);
  EXPECT_TRUE(
      DecodeInferRequest(R"({"parameters": {"binary_data_output": true}, "inputs": []})").ok());
  absl::StatusOr<core::InferRequest> ok = DecodeInferRequest(
      R"({"parameters": {"binary_data_output": false, "custom": "v"}, "inputs": [], "outputs": [{"name": "y"}]})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->outputs.size(), 1u);
  EXPECT_EQ(std::get<std::string>(ok->parameters.at("custom")), "v");
}

// Decisions on the parameters Triton's clients send (docs/protocol.md).
TEST(KserveJsonCodecTest, TritonClientParametersAreAcceptedOrRefusedOneByOne) {
  absl::StatusOr<core::InferRequest> ok = DecodeInferRequest(
      R"({"parameters": {"triton_enable_empty_final_response": true, "priority": 2,)"
      R"( "sequence_id": 0, "sequence_start": false, "sequence_end": false},)"
      R"( "inputs": [], "outputs": [{"name": "y", "parameters": {"classification": 3}}]})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_NE(DecodeError(R"({"parameters": {"triton_other": 1}, "inputs": []})")
                .find("parameter 'triton_other' is not supported by strata"),
            std::string::npos);
  EXPECT_NE(DecodeError(R"({"parameters": {"sequence_start": true}, "inputs": []})")
                .find("no sequence batcher"),
            std::string::npos);
  EXPECT_NE(DecodeError(R"({"parameters": {"priority": -1}, "inputs": []})")
                .find("'priority' must be a non-negative integer"),
            std::string::npos);
  EXPECT_NE(DecodeError(R"({"parameters": {"timeout": "soon"}, "inputs": []})")
                .find("'timeout' must be a finite number"),
            std::string::npos);
  EXPECT_NE(DecodeError(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32",)"
                        R"( "parameters": {"shared_memory_region": "r"}}]})")
                .find("shared-memory"),
            std::string::npos);
  EXPECT_NE(DecodeError(R"({"inputs": [], "outputs": [{"name": "y", "parameters":)"
                        R"( {"classification": 0}}]})")
                .find("'classification' must be a positive integer"),
            std::string::npos);
}

// 1e39 does not fit FP32: refused like an out-of-range integer, never
// turned into infinity. The largest value that rounds to FLT_MAX passes.
TEST(KserveJsonCodecTest, Fp32BeyondFloatRangeIsRejected) {
  for (const char* value : {"1e39", "-1e39", "3.5e38"}) {
    const std::string error = DecodeError(
        std::string(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [)") +
        value + "]}]}");
    EXPECT_NE(error.find("input 'x': value "), std::string::npos) << error;
    EXPECT_NE(error.find(" is out of range for its 32-bit floating-point datatype"),
              std::string::npos)
        << error;
  }
  absl::StatusOr<core::InferRequest> edge = DecodeInferRequest(
      R"({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [3.4028235e38, -3.4028235e38]}]})");
  ASSERT_TRUE(edge.ok()) << edge.status();
  EXPECT_EQ(edge->inputs[0].As<float>()[0], std::numeric_limits<float>::max());
  EXPECT_TRUE(
      DecodeInferRequest(
          R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1e39]}]})")
          .ok());
}

// Bare NaN and Infinity are not JSON: strict parsers reject the whole body.
TEST(KserveJsonCodecTest, NonFiniteValuesAreWrittenAsStringsAndReadBack) {
  core::InferResponse response;
  core::Tensor f = core::Tensor::Zeros("f", core::DataType::kFp32, {3});
  f.MutableAs<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  f.MutableAs<float>()[1] = std::numeric_limits<float>::infinity();
  f.MutableAs<float>()[2] = -std::numeric_limits<float>::infinity();
  core::Tensor d = core::Tensor::Zeros("d", core::DataType::kFp64, {2});
  d.MutableAs<double>()[0] = -std::numeric_limits<double>::infinity();
  d.MutableAs<double>()[1] = 1.5;
  response.outputs = {f, d};
  response.parameters["p"] = std::numeric_limits<double>::quiet_NaN();
  const std::string json = EncodeInferResponse(response);
  EXPECT_NE(json.find(R"("data":["NaN","Infinity","-Infinity"])"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("data":["-Infinity",1.5])"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("parameters":{"p":"NaN"})"), std::string::npos) << json;
  absl::StatusOr<core::InferRequest> back = DecodeInferRequest(
      R"({"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": ["NaN", "Infinity", "-Infinity"]}]})");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(std::isnan(back->inputs[0].As<float>()[0]));
  EXPECT_EQ(back->inputs[0].As<float>()[2], -std::numeric_limits<float>::infinity());
  EXPECT_NE(DecodeError(
                R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": ["nan"]}]})")
                .find("expected a number"),
            std::string::npos);
}

TEST(KserveJsonCodecTest, AnEmptyIdIsEchoed) {
  absl::StatusOr<core::InferRequest> request = DecodeInferRequest(R"({"id": "", "inputs": []})");
  ASSERT_TRUE(request.ok());
  EXPECT_TRUE(request->has_id);
  core::InferResponse response;
  response.model_name = "m";
  response.has_id = true;
  EXPECT_EQ(EncodeInferResponse(response),
            R"({"model_name":"m","model_version":"","id":"","outputs":[]})");
  response.has_id = false;
  EXPECT_EQ(EncodeInferResponse(response), R"({"model_name":"m","model_version":"","outputs":[]})");
}

TEST(KserveJsonCodecTest, EncodesResponse) {
  core::InferResponse response;
  response.model_name = "m";
  response.model_version = "3";
  response.id = "abc";
  core::Tensor y = core::Tensor::Zeros("y", core::DataType::kFp32, {2});
  y.MutableAs<float>()[0] = 0.5f;
  y.MutableAs<float>()[1] = -2.0f;
  response.outputs.push_back(y);
  core::Tensor s{"s", core::DataType::kBytes, {1}, {}};
  core::AppendBytesElement("hi\"", s.data);
  response.outputs.push_back(s);
  EXPECT_EQ(EncodeInferResponse(response),
            R"({"model_name":"m","model_version":"3","id":"abc","outputs":[)"
            R"({"name":"y","datatype":"FP32","shape":[2],"data":[0.5,-2.0]},)"
            R"({"name":"s","datatype":"BYTES","shape":[1],"data":["hi\""]}]})");
}

TEST(KserveJsonCodecTest, EncodesHalfPrecisionAsNumbers) {
  core::InferResponse response;
  core::Tensor h = core::Tensor::Zeros("h", core::DataType::kFp16, {3});
  const uint16_t halves[3] = {0x3c00, 0xc000, 0x3800};  // 1, -2, 0.5
  std::memcpy(h.data.data(), halves, sizeof(halves));
  response.outputs.push_back(h);
  EXPECT_NE(EncodeInferResponse(response).find("\"data\":[1.0,-2.0,0.5]"), std::string::npos);
}

TEST(KserveJsonCodecTest, EncodesFloat32InTheShortestFormThatRoundTrips) {
  core::InferResponse response;
  const std::vector<float> values = {2.6235104f, 0.1f,        1e-10f,         3.4028235e38f,
                                     -0.0f,      16777216.0f, 1.17549435e-38f};
  core::Tensor y =
      core::Tensor::Zeros("y", core::DataType::kFp32, {static_cast<int64_t>(values.size())});
  std::memcpy(y.data.data(), values.data(), values.size() * sizeof(float));
  response.outputs.push_back(y);
  const std::string json = EncodeInferResponse(response);
  EXPECT_NE(json.find("\"data\":[2.6235104,0.1,1e-10,3.4028235e+38,-0.0,16777216.0,"),
            std::string::npos)
      << json;
  // Each number parses back to the very same float32.
  absl::StatusOr<core::InferRequest> back = DecodeInferRequest(
      R"({"inputs":[{"name":"y","datatype":"FP32","shape":[7],"data":)" +
      json.substr(json.find("\"data\":") + 7,
                  json.find(']', json.find("\"data\":")) - json.find("\"data\":") - 6) +
      "}]}");
  ASSERT_TRUE(back.ok()) << back.status();
  const auto decoded = back->inputs[0].As<float>();
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(std::memcmp(&decoded[i], &values[i], sizeof(float)), 0) << i;
  }
}

TEST(KserveJsonCodecTest, EncodesStringsWithAndWithoutEscapesByteForByte) {
  core::InferResponse response;
  response.model_name = "caf\xc3\xa9";  // UTF-8 is copied as is
  response.model_version = "";
  response.id = "a\"b\\c\n\x01";
  response.has_id = true;
  core::Tensor s{"s", core::DataType::kBytes, {3}, {}};
  core::AppendBytesElement("plain", s.data);
  core::AppendBytesElement("tab\there", s.data);
  core::AppendBytesElement("", s.data);
  response.outputs.push_back(s);
  EXPECT_EQ(EncodeInferResponse(response),
            "{\"model_name\":\"caf\xc3\xa9\",\"model_version\":\"\","
            "\"id\":\"a\\\"b\\\\c\\n\\u0001\",\"outputs\":["
            "{\"name\":\"s\",\"datatype\":\"BYTES\",\"shape\":[3],"
            "\"data\":[\"plain\",\"tab\\there\",\"\"]}]}");
}

TEST(KserveJsonCodecTest, EncodesErrorWithEscaping) {
  EXPECT_EQ(EncodeError("bad \"x\""), R"({"error":"bad \"x\""})");
}

}  // namespace
}  // namespace strata::api

namespace strata::api {
namespace {

// Fills this thread's pool with used buffers, their old bytes still in
// memory (0xab), and returns their storage.
std::vector<const uint8_t*> FillPoolWithUsedBuffers() {
  std::vector<const uint8_t*> given;
  for (size_t i = 0; i < core::TensorDataPool::kPerThread; ++i) {
    std::vector<uint8_t> used(512, 0xab);
    given.push_back(used.data());
    core::TensorDataPool::Give(std::move(used));
  }
  return given;
}

// Decoding into storage an earlier request gave back yields exactly what
// decoding into new storage does: every datatype, BYTES, nested shapes, the
// binary extension; nothing of the old bytes shows.
TEST(KserveJsonCodecTest, DecodesIntoReusedBuffersExactlyAsIntoNewOnes) {
  const std::string blob("\x01\x00\x02\x00\x03\x00", 6);
  struct Case {
    std::string body;
    std::string binary;
  };
  std::vector<Case> cases;
  for (const char* input :
       {R"({"name": "x", "shape": [2], "datatype": "BOOL", "data": [true, false]})",
        R"({"name": "x", "shape": [2, 1], "datatype": "UINT8", "data": [[0], [255]]})",
        R"({"name": "x", "shape": [2], "datatype": "UINT16", "data": [1, 65535]})",
        R"({"name": "x", "shape": [2], "datatype": "UINT32", "data": [1, 4294967295]})",
        R"({"name": "x", "shape": [1], "datatype": "UINT64", "data": [18446744073709551615]})",
        R"({"name": "x", "shape": [2], "datatype": "INT8", "data": [-128, 127]})",
        R"({"name": "x", "shape": [2], "datatype": "INT16", "data": [-1, 2]})",
        R"({"name": "x", "shape": [1, 2], "datatype": "INT32", "data": [[-1, 2]]})",
        R"({"name": "x", "shape": [1], "datatype": "INT64", "data": [-9223372036854775808]})",
        R"({"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[0.5, -1], [3, 1e-3]]})",
        R"({"name": "x", "shape": [2], "datatype": "FP64", "data": [0.1, 1e300]})",
        R"({"name": "x", "shape": [3], "datatype": "BYTES", "data": ["ab", "", "c"]})",
        R"({"name": "x", "shape": [0, 4], "datatype": "FP32", "data": []})"}) {
    cases.push_back({std::string(R"({"inputs": [)") + input + "]}", ""});
  }
  // FP16 and BF16 come only as binary data.
  for (const char* dtype : {"UINT16", "FP16", "BF16"}) {
    cases.push_back({std::string(R"({"inputs": [{"name": "x", "shape": [3], "datatype": ")") +
                         dtype + R"(", "parameters": {"binary_data_size": 6}}]})",
                     blob});
  }
  for (const Case& c : cases) {
    std::thread([&] {
      while (core::TensorDataPool::KeptShared() > 0) core::TensorDataPool::Take(0);
      absl::StatusOr<core::InferRequest> expected = DecodeInferRequest(c.body, c.binary);
      ASSERT_TRUE(expected.ok()) << c.body << ": " << expected.status();

      const std::vector<const uint8_t*> given = FillPoolWithUsedBuffers();
      absl::StatusOr<core::InferRequest> reused = DecodeInferRequest(c.body, c.binary);
      ASSERT_TRUE(reused.ok()) << c.body << ": " << reused.status();
      const core::Tensor& x = reused->inputs[0];
      EXPECT_EQ(x.data, expected->inputs[0].data) << c.body;
      EXPECT_EQ(x.shape, expected->inputs[0].shape) << c.body;
      EXPECT_TRUE(core::ValidateTensorData(x).ok()) << c.body;
      EXPECT_NE(std::find(given.begin(), given.end(), x.data.data()), given.end())
          << "not decoded into a reused buffer: " << c.body;
    }).join();
  }
}

// The body is written into a string an earlier answer gave back: the same
// bytes as into a new one.
TEST(KserveJsonCodecTest, EncodesIntoAReusedBodyTheSameBytes) {
  std::thread([] {
    core::InferResponse response;
    response.model_name = "m";
    response.model_version = "1";
    response.parameters["layer"] = std::string("model");
    core::Tensor out{"y", core::DataType::kFp32, {1, 2}, {}};
    out.data.resize(8);
    out.MutableAs<float>()[0] = 0.25f;
    out.MutableAs<float>()[1] = -3.0f;
    response.outputs.push_back(out);
    const std::string first = EncodeInferResponse(response);
    std::string used(4096, '#');
    const char* storage = used.data();
    core::BodyPool::Give(std::move(used));
    const std::string second = EncodeInferResponse(response);
    EXPECT_EQ(second, first);
    EXPECT_EQ(second.data(), storage);
    EXPECT_EQ(first,
              R"({"model_name":"m","model_version":"1","parameters":{"layer":"model"},)"
              R"("outputs":[{"name":"y","datatype":"FP32","shape":[1,2],"data":[0.25,-3.0]}]})");
  }).join();
}

}  // namespace
}  // namespace strata::api
