#include "serving/experiment_config.h"

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

TEST(ExperimentConfigTest, ParsesShadowAndFeedback) {
  auto configs = ParseEndpointConfigs(R"(
endpoints:
  scores:
    plan: dynamic
    model: m
    shadow: {model: m2, label: candidate, share: 0.25, queue: 8, max_in_flight: 0, cpu_share: 0.1}
    feedback: {retention: 500, max_age: 2m, task: regression}
  ab:
    plan: split
    arms: [{name: a, model: m, weight: 1}]
  ab_off:
    plan: split
    arms: [{name: a, model: m, weight: 1}]
    feedback: false
  head:
    plan: hybrid
    key: [id]
    model: m
    shadow: {live_model: true, share: 0.01}
)");
  ASSERT_TRUE(configs.ok()) << configs.status();
  const EndpointConfig& scores = (*configs)[0];
  ASSERT_TRUE(scores.shadow.has_value());
  EXPECT_EQ(scores.shadow->model, "m2");
  EXPECT_EQ(scores.shadow->version, "candidate");
  EXPECT_DOUBLE_EQ(scores.shadow->share, 0.25);
  EXPECT_EQ(scores.shadow->queue, 8u);
  EXPECT_EQ(scores.shadow->max_in_flight, 0u);
  EXPECT_DOUBLE_EQ(scores.shadow->cpu_share, 0.1);
  ASSERT_TRUE(scores.feedback.has_value());
  EXPECT_EQ(scores.feedback->retention, 500u);
  EXPECT_EQ(scores.feedback->max_age_s, 120);
  EXPECT_EQ(scores.feedback->task, FeedbackTask::kRegression);
  ASSERT_TRUE((*configs)[1].feedback.has_value());  // on by default for split
  EXPECT_EQ((*configs)[1].feedback->retention, 100000u);
  EXPECT_FALSE((*configs)[2].feedback.has_value());
  EXPECT_TRUE((*configs)[3].shadow->live_model);
  EXPECT_EQ((*configs)[3].shadow->max_in_flight, 1u);  // the defaults
  EXPECT_DOUBLE_EQ((*configs)[3].shadow->cpu_share, 0.5);
  EXPECT_FALSE((*configs)[3].feedback.has_value());
}

TEST(ExperimentConfigTest, RefusesBadShadowsAndFeedback) {
  const char* bad[] = {
      "endpoints: {e: {plan: dynamic, model: m, shadow: {share: 1}}}",
      "endpoints: {e: {plan: dynamic, model: m, shadow: {model: x, share: 1.5}}}",
      "endpoints: {e: {plan: dynamic, model: m, shadow: {model: x, cpu_share: 0}}}",
      "endpoints: {e: {plan: dynamic, model: m, shadow: {model: x, cpu_share: 2}}}",
      "endpoints: {e: {plan: dynamic, model: m, shadow: {model: x, max_in_flight: -1}}}",
      "endpoints: {e: {plan: dynamic, model: m, shadow: {model: x, queue: 0}}}",
      "endpoints: {e: {plan: dynamic, model: m, shadow: {live_model: true}}}",
      "endpoints: {e: {plan: dynamic, model: m, shadow: {model: x, colour: red}}}",
      "endpoints: {e: {plan: dynamic, model: m, feedback: {max_age: soon}}}",
      "endpoints: {e: {plan: dynamic, model: m, feedback: {task: ranking}}}",
      "endpoints: {e: {plan: dynamic, model: m, feedback: {retention: many}}}",
  };
  for (const char* yaml : bad) {
    auto configs = ParseEndpointConfigs(yaml);
    EXPECT_EQ(configs.status().code(), absl::StatusCode::kInvalidArgument) << yaml;
    EXPECT_NE(configs.status().message().find("endpoint 'e'"), std::string_view::npos)
        << configs.status();
  }
}

}  // namespace
}  // namespace strata::serving
