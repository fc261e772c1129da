#include "advisor/space_saving.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "advisor/zipf_sampler.h"
#include "core/fingerprint.h"
#include "gtest/gtest.h"

namespace strata::advisor {
namespace {

void AddKey(SpaceSaving& s, const std::string& key) { s.Add(core::Fingerprint64(key), key); }

TEST(SpaceSavingTest, ExactBelowCapacity) {
  SpaceSaving s(10);
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j <= i; ++j) AddKey(s, "k" + std::to_string(i));
  }
  std::vector<HeavyHitter> top = s.Top();
  ASSERT_EQ(top.size(), 5u);
  EXPECT_EQ(top[0].key, "k4");
  EXPECT_EQ(top[0].count, 5u);
  EXPECT_EQ(top[0].error, 0u);
  EXPECT_EQ(top[4].key, "k0");
  EXPECT_EQ(s.min_count(), 0u);
}

TEST(SpaceSavingTest, NewKeyInheritsTheMinimumAsError) {
  SpaceSaving s(2);
  AddKey(s, "a");
  AddKey(s, "a");
  AddKey(s, "a");
  AddKey(s, "b");
  AddKey(s, "c");  // replaces b (count 1)
  std::vector<HeavyHitter> top = s.Top();
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].key, "a");
  EXPECT_EQ(top[1].key, "c");
  EXPECT_EQ(top[1].count, 2u);
  EXPECT_EQ(top[1].error, 1u);
}

// Exact counts of a Zipf stream and its Space-Saving summary.
struct ZipfRun {
  std::map<uint64_t, uint64_t> exact;  // rank -> count
  SpaceSaving summary{1024};
};

ZipfRun RunZipf(double exponent, uint64_t keys, uint64_t requests, size_t capacity) {
  ZipfRun run{.exact = {}, .summary = SpaceSaving(capacity)};
  ZipfSampler zipf(keys, exponent, 42);
  for (uint64_t i = 0; i < requests; ++i) {
    const uint64_t rank = zipf.Next();
    ++run.exact[rank];
    AddKey(run.summary, "key-" + std::to_string(rank));
  }
  return run;
}

std::set<std::string> TrueTop(const std::map<uint64_t, uint64_t>& exact, size_t k) {
  std::vector<std::pair<uint64_t, uint64_t>> by_count(exact.begin(), exact.end());
  std::sort(by_count.begin(), by_count.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  std::set<std::string> top;
  for (size_t i = 0; i < k && i < by_count.size(); ++i) {
    top.insert("key-" + std::to_string(by_count[i].first));
  }
  return top;
}

double RecallAt100(const ZipfRun& run) {
  const std::set<std::string> truth = TrueTop(run.exact, 100);
  std::vector<HeavyHitter> top = run.summary.Top();
  int found = 0;
  for (size_t i = 0; i < 100 && i < top.size(); ++i) found += truth.count(top[i].key);
  return found / 100.0;
}

TEST(SpaceSavingTest, Top100RecallOnZipf) {
  // 1,024 counters suffice from exponent 1; flatter laws need more, since
  // the counters' error grows with the tail's mass.
  for (auto [exponent, capacity] : {std::pair{1.0, 1024}, {1.2, 1024}, {0.8, 16384}}) {
    ZipfRun run = RunZipf(exponent, 1'000'000, 2'000'000, capacity);
    EXPECT_GE(RecallAt100(run), 0.95) << "zipf " << exponent;
  }
}

TEST(SpaceSavingTest, CountsBoundTheTruth) {
  ZipfRun run = RunZipf(1.0, 100'000, 300'000, 256);
  for (const HeavyHitter& h : run.summary.Top()) {
    const uint64_t rank = std::stoull(h.key.substr(4));
    const uint64_t truth = run.exact.count(rank) ? run.exact.at(rank) : 0;
    EXPECT_GE(h.count, truth) << h.key;
    EXPECT_LE(h.count - h.error, truth) << h.key;
  }
}

TEST(SpaceSavingTest, MergeOfHalvesFindsTheHeavyKeys) {
  ZipfSampler zipf(100'000, 1.1, 7);
  SpaceSaving a(512), b(512), whole(512);
  for (int i = 0; i < 400'000; ++i) {
    const std::string key = "key-" + std::to_string(zipf.Next());
    AddKey(i % 2 ? a : b, key);
    AddKey(whole, key);
  }
  a.Merge(b);
  std::vector<HeavyHitter> merged = a.Top(), single = whole.Top();
  std::set<std::string> merged_top, single_top;
  for (int i = 0; i < 20; ++i) {
    merged_top.insert(merged[i].key);
    single_top.insert(single[i].key);
  }
  EXPECT_EQ(merged_top, single_top);
  EXPECT_LE(a.size(), 512u);
}

}  // namespace
}  // namespace strata::advisor
