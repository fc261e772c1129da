#include "serving/model_config_parser.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

constexpr char kValid[] = R"(
backend: xgboost
max_batch_size: 64
inputs:
  - {name: features, datatype: FP32, shape: [-1, 30]}
outputs:
  - {name: probability, datatype: FP32, shape: [-1]}
parameters:
  threads: 2
  output: margin
)";

std::string ErrorOf(std::string_view yaml) {
  absl::StatusOr<runtime::ModelConfig> config = ParseModelConfig(yaml, "m");
  EXPECT_FALSE(config.ok()) << yaml;
  return std::string(config.status().message());
}

TEST(ModelConfigParserTest, ParsesAValidConfig) {
  absl::StatusOr<runtime::ModelConfig> config = ParseModelConfig(kValid, "m");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name, "m");
  EXPECT_EQ(config->backend, "xgboost");
  EXPECT_EQ(config->max_batch_size, 64);
  ASSERT_EQ(config->inputs.size(), 1u);
  EXPECT_EQ(config->inputs[0].name, "features");
  EXPECT_EQ(config->inputs[0].dtype, core::DataType::kFp32);
  EXPECT_EQ(config->inputs[0].shape, (core::Shape{-1, 30}));
  EXPECT_EQ(config->outputs[0].shape, (core::Shape{-1}));
  EXPECT_EQ(config->parameters.at("threads"), "2");
  EXPECT_EQ(config->parameters.at("output"), "margin");
}

TEST(ModelConfigParserTest, RejectsInvalidYaml) {
  EXPECT_NE(ErrorOf("backend: [unclosed").find("invalid YAML"), std::string::npos);
}

TEST(ModelConfigParserTest, RejectsUnknownKeyAndNamesIt) {
  std::string yaml = std::string(kValid) + "max_batch: 3\n";
  EXPECT_NE(ErrorOf(yaml).find("unknown key 'max_batch'"), std::string::npos);
}

TEST(ModelConfigParserTest, RejectsMissingBackend) {
  EXPECT_NE(ErrorOf("inputs: []").find("'backend' is required"), std::string::npos);
}

TEST(ModelConfigParserTest, RejectsUnknownDatatype) {
  std::string error = ErrorOf(R"(
backend: x
inputs: [{name: a, datatype: FLOAT, shape: [2]}]
outputs: [{name: b, datatype: FP32, shape: [2]}]
)");
  EXPECT_NE(error.find("unknown datatype 'FLOAT'"), std::string::npos) << error;
}

TEST(ModelConfigParserTest, RequiresBatchDimensionWhenBatching) {
  std::string error = ErrorOf(R"(
backend: x
max_batch_size: 8
inputs: [{name: a, datatype: FP32, shape: [4]}]
outputs: [{name: b, datatype: FP32, shape: [-1]}]
)");
  EXPECT_NE(error.find("batch dimension -1"), std::string::npos) << error;
}

TEST(ModelConfigParserTest, RejectsDuplicateNamesAndEmptyLists) {
  EXPECT_NE(ErrorOf(R"(
backend: x
inputs: [{name: a, datatype: FP32, shape: [4]}, {name: a, datatype: FP32, shape: [4]}]
outputs: [{name: b, datatype: FP32, shape: [4]}]
)")
                .find("names 'a' twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf("backend: x\ninputs: []\noutputs: []\n").find("non-empty"), std::string::npos);
}

TEST(ModelConfigParserTest, RejectsNameThatDiffersFromDirectory) {
  std::string yaml = std::string(kValid) + "name: other\n";
  EXPECT_NE(ErrorOf(yaml).find("differs"), std::string::npos);
}

TEST(ModelConfigParserTest, ParsesScheduling) {
  std::string yaml = std::string(kValid) + R"(
instances: 3
max_queue_size: 10
default_timeout_us: 5000
dynamic_batching:
  max_queue_delay_us: 250
  preferred_batch_sizes: [32, 8]
)";
  absl::StatusOr<runtime::ModelConfig> config = ParseModelConfig(yaml, "m");
  ASSERT_TRUE(config.ok()) << config.status();
  const runtime::SchedulingConfig& s = config->scheduling;
  EXPECT_TRUE(s.batching);
  EXPECT_EQ(s.instances, 3);
  EXPECT_EQ(s.max_queue_size, 10);
  EXPECT_EQ(s.default_timeout_us, 5000);
  EXPECT_EQ(s.max_queue_delay_us, 250);
  EXPECT_EQ(s.preferred_batch_sizes, (std::vector<int64_t>{8, 32}));
}

TEST(ModelConfigParserTest, BatchingIsOffWithoutItsSection) {
  absl::StatusOr<runtime::ModelConfig> config = ParseModelConfig(kValid, "m");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->scheduling.batching);
  EXPECT_GE(config->scheduling.instances, 1);
}

TEST(ModelConfigParserTest, RejectsBadScheduling) {
  EXPECT_NE(ErrorOf(std::string(kValid) + "instances: 0\n").find("'instances' must be >= 1"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kValid) + "dynamic_batching: {preferred_batch_sizes: [2000]}\n")
                .find("between 1 and max_batch_size"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kValid) + "dynamic_batching: {delay: 3}\n")
                .find("dynamic_batching.delay"),
            std::string::npos);
}

TEST(ModelConfigParserTest, ParsesALatencyObjective) {
  absl::StatusOr<runtime::ModelConfig> config = ParseModelConfig(
      std::string(kValid) + "dynamic_batching: {latency_objective_us: 10000}\n", "m");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->scheduling.batching);
  EXPECT_EQ(config->scheduling.latency_objective_us, 10000);
  EXPECT_EQ(config->scheduling.max_queue_delay_us, 0);
}

TEST(ModelConfigParserTest, RejectsABadLatencyObjective) {
  EXPECT_NE(ErrorOf(std::string(kValid) + "dynamic_batching: {latency_objective_us: 0}\n")
                .find("'latency_objective_us' must be >= 1"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kValid) +
                    "dynamic_batching: {latency_objective_us: 5000, max_queue_delay_us: 100}\n")
                .find("cannot be combined with max_queue_delay_us"),
            std::string::npos);
}

TEST(ModelConfigParserTest, ReadsAnOutputsLabelsFileBesideTheConfig) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "model_config_parser_labels";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.yaml") << R"(
backend: xgboost
inputs: [{name: x, datatype: FP32, shape: [4]}]
outputs: [{name: p, datatype: FP32, shape: [3], label_filename: labels.txt}]
)";
  std::ofstream(dir / "labels.txt") << "cat\r\ndog\n\nbird";
  absl::StatusOr<runtime::ModelConfig> config = LoadModelConfig(dir / "config.yaml", "m");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->outputs[0].label_filename, "labels.txt");
  EXPECT_EQ(config->outputs[0].labels, (std::vector<std::string>{"cat", "dog", "", "bird"}));
  std::filesystem::remove(dir / "labels.txt");
  config = LoadModelConfig(dir / "config.yaml", "m");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("output 'p': cannot read its labels file"),
            std::string::npos)
      << config.status();
}

TEST(ModelConfigParserTest, LabelFilenameBelongsToAnOutputInTheModelsDirectory) {
  EXPECT_NE(ErrorOf(R"(
backend: xgboost
inputs: [{name: x, datatype: FP32, shape: [4], label_filename: l.txt}]
outputs: [{name: p, datatype: FP32, shape: [3]}]
)")
                .find("label_filename applies to outputs only"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"(
backend: xgboost
inputs: [{name: x, datatype: FP32, shape: [4]}]
outputs: [{name: p, datatype: FP32, shape: [3], label_filename: ../l.txt}]
)")
                .find("must name a file in the model's directory"),
            std::string::npos);
}

}  // namespace
}  // namespace strata::serving
