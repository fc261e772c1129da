#include "serving/experiment/thompson_policy.h"

#include <numeric>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

double Sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

TEST(ThompsonPolicyTest, WithoutRewardsTheArmsShareAlike) {
  auto policy = ThompsonPolicy::Create({.min_share = 0.05, .draws = 4000});
  ASSERT_TRUE(policy.ok()) << policy.status();
  std::mt19937_64 random(7);
  auto shares = policy->Shares({{}, {}, {}}, random);
  ASSERT_TRUE(shares.ok()) << shares.status();
  for (double s : *shares) EXPECT_NEAR(s, 1.0 / 3, 0.04);
  EXPECT_NEAR(Sum(*shares), 1, 1e-9);
}

TEST(ThompsonPolicyTest, TheBetterArmGetsMostTrafficAndTheOtherKeepsItsFloor) {
  auto policy = *ThompsonPolicy::Create({.min_share = 0.1, .draws = 2000});
  std::mt19937_64 random(42);
  // 60% against 40% over 500 rewards each: about 6 standard errors apart.
  auto shares = policy.Shares({{.count = 500, .sum = 200}, {.count = 500, .sum = 300}}, random);
  ASSERT_TRUE(shares.ok()) << shares.status();
  EXPECT_DOUBLE_EQ((*shares)[0], 0.1);
  EXPECT_DOUBLE_EQ((*shares)[1], 0.9);
  // A close race over few rewards stays near even.
  shares = policy.Shares({{.count = 20, .sum = 10}, {.count = 20, .sum = 11}}, random);
  ASSERT_TRUE(shares.ok());
  EXPECT_GT((*shares)[0], 0.25);
  EXPECT_GT((*shares)[1], 0.4);
  EXPECT_NEAR(Sum(*shares), 1, 1e-9);
}

TEST(ThompsonPolicyTest, TheSameSeedGivesTheSameShares) {
  auto policy = *ThompsonPolicy::Create({.min_share = 0, .draws = 500});
  const std::vector<ArmRewards> rewards = {{.count = 30, .sum = 12.5}, {.count = 40, .sum = 22}};
  std::mt19937_64 a(1);
  std::mt19937_64 b(1);
  EXPECT_EQ(*policy.Shares(rewards, a), *policy.Shares(rewards, b));
}

TEST(ThompsonPolicyTest, RefusesWhatItCannotHonour) {
  EXPECT_FALSE(ThompsonPolicy::Create({.min_share = 1, .draws = 10}).ok());
  EXPECT_FALSE(ThompsonPolicy::Create({.min_share = 0.1, .draws = 0}).ok());
  auto policy = *ThompsonPolicy::Create({.min_share = 0.4, .draws = 10});
  std::mt19937_64 random(1);
  EXPECT_FALSE(policy.Shares({}, random).ok());
  EXPECT_FALSE(policy.Shares({{}, {}, {}}, random).ok());  // 3 x 0.4 > 1
  EXPECT_FALSE(policy.Shares({{.count = 2, .sum = 3}, {}}, random).ok());
}

}  // namespace
}  // namespace strata::serving
