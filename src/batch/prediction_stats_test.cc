#include "batch/prediction_stats.h"

#include <cmath>
#include <cstring>

#include "gtest/gtest.h"

namespace strata::batch {
namespace {

std::string Float(float v) { return std::string(reinterpret_cast<char*>(&v), 4); }

TEST(PredictionStatsTest, SummarisesEveryValue) {
  PredictionStats stats({{"y", core::DataType::kFp32, {}}}, 1000);
  for (int i = 0; i <= 100; ++i) stats.Add(i, Float(static_cast<float>(i)));
  stats.Add(1000, Float(std::nanf("")));
  stats.Add(1001, Float(INFINITY));
  const auto s = stats.Finish()[0];
  EXPECT_EQ(s.count, 101);
  EXPECT_EQ(s.nan, 1);
  EXPECT_EQ(s.inf, 1);
  EXPECT_EQ(s.min, 0);
  EXPECT_EQ(s.max, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50);
  EXPECT_DOUBLE_EQ(s.Quantile(0.5), 50);
  EXPECT_DOUBLE_EQ(s.Quantile(0.9), 90);
}

TEST(PredictionStatsTest, SampledQuantilesAreCloseAndOrderFree) {
  PredictionStats forward({{"y", core::DataType::kFp32, {}}}, 2000);
  PredictionStats backward({{"y", core::DataType::kFp32, {}}}, 2000);
  for (int i = 0; i < 100000; ++i) forward.Add(i * 7919, Float(i / 1000.0f));
  for (int i = 99999; i >= 0; --i) backward.Add(i * 7919, Float(i / 1000.0f));
  const auto a = forward.Finish()[0], b = backward.Finish()[0];
  EXPECT_NEAR(a.Quantile(0.5), 50, 2.5);
  EXPECT_EQ(a.quantiles, b.quantiles);
  EXPECT_LT(*forward.Psi(a), 0.01);
}

// Regression: with many tied values (a classifier's few distinct scores),
// identical predictions measured a PSI of 0.8 against decile bins assumed to
// hold 10% each.
TEST(PredictionStatsTest, TiedValuesAgainstThemselvesHaveNoShift) {
  PredictionStats first({{"y", core::DataType::kFp32, {}}}, 5000);
  PredictionStats second({{"y", core::DataType::kFp32, {}}}, 5000);
  for (int i = 0; i < 20000; ++i) {
    const float v = (i % 32 < 20) ? 0.01f * (i % 3) : 0.99f;
    first.Add(i, Float(v));
    second.Add(i + 777777, Float(v));
  }
  EXPECT_LT(*second.Psi(first.Finish()[0]), 0.01);
  PredictionStats shifted({{"y", core::DataType::kFp32, {}}}, 5000);
  for (int i = 0; i < 20000; ++i) shifted.Add(i, Float(i % 2 ? 0.99f : 0.5f));
  EXPECT_GT(*shifted.Psi(first.Finish()[0]), 0.25);
}

TEST(PredictionStatsTest, IntegerOutputsGetAClassHistogram) {
  PredictionStats stats({{"label", core::DataType::kInt64, {}}});
  for (int64_t i = 0; i < 10; ++i) {
    const int64_t label = i % 3 == 0;
    stats.Add(i, std::string(reinterpret_cast<const char*>(&label), 8));
  }
  EXPECT_EQ(stats.Finish()[0].classes, (std::map<int64_t, int64_t>{{0, 6}, {1, 4}}));
}

}  // namespace
}  // namespace strata::batch
