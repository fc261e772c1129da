#include "serving/prediction_cache.h"

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/fingerprint.h"
#include "fmt/format.h"
#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

std::string K(int i) { return PredictionCache::Key("m", 1, "row" + std::to_string(i)); }
std::string V(int i) { return "value-of-" + std::to_string(i); }

// Misses first, as a serving layer does: Get, then Put what the model said.
bool Access(PredictionCache& cache, int i) {
  std::string value;
  if (cache.Get(K(i), value)) {
    EXPECT_EQ(value, V(i));
    return true;
  }
  cache.Put(K(i), V(i));
  return false;
}

TEST(PredictionCacheTest, HitAfterPut) {
  PredictionCache cache({.max_bytes = 1 << 20, .shards = 4});
  std::string value;
  EXPECT_FALSE(cache.Get(K(1), value));
  cache.Put(K(1), "0.25");
  ASSERT_TRUE(cache.Get(K(1), value));
  EXPECT_EQ(value, "0.25");
  cache.Put(K(1), "0.5");
  ASSERT_TRUE(cache.Get(K(1), value));
  EXPECT_EQ(value, "0.5");
  PredictionCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.entries, 1u);
}

TEST(PredictionCacheTest, NeverServesAnotherVersion) {
  PredictionCache cache({.max_bytes = 1 << 20});
  cache.Put(PredictionCache::Key("purchase", 3, "user7"), "v3 answer");
  std::string value;
  EXPECT_FALSE(cache.Get(PredictionCache::Key("purchase", 4, "user7"), value));
  EXPECT_FALSE(cache.Get(PredictionCache::Key("purchase2", 3, "user7"), value));
  EXPECT_TRUE(cache.Get(PredictionCache::Key("purchase", 3, "user7"), value));
  EXPECT_EQ(value, "v3 answer");
  // Keys cannot run into each other across the name/version boundary.
  EXPECT_NE(PredictionCache::Key("a", 1, "bc"), PredictionCache::Key("ab", 1, "c"));
}

TEST(PredictionCacheTest, ByteBoundHolds) {
  for (bool admission : {true, false}) {
    const size_t max_bytes = 64 << 10;
    PredictionCache cache({.max_bytes = max_bytes, .shards = 4, .admission = admission});
    std::mt19937 random(3);
    for (int i = 0; i < 20'000; ++i) {
      const int key = static_cast<int>(random() % 5'000);
      std::string value;
      if (!cache.Get(K(key), value)) cache.Put(K(key), std::string(random() % 200, 'x'));
      ASSERT_LE(cache.Stats().bytes, max_bytes) << i;
    }
    PredictionCacheStats stats = cache.Stats();
    EXPECT_GT(stats.bytes, max_bytes / 2) << "the cache should fill up";
    EXPECT_GT(stats.evictions + stats.rejections, 0u);
  }
}

TEST(PredictionCacheTest, OversizedValuesAreNotCached) {
  PredictionCache cache({.max_bytes = 4096, .shards = 1});
  cache.Put(K(1), std::string(8192, 'x'));
  std::string value;
  EXPECT_FALSE(cache.Get(K(1), value));
  EXPECT_EQ(cache.Stats().bytes, 0u);
}

// Issue 11 item 8: a row keyed by a megabyte cost a megabyte of the cache.
TEST(PredictionCacheTest, LongKeysCostAFixedSize) {
  const size_t max_bytes = 64 * (PredictionCache::EntryOverhead() + 128);
  PredictionCache cache({.max_bytes = max_bytes, .shards = 1, .admission = false});
  auto long_key = [](int i) {
    std::string row(1 << 20, 'x');
    row.replace(0, 8, fmt::format("{:08d}", i));
    return PredictionCache::Key("m", 1, row);
  };
  for (int i = 0; i < 32; ++i) cache.Put(long_key(i), V(i));
  const PredictionCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.entries, 32u);  // a megabyte key would not fit at all
  EXPECT_LE(stats.bytes, 32 * (PredictionCache::EntryOverhead() + core::kMaxKeyBytes + 16));
  std::string value;
  for (int i = 0; i < 32; ++i) {
    ASSERT_TRUE(cache.Get(long_key(i), value)) << i;
    EXPECT_EQ(value, V(i));  // each long key its own answer
  }
  EXPECT_FALSE(cache.Get(long_key(32), value));
  EXPECT_FALSE(cache.Get(PredictionCache::Key("m", 2, std::string(1 << 20, 'x')), value));
  // Short keys are kept as they are, beside the long ones.
  cache.Put(K(1), V(1));
  ASSERT_TRUE(cache.Get(K(1), value));
  EXPECT_EQ(value, V(1));
}

TEST(PredictionCacheTest, EntriesExpireAfterTheirTtl) {
  SteadyClock::time_point now = SteadyClock::now();
  PredictionCache cache(
      {.max_bytes = 1 << 20, .ttl = seconds(10), .clock = [&now] { return now; }});
  cache.Put(K(1), V(1));
  std::string value;
  now += seconds(9);
  EXPECT_TRUE(cache.Get(K(1), value));
  now += seconds(2);
  EXPECT_FALSE(cache.Get(K(1), value));
  EXPECT_EQ(cache.Stats().expirations, 1u);
  EXPECT_EQ(cache.Stats().entries, 0u);
}

TEST(PredictionCacheTest, HotKeysSurviveAScanOfOneHitWonders) {
  // 200 hot keys fit; then 20,000 keys are each asked once. Plain LRU loses
  // the hot set; TinyLFU does not admit the one-hit wonders over it.
  auto hot_hits_after_scan = [](bool admission) {
    PredictionCache cache({.max_bytes = 300 * (PredictionCache::EntryOverhead() + 40),
                           .shards = 1,
                           .admission = admission});
    for (int round = 0; round < 5; ++round) {
      for (int i = 0; i < 200; ++i) Access(cache, i);
    }
    for (int i = 0; i < 20'000; ++i) Access(cache, 1'000'000 + i);
    int hits = 0;
    for (int i = 0; i < 200; ++i) hits += Access(cache, i);
    return hits;
  };
  EXPECT_GE(hot_hits_after_scan(true), 190);
  EXPECT_EQ(hot_hits_after_scan(false), 0);
}

TEST(PredictionCacheTest, ConcurrentUseKeepsValuesConsistent) {
  PredictionCache cache({.max_bytes = 256 << 10, .shards = 8});
  std::atomic<uint64_t> gets{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(t);
      std::string value;
      for (int i = 0; i < 20'000; ++i) {
        // Skewed: small keys are hot.
        const int key = static_cast<int>(random() % (1 + random() % 4'000));
        ++gets;
        if (cache.Get(K(key), value)) {
          if (value != V(key)) ++wrong;
        } else {
          cache.Put(K(key), V(key));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const PredictionCacheStats stats = cache.Stats();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(stats.hits + stats.misses, gets.load());
  EXPECT_GT(stats.hits, gets.load() / 4);
  EXPECT_LE(stats.bytes, cache.max_bytes());
}

}  // namespace
}  // namespace strata::serving
