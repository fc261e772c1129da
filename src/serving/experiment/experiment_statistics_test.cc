#include "serving/experiment/experiment_statistics.h"

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

// Each expected value is worked by hand in the comment beside it.
TEST(ExperimentStatisticsTest, WilsonEightOfTen) {
  // center (0.8 + 1.96^2/20) / (1 + 1.96^2/10) = 0.71674; half-width
  // 1.96 sqrt(0.016 + 0.009604) / 1.38415 = 0.22658.
  const Interval i = WilsonInterval(8, 10);
  EXPECT_DOUBLE_EQ(i.estimate, 0.8);
  EXPECT_NEAR(i.low, 0.4902, 1e-4);
  EXPECT_NEAR(i.high, 0.9433, 1e-4);
}

TEST(ExperimentStatisticsTest, WilsonStaysInsideZeroAndOne) {
  const Interval none = WilsonInterval(0, 20);
  EXPECT_NEAR(none.low, 0, 1e-12);
  EXPECT_GT(none.high, 0.1);  // 3.8416 / 23.8416 = 0.1611
  EXPECT_NEAR(none.high, 0.1611, 1e-4);
}

TEST(ExperimentStatisticsTest, MeanIntervalUsesStudentsT) {
  // t(0.975, 9) = 2.262157; sqrt(1 / 10) = 0.316228.
  const Interval i = MeanInterval(0, 1, 10);
  EXPECT_NEAR(i.high, 2.262157 * 0.316228, 1e-5);
  EXPECT_NEAR(i.low, -i.high, 1e-12);
}

TEST(ExperimentStatisticsTest, AucHanleyMcNeil) {
  // Q1 = 0.8 / 1.2, Q2 = 1.28 / 1.8; variance (0.16 + 49 (Q1 - 0.64) +
  // 49 (Q2 - 0.64)) / 2500 = 0.0019804; half-width 1.96 * 0.044502.
  const Interval i = AucInterval(0.8, 50, 50);
  EXPECT_NEAR(i.low, 0.71278, 1e-4);
  EXPECT_NEAR(i.high, 0.88722, 1e-4);
}

TEST(ExperimentStatisticsTest, TwoProportionZ) {
  // 90/100 vs 60/100: pooled 0.75, se sqrt(0.75 * 0.25 * 0.02) = 0.0612372,
  // z = 0.3 / se = 4.89898; p = 2 (1 - Phi(4.899)) = 9.6e-7.
  const TestResult r = TwoProportionZTest(90, 100, 60, 100);
  EXPECT_NEAR(r.statistic, 4.89898, 1e-4);
  EXPECT_NEAR(r.p_value, 9.63e-7, 0.05e-7);
  EXPECT_TRUE(r.significant);
  const TestResult same = TwoProportionZTest(60, 100, 60, 100);
  EXPECT_DOUBLE_EQ(same.statistic, 0);
  EXPECT_DOUBLE_EQ(same.p_value, 1);
  EXPECT_FALSE(same.significant);
}

TEST(ExperimentStatisticsTest, WelchT) {
  // Means 1 and 0, variances 1, n 10 each: t = 1 / sqrt(0.2) = 2.23607,
  // df = 0.04 / (2 * 0.01 / 9) = 18; two-sided p(t18 > 2.236) = 0.03822.
  const TestResult r = WelchTTest(1, 1, 10, 0, 1, 10);
  EXPECT_NEAR(r.statistic, 2.23607, 1e-5);
  EXPECT_NEAR(r.p_value, 0.03822, 2e-4);
  EXPECT_TRUE(r.significant);
  EXPECT_FALSE(WelchTTest(0.1, 1, 10, 0, 1, 10).significant);
}

}  // namespace
}  // namespace strata::serving
