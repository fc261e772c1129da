#include "runtime/xgboost/xgboost_backend.h"

#include <cmath>
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

ModelConfig BreastCancerConfig() {
  ModelConfig config;
  config.name = "breast_cancer_xgb";
  config.backend = "xgboost";
  config.max_batch_size = 1024;
  config.inputs = {{"features", core::DataType::kFp32, {-1, 30}}};
  config.outputs = {{"probability", core::DataType::kFp32, {-1}}};
  config.parameters = {{"threads", "1"}, {"output", "probability"}};
  return config;
}

absl::StatusOr<std::unique_ptr<Model>> Load(const ModelConfig& config,
                                            const std::filesystem::path& version_dir) {
  return XGBoostBackend().factory(config, version_dir);
}

absl::StatusOr<std::vector<core::Tensor>> RunOne(Model& model, core::Tensor input) {
  std::vector<core::Tensor> inputs;
  inputs.push_back(std::move(input));
  return model.Run(inputs);
}

void ExpectNear(const core::Tensor& actual, const core::Tensor& expected) {
  ASSERT_EQ(actual.shape, expected.shape) << actual.name;
  auto a = actual.As<float>();
  auto e = expected.As<float>();
  for (size_t i = 0; i < e.size(); ++i) {
    EXPECT_NEAR(a[i], e[i], 1e-5) << actual.name << "[" << i << "]";
  }
}

// Runs samples.json's request and compares with its `expected_key` outputs.
void ExpectSamples(Model& model, const rapidjson::Document& samples, const char* expected_key) {
  std::vector<core::Tensor> inputs;
  for (const auto& in : samples["request"]["inputs"].GetArray()) {
    inputs.push_back(TensorFromJson(in));
  }
  auto outputs = model.Run(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  const auto& expected = samples[expected_key]["outputs"];
  ASSERT_EQ(outputs->size(), expected.Size());
  for (size_t i = 0; i < outputs->size(); ++i) {
    ExpectNear((*outputs)[i], TensorFromJson(expected[i]));
  }
}

TEST(XGBoostBackendTest, NamesItself) {
  Backend backend = XGBoostBackend();
  EXPECT_EQ(backend.name, "xgboost");
  EXPECT_EQ(backend.platform, "xgboost_json");
}

TEST(XGBoostBackendTest, ExampleModelMatchesSamples) {
  const auto dir = ExampleDir("breast_cancer_xgb") / "1";
  auto model = Load(BreastCancerConfig(), dir);
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectSamples(**model, ReadSamples(dir / "samples.json"), "expected");
}

TEST(XGBoostBackendTest, MarginOutputMatchesExpectedMargin) {
  const auto dir = ExampleDir("breast_cancer_xgb") / "1";
  ModelConfig config = BreastCancerConfig();
  config.parameters["output"] = "margin";
  config.outputs[0].name = "margin";
  auto model = Load(config, dir);
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectSamples(**model, ReadSamples(dir / "samples.json"), "expected_margin");
}

TEST(XGBoostBackendTest, DeclaredRankTwoOutputGetsColumnShape) {
  ModelConfig config = BreastCancerConfig();
  config.outputs[0].shape = {-1, 1};
  auto model = Load(config, ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_TRUE(model.ok()) << model.status();
  auto outputs = RunOne(**model, core::Tensor::Zeros("features", core::DataType::kFp32, {3, 30}));
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[0].shape, (core::Shape{3, 1}));
}

TEST(XGBoostBackendTest, EmptyBatchGivesEmptyOutput) {
  auto model = Load(BreastCancerConfig(), ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_TRUE(model.ok()) << model.status();
  auto outputs = RunOne(**model, core::Tensor::Zeros("features", core::DataType::kFp32, {0, 30}));
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[0].shape, (core::Shape{0}));
  EXPECT_TRUE((*outputs)[0].data.empty());
}

TEST(XGBoostBackendTest, RunRejectsWrongFeatureCount) {
  auto model = Load(BreastCancerConfig(), ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_TRUE(model.ok()) << model.status();
  auto outputs = RunOne(**model, core::Tensor::Zeros("features", core::DataType::kFp32, {2, 29}));
  ASSERT_FALSE(outputs.ok());
  EXPECT_THAT(outputs.status().message(), HasSubstr("must be FP32 [N,30]"));
}

TEST(XGBoostBackendTest, ConcurrentRunsGiveIdenticalResults) {
  const auto dir = ExampleDir("breast_cancer_xgb") / "1";
  auto model = Load(BreastCancerConfig(), dir);
  ASSERT_TRUE(model.ok()) << model.status();
  const auto samples = ReadSamples(dir / "samples.json");
  const std::vector<core::Tensor> inputs = {TensorFromJson(samples["request"]["inputs"][0])};
  auto reference = (*model)->Run(inputs);
  ASSERT_TRUE(reference.ok()) << reference.status();

  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto outputs = (*model)->Run(inputs);
        if (!outputs.ok() || (*outputs)[0].data != (*reference)[0].data) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ::testing::Each(0));
}

TEST(XGBoostBackendTest, UnknownOutputParameterIsRejected) {
  ModelConfig config = BreastCancerConfig();
  config.parameters["output"] = "logits";
  auto model = Load(config, ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("parameter 'output' must be 'probability' or 'margin', "
                        "got 'logits'"));
}

TEST(XGBoostBackendTest, BadThreadsParameterIsRejected) {
  ModelConfig config = BreastCancerConfig();
  config.parameters["threads"] = "0";
  auto model = Load(config, ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("'threads' must be at least 1"));
}

TEST(XGBoostBackendTest, ArtifactParameterNamesTheFile) {
  ModelConfig config = BreastCancerConfig();
  config.parameters["artifact"] = "other.json";
  auto model = Load(config, ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(model.status().message(), HasSubstr("other.json does not exist"));

  config.parameters["artifact"] = "../1/model.json";
  model = Load(config, ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("inside the version directory"));
}

TEST(XGBoostBackendTest, CorruptArtifactFailsCleanly) {
  auto model = Load(BreastCancerConfig(), FixtureDir("corrupt_xgb") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("as an XGBoost model"));
  EXPECT_THAT(model.status().message(), HasSubstr("model.json"));
}

TEST(XGBoostBackendTest, FeatureCountMismatchIsRejected) {
  auto model = Load(BreastCancerConfig(), FixtureDir("signature_mismatch") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("model expects 5 features but config.yaml declares 30"));
}

TEST(XGBoostBackendTest, DeclaredOutputShapeMustMatchModel) {
  ModelConfig config = BreastCancerConfig();
  config.outputs[0].shape = {-1, 3};
  auto model = Load(config, ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("output 'probability' has shape [2] but config.yaml "
                        "declares [-1,3]"));
}

TEST(XGBoostBackendTest, DeclaredSignatureMustBeOneFp32Matrix) {
  ModelConfig config = BreastCancerConfig();
  config.outputs[0].dtype = core::DataType::kFp64;
  auto model = Load(config, ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("output must be FP32"));

  config = BreastCancerConfig();
  config.inputs[0].shape = {-1, 5, 6};
  model = Load(config, ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("input must be FP32"));

  config = BreastCancerConfig();
  config.inputs.push_back(config.inputs[0]);
  model = Load(config, ExampleDir("breast_cancer_xgb") / "1");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("exactly one input"));
}

}  // namespace
}  // namespace strata::runtime
