#include "runtime/torchscript/torchscript_backend.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace strata::runtime {
namespace {

using ::testing::HasSubstr;

std::filesystem::path EnvDir(const char* name) {
  const char* dir = std::getenv(name);
  return dir == nullptr ? std::filesystem::path() : std::filesystem::path(dir);
}

std::filesystem::path ExampleDir(const std::string& model) {
  return EnvDir("STRATA_SOURCE_DIR") / "examples/repository/models" / model;
}

std::filesystem::path FixtureDir(const std::string& model) {
  return EnvDir("STRATA_BINARY_DIR") / "fixture_repository/models" / model;
}

// An FP32 tensor from one {name, datatype, shape, data} object of samples.json.
core::Tensor TensorFromJson(const rapidjson::Value& json) {
  core::Shape shape;
  for (const auto& dim : json["shape"].GetArray()) shape.push_back(dim.GetInt64());
  core::Tensor tensor = core::Tensor::Zeros(json["name"].GetString(), core::DataType::kFp32, shape);
  auto values = tensor.MutableAs<float>();
  size_t i = 0;
  for (const auto& v : json["data"].GetArray()) values[i++] = v.GetFloat();
  EXPECT_EQ(i, values.size());
  return tensor;
}

rapidjson::Document ReadSamples(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  EXPECT_FALSE(doc.HasParseError()) << path;
  return doc;
}

template <typename T>
core::Tensor MakeTensor(std::string name, core::DataType dtype, core::Shape shape,
                        std::vector<T> values) {
  core::Tensor tensor = core::Tensor::Zeros(std::move(name), dtype, shape);
  EXPECT_EQ(tensor.data.size(), values.size() * sizeof(T));
  std::memcpy(tensor.data.data(), values.data(), tensor.data.size());
  return tensor;
}

absl::StatusOr<std::unique_ptr<Model>> Load(const ModelConfig& config,
                                            const std::filesystem::path& version_dir) {
  return TorchScriptBackend().factory(config, version_dir);
}

ModelConfig BaseConfig(std::string name) {
  ModelConfig config;
  config.name = std::move(name);
  config.backend = "torchscript";
  config.max_batch_size = 1024;
  config.parameters = {{"threads", "1"}};
  return config;
}

ModelConfig DigitsConfig() {
  ModelConfig config = BaseConfig("digits_mlp");
  config.inputs = {{"pixels", core::DataType::kFp32, {-1, 64}}};
  config.outputs = {{"logits", core::DataType::kFp32, {-1, 10}},
                    {"probabilities", core::DataType::kFp32, {-1, 10}}};
  return config;
}

ModelConfig TwoInputsConfig() {
  ModelConfig config = BaseConfig("two_inputs");
  config.inputs = {{"a", core::DataType::kFp32, {-1, 4}}, {"b", core::DataType::kFp32, {-1, 4}}};
  config.outputs = {{"sum", core::DataType::kFp32, {-1, 4}},
                    {"product", core::DataType::kFp32, {-1, 4}}};
  return config;
}

ModelConfig IntEchoConfig() {
  ModelConfig config = BaseConfig("int_echo");
  config.inputs = {{"x", core::DataType::kInt64, {-1, 3}}};
  config.outputs = {{"y", core::DataType::kInt64, {-1, 3}}};
  return config;
}

ModelConfig XyConfig(std::string name) {
  ModelConfig config = BaseConfig(std::move(name));
  config.inputs = {{"x", core::DataType::kFp32, {-1, 2}}};
  config.outputs = {{"y", core::DataType::kFp32, {-1, 2}}};
  return config;
}

TEST(TorchScriptBackendTest, NamesItself) {
  Backend backend = TorchScriptBackend();
  EXPECT_EQ(backend.name, "torchscript");
  EXPECT_EQ(backend.platform, "pytorch_torchscript");
}

TEST(TorchScriptBackendTest, ExampleDictOutputsMatchSamples) {
  const auto dir = ExampleDir("digits_mlp") / "1";
  auto model = Load(DigitsConfig(), dir);
  ASSERT_TRUE(model.ok()) << model.status();
  const auto samples = ReadSamples(dir / "samples.json");
  std::vector<core::Tensor> inputs = {TensorFromJson(samples["request"]["inputs"][0])};
  auto outputs = (*model)->Run(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  const auto& expected = samples["expected"]["outputs"];
  ASSERT_EQ(outputs->size(), 2u);
  for (size_t i = 0; i < outputs->size(); ++i) {
    const core::Tensor want = TensorFromJson(expected[i]);
    const core::Tensor& got = (*outputs)[i];
    EXPECT_EQ(got.name, want.name);
    ASSERT_EQ(got.shape, want.shape);
    for (size_t j = 0; j < want.As<float>().size(); ++j) {
      EXPECT_NEAR(got.As<float>()[j], want.As<float>()[j], 1e-5) << got.name << "[" << j << "]";
    }
  }
}

TEST(TorchScriptBackendTest, DictWithoutDeclaredOutputIsRejected) {
  ModelConfig config = DigitsConfig();
  config.outputs[1].name = "probs";
  auto model = Load(config, ExampleDir("digits_mlp") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("dict without the declared output 'probs' (its keys: "
                        "logits, probabilities)"));
}

TEST(TorchScriptBackendTest, DeclaredOutputShapeMustMatchModel) {
  ModelConfig config = DigitsConfig();
  config.outputs[0].shape = {-1, 5};
  auto model = Load(config, ExampleDir("digits_mlp") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("output 'logits' has shape [2,10] but config.yaml "
                        "declares [-1,5]"));
}

TEST(TorchScriptBackendTest, TwoNamedInputsAndTupleOutputs) {
  auto model = Load(TwoInputsConfig(), FixtureDir("two_inputs") / "1");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<core::Tensor> inputs = {
      MakeTensor<float>("a", core::DataType::kFp32, {2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}),
      MakeTensor<float>("b", core::DataType::kFp32, {2, 4}, {2, 2, 2, 2, -1, 0, 1, 0.5})};
  auto outputs = (*model)->Run(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 2u);
  EXPECT_EQ((*outputs)[0].name, "sum");
  EXPECT_EQ((*outputs)[0].shape, (core::Shape{2, 4}));
  EXPECT_THAT((*outputs)[0].As<float>(), ::testing::ElementsAre(3, 4, 5, 6, 4, 6, 8, 8.5));
  EXPECT_EQ((*outputs)[1].name, "product");
  EXPECT_THAT((*outputs)[1].As<float>(), ::testing::ElementsAre(2, 4, 6, 8, -5, 0, 7, 4));
}

TEST(TorchScriptBackendTest, ForwardArgumentCountMustMatchInputs) {
  ModelConfig config = TwoInputsConfig();
  config.inputs.pop_back();
  auto model = Load(config, FixtureDir("two_inputs") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("forward() takes 2 inputs (a, b) but config.yaml "
                                                  "declares 1 (a)"));
}

TEST(TorchScriptBackendTest, TupleLengthMustMatchOutputs) {
  ModelConfig config = TwoInputsConfig();
  config.outputs.pop_back();
  auto model = Load(config, FixtureDir("two_inputs") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("forward() returned 2 tensors but config.yaml "
                                                  "declares 1 outputs (sum)"));
}

TEST(TorchScriptBackendTest, Int64InputsAndOutputs) {
  auto model = Load(IntEchoConfig(), FixtureDir("int_echo") / "1");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<core::Tensor> inputs = {
      MakeTensor<int64_t>("x", core::DataType::kInt64, {2, 3}, {1, 2, 3, -4, int64_t{1} << 40, 0})};
  auto outputs = (*model)->Run(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].dtype, core::DataType::kInt64);
  EXPECT_EQ((*outputs)[0].shape, (core::Shape{2, 3}));
  EXPECT_THAT((*outputs)[0].As<int64_t>(),
              ::testing::ElementsAre(2, 4, 6, -8, int64_t{1} << 41, 0));
}

TEST(TorchScriptBackendTest, DeclaredOutputDtypeMustMatchModel) {
  ModelConfig config = IntEchoConfig();
  config.outputs[0].dtype = core::DataType::kFp32;
  auto model = Load(config, FixtureDir("int_echo") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("output 'y' is INT64 but config.yaml declares FP32"));
}

TEST(TorchScriptBackendTest, BytesIsRejectedAtLoad) {
  ModelConfig config = IntEchoConfig();
  config.inputs[0].dtype = core::DataType::kBytes;
  auto model = Load(config, FixtureDir("int_echo") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("input 'x' is BYTES, which the torchscript backend "
                        "does not support"));
}

TEST(TorchScriptBackendTest, RunRejectsMismatchedInputs) {
  auto model = Load(IntEchoConfig(), FixtureDir("int_echo") / "1");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<core::Tensor> inputs = {core::Tensor::Zeros("x", core::DataType::kFp32, {2, 3})};
  auto outputs = (*model)->Run(inputs);
  ASSERT_FALSE(outputs.ok());
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(outputs.status().message(), HasSubstr("must be INT64"));

  inputs[0] = core::Tensor::Zeros("x", core::DataType::kInt64, {2, 3});
  inputs[0].data.pop_back();
  EXPECT_FALSE((*model)->Run(inputs).ok());
  inputs.push_back(inputs[0]);
  EXPECT_THAT((*model)->Run(inputs).status().message(), HasSubstr("takes 1 inputs (x), got 2"));
}

TEST(TorchScriptBackendTest, MultiVersionDirectoriesLoadIndividually) {
  for (int version : {1, 2, 10}) {
    auto model =
        Load(XyConfig("multi_version"), FixtureDir("multi_version") / std::to_string(version));
    ASSERT_TRUE(model.ok()) << version << ": " << model.status();
    std::vector<core::Tensor> inputs = {
        MakeTensor<float>("x", core::DataType::kFp32, {1, 2}, {0.5, -1})};
    auto outputs = (*model)->Run(inputs);
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    EXPECT_THAT((*outputs)[0].As<float>(), ::testing::ElementsAre(0.5f + version, -1.0f + version));
  }
}

TEST(TorchScriptBackendTest, CorruptArtifactFailsCleanly) {
  auto model = Load(XyConfig("corrupt_pt"), FixtureDir("corrupt_pt") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr("model.pt as a TorchScript module"));
}

TEST(TorchScriptBackendTest, MissingArtifactIsNotFound) {
  ModelConfig config = XyConfig("multi_version");
  config.parameters["artifact"] = "other.pt";
  auto model = Load(config, FixtureDir("multi_version") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(model.status().message(), HasSubstr("other.pt does not exist"));
}

TEST(TorchScriptBackendTest, BadThreadsParameterIsRejected) {
  ModelConfig config = XyConfig("multi_version");
  config.parameters["threads"] = "many";
  auto model = Load(config, FixtureDir("multi_version") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("must be an integer"));
}

TEST(TorchScriptBackendTest, ConcurrentRunsGiveIdenticalResults) {
  const auto dir = ExampleDir("digits_mlp") / "1";
  auto model = Load(DigitsConfig(), dir);
  ASSERT_TRUE(model.ok()) << model.status();
  const auto samples = ReadSamples(dir / "samples.json");
  const std::vector<core::Tensor> inputs = {TensorFromJson(samples["request"]["inputs"][0])};
  auto reference = (*model)->Run(inputs);
  ASSERT_TRUE(reference.ok()) << reference.status();

  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        auto outputs = (*model)->Run(inputs);
        if (!outputs.ok() || (*outputs)[0].data != (*reference)[0].data ||
            (*outputs)[1].data != (*reference)[1].data) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ::testing::Each(0));
}

}  // namespace
}  // namespace strata::runtime
