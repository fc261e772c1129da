#include "serving/experiment/outcome_sums.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using std::chrono::seconds;

TEST(OutcomeSumsTest, AccuracyAndLogLossOfOneProbability) {
  OutcomeSums s;
  const std::vector<double> p08 = {0.8};
  const std::vector<double> p03 = {0.3};
  EXPECT_EQ(s.AddLabel(p08, 1), 0.0);  // predicted 1: right
  EXPECT_EQ(s.AddLabel(p03, 1), 1.0);  // predicted 0: wrong
  EXPECT_EQ(s.labels, 2u);
  EXPECT_EQ(s.correct, 1u);
  EXPECT_NEAR(s.log_loss_sum, -std::log(0.8) - std::log(0.3), 1e-12);
}

TEST(OutcomeSumsTest, ArgmaxForSeveralClasses) {
  OutcomeSums s;
  const std::vector<double> scores = {0.1, 0.2, 0.7};
  EXPECT_EQ(s.AddLabel(scores, 2), 0.0);
  EXPECT_EQ(s.AddLabel(scores, 0), 1.0);
}

// Scores 0.9, 0.6 (positives) and 0.7, 0.2 (negatives): of the four pairs,
// three rank the positive higher, so AUC = 3/4.
TEST(OutcomeSumsTest, AucByHand) {
  OutcomeSums s;
  EXPECT_TRUE(std::isnan(s.Auc()));
  s.AddLabel(std::vector<double>{0.9}, 1);
  s.AddLabel(std::vector<double>{0.6}, 1);
  s.AddLabel(std::vector<double>{0.7}, 0);
  s.AddLabel(std::vector<double>{0.2}, 0);
  EXPECT_DOUBLE_EQ(s.Auc(), 0.75);
  // A negative at 0.05: both positives rank above it (5 of 6 pairs).
  s.AddLabel(std::vector<double>{0.05}, 0);
  EXPECT_DOUBLE_EQ(s.Auc(), 5.0 / 6);
  // A negative tied with the 0.6 positive counts half: (5 + 1 + 0.5) / 8.
  s.AddLabel(std::vector<double>{0.6}, 0);
  EXPECT_DOUBLE_EQ(s.Auc(), 6.5 / 8);
}

TEST(OutcomeSumsTest, RegressionAndRewardLosses) {
  OutcomeSums s;
  EXPECT_DOUBLE_EQ(s.AddRegressionLabel(2.5, 1.0), 1.5);
  EXPECT_DOUBLE_EQ(s.AddReward(0.3), -0.3);
  EXPECT_DOUBLE_EQ(s.abs_error_square_sum, 2.25);
  EXPECT_EQ(s.rewards, 1u);
}

TEST(LossBucketsTest, SinceCountsOnlyTheWindow) {
  LossBuckets buckets(3600);
  const auto t0 = OutcomeWindow::Clock::time_point(seconds(1000));
  buckets.Add(1, t0);
  buckets.Add(0, t0 + seconds(10));
  buckets.Add(1, t0 + seconds(10));
  buckets.Add(1, t0 + seconds(20));
  const WindowOutcome all = buckets.Since(t0);
  EXPECT_EQ(all.count, 4u);
  EXPECT_DOUBLE_EQ(all.mean_loss, 0.75);
  EXPECT_DOUBLE_EQ(all.variance, 0.25);  // (3 - 4 * 0.5625) / 3
  const WindowOutcome recent = buckets.Since(t0 + seconds(10));
  EXPECT_EQ(recent.count, 3u);
  EXPECT_NEAR(recent.mean_loss, 2.0 / 3, 1e-12);
  EXPECT_EQ(buckets.Since(t0 + seconds(21)).count, 0u);
}

TEST(LossBucketsTest, ForgetsSecondsBeyondItsAge) {
  LossBuckets buckets(10);
  const auto t0 = OutcomeWindow::Clock::time_point(seconds(1000));
  buckets.Add(1, t0);
  buckets.Add(0, t0 + seconds(30));
  EXPECT_EQ(buckets.Since(t0).count, 1u);
}

}  // namespace
}  // namespace strata::serving
