#include "api/experiment_json.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace strata::api {
namespace {

TEST(ExperimentJsonTest, DecodesOneAndManyOutcomes) {
  absl::StatusOr<FeedbackBody> one = DecodeFeedback(R"({"id": "r1", "row": 2, "label": 1})");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_FALSE(one->list);
  ASSERT_EQ(one->items.size(), 1u);
  EXPECT_EQ(one->items[0].id, "r1");
  EXPECT_EQ(one->items[0].row, 2u);
  EXPECT_EQ(one->items[0].label, 1.0);
  EXPECT_FALSE(one->items[0].reward.has_value());
  absl::StatusOr<FeedbackBody> many =
      DecodeFeedback(R"({"feedback": [{"id": "a", "reward": 0.5}, {"id": "b", "label": 0}]})");
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_TRUE(many->list);
  ASSERT_EQ(many->items.size(), 2u);
  EXPECT_EQ(many->items[0].reward, 0.5);
}

TEST(ExperimentJsonTest, RefusesMalformedFeedback) {
  for (const char* body :
       {"not json", R"({"label": 1})", R"({"id": 7, "label": 1})", R"({"id": "a"})",
        R"({"id": "a", "label": 1, "reward": 2})", R"({"id": "a", "label": "yes"})",
        R"({"id": "a", "row": -1, "label": 1})", R"({"id": "a", "label": 1, "colour": 2})",
        R"({"feedback": {"id": "a"}})", R"({"feedback": [{"id": "a"}]})"}) {
    EXPECT_EQ(DecodeFeedback(body).status().code(), absl::StatusCode::kInvalidArgument) << body;
  }
  std::string big = R"({"feedback": [)";
  for (size_t i = 0; i <= kMaxFeedbackItems; ++i)
    big += (i ? "," : "") + std::string(R"({"id":"a","label":1})");
  big += "]}";
  EXPECT_EQ(DecodeFeedback(big).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ExperimentJsonTest, TheReportReadsBack) {
  serving::ExperimentReport report{.endpoint = "ab", .feedback = true};
  serving::ArmOutcomes arm{.arm = "canary", .version = "2", .sums = {}};
  arm.sums.AddLabel(std::vector<double>{0.9}, 1);
  arm.sums.AddLabel(std::vector<double>{0.2}, 1);
  arm.sums.AddReward(0.5);
  report.arms.push_back(arm);
  absl::StatusOr<ExperimentFigures> back = DecodeExperimentReport(EncodeExperimentReport(report));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->endpoint, "ab");
  ASSERT_EQ(back->arms.size(), 1u);
  const serving::ArmFigures& f = back->arms[0];
  EXPECT_EQ(f.arm, "canary");
  EXPECT_EQ(f.version, "2");
  EXPECT_EQ(f.labels, 2u);
  EXPECT_EQ(f.correct, 1u);
  EXPECT_EQ(f.positives, 2u);
  EXPECT_EQ(f.negatives, 0u);
  EXPECT_TRUE(std::isnan(f.auc));  // one class only: written as null
  EXPECT_EQ(f.rewards, 1u);
  EXPECT_DOUBLE_EQ(f.reward_sum, 0.5);
}

}  // namespace
}  // namespace strata::api
