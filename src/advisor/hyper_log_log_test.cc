#include "advisor/hyper_log_log.h"

#include <cmath>
#include <string>

#include "core/fingerprint.h"
#include "gtest/gtest.h"

namespace strata::advisor {
namespace {

uint64_t KeyHash(uint64_t i) { return core::Fingerprint64("user-" + std::to_string(i)); }

double RelativeError(double estimate, double truth) { return std::abs(estimate - truth) / truth; }

TEST(HyperLogLogTest, EmptyIsZero) { EXPECT_EQ(HyperLogLog().Estimate(), 0); }

TEST(HyperLogLogTest, DistinctWithinTwoPercentAcrossTheRange) {
  // The small range (where plain HLL needs linear counting) and the large.
  for (uint64_t n : {100u, 5'000u, 40'000u, 200'000u, 2'000'000u}) {
    HyperLogLog hll;
    for (uint64_t i = 0; i < n; ++i) hll.Add(KeyHash(i));
    EXPECT_LT(RelativeError(hll.Estimate(), n), 0.02) << n << " keys: " << hll.Estimate();
  }
}

TEST(HyperLogLogTest, RepeatsDoNotCount) {
  HyperLogLog hll;
  for (int round = 0; round < 20; ++round) {
    for (uint64_t i = 0; i < 10'000; ++i) hll.Add(KeyHash(i));
  }
  EXPECT_LT(RelativeError(hll.Estimate(), 10'000), 0.02);
}

TEST(HyperLogLogTest, MergeIsTheUnion) {
  HyperLogLog a, b, both;
  for (uint64_t i = 0; i < 60'000; ++i) {
    (i % 2 ? a : b).Add(KeyHash(i));
    both.Add(KeyHash(i));
  }
  for (uint64_t i = 0; i < 30'000; ++i) a.Add(KeyHash(i));  // overlap
  a.Merge(b);
  EXPECT_DOUBLE_EQ(a.Estimate(), both.Estimate());
  EXPECT_EQ(a.MemoryBytes(), 16384u);  // the default precision, 14
}

}  // namespace
}  // namespace strata::advisor
