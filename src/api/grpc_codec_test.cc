#include "api/grpc_codec.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <thread>

#include "core/buffer_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using InputTensor = inference::ModelInferRequest::InferInputTensor;

InputTensor* AddInput(inference::ModelInferRequest& request, const std::string& name,
                      const std::string& datatype, std::vector<int64_t> shape) {
  InputTensor* input = request.add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  for (int64_t dim : shape) input->add_shape(dim);
  return input;
}

inference::ModelInferRequest Request() {
  inference::ModelInferRequest request;
  request.set_model_name("m");
  return request;
}

template <typename T>
std::vector<T> Values(const core::Tensor& tensor) {
  std::vector<T> values(tensor.data.size() / sizeof(T));
  std::memcpy(values.data(), tensor.data.data(), tensor.data.size());
  return values;
}

TEST(GrpcCodecTest, DecodesTypedContentsOfEveryTypedDatatype) {
  inference::ModelInferRequest request = Request();
  auto* c = AddInput(request, "bool", "BOOL", {2})->mutable_contents();
  c->add_bool_contents(true);
  c->add_bool_contents(false);
  c = AddInput(request, "u8", "UINT8", {2})->mutable_contents();
  c->add_uint_contents(0);
  c->add_uint_contents(255);
  c = AddInput(request, "u16", "UINT16", {1})->mutable_contents();
  c->add_uint_contents(65535);
  c = AddInput(request, "u32", "UINT32", {1})->mutable_contents();
  c->add_uint_contents(4000000000u);
  c = AddInput(request, "u64", "UINT64", {1})->mutable_contents();
  c->add_uint64_contents(std::numeric_limits<uint64_t>::max());
  c = AddInput(request, "i8", "INT8", {2})->mutable_contents();
  c->add_int_contents(-128);
  c->add_int_contents(127);
  c = AddInput(request, "i16", "INT16", {1})->mutable_contents();
  c->add_int_contents(-32768);
  c = AddInput(request, "i32", "INT32", {1})->mutable_contents();
  c->add_int_contents(-7);
  c = AddInput(request, "i64", "INT64", {1})->mutable_contents();
  c->add_int64_contents(std::numeric_limits<int64_t>::min());
  c = AddInput(request, "f32", "FP32", {2})->mutable_contents();
  c->add_fp32_contents(1.5f);
  c->add_fp32_contents(-2.25f);
  c = AddInput(request, "f64", "FP64", {1})->mutable_contents();
  c->add_fp64_contents(1e300);
  c = AddInput(request, "s", "BYTES", {2})->mutable_contents();
  c->add_bytes_contents("ab");
  c->add_bytes_contents(std::string("\0x", 2));

  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const std::vector<core::Tensor>& in = decoded->inputs;
  ASSERT_EQ(in.size(), 12u);
  EXPECT_THAT(Values<uint8_t>(in[0]), ElementsAre(1, 0));
  EXPECT_THAT(Values<uint8_t>(in[1]), ElementsAre(0, 255));
  EXPECT_THAT(Values<uint16_t>(in[2]), ElementsAre(65535));
  EXPECT_THAT(Values<uint32_t>(in[3]), ElementsAre(4000000000u));
  EXPECT_THAT(Values<uint64_t>(in[4]), ElementsAre(std::numeric_limits<uint64_t>::max()));
  EXPECT_THAT(Values<int8_t>(in[5]), ElementsAre(-128, 127));
  EXPECT_THAT(Values<int16_t>(in[6]), ElementsAre(-32768));
  EXPECT_THAT(Values<int32_t>(in[7]), ElementsAre(-7));
  EXPECT_THAT(Values<int64_t>(in[8]), ElementsAre(std::numeric_limits<int64_t>::min()));
  EXPECT_THAT(Values<float>(in[9]), ElementsAre(1.5f, -2.25f));
  EXPECT_THAT(Values<double>(in[10]), ElementsAre(1e300));
  EXPECT_EQ(in[11].dtype, core::DataType::kBytes);
  std::vector<std::string_view> elements;
  ASSERT_TRUE(core::SplitBytesElements(in[11].data, elements).ok());
  EXPECT_THAT(elements, ElementsAre("ab", std::string_view("\0x", 2)));
  for (const core::Tensor& tensor : in) {
    EXPECT_TRUE(core::ValidateTensorData(tensor).ok()) << tensor.name;
  }
}

TEST(GrpcCodecTest, DecodesRawContentsIncludingHalfPrecision) {
  inference::ModelInferRequest request = Request();
  AddInput(request, "h", "FP16", {2});
  AddInput(request, "b", "BF16", {1});
  request.add_raw_input_contents(std::string("\x00\x3c\x00\xc0", 4));  // 1.0, -2.0
  request.add_raw_input_contents(std::string("\x80\x3f", 2));          // 1.0
  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_THAT(Values<uint16_t>(decoded->inputs[0]), ElementsAre(0x3c00, 0xc000));
  EXPECT_THAT(Values<uint16_t>(decoded->inputs[1]), ElementsAre(0x3f80));
  EXPECT_EQ(decoded->inputs[0].dtype, core::DataType::kFp16);
  EXPECT_EQ(decoded->inputs[1].dtype, core::DataType::kBf16);
}

TEST(GrpcCodecTest, KeepsNameVersionIdAndOutputs) {
  inference::ModelInferRequest request = Request();
  request.set_model_version("3");
  request.set_id("req-1");
  AddInput(request, "x", "FP32", {1})->mutable_contents()->add_fp32_contents(1);
  request.add_outputs()->set_name("y");
  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->model_name, "m");
  EXPECT_EQ(decoded->model_version, "3");
  EXPECT_EQ(decoded->id, "req-1");
  ASSERT_EQ(decoded->outputs.size(), 1u);
  EXPECT_EQ(decoded->outputs[0].name, "y");
}

absl::Status DecodeError(const inference::ModelInferRequest& request) {
  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
  return decoded.ok() ? absl::OkStatus() : decoded.status();
}

TEST(GrpcCodecTest, RejectsOutOfRangeTypedValues) {
  inference::ModelInferRequest request = Request();
  AddInput(request, "x", "UINT8", {1})->mutable_contents()->add_uint_contents(256);
  absl::Status status = DecodeError(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("256 is out of range for UINT8"));

  request = Request();
  AddInput(request, "x", "INT16", {1})->mutable_contents()->add_int_contents(-40000);
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("out of range for INT16"));
}

TEST(GrpcCodecTest, RejectsContentsInTheWrongField) {
  inference::ModelInferRequest request = Request();
  AddInput(request, "x", "FP32", {1})->mutable_contents()->add_int_contents(1);
  EXPECT_THAT(DecodeError(request).message(),
              HasSubstr("belongs in contents.fp32_contents, but contents.int_contents"));
}

TEST(GrpcCodecTest, RejectsTypedHalfPrecision) {
  inference::ModelInferRequest request = Request();
  AddInput(request, "x", "FP16", {1})->mutable_contents()->add_fp32_contents(1);
  EXPECT_THAT(DecodeError(request).message(),
              HasSubstr("FP16 has no typed contents field; send it in raw_input_contents"));
}

TEST(GrpcCodecTest, RejectsTypedCountThatDisagreesWithShape) {
  inference::ModelInferRequest request = Request();
  auto* c = AddInput(request, "x", "FP32", {2, 2})->mutable_contents();
  c->add_fp32_contents(1);
  c->add_fp32_contents(2);
  c->add_fp32_contents(3);
  EXPECT_THAT(DecodeError(request).message(),
              HasSubstr("has 3 values in contents but shape [2,2] needs 4"));
}

TEST(GrpcCodecTest, RejectsRawCountThatDisagreesWithInputs) {
  inference::ModelInferRequest request = Request();
  AddInput(request, "a", "FP32", {1});
  AddInput(request, "b", "FP32", {1});
  request.add_raw_input_contents(std::string(4, '\0'));
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("1 raw_input_contents for 2 inputs"));
}

TEST(GrpcCodecTest, RejectsRawThatDisagreesWithTheShape) {
  inference::ModelInferRequest request = Request();
  AddInput(request, "x", "FP32", {1, 2});
  request.add_raw_input_contents(std::string(12, '\0'));
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("has 3 elements but shape [1,2] needs 2"));

  request = Request();
  AddInput(request, "s", "BYTES", {1});
  request.add_raw_input_contents(std::string("\x05\x00\x00\x00", 4) + "ab");
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("declares 5 bytes but only 2 remain"));
}

TEST(GrpcCodecTest, RejectsRawMixedWithTyped) {
  inference::ModelInferRequest request = Request();
  AddInput(request, "a", "FP32", {1})->mutable_contents()->add_fp32_contents(1);
  request.add_raw_input_contents(std::string(4, '\0'));
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("send every input one way"));
}

TEST(GrpcCodecTest, RejectsBadNamesDatatypesAndShapes) {
  inference::ModelInferRequest request = Request();
  request.clear_model_name();
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("model_name"));
  request = Request();
  AddInput(request, "x", "FLOAT", {1});
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("unknown datatype 'FLOAT'"));
  request = Request();
  AddInput(request, "x", "FP32", {-1});
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("invalid shape dimension -1"));
  request = Request();
  AddInput(request, "x", "FP32", {1LL << 40, 1LL << 40});
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("overflows"));
}

TEST(GrpcCodecTest, RejectsUnsupportedParametersAndDropsBinaryOnes) {
  inference::ModelInferRequest request = Request();
  (*request.mutable_parameters())["sequence_id"].set_int64_param(1);
  EXPECT_THAT(DecodeError(request).message(),
              HasSubstr("parameter 'sequence_id' is not supported"));

  request = Request();
  (*request.mutable_parameters())["triton_unknown_option"].set_bool_param(true);
  EXPECT_THAT(DecodeError(request).message(),
              HasSubstr("parameter 'triton_unknown_option' is not supported"));

  request = Request();
  (*request.mutable_parameters())["binary_data_output"].set_bool_param(true);
  (*request.mutable_parameters())["custom"].set_string_param("v");
  auto* output = request.add_outputs();
  output->set_name("y");
  (*output->mutable_parameters())["binary_data"].set_bool_param(true);
  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(decoded->parameters.contains("binary_data_output"));
  EXPECT_EQ(decoded->parameters.at("custom"), core::ParameterValue(std::string("v")));
  EXPECT_TRUE(decoded->outputs[0].parameters.empty());
}

TEST(GrpcCodecTest, TimeoutParameterMustBeANumber) {
  inference::ModelInferRequest request = Request();
  (*request.mutable_parameters())["timeout"].set_int64_param(5000);
  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->parameters.at("timeout"), core::ParameterValue(int64_t{5000}));
  (*request.mutable_parameters())["timeout"].set_string_param("5s");
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("'timeout' must be"));
}

TEST(GrpcCodecTest, EncodesOutputsAsRawContents) {
  core::InferResponse response;
  response.model_name = "m";
  response.model_version = "2";
  response.id = "abc";
  core::Tensor y = core::Tensor::Zeros("y", core::DataType::kFp32, {1, 2});
  y.MutableAs<float>()[0] = 3.5f;
  y.MutableAs<float>()[1] = -1.0f;
  response.outputs.push_back(y);
  core::Tensor s{"s", core::DataType::kBytes, {1}, {}};
  core::AppendBytesElement("hi", s.data);
  response.outputs.push_back(s);

  inference::ModelInferResponse out;
  EncodeModelInferResponse(response, out);
  EXPECT_EQ(out.model_name(), "m");
  EXPECT_EQ(out.model_version(), "2");
  EXPECT_EQ(out.id(), "abc");
  ASSERT_EQ(out.outputs_size(), 2);
  ASSERT_EQ(out.raw_output_contents_size(), 2);
  EXPECT_EQ(out.outputs(0).name(), "y");
  EXPECT_EQ(out.outputs(0).datatype(), "FP32");
  EXPECT_THAT(out.outputs(0).shape(), ElementsAre(1, 2));
  EXPECT_FALSE(out.outputs(0).has_contents());
  EXPECT_EQ(out.raw_output_contents(0),
            std::string(reinterpret_cast<const char*>(y.data.data()), y.data.size()));
  EXPECT_EQ(out.raw_output_contents(1), std::string("\x02\x00\x00\x00hi", 6));
}

serving::ServedModel Model(bool ready) {
  serving::ServedModel model;
  model.name = "m";
  model.version = 4;
  model.platform = "pytorch_torchscript";
  model.config.name = "m";
  model.config.backend = "torchscript";
  model.config.max_batch_size = 8;
  model.config.inputs = {{"x", core::DataType::kFp32, {-1, 3}}};
  model.config.outputs = {{"y", core::DataType::kInt64, {-1}}};
  model.config.parameters = {{"threads", "1"}};
  if (ready) {
    struct Never : runtime::Model {
      absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor>) override {
        return absl::InternalError("unused");
      }
    };
    model.model = std::make_shared<Never>();
  } else {
    model.reason = "artifact is corrupt";
  }
  return model;
}

TEST(GrpcCodecTest, EncodesModelMetadata) {
  inference::ModelMetadataResponse out;
  EncodeModelMetadata(Model(true), out);
  EXPECT_EQ(out.name(), "m");
  EXPECT_THAT(out.versions(), ElementsAre("4"));
  EXPECT_EQ(out.platform(), "pytorch_torchscript");
  ASSERT_EQ(out.inputs_size(), 1);
  EXPECT_EQ(out.inputs(0).datatype(), "FP32");
  EXPECT_THAT(out.inputs(0).shape(), ElementsAre(-1, 3));
  EXPECT_EQ(out.outputs(0).datatype(), "INT64");
  EXPECT_EQ(out.properties().at("state"), "READY");

  inference::ModelMetadataResponse broken;
  EncodeModelMetadata(Model(false), broken);
  EXPECT_TRUE(broken.versions().empty());
  EXPECT_EQ(broken.properties().at("state"), "UNAVAILABLE");
  EXPECT_EQ(broken.properties().at("reason"), "artifact is corrupt");
}

TEST(GrpcCodecTest, EncodesModelConfigWithoutTheBatchDimension) {
  serving::ServedModel model = Model(true);
  inference::ModelConfig config;
  EncodeModelConfig(model, config);
  EXPECT_EQ(config.name(), "m");
  EXPECT_EQ(config.platform(), "pytorch_torchscript");
  EXPECT_EQ(config.backend(), "torchscript");
  EXPECT_EQ(config.max_batch_size(), 8);
  ASSERT_EQ(config.input_size(), 1);
  EXPECT_EQ(config.input(0).data_type(), inference::TYPE_FP32);
  EXPECT_THAT(config.input(0).dims(), ElementsAre(3));
  EXPECT_EQ(config.output(0).data_type(), inference::TYPE_INT64);
  EXPECT_TRUE(config.output(0).dims().empty());
  EXPECT_FALSE(config.has_dynamic_batching());
  EXPECT_EQ(config.parameters().at("threads").string_value(), "1");

  model.config.max_batch_size = 0;
  model.config.inputs[0].dtype = core::DataType::kBytes;
  model.config.scheduling.batching = true;
  model.config.scheduling.max_queue_delay_us = 500;
  model.config.scheduling.preferred_batch_sizes = {4, 8};
  model.config.scheduling.default_timeout_us = 2000;
  model.config.scheduling.max_queue_size = 64;
  config.Clear();
  EncodeModelConfig(model, config);
  EXPECT_THAT(config.input(0).dims(), ElementsAre(-1, 3));
  EXPECT_EQ(config.input(0).data_type(), inference::TYPE_STRING);
  ASSERT_TRUE(config.has_dynamic_batching());
  EXPECT_EQ(config.dynamic_batching().max_queue_delay_microseconds(), 500u);
  EXPECT_THAT(config.dynamic_batching().preferred_batch_size(), ElementsAre(4, 8));
  EXPECT_EQ(config.dynamic_batching().default_queue_policy().default_timeout_microseconds(), 2000u);
  EXPECT_EQ(config.dynamic_batching().default_queue_policy().max_queue_size(), 64u);
}

// Triton's C++ client (libgrpcclient, perf_analyzer) adds
// triton_enable_empty_final_response to every ModelInfer; tritonclient sends
// priority as uint64 and sequence_id 0 for "no sequence".
TEST(GrpcCodecTest, AcceptsTheParametersTritonClientsSendWithAHarmlessMeaning) {
  inference::ModelInferRequest request = Request();
  auto& parameters = *request.mutable_parameters();
  parameters["triton_enable_empty_final_response"].set_bool_param(false);
  parameters["priority"].set_uint64_param(3);
  parameters["sequence_id"].set_int64_param(0);
  parameters["sequence_start"].set_bool_param(false);
  parameters["timeout"].set_uint64_param(std::numeric_limits<uint64_t>::max());
  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  parameters["triton_enable_empty_final_response"].set_int64_param(1);
  EXPECT_THAT(DecodeError(request).message(),
              HasSubstr("'triton_enable_empty_final_response' must be true or false"));
  parameters["triton_enable_empty_final_response"].set_bool_param(true);
  parameters["sequence_end"].set_bool_param(true);
  EXPECT_THAT(DecodeError(request).message(), HasSubstr("no sequence batcher"));
}

// An input in shared memory has no raw contents: it is refused for the
// shared memory, not with a misleading count of raw_input_contents.
TEST(GrpcCodecTest, SharedMemoryIsRefusedBeforeRawContentsAreCounted) {
  inference::ModelInferRequest request = Request();
  AddInput(request, "a", "FP32", {1});
  InputTensor* b = AddInput(request, "b", "FP32", {1});
  (*b->mutable_parameters())["shared_memory_region"].set_string_param("region0");
  (*b->mutable_parameters())["shared_memory_byte_size"].set_int64_param(4);
  request.add_raw_input_contents(std::string(4, '\0'));
  const std::string message(DecodeError(request).message());
  EXPECT_THAT(message, HasSubstr("input 'b': parameter 'shared_memory_"));
  EXPECT_THAT(message, HasSubstr("shared-memory"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("raw_input_contents")));
}

TEST(GrpcCodecTest, ClassificationIsAPositiveIntegerOnAnOutput) {
  inference::ModelInferRequest request = Request();
  auto* output = request.add_outputs();
  output->set_name("y");
  (*output->mutable_parameters())["classification"].set_int64_param(3);
  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::get<int64_t>(decoded->outputs[0].parameters.at("classification")), 3);
  (*output->mutable_parameters())["classification"].set_int64_param(0);
  EXPECT_THAT(DecodeError(request).message(),
              HasSubstr("output 'y': parameter 'classification' must be a positive integer"));
}

// FP32 travels as float in contents.fp32_contents: no narrowing, so a value
// at the edge of float's range arrives as sent (the JSON path, which reads
// doubles, refuses what float cannot hold).
TEST(GrpcCodecTest, TypedFp32ValuesArriveUnchanged) {
  inference::ModelInferRequest request = Request();
  auto* c = AddInput(request, "x", "FP32", {2})->mutable_contents();
  c->add_fp32_contents(std::numeric_limits<float>::max());
  c->add_fp32_contents(-std::numeric_limits<float>::max());
  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_THAT(Values<float>(decoded->inputs[0]),
              ElementsAre(std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()));
}

TEST(GrpcCodecTest, EncodesModelStatistics) {
  serving::ModelStatistics stats;
  stats.name = "m";
  stats.version = "4";
  stats.last_inference_ms = 1700000000000;
  stats.inference_count = 10;
  stats.execution_count = 3;
  stats.success = {9, 900};
  stats.fail = {1, 10};
  stats.queue = {10, 50};
  stats.compute = {.input = {3, 30}, .infer = {3, 300}, .output = {3, 3}};
  stats.batch_stats[4] = {.input = {2, 20}, .infer = {2, 200}, .output = {2, 2}};
  inference::ModelStatistics out;
  EncodeModelStatistics(stats, out);
  EXPECT_EQ(out.name(), "m");
  EXPECT_EQ(out.version(), "4");
  EXPECT_EQ(out.last_inference(), 1700000000000u);
  EXPECT_EQ(out.inference_count(), 10u);
  EXPECT_EQ(out.execution_count(), 3u);
  EXPECT_EQ(out.inference_stats().success().count(), 9u);
  EXPECT_EQ(out.inference_stats().fail().ns(), 10u);
  EXPECT_EQ(out.inference_stats().queue().ns(), 50u);
  EXPECT_EQ(out.inference_stats().compute_infer().count(), 3u);
  // perf_analyzer requires the three compute counts to agree.
  EXPECT_EQ(out.inference_stats().compute_input().count(), 3u);
  EXPECT_EQ(out.inference_stats().compute_input().ns(), 30u);
  EXPECT_EQ(out.inference_stats().compute_output().count(), 3u);
  EXPECT_EQ(out.inference_stats().compute_output().ns(), 3u);
  ASSERT_EQ(out.batch_stats_size(), 1);
  EXPECT_EQ(out.batch_stats(0).batch_size(), 4u);
  EXPECT_EQ(out.batch_stats(0).compute_infer().ns(), 200u);
  EXPECT_EQ(out.batch_stats(0).compute_input().count(), 2u);
  EXPECT_EQ(out.batch_stats(0).compute_input().ns(), 20u);
  EXPECT_EQ(out.batch_stats(0).compute_output().ns(), 2u);
}

TEST(GrpcCodecTest, EncodesTheRepositoryIndex) {
  const std::vector<serving::VersionStatus> index = {
      {"a", "1", serving::VersionState::kReady, ""},
      {"a", "2", serving::VersionState::kUnavailable, "warm-up failed"},
      {"b", "", serving::VersionState::kUnavailable, "invalid YAML"}};
  inference::RepositoryIndexResponse all;
  EncodeRepositoryIndex(index, false, all);
  ASSERT_EQ(all.models_size(), 3);
  EXPECT_EQ(all.models(1).name(), "a");
  EXPECT_EQ(all.models(1).version(), "2");
  EXPECT_EQ(all.models(1).state(), "UNAVAILABLE");
  EXPECT_EQ(all.models(1).reason(), "warm-up failed");
  inference::RepositoryIndexResponse ready;
  EncodeRepositoryIndex(index, true, ready);
  ASSERT_EQ(ready.models_size(), 1);
  EXPECT_EQ(ready.models(0).version(), "1");
}

TEST(GrpcCodecTest, RepositoryRequestsNameOneModelAndNoParameters) {
  constexpr RepositoryAction kLoad = RepositoryAction::kLoad;
  google::protobuf::Map<std::string, inference::ModelRepositoryParameter> parameters;
  EXPECT_TRUE(CheckRepositoryRequest(kLoad, "", "m", parameters).ok());
  EXPECT_THAT(CheckRepositoryRequest(kLoad, "other", "m", parameters).message(),
              HasSubstr("strata serves one repository"));
  EXPECT_THAT(CheckRepositoryRequest(kLoad, "", "", parameters).message(), HasSubstr("model_name"));
  parameters["config"].set_string_param("{}");
  EXPECT_THAT(CheckRepositoryRequest(kLoad, "", "m", parameters).message(),
              HasSubstr("parameter 'config' is not supported"));
}

// tritonclient.grpc's unload_model() always sends unload_dependents (bool).
TEST(GrpcCodecTest, UnloadAcceptsUnloadDependentsAndLoadRefusesOverrides) {
  google::protobuf::Map<std::string, inference::ModelRepositoryParameter> parameters;
  parameters["unload_dependents"].set_bool_param(false);
  EXPECT_TRUE(CheckRepositoryRequest(RepositoryAction::kUnload, "", "m", parameters).ok());
  parameters["unload_dependents"].set_bool_param(true);
  EXPECT_TRUE(CheckRepositoryRequest(RepositoryAction::kUnload, "", "m", parameters).ok());
  parameters["unload_dependents"].set_string_param("yes");
  EXPECT_THAT(CheckRepositoryRequest(RepositoryAction::kUnload, "", "m", parameters).message(),
              HasSubstr("'unload_dependents' must be true or false"));
  google::protobuf::Map<std::string, inference::ModelRepositoryParameter> load;
  load["unload_dependents"].set_bool_param(false);
  EXPECT_FALSE(CheckRepositoryRequest(RepositoryAction::kLoad, "", "m", load).ok());
  load.clear();
  load["file:1/model.pt"].set_bytes_param("x");
  EXPECT_THAT(CheckRepositoryRequest(RepositoryAction::kLoad, "", "m", load).message(),
              HasSubstr("parameter 'file:1/model.pt' is not supported"));
}

TEST(GrpcCodecTest, DeadlineBecomesTheTimeoutParameter) {
  using std::chrono::microseconds;
  const auto now = std::chrono::system_clock::now();
  core::InferRequest request;
  ASSERT_TRUE(ApplyDeadline(std::chrono::system_clock::time_point::max(), now, request).ok());
  EXPECT_FALSE(request.parameters.contains("timeout"));

  ASSERT_TRUE(ApplyDeadline(now + microseconds(2500), now, request).ok());
  EXPECT_EQ(request.parameters.at("timeout"), core::ParameterValue(int64_t{2500}));

  request.parameters["timeout"] = int64_t{1000};  // the client's own, shorter
  ASSERT_TRUE(ApplyDeadline(now + microseconds(2500), now, request).ok());
  EXPECT_EQ(request.parameters.at("timeout"), core::ParameterValue(int64_t{1000}));

  request.parameters["timeout"] = int64_t{9000};  // longer than the deadline
  ASSERT_TRUE(ApplyDeadline(now + microseconds(2500), now, request).ok());
  EXPECT_EQ(request.parameters.at("timeout"), core::ParameterValue(int64_t{2500}));

  absl::Status passed = ApplyDeadline(now - microseconds(1), now, request);
  EXPECT_EQ(passed.code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace strata::api

namespace strata::api {
namespace {

// Typed and raw contents decoded into storage an earlier request gave back
// (its old bytes still there) are exactly what was sent.
TEST(GrpcCodecTest, DecodesIntoReusedBuffersExactly) {
  std::thread([] {
    std::vector<const uint8_t*> given;
    for (size_t i = 0; i < core::TensorDataPool::kPerThread; ++i) {
      std::vector<uint8_t> used(512, 0xab);
      given.push_back(used.data());
      core::TensorDataPool::Give(std::move(used));
    }
    inference::ModelInferRequest request = Request();
    InputTensor* typed = AddInput(request, "i", "INT16", {1, 3});
    for (int v : {-1, 0, 300}) typed->mutable_contents()->add_int_contents(v);
    InputTensor* text = AddInput(request, "s", "BYTES", {2});
    text->mutable_contents()->add_bytes_contents("ab");
    text->mutable_contents()->add_bytes_contents("");
    absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_THAT(Values<int16_t>(decoded->inputs[0]), ElementsAre(-1, 0, 300));
    EXPECT_EQ(decoded->inputs[1].data, (std::vector<uint8_t>{2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0}));
    for (const core::Tensor& input : decoded->inputs) {
      EXPECT_NE(std::find(given.begin(), given.end(), input.data.data()), given.end())
          << input.name << " was not decoded into a reused buffer";
    }

    inference::ModelInferRequest raw = Request();
    AddInput(raw, "f", "FP32", {2});
    const float values[2] = {0.5f, -7.0f};
    raw.add_raw_input_contents(std::string(reinterpret_cast<const char*>(values), 8));
    absl::StatusOr<core::InferRequest> raw_decoded = DecodeModelInferRequest(raw);
    ASSERT_TRUE(raw_decoded.ok()) << raw_decoded.status();
    EXPECT_THAT(Values<float>(raw_decoded->inputs[0]), ElementsAre(0.5f, -7.0f));
    EXPECT_NE(std::find(given.begin(), given.end(), raw_decoded->inputs[0].data.data()),
              given.end());
  }).join();
}

}  // namespace
}  // namespace strata::api
