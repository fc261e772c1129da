#include "serving/experiment/thompson_router.h"

#include <map>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

// Outcomes the test sets per arm; `since` is checked to be passed on.
class FakeOutcomes : public OutcomeWindow {
 public:
  WindowOutcome Since(std::string_view endpoint, std::string_view arm,
                      Clock::time_point since) const override {
    EXPECT_EQ(endpoint, "ab");
    EXPECT_EQ(since, expected_since);
    auto it = by_arm.find(std::string(arm));
    return it == by_arm.end() ? WindowOutcome{} : it->second;
  }
  std::map<std::string, WindowOutcome> by_arm;
  Clock::time_point expected_since;
};

std::shared_ptr<SplitEndpoint> Split() {
  auto split =
      SplitEndpoint::Create({.name = "ab",
                             .arms = {{.name = "a", .model = "m", .version = "1", .weight = 50},
                                      {.name = "b", .model = "m", .version = "2", .weight = 50}},
                             .sticky_key = "",
                             .sticky_header = "x-user",
                             .salt = ""});
  EXPECT_TRUE(split.ok()) << split.status();
  return std::shared_ptr<SplitEndpoint>(*std::move(split));
}

TEST(ThompsonRouterTest, RewardsAreTheNegatedLossHeldToZeroToOne) {
  EXPECT_DOUBLE_EQ(RewardsOf({.count = 10, .mean_loss = -0.3, .variance = 0}).sum, 3);
  EXPECT_DOUBLE_EQ(RewardsOf({.count = 10, .mean_loss = 0.4, .variance = 0}).sum, 0);
  EXPECT_EQ(RewardsOf({.count = 10, .mean_loss = -0.3, .variance = 0}).count, 10u);
}

TEST(ThompsonRouterTest, TheArmWithTheBetterRewardsGetsTheTrafficAndTheOtherItsFloor) {
  auto split = Split();
  auto outcomes = std::make_shared<FakeOutcomes>();
  outcomes->expected_since = OutcomeWindow::Clock::now();
  std::vector<ThompsonSplit> splits;
  splits.push_back(
      {.endpoint = split, .policy = *ThompsonPolicy::Create({.min_share = 0.1, .draws = 1000})});
  ThompsonRouter router(std::move(splits), outcomes, 3);
  router.Tick(outcomes->expected_since);  // no rewards yet: about even
  EXPECT_NEAR(split->routing()->arms[0].weight, 50, 6);
  outcomes->by_arm["a"] = {.count = 400, .mean_loss = -0.2, .variance = 0};
  outcomes->by_arm["b"] = {.count = 400, .mean_loss = -0.5, .variance = 0};
  router.Tick(outcomes->expected_since);
  const auto arms = split->routing()->arms;
  EXPECT_NEAR(arms[0].weight, 10, 1e-9);
  EXPECT_NEAR(arms[1].weight, 90, 1e-9);
  EXPECT_EQ(arms[1].version, "2");  // only the weights change
}

}  // namespace
}  // namespace strata::serving
