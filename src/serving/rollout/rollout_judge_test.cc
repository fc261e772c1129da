#include "serving/rollout/rollout_judge.h"

#include <cmath>

#include "gtest/gtest.h"
#include "serving/rollout/rollout_statistics.h"

namespace strata::serving {
namespace {

using std::chrono::milliseconds;

// Known values, worked by hand in the comments.
TEST(RolloutStatisticsTest, TwoProportionZMatchesTheFormula) {
  // p_c = 0.10, p_s = 0.05, pooled 0.075: sqrt(0.075 * 0.925 * 0.02) = 0.037249.
  EXPECT_NEAR(TwoProportionZ(10, 100, 5, 100), 0.05 / 0.0372492, 1e-4);
  EXPECT_NEAR(TwoProportionZ(5, 100, 10, 100), -1.34231, 1e-4);
  EXPECT_EQ(TwoProportionZ(0, 100, 0, 100), 0);  // no error anywhere: no evidence
  EXPECT_EQ(TwoProportionZ(3, 0, 0, 100), 0);
}

TEST(RolloutStatisticsTest, MannWhitneyZMatchesTheNormalApproximation) {
  // U_c = 9 of 9, mean 4.5, variance 3 * 3 / 12 * 7 = 5.25: z = 4.5 / 2.29129.
  EXPECT_NEAR(MannWhitneyZ(std::vector<double>{4, 5, 6}, std::vector<double>{1, 2, 3}), 1.96396,
              1e-4);
  EXPECT_NEAR(MannWhitneyZ(std::vector<double>{1, 2, 3}, std::vector<double>{4, 5, 6}), -1.96396,
              1e-4);
  // Ties: ranks 1, 3, 3 | 3, 5; U_c = 7 - 6 = 1, mean 3; variance
  // 6 / 12 * (6 - 24 / 20) = 2.4: z = -2 / 1.54919.
  EXPECT_NEAR(MannWhitneyZ(std::vector<double>{1, 2, 2}, std::vector<double>{2, 3}), -1.29099,
              1e-4);
  EXPECT_EQ(MannWhitneyZ(std::vector<double>{2, 2}, std::vector<double>{2, 2}), 0);
  EXPECT_EQ(MannWhitneyZ(std::vector<double>{}, std::vector<double>{2, 2}), 0);
}

TEST(RolloutStatisticsTest, WelchZAndQuantile) {
  // se = sqrt(0.04 / 100 + 0.04 / 100) = 0.0282843.
  EXPECT_NEAR(WelchZ({.count = 100, .mean_loss = 0.5, .variance = 0.04},
                     {.count = 100, .mean_loss = 0.4, .variance = 0.04}),
              3.53553, 1e-4);
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  EXPECT_EQ(Quantile(hundred, 0.99), 99);
  EXPECT_EQ(Quantile(hundred, 1.0), 100);
  EXPECT_EQ(Quantile({7}, 0.99), 7);
  EXPECT_EQ(Quantile({}, 0.99), 0);
}

ArmWindowStats Arm(int64_t requests, int64_t errors, double latency = 1, size_t samples = 100) {
  ArmWindowStats arm{.requests = requests, .errors = errors, .latency_ms = {}};
  for (size_t i = 0; i < samples; ++i) arm.latency_ms.push_back(latency + 0.01 * double(i % 10));
  return arm;
}

RolloutWindow Window(ArmWindowStats stable, ArmWindowStats candidate) {
  return {.stable = std::move(stable),
          .candidate = std::move(candidate),
          .stable_quality = std::nullopt,
          .candidate_quality = std::nullopt};
}

TEST(RolloutGateTest, ErrorGateFailsPassesOrWaits) {
  const GateOptions options;
  EXPECT_EQ(JudgeErrors(options, Window(Arm(1000, 1), Arm(100, 20))).verdict, GateVerdict::kFail);
  EXPECT_EQ(JudgeErrors(options, Window(Arm(1000, 10), Arm(100, 1))).verdict, GateVerdict::kPass);
  // Five requests, all failed: too few to judge (min_samples 30).
  EXPECT_EQ(JudgeErrors(options, Window(Arm(1000, 0), Arm(5, 5))).verdict,
            GateVerdict::kNotEnoughData);
  // Significant (z 3.18) but half a point: under the minimum difference.
  EXPECT_EQ(JudgeErrors(options, Window(Arm(10000, 100), Arm(10000, 150))).verdict,
            GateVerdict::kPass);
}

TEST(RolloutGateTest, LatencyGateNeedsTheRatioTheDifferenceAndTheRankTest) {
  const GateOptions options;
  EXPECT_EQ(JudgeLatency(options, Window(Arm(100, 0, 1), Arm(100, 0, 20))).verdict,
            GateVerdict::kFail);
  // Seven times slower but 6 ms: under the 10 ms minimum difference.
  EXPECT_EQ(JudgeLatency(options, Window(Arm(100, 0, 1), Arm(100, 0, 7))).verdict,
            GateVerdict::kPass);
  EXPECT_EQ(JudgeLatency(options, Window(Arm(100, 0, 1), Arm(100, 0, 1.05))).verdict,
            GateVerdict::kPass);
  // One slow outlier: p99 ratio 50 but the ranks do not differ.
  RolloutWindow outlier = Window(Arm(100, 0, 1), Arm(100, 0, 1));
  outlier.candidate.latency_ms[0] = 50;
  outlier.candidate.latency_ms[1] = 50;
  EXPECT_EQ(JudgeLatency(options, outlier).verdict, GateVerdict::kPass);
  EXPECT_EQ(JudgeLatency(options, Window(Arm(100, 0, 1), Arm(10, 0, 20, 10))).verdict,
            GateVerdict::kNotEnoughData);
}

TEST(RolloutGateTest, QualityGateWaitsForDataThenCompares) {
  const GateOptions options;
  RolloutWindow window = Window(Arm(100, 0), Arm(100, 0));
  EXPECT_EQ(JudgeQuality(options, window).verdict, GateVerdict::kNotEnoughData);
  window.stable_quality = QualityStats{.count = 100, .mean_loss = 0.4, .variance = 0.04};
  window.candidate_quality = QualityStats{.count = 100, .mean_loss = 0.5, .variance = 0.04};
  EXPECT_EQ(JudgeQuality(options, window).verdict, GateVerdict::kFail);
  window.candidate_quality->mean_loss = 0.41;
  EXPECT_EQ(JudgeQuality(options, window).verdict, GateVerdict::kPass);
  window.candidate_quality->count = 10;
  EXPECT_EQ(JudgeQuality(options, window).verdict, GateVerdict::kNotEnoughData);
}

std::vector<RolloutStep> Steps() {
  return {{.weight = 10, .min_duration = milliseconds(1000), .min_requests = 50},
          {.weight = 50, .min_duration = milliseconds(1000), .min_requests = 50},
          {.weight = 100, .min_duration = milliseconds(0), .min_requests = 0}};
}

TEST(RolloutJudgeTest, HoldsUntilTheStepsMinimumsThenAdvancesThenPromotes) {
  const RolloutJudge judge(Steps(), GateOptions{});
  const RolloutWindow healthy = Window(Arm(1000, 0), Arm(100, 0));
  EXPECT_EQ(judge.Judge(0, milliseconds(500), healthy).decision, RolloutDecision::kHold);
  EXPECT_EQ(judge.Judge(0, milliseconds(1000), Window(Arm(1000, 0), Arm(40, 0))).decision,
            RolloutDecision::kHold);
  const Judgement advance = judge.Judge(0, milliseconds(1000), healthy);
  EXPECT_EQ(advance.decision, RolloutDecision::kAdvance) << advance.reason;
  EXPECT_EQ(advance.gates.size(), 2u);
  // The next step is 100: passing step 2 is the promotion.
  EXPECT_EQ(judge.Judge(1, milliseconds(1000), healthy).decision, RolloutDecision::kPromote);
}

TEST(RolloutJudgeTest, LowTrafficHoldsAndNeverRollsBack) {
  const RolloutJudge judge({{.weight = 5, .min_duration = milliseconds(0), .min_requests = 0}},
                           GateOptions{});
  // One request a second for a minute: 3 reach the candidate, one fails.
  const Judgement j = judge.Judge(0, milliseconds(60000), Window(Arm(57, 0), Arm(3, 1)));
  EXPECT_EQ(j.decision, RolloutDecision::kHold);
  EXPECT_NE(j.reason.find("not enough data"), std::string::npos) << j.reason;
}

TEST(RolloutJudgeTest, AFailRollsBackAtOnceWhateverTheStepsTime) {
  const RolloutJudge judge(Steps(), GateOptions{});
  const Judgement j = judge.Judge(0, milliseconds(1), Window(Arm(1000, 0), Arm(40, 40)));
  EXPECT_EQ(j.decision, RolloutDecision::kRollBack);
  EXPECT_NE(j.reason.find("gate error failed"), std::string::npos) << j.reason;
}

TEST(RolloutSpecTest, ParsesStepsGatesAndCandidates) {
  absl::StatusOr<std::vector<RolloutStep>> steps = ParseSteps("5:60s:200,25:500ms,50:2m:10,100");
  ASSERT_TRUE(steps.ok()) << steps.status();
  ASSERT_EQ(steps->size(), 4u);
  EXPECT_EQ((*steps)[0].min_duration, milliseconds(60000));
  EXPECT_EQ((*steps)[0].min_requests, 200);
  EXPECT_EQ((*steps)[1].min_duration, milliseconds(500));
  EXPECT_EQ((*steps)[2].min_duration, milliseconds(120000));
  EXPECT_EQ((*steps)[3].weight, 100);
  EXPECT_FALSE(ParseSteps("25,5").ok());    // weights must rise
  EXPECT_FALSE(ParseSteps("100,50").ok());  // 100 only last
  EXPECT_FALSE(ParseSteps("0").ok());
  EXPECT_FALSE(ParseSteps("5:soon").ok());
  EXPECT_FALSE(ParseSteps("5:1s:2.5").ok());
  absl::StatusOr<GateOptions> gates = ParseGates({"latency:3", "z:3.1"});
  ASSERT_TRUE(gates.ok()) << gates.status();
  EXPECT_FALSE(gates->error);
  EXPECT_TRUE(gates->latency);
  EXPECT_EQ(gates->latency_p99_ratio, 3);
  EXPECT_EQ(gates->z_critical, 3.1);
  EXPECT_FALSE(ParseGates({"speed"}).ok());
  absl::StatusOr<RolloutCandidate> candidate = ParseCandidate("churn@3");
  ASSERT_TRUE(candidate.ok());
  EXPECT_EQ(candidate->model, "churn");
  EXPECT_EQ(candidate->version, "3");
  EXPECT_FALSE(ParseCandidate("churn").ok());
  EXPECT_FALSE(ParseCandidate("churn@latest").ok());
}

}  // namespace
}  // namespace strata::serving
