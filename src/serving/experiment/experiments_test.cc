#include "serving/experiment/experiments.h"

#include "gtest/gtest.h"
#include "serving/experiment/test_tensors.h"

namespace strata::serving {
namespace {

using testing::Response;

TEST(ExperimentsTest, JoinsLabelsPerArmAndVersion) {
  Experiments experiments;
  experiments.Add("ab", FeedbackOptions{});
  experiments.RecordPrediction("ab", "r1", Response({0.9f}, 1, "stable", "1"));
  experiments.RecordPrediction("ab", "r2", Response({0.2f}, 1, "canary", "2"));
  EXPECT_TRUE(experiments.Join("ab", {.id = "r1", .label = 1}).ok());
  EXPECT_TRUE(experiments.Join("ab", {.id = "r2", .label = 1}).ok());
  absl::StatusOr<ExperimentReport> report = experiments.Report("ab");
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->arms.size(), 2u);
  EXPECT_EQ(report->arms[0].arm, "stable");
  EXPECT_EQ(report->arms[0].version, "1");
  EXPECT_EQ(report->arms[0].sums.correct, 1u);
  EXPECT_EQ(report->arms[1].arm, "canary");
  EXPECT_EQ(report->arms[1].sums.correct, 0u);
  EXPECT_EQ(report->feedback_joined, 2u);
}

TEST(ExperimentsTest, CountsUnmatchedFeedback) {
  Experiments experiments;
  experiments.Add("ab", FeedbackOptions{});
  experiments.RecordPrediction("ab", "r1", Response({0.9f, 0.1f}, 1));
  const absl::Status unknown = experiments.Join("ab", {.id = "nope", .label = 1});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.message().find("nope"), std::string_view::npos);
  EXPECT_EQ(experiments.Join("ab", {.id = "r1", .row = 2, .label = 1}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(experiments.Join("ab", {.id = "r1", .row = 1, .label = 0}).ok());
  const ExperimentReport report = *experiments.Report("ab");
  EXPECT_EQ(report.feedback_unmatched, 2u);
  EXPECT_EQ(report.feedback_joined, 1u);
  EXPECT_EQ(report.arms[0].sums.labels, 1u);  // one row, not both
}

TEST(ExperimentsTest, EndpointsWithoutFeedbackRefuseIt) {
  Experiments experiments;
  experiments.Add("shadowed", std::nullopt);
  experiments.RecordPrediction("shadowed", "r1", Response({0.9f}, 1));
  EXPECT_EQ(experiments.Join("shadowed", {.id = "r1", .label = 1}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(experiments.Join("unknown", {.id = "r1", .label = 1}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(experiments.Report("unknown").ok());
  EXPECT_TRUE(experiments.Report("shadowed").ok());
}

TEST(ExperimentsTest, TheWindowAnswersPerArm) {
  Experiments experiments;
  experiments.Add("ab", FeedbackOptions{});
  const auto start = OutcomeWindow::Clock::now() - std::chrono::seconds(1);
  for (int i = 0; i < 10; ++i) {
    const std::string id = "r" + std::to_string(i);
    experiments.RecordPrediction("ab", id, Response({0.9f}, 1, i < 4 ? "canary" : "stable"));
    ASSERT_TRUE(experiments.Join("ab", {.id = id, .label = i % 2 == 0 ? 1.0 : 0.0}).ok());
  }
  const WindowOutcome canary = experiments.Since("ab", "canary", start);
  EXPECT_EQ(canary.count, 4u);
  EXPECT_DOUBLE_EQ(canary.mean_loss, 0.5);  // rows 1 and 3 are wrong
  EXPECT_NEAR(canary.variance, 1.0 / 3, 1e-12);
  EXPECT_EQ(experiments.Since("ab", "stable", start).count, 6u);
  EXPECT_EQ(experiments.Since("ab", "nobody", start).count, 0u);
}

TEST(ExperimentsTest, RecordsShadowAgreementPerPair) {
  Experiments experiments;
  experiments.Add("e", std::nullopt);
  ShadowCounters& counters = *experiments.ShadowCountersFor("e", "m@2");
  EXPECT_EQ(experiments.ShadowCountersFor("e", "m@2"), &counters);  // one per shadow
  EXPECT_EQ(experiments.ShadowCountersFor("nobody", "m@2"), nullptr);
  experiments.CountShadow(counters, ShadowEvent::kSent);
  experiments.CountShadow(counters, ShadowEvent::kQueueFull);
  experiments.CountShadow(counters, ShadowEvent::kPrimaryBusy);
  experiments.CountShadow(counters, ShadowEvent::kPrimaryBusy);
  experiments.CountShadow(counters, ShadowEvent::kOverBudget);
  experiments.RecordShadow("e", "1", "m@2", {{false, 0.0005}, {true, 0.3}, {false, 2.0}});
  const ExperimentReport report = *experiments.Report("e");
  ASSERT_EQ(report.shadow_traffic.size(), 1u);
  EXPECT_EQ(report.shadow_traffic[0].requests, 1u);
  EXPECT_EQ(report.shadow_traffic[0].queue_full, 1u);
  EXPECT_EQ(report.shadow_traffic[0].primary_busy, 2u);
  EXPECT_EQ(report.shadow_traffic[0].over_budget, 1u);
  EXPECT_EQ(report.shadow_traffic[0].dropped, 4u);  // every reason
  ASSERT_EQ(report.shadows.size(), 1u);
  EXPECT_EQ(report.shadows[0].rows, 3u);
  EXPECT_EQ(report.shadows[0].disagreeing_rows, 1u);
  // Buckets <= 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1, +Inf.
  EXPECT_EQ(report.shadows[0].score_difference_buckets,
            (std::vector<uint64_t>{1, 0, 0, 0, 0, 1, 0, 1}));
}

}  // namespace
}  // namespace strata::serving
