// The tree engine against XGBoost itself: the fixtures (make_trees_fixtures.py)
// hold XGBoost 1.7's in-place predictions for random rows with missing
// values, infinities and every split threshold as an input; the engine must
// answer the same bits.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/trees/tree_ensemble.h"
#include "runtime/trees/tree_predictor.h"
#include "runtime/trees/trees_backend.h"

namespace strata::runtime {
namespace {

std::filesystem::path FixtureDir() {
  const char* binary = std::getenv("STRATA_BINARY_DIR");
  return std::filesystem::path(binary ? binary : ".") / "trees_fixtures";
}

std::vector<float> ReadFloats(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

struct Case {
  int64_t rows = 0, features = 0, groups = 0;
  std::string objective;
};

Case ReadMeta(const std::filesystem::path& dir) {
  Case meta;
  std::ifstream(dir / "meta.txt") >> meta.rows >> meta.features >> meta.groups >> meta.objective;
  return meta;
}

ModelConfig ConfigFor(const Case& meta, bool margin) {
  ModelConfig config;
  config.name = "fixture";
  config.backend = "trees";
  config.max_batch_size = 0;
  config.inputs.push_back({"x", core::DataType::kFp32, {-1, meta.features}});
  const bool per_group = meta.groups > 1 && (margin || meta.objective != "multi:softmax");
  config.outputs.push_back(
      {"y", core::DataType::kFp32, per_group ? core::Shape{-1, meta.groups} : core::Shape{-1}});
  if (margin) config.parameters["output"] = "margin";
  return config;
}

template <typename T>
std::vector<T> Repeat(const std::vector<T>& values, int times) {
  std::vector<T> out;
  for (int i = 0; i < times; ++i) out.insert(out.end(), values.begin(), values.end());
  return out;
}

// How many rows differ from XGBoost's answer in any bit. `copies` > 1 runs
// the fixture's rows that many times over in one batch on 2 threads.
int64_t Mismatches(const std::string& name, bool margin, int copies = 1) {
  const std::filesystem::path dir = FixtureDir() / name;
  Case meta = ReadMeta(dir);
  ModelConfig config = ConfigFor(meta, margin);
  if (copies > 1) config.parameters["threads"] = "2";
  auto model = LoadTreesModel(config, dir);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return -1;
  meta.rows *= copies;
  core::Tensor x{"x", core::DataType::kFp32, {meta.rows, meta.features}, {}};
  const std::vector<float> inputs = Repeat(ReadFloats(dir / "inputs.f32"), copies);
  x.data.resize(inputs.size() * sizeof(float));
  std::memcpy(x.data.data(), inputs.data(), x.data.size());
  auto outputs = (*model)->Run(std::span<const core::Tensor>(&x, 1));
  EXPECT_TRUE(outputs.ok()) << outputs.status();
  if (!outputs.ok()) return -1;
  const std::vector<float> expected =
      Repeat(ReadFloats(dir / (margin ? "margin.f32" : "expected.f32")), copies);
  const std::span<const float> got = (*outputs)[0].As<float>();
  EXPECT_EQ(got.size(), expected.size());
  if (got.size() != expected.size()) return -1;
  const size_t per_row = expected.size() / static_cast<size_t>(meta.rows);
  int64_t differing = 0;
  for (int64_t row = 0; row < meta.rows; ++row) {
    const size_t at = static_cast<size_t>(row) * per_row;
    if (std::memcmp(&got[at], &expected[at], per_row * sizeof(float)) != 0) ++differing;
  }
  return differing;
}

class TreesMatchXGBoost : public testing::TestWithParam<std::string> {};

TEST_P(TreesMatchXGBoost, AnswersAreBitIdentical) { EXPECT_EQ(Mismatches(GetParam(), false), 0); }

TEST_P(TreesMatchXGBoost, MarginsAreBitIdentical) { EXPECT_EQ(Mismatches(GetParam(), true), 0); }

TEST_P(TreesMatchXGBoost, LargeBatchesOnTwoThreadsAreBitIdentical) {
  EXPECT_EQ(Mismatches(GetParam(), false, 6), 0);
}

INSTANTIATE_TEST_SUITE_P(Objectives, TreesMatchXGBoost,
                         testing::Values("logistic", "regression", "softprob", "softmax",
                                         "reg_logistic", "logitraw", "deep"));

TEST(TreesBackend, RefusesCategoricalSplitsWithTheReason) {
  std::ifstream in(FixtureDir() / "categorical" / "model.json");
  std::stringstream json;
  json << in.rdbuf();
  auto ensemble = trees::ParseXGBoostJson(json.str());
  ASSERT_FALSE(ensemble.ok());
  EXPECT_EQ(ensemble.status().code(), absl::StatusCode::kUnimplemented) << ensemble.status();
  EXPECT_NE(ensemble.status().message().find("categorical"), std::string_view::npos);
}

TEST(TreesBackend, RefusesMalformedJson) {
  auto ensemble = trees::ParseXGBoostJson("{\"learner\": 3");
  ASSERT_FALSE(ensemble.ok());
  EXPECT_EQ(ensemble.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TreesBackend, RefusesAFeatureCountThatDiffersFromTheConfig) {
  const std::filesystem::path dir = FixtureDir() / "logistic";
  Case meta = ReadMeta(dir);
  meta.features += 1;
  auto model = LoadTreesModel(ConfigFor(meta, false), dir);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("features"), std::string_view::npos);
}

}  // namespace
}  // namespace strata::runtime
