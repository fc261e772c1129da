#include "advisor/key_sample.h"

#include <map>
#include <string>

#include "core/fingerprint.h"
#include "gtest/gtest.h"

namespace strata::advisor {
namespace {

uint64_t KeyHash(uint64_t i) { return core::Fingerprint64("k" + std::to_string(i)); }

TEST(KeySampleTest, CompleteWhileItFits) {
  KeySample sample(100);
  for (int i = 0; i < 50; ++i) {
    for (int j = 0; j <= i % 3; ++j) sample.Add(KeyHash(i));
  }
  EXPECT_TRUE(sample.complete());
  EXPECT_EQ(sample.threshold(), 1.0);
  EXPECT_EQ(sample.Counts().size(), 50u);
}

TEST(KeySampleTest, RetainedKeysHaveExactCounts) {
  KeySample sample(500);
  std::map<uint64_t, uint64_t> exact;
  for (uint64_t i = 0; i < 200'000; ++i) {
    const uint64_t h = KeyHash((i * 7919) % 20'000);
    ++exact[h];
    sample.Add(h);
  }
  EXPECT_FALSE(sample.complete());
  const auto counts = sample.Counts();
  EXPECT_EQ(counts.size(), 499u);  // the key at the threshold is left out
  for (const auto& [h, count] : counts) EXPECT_EQ(count, exact[h]);
  // 20,000 keys, 500 kept: the threshold estimates 500 / 20,000.
  EXPECT_NEAR(sample.threshold(), 500.0 / 20'000, 0.1 * 500.0 / 20'000);
}

TEST(KeySampleTest, MergeEqualsOneSample) {
  KeySample a(300), b(300), whole(300);
  for (uint64_t i = 0; i < 100'000; ++i) {
    const uint64_t h = KeyHash(i % 9'000);
    (i % 3 == 0 ? a : b).Add(h);
    whole.Add(h);
  }
  a.Merge(b);
  auto merged = a.Counts(), single = whole.Counts();
  std::map<uint64_t, uint64_t> m(merged.begin(), merged.end()), s(single.begin(), single.end());
  EXPECT_EQ(m, s);
  EXPECT_EQ(a.threshold(), whole.threshold());
}

}  // namespace
}  // namespace strata::advisor
