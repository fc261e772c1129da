#include "api/rollout_json.h"

#include "gtest/gtest.h"

namespace strata::api {
namespace {

// Records what the route asked for; answers a fixed view or an error.
class FakeRolloutControl : public serving::RolloutControl {
 public:
  absl::StatusOr<serving::RolloutView> Start(const serving::RolloutRequest& request) override {
    started = request;
    return View();
  }
  absl::StatusOr<serving::RolloutView> Status(const std::string& endpoint) const override {
    if (endpoint != "ab") return absl::NotFoundError("endpoint 'x' has had no rollout");
    return View();
  }
  absl::StatusOr<serving::RolloutView> Act(const std::string&,
                                           serving::RolloutAction action) override {
    if (action == serving::RolloutAction::kResume) {
      return absl::FailedPreconditionError("the rollout of 'ab' is running");
    }
    acted = action;
    return View();
  }
  std::vector<serving::RolloutView> List() const override { return {View()}; }
  std::vector<prometheus::MetricFamily> CollectMetrics() const override { return {}; }

  static serving::RolloutView View() {
    serving::RolloutView view;
    view.state.spec.endpoint = "ab";
    view.state.spec.candidate = {.model = "m", .version = "2"};
    view.state.status = serving::RolloutStatus::kRunning;
    view.state.reason = "step 1 at 5%: \"waiting\"";
    view.weight = 5;
    view.last = serving::Judgement{.decision = serving::RolloutDecision::kHold,
                                   .gates = {{.gate = serving::Gate::kError,
                                              .verdict = serving::GateVerdict::kNotEnoughData,
                                              .detail = "candidate 0/3 errors"}},
                                   .reason = ""};
    return view;
  }

  std::optional<serving::RolloutRequest> started;
  std::optional<serving::RolloutAction> acted;
};

std::vector<std::string> Segments(std::string action) {
  std::vector<std::string> s = {"v2", "repository", "endpoints", "ab", "rollout"};
  if (!action.empty()) s.push_back(std::move(action));
  return s;
}

TEST(RolloutJsonTest, StartDecodesItsBodyAndAnswersTheView) {
  FakeRolloutControl control;
  const RolloutAnswer answer = AnswerRolloutRoute(
      control, "POST", Segments("start"),
      R"({"candidate": "m@2", "steps": "5:1s:10,100", "gates": ["error", "latency:3"]})");
  EXPECT_EQ(answer.status, 200) << answer.body;
  ASSERT_TRUE(control.started);
  EXPECT_EQ(control.started->endpoint, "ab");
  EXPECT_EQ(control.started->steps, "5:1s:10,100");
  EXPECT_EQ(control.started->gates, (std::vector<std::string>{"error", "latency:3"}));
  EXPECT_NE(answer.body.find(R"("status":"running")"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find(R"("reason":"step 1 at 5%: \"waiting\"")"), std::string::npos);
  EXPECT_NE(answer.body.find(R"({"gate":"error","verdict":"not_enough_data")"), std::string::npos);
}

TEST(RolloutJsonTest, BadBodiesAndRoutesAreClearErrors) {
  FakeRolloutControl control;
  EXPECT_EQ(AnswerRolloutRoute(control, "POST", Segments("start"), R"({"steps": "5"})").status,
            400);
  EXPECT_EQ(AnswerRolloutRoute(control, "POST", Segments("start"), "[1]").status, 400);
  const RolloutAnswer unknown =
      AnswerRolloutRoute(control, "POST", Segments("start"), R"({"candidate": "m@2", "x": "1"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("unknown field 'x'"), std::string::npos) << unknown.body;
  EXPECT_EQ(AnswerRolloutRoute(control, "POST", Segments("jump"), "").status, 404);
  EXPECT_EQ(AnswerRolloutRoute(control, "GET", Segments("pause"), "").status, 405);
  EXPECT_EQ(AnswerRolloutRoute(control, "POST", Segments("resume"), "").status, 400);
}

TEST(RolloutJsonTest, StatusAnswersOnGetAndActionsReachTheControl) {
  FakeRolloutControl control;
  EXPECT_EQ(AnswerRolloutRoute(control, "GET", Segments(""), "").status, 200);
  std::vector<std::string> other = Segments("status");
  other[3] = "x";
  EXPECT_EQ(AnswerRolloutRoute(control, "GET", other, "").status, 404);
  EXPECT_EQ(AnswerRolloutRoute(control, "POST", Segments("abort"), "").status, 200);
  EXPECT_EQ(control.acted, serving::RolloutAction::kAbort);
}

}  // namespace
}  // namespace strata::api
