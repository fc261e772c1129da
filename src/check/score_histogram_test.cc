#include "check/score_histogram.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace strata::check {
namespace {

ScoreHistogram Halves() { return ScoreHistogram{"p", {0.5}, {0.5, 0.5}}; }

TEST(ScoreHistogramTest, BinsFollowSearchsortedLeft) {
  const ScoreHistogram h{"p", {0.2, 0.5}, {0.2, 0.3, 0.5}};
  EXPECT_EQ(BinOf(h, 0.1), 0u);
  EXPECT_EQ(BinOf(h, 0.2), 0u);  // an edge belongs to the bin below it
  EXPECT_EQ(BinOf(h, 0.3), 1u);
  EXPECT_EQ(BinOf(h, 0.9), 2u);
}

TEST(ScoreHistogramTest, SameDistributionHasZeroPsi) {
  const std::vector<double> scores = {0.1, 0.2, 0.7, 0.9};
  EXPECT_NEAR(*PopulationStabilityIndex(Halves(), scores), 0.0, 1e-12);
}

TEST(ScoreHistogramTest, PsiMatchesTheFormula) {
  const std::vector<double> scores = {0.1, 0.1, 0.1, 0.9};  // 0.75 / 0.25
  const double expected = (0.75 - 0.5) * std::log(0.75 / 0.5) + (0.25 - 0.5) * std::log(0.25 / 0.5);
  EXPECT_NEAR(*PopulationStabilityIndex(Halves(), scores), expected, 1e-12);
}

TEST(ScoreHistogramTest, AnEmptyBinIsFloredNotInfinite) {
  const std::vector<double> scores = {0.1, 0.2};
  const double psi = *PopulationStabilityIndex(Halves(), scores);
  EXPECT_TRUE(std::isfinite(psi));
  EXPECT_GT(psi, 2.0);
}

TEST(ScoreHistogramTest, NoScoresIsAnError) {
  EXPECT_FALSE(PopulationStabilityIndex(Halves(), std::vector<double>{}).ok());
}

TEST(ScoreHistogramTest, ParsesAndValidatesTheReference) {
  auto h = ParseScoreHistogram(R"({"output": "p", "edges": [0.5], "fractions": [0.4, 0.6]})");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->output, "p");
  EXPECT_EQ(h->fractions, (std::vector<double>{0.4, 0.6}));
  EXPECT_FALSE(ParseScoreHistogram(R"({"output": "p", "edges": [0.5], "fractions": [1]})").ok());
  EXPECT_FALSE(
      ParseScoreHistogram(R"({"output": "p", "edges": [0.5, 0.1], "fractions": [0.3, 0.3, 0.4]})")
          .ok());
  EXPECT_FALSE(ParseScoreHistogram(R"({"output": "p", "edges": [], "fractions": [0.5]})").ok());
  EXPECT_FALSE(ParseScoreHistogram("not json").ok());
}

}  // namespace
}  // namespace strata::check
