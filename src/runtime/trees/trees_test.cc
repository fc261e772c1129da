// The tree engine against XGBoost itself: the fixtures (make_trees_fixtures.py)
// hold XGBoost 1.7's in-place predictions for random rows with missing
// values, infinities and every split threshold as an input; the engine must
// answer the same bits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/trees/perfect_forest_walk.h"
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

// How many of the fixture's rows differ from XGBoost's answer in any bit
// when each row is its own call, as a single-row request is.
int64_t OneRowMismatches(const std::string& name) {
  const std::filesystem::path dir = FixtureDir() / name;
  const Case meta = ReadMeta(dir);
  auto model = LoadTreesModel(ConfigFor(meta, false), dir);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return -1;
  const std::vector<float> inputs = ReadFloats(dir / "inputs.f32");
  const std::vector<float> expected = ReadFloats(dir / "expected.f32");
  const size_t per_row = expected.size() / static_cast<size_t>(meta.rows);
  const auto width = static_cast<size_t>(meta.features);
  core::Tensor x{"x", core::DataType::kFp32, {1, meta.features}, {}};
  x.data.resize(width * sizeof(float));
  int64_t differing = 0;
  for (size_t row = 0; row < static_cast<size_t>(meta.rows); ++row) {
    std::memcpy(x.data.data(), &inputs[row * width], x.data.size());
    auto outputs = (*model)->Run(std::span<const core::Tensor>(&x, 1));
    if (!outputs.ok() || (*outputs)[0].As<float>().size() != per_row) return -1;
    const float* got = (*outputs)[0].As<float>().data();
    differing += std::memcmp(got, &expected[row * per_row], per_row * sizeof(float)) != 0;
  }
  return differing;
}

class TreesMatchXGBoost : public testing::TestWithParam<std::string> {};

TEST_P(TreesMatchXGBoost, AnswersAreBitIdentical) { EXPECT_EQ(Mismatches(GetParam(), false), 0); }

TEST_P(TreesMatchXGBoost, MarginsAreBitIdentical) { EXPECT_EQ(Mismatches(GetParam(), true), 0); }

TEST_P(TreesMatchXGBoost, OneRowCallsAreBitIdentical) {
  EXPECT_EQ(OneRowMismatches(GetParam()), 0);
}

TEST_P(TreesMatchXGBoost, LargeBatchesOnTwoThreadsAreBitIdentical) {
  EXPECT_EQ(Mismatches(GetParam(), false, 6), 0);
}

INSTANTIATE_TEST_SUITE_P(Objectives, TreesMatchXGBoost,
                         testing::Values("logistic", "regression", "softprob", "softmax",
                                         "reg_logistic", "logitraw", "deep", "deeper", "wide",
                                         "poisson", "gamma", "tweedie", "many_trees",
                                         "wide_shallow"));

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// How many of the fixture's rows differ from XGBoost's margins in any bit
// when `predictor` walks them in batches of the sizes in `sizes`, in turn,
// so that batches start and end inside the walks' blocks and vectors.
int64_t MarginMismatches(const trees::TreePredictor& predictor, const std::filesystem::path& dir,
                         const std::vector<int64_t>& sizes) {
  const std::vector<float> inputs = ReadFloats(dir / "inputs.f32");
  const std::vector<float> expected = ReadFloats(dir / "margin.f32");
  const int64_t width = predictor.ensemble().num_features;
  const int64_t groups = predictor.ensemble().num_groups;
  const auto rows = static_cast<int64_t>(inputs.size()) / width;
  std::vector<float> margins(expected.size());
  int64_t differing = 0;
  for (int64_t start = 0, turn = 0; start < rows; start += sizes[turn % sizes.size()], ++turn) {
    const int64_t count = std::min(sizes[turn % sizes.size()], rows - start);
    const auto at = static_cast<size_t>(start * groups);
    predictor.PredictMargins(std::span<const float>(inputs).subspan(start * width, count * width),
                             count, std::span<float>(margins).subspan(at, count * groups));
    for (int64_t row = 0; row < count; ++row) {
      const size_t r = at + static_cast<size_t>(row * groups);
      differing += std::memcmp(&margins[r], &expected[r], groups * sizeof(float)) != 0;
    }
  }
  return differing;
}

class EveryWalk : public testing::TestWithParam<std::tuple<std::string, trees::TreeWalk>> {};

TEST_P(EveryWalk, OddSizedBatchesGiveXGBoostsMarginsBitForBit) {
  const auto& [name, walk] = GetParam();
  const std::filesystem::path dir = FixtureDir() / name;
  auto ensemble = trees::ParseXGBoostJson(ReadText(dir / "model.json"));
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  auto predictor = trees::TreePredictor::Create(*ensemble, walk);
  if (walk == trees::TreeWalk::kPerfectAvx512 && !trees::Avx512Available()) {
    EXPECT_FALSE(predictor.ok());
    GTEST_SKIP() << "no AVX-512 on this processor";
  }
  if (name == "deeper" && walk != trees::TreeWalk::kNodes) {
    ASSERT_FALSE(predictor.ok());
    EXPECT_EQ(predictor.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(predictor.status().message().find("deeper"), std::string_view::npos);
    return;
  }
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  EXPECT_EQ(predictor->walk(), walk);
  EXPECT_EQ(MarginMismatches(*predictor, dir, {1, 3, 17, 64, 65, 15, 16, 130, 7, 1000}), 0);
  EXPECT_EQ(MarginMismatches(*predictor, dir, {4096}), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Walks, EveryWalk,
    testing::Combine(testing::Values("logistic", "regression", "softprob", "softmax",
                                     "reg_logistic", "logitraw", "deep", "deeper", "wide",
                                     "poisson", "gamma", "tweedie", "many_trees", "wide_shallow"),
                     testing::Values(trees::TreeWalk::kNodes, trees::TreeWalk::kPerfectPortable,
                                     trees::TreeWalk::kPerfectAvx512)));

// A fixture row with nothing missing, then that row with each one of its
// features missing in turn, then the row with every feature missing.
std::vector<float> RowsMissingEachFeature(const std::filesystem::path& dir, int64_t width) {
  const std::vector<float> inputs = ReadFloats(dir / "inputs.f32");
  std::vector<float> row;
  for (size_t at = 0; at + static_cast<size_t>(width) <= inputs.size() && row.empty();
       at += width) {
    const auto begin = inputs.begin() + static_cast<std::ptrdiff_t>(at);
    const bool complete =
        std::all_of(begin, begin + width, [](float x) { return std::isfinite(x); });
    if (complete) row.assign(begin, begin + width);
  }
  std::vector<float> rows = row;
  for (int64_t f = 0; f < width; ++f) {
    rows.insert(rows.end(), row.begin(), row.end());
    rows[rows.size() - static_cast<size_t>(width - f)] = std::nanf("");
  }
  rows.insert(rows.end(), static_cast<size_t>(width), std::nanf(""));
  return rows;
}

// Margins of `rows` walked in batches of `batch` rows.
std::vector<float> MarginsInBatches(const trees::TreePredictor& predictor,
                                    const std::vector<float>& rows, int64_t batch) {
  const int64_t width = predictor.ensemble().num_features;
  const int64_t groups = predictor.ensemble().num_groups;
  const auto count = static_cast<int64_t>(rows.size()) / width;
  std::vector<float> margins(static_cast<size_t>(count * groups));
  for (int64_t start = 0; start < count; start += batch) {
    const int64_t n = std::min(batch, count - start);
    predictor.PredictMargins(std::span<const float>(rows).subspan(start * width, n * width), n,
                             std::span<float>(margins).subspan(start * groups, n * groups));
  }
  return margins;
}

// The AVX-512 walk reads a row with nothing missing by one permute and a row
// with a missing value from both of its copies (and one row alone straight
// from the caller's floats): every walk must take each feature's missing
// value where XGBoost does, which the node walk (bit-identical to XGBoost on
// every fixture) says.
TEST_P(EveryWalk, RowsMissingAnyOneFeatureOrAllOfThemFollowTheNodeWalk) {
  const auto& [name, walk] = GetParam();
  if (walk == trees::TreeWalk::kNodes || name == "deeper") GTEST_SKIP() << "the reference itself";
  if (walk == trees::TreeWalk::kPerfectAvx512 && !trees::Avx512Available()) GTEST_SKIP();
  const std::filesystem::path dir = FixtureDir() / name;
  auto ensemble = trees::ParseXGBoostJson(ReadText(dir / "model.json"));
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  auto nodes = trees::TreePredictor::Create(*ensemble, trees::TreeWalk::kNodes);
  auto predictor = trees::TreePredictor::Create(*ensemble, walk);
  ASSERT_TRUE(nodes.ok() && predictor.ok());
  const std::vector<float> rows = RowsMissingEachFeature(dir, ensemble->num_features);
  ASSERT_EQ(rows.size(),
            static_cast<size_t>((ensemble->num_features + 2) * ensemble->num_features));
  const std::vector<float> expected = MarginsInBatches(*nodes, rows, 1);
  for (int64_t batch : {1, 3, 4, 17, 1000}) {
    const std::vector<float> margins = MarginsInBatches(*predictor, rows, batch);
    EXPECT_EQ(std::memcmp(margins.data(), expected.data(), margins.size() * sizeof(float)), 0)
        << "batches of " << batch;
  }
}

TEST(TreePredictor, PicksThePerfectLayoutUpToItsDepthBoundAndTheNodeWalkBeyond) {
  auto shallow = trees::ParseXGBoostJson(ReadText(FixtureDir() / "deep" / "model.json"));
  auto deeper = trees::ParseXGBoostJson(ReadText(FixtureDir() / "deeper" / "model.json"));
  ASSERT_TRUE(shallow.ok() && deeper.ok());
  const trees::TreeWalk fastest = trees::Avx512Available() ? trees::TreeWalk::kPerfectAvx512
                                                           : trees::TreeWalk::kPerfectPortable;
  EXPECT_EQ(trees::TreePredictor::Create(*shallow)->walk(), fastest);
  EXPECT_EQ(trees::TreePredictor::Create(*deeper)->walk(), trees::TreeWalk::kNodes);
}

// A split that sends missing values left at a threshold of -inf (1e39 is
// -inf as a float): the perfect layout cannot tell its missing values from
// -inf, so the node walk takes the model, and keeps XGBoost's answers:
// missing goes left (1), -inf and 0 go right (2).
TEST(TreePredictor, ANegativeInfiniteThresholdWithMissingLeftKeepsTheNodeWalk) {
  constexpr std::string_view kModel = R"({"learner": {
    "objective": {"name": "reg:squarederror"},
    "learner_model_param": {"base_score": "0", "num_feature": "1", "num_class": "0"},
    "gradient_booster": {"name": "gbtree", "model": {
      "gbtree_model_param": {"num_parallel_tree": "1"}, "tree_info": [0],
      "trees": [{"left_children": [1, -1, -1], "right_children": [2, -1, -1],
                 "split_conditions": [-1e39, 1.0, 2.0], "split_indices": [0, 0, 0],
                 "default_left": [1, 0, 0], "split_type": [0, 0, 0],
                 "tree_param": {"num_nodes": "3"}}]}}}})";
  auto ensemble = trees::ParseXGBoostJson(kModel);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  auto perfect = trees::TreePredictor::Create(*ensemble, trees::TreeWalk::kPerfectPortable);
  ASSERT_FALSE(perfect.ok());
  EXPECT_NE(perfect.status().message().find("-inf"), std::string_view::npos);
  auto predictor = trees::TreePredictor::Create(*ensemble);
  ASSERT_TRUE(predictor.ok());
  EXPECT_EQ(predictor->walk(), trees::TreeWalk::kNodes);
  const std::vector<float> rows = {std::nanf(""), -std::numeric_limits<float>::infinity(), 0};
  std::vector<float> margins(3);
  predictor->PredictMargins(rows, 3, margins);
  EXPECT_EQ(margins, (std::vector<float>{1, 2, 2}));
}

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
