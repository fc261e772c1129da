#include "serving/plans/split_assignment.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

SplitAssignment Make(const std::vector<double>& weights, std::string salt = "ep") {
  absl::StatusOr<SplitAssignment> a = SplitAssignment::Create(weights, std::move(salt));
  EXPECT_TRUE(a.ok()) << a.status();
  return *std::move(a);
}

std::vector<size_t> Counts(const SplitAssignment& a, size_t arms, int keys) {
  std::vector<size_t> counts(arms, 0);
  for (int k = 0; k < keys; ++k) ++counts[a.ArmOf("user-" + std::to_string(k))];
  return counts;
}

TEST(SplitAssignmentTest, KeysFollowTheWeightsWithinTolerance) {
  const SplitAssignment a = Make({70, 20, 10});
  const int keys = 100000;
  const std::vector<size_t> counts = Counts(a, 3, keys);
  EXPECT_NEAR(counts[0] / double(keys), 0.70, 0.01);
  EXPECT_NEAR(counts[1] / double(keys), 0.20, 0.01);
  EXPECT_NEAR(counts[2] / double(keys), 0.10, 0.01);
}

TEST(SplitAssignmentTest, RangesAreContiguousInArmOrder) {
  const SplitAssignment a = Make({1, 3});
  EXPECT_EQ(a.ends(), (std::vector<uint32_t>{2500, 10000}));
  EXPECT_EQ(a.ArmOfBucket(0), 0u);
  EXPECT_EQ(a.ArmOfBucket(2499), 0u);
  EXPECT_EQ(a.ArmOfBucket(2500), 1u);
  EXPECT_EQ(a.ArmOfBucket(9999), 1u);
}

TEST(SplitAssignmentTest, SameKeySameArmAcrossInstances) {
  const SplitAssignment a = Make({50, 50});
  const SplitAssignment b = Make({50, 50});
  for (int k = 0; k < 1000; ++k) {
    const std::string key = std::to_string(k);
    EXPECT_EQ(a.Bucket(key), b.Bucket(key));
    EXPECT_EQ(a.ArmOf(key), a.ArmOf(key));
  }
}

TEST(SplitAssignmentTest, BucketIsStableAcrossBuilds) {
  // Pinned values: a change of hash would move every user between arms.
  const SplitAssignment a = Make({1}, "checkout");
  EXPECT_EQ(a.Bucket("user-1"), 2761u);
  EXPECT_EQ(a.Bucket("42"), 5568u);
}

TEST(SplitAssignmentTest, SaltMakesEndpointsIndependent) {
  const SplitAssignment a = Make({50, 50}, "one");
  const SplitAssignment b = Make({50, 50}, "two");
  int same = 0;
  for (int k = 0; k < 10000; ++k) same += a.ArmOf(std::to_string(k)) == b.ArmOf(std::to_string(k));
  EXPECT_NEAR(same / 10000.0, 0.5, 0.03);
}

// Every bucket that changes arm between `before` and `after` moves into
// `grower`, and none leaves it.
void ExpectOnlyMovesIntoGrower(const std::vector<double>& before, const std::vector<double>& after,
                               size_t grower) {
  const SplitAssignment a = Make(before);
  const SplitAssignment b = Make(after);
  for (uint32_t bucket = 0; bucket < SplitAssignment::kBuckets; ++bucket) {
    const size_t was = a.ArmOfBucket(bucket);
    const size_t is = b.ArmOfBucket(bucket);
    if (was != is) {
      EXPECT_EQ(is, grower) << "bucket " << bucket << " moved " << was << " -> " << is;
    }
    if (was == grower) {
      EXPECT_EQ(is, grower) << "bucket " << bucket << " left the grower";
    }
  }
}

TEST(SplitAssignmentTest, GrowingOneOfTwoArmsOnlyMovesKeysIntoIt) {
  for (double to : {0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 99.0, 1000.0}) {
    ExpectOnlyMovesIntoGrower({99, 0}, {99, to}, 1);  // the other weight kept
    ExpectOnlyMovesIntoGrower({0, 40}, {to, 40}, 0);
    ExpectOnlyMovesIntoGrower({100, 0}, {100 - std::min(to, 100.0), std::min(to, 100.0)}, 1);
  }
}

TEST(SplitAssignmentTest, WeightMovedBetweenNeighboursOnlyMovesKeysIntoTheGrower) {
  ExpectOnlyMovesIntoGrower({50, 30, 20}, {50, 20, 30}, 2);
  ExpectOnlyMovesIntoGrower({50, 30, 20}, {40, 40, 20}, 1);
  ExpectOnlyMovesIntoGrower({50, 30, 20}, {60, 20, 20}, 0);
}

TEST(SplitAssignmentTest, CanaryRampWithConstantTotalOnlyMovesKeysToTheCanary) {
  const std::vector<std::vector<double>> steps = {{99, 1}, {95, 5}, {80, 20}, {50, 50}, {0, 100}};
  for (size_t s = 1; s < steps.size(); ++s) {
    const SplitAssignment a = Make(steps[s - 1]);
    const SplitAssignment b = Make(steps[s]);
    for (int k = 0; k < 20000; ++k) {
      const std::string key = "u" + std::to_string(k);
      if (a.ArmOf(key) == 1) {
        EXPECT_EQ(b.ArmOf(key), 1u) << key << " left the canary";
      }
    }
  }
}

TEST(SplitAssignmentTest, ZeroWeightArmsGetNoKeys) {
  const SplitAssignment a = Make({0, 1, 0});
  for (uint32_t bucket = 0; bucket < SplitAssignment::kBuckets; ++bucket) {
    ASSERT_EQ(a.ArmOfBucket(bucket), 1u);
  }
}

TEST(SplitAssignmentTest, RefusesBadWeights) {
  EXPECT_FALSE(SplitAssignment::Create({1, -1}, "s").ok());
  EXPECT_FALSE(SplitAssignment::Create({0, 0}, "s").ok());
  EXPECT_FALSE(SplitAssignment::Create({}, "s").ok());
}

}  // namespace
}  // namespace strata::serving
