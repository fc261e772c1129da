#include "advisor/workload_sketch.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "advisor/zipf_sampler.h"
#include "core/fingerprint.h"
#include "fmt/format.h"
#include "gtest/gtest.h"

namespace strata::advisor {
namespace {

// Exact figures of a stream, computed from full counts.
struct Exact {
  double requests = 0, distinct = 0, entropy_bits = 0, unseen_share = 0;
  std::vector<uint64_t> counts;  // descending

  double Coverage(size_t k) const {
    double covered = 0;
    for (size_t i = 0; i < k && i < counts.size(); ++i) covered += counts[i];
    return covered / requests;
  }
};

// Feeds `requests` keys drawn by `next` to a sketch and to exact counters.
Exact Feed(WorkloadSketch& sketch, uint64_t requests, const std::function<uint64_t()>& next) {
  std::unordered_map<uint64_t, uint64_t> counts;
  for (uint64_t i = 0; i < requests; ++i) {
    const uint64_t id = next();
    ++counts[id];
    sketch.Add("user:" + std::to_string(id));
  }
  Exact e;
  e.requests = static_cast<double>(requests);
  e.distinct = static_cast<double>(counts.size());
  double weighted_log = 0, singletons = 0;
  for (const auto& [id, c] : counts) {
    weighted_log += c * std::log2(static_cast<double>(c));
    if (c == 1) ++singletons;
    e.counts.push_back(c);
  }
  e.entropy_bits = std::log2(e.requests) - weighted_log / e.requests;
  e.unseen_share = singletons / e.requests;
  std::sort(e.counts.rbegin(), e.counts.rend());
  return e;
}

void ExpectAccurate(const WorkloadStats& s, const Exact& e, const std::string& name) {
  SCOPED_TRACE(name);
  EXPECT_EQ(s.requests, static_cast<uint64_t>(e.requests));
  EXPECT_LT(std::abs(s.distinct_keys - e.distinct) / e.distinct, 0.02)
      << "distinct " << s.distinct_keys << " vs " << e.distinct;
  EXPECT_LT(std::abs(s.entropy_bits - e.entropy_bits), 0.1)
      << "entropy " << s.entropy_bits << " vs " << e.entropy_bits;
  EXPECT_LT(std::abs(s.unseen_share - e.unseen_share), 0.02)
      << "unseen " << s.unseen_share << " vs " << e.unseen_share;
  for (size_t k : {10u, 100u, 1000u, 10000u, 100000u}) {
    if (k >= e.distinct) break;
    EXPECT_NEAR(s.coverage.ShareAt(static_cast<double>(k)), e.Coverage(k), 0.02) << "top " << k;
  }
}

TEST(WorkloadSketchTest, ExactWhileKeysFitTheSample) {
  WorkloadSketch sketch;
  std::mt19937_64 random(1);
  Exact e = Feed(sketch, 50'000, [&] { return random() % 3'000; });
  WorkloadStats s = sketch.Stats();
  EXPECT_TRUE(s.distinct_exact);
  EXPECT_EQ(s.distinct_keys, e.distinct);
  EXPECT_NEAR(s.entropy_bits, e.entropy_bits, 1e-9);
  EXPECT_NEAR(s.coverage.ShareAt(100), e.Coverage(100), 1e-9);
}

TEST(WorkloadSketchTest, AccurateOnZipfWorkloads) {
  for (double exponent : {0.8, 1.0, 1.2}) {
    WorkloadSketch sketch;
    ZipfSampler zipf(1'000'000, exponent, 11);
    Exact e = Feed(sketch, 2'000'000, [&] { return zipf.Next(); });
    WorkloadStats s = sketch.Stats();
    EXPECT_FALSE(s.distinct_exact);
    ExpectAccurate(s, e, "zipf " + std::to_string(exponent));
  }
}

// Sampling the heavy hitters (1 in 8 keys, weighted 8) keeps every figure
// within the same bounds, and the head's counts near the truth.
TEST(WorkloadSketchTest, SampledHeavyHittersAreAsAccurate) {
  for (double exponent : {0.8, 1.0, 1.2}) {
    WorkloadSketch sketch({.heavy_hitter_sampling = 8});
    ZipfSampler zipf(1'000'000, exponent, 11);
    Exact e = Feed(sketch, 2'000'000, [&] { return zipf.Next(); });
    WorkloadStats s = sketch.Stats();
    ExpectAccurate(s, e, "sampled zipf " + std::to_string(exponent));
    ASSERT_FALSE(s.top.empty());
    EXPECT_EQ(s.top.front().key, "user:1");
    const double top = static_cast<double>(e.counts.front());
    EXPECT_NEAR(static_cast<double>(s.top.front().count), top, 0.05 * top);
  }
}

TEST(WorkloadSketchTest, UnsampledWhileTheCountersSuffice) {
  WorkloadSketch sketch({.heavy_hitters = 1000, .heavy_hitter_sampling = 8});
  for (int i = 0; i < 500; ++i) {
    for (int r = 0; r <= i % 3; ++r) sketch.Add("user:" + std::to_string(i));
  }
  const WorkloadStats s = sketch.Stats();
  ASSERT_EQ(s.top.size(), 500u);
  for (const HeavyHitter& h : s.top) {
    const int id = std::stoi(h.key.substr(5));
    EXPECT_EQ(h.count, static_cast<uint64_t>(id % 3 + 1)) << h.key;
  }
}

TEST(WorkloadSketchTest, AccurateOnAFlatWorkload) {
  WorkloadSketch sketch;
  std::mt19937_64 random(2);
  Exact e = Feed(sketch, 1'000'000, [&] { return random() % 300'000; });
  WorkloadStats s = sketch.Stats();
  ExpectAccurate(s, e, "uniform");
  EXPECT_LT(s.peakedness, 0.05);
}

TEST(WorkloadSketchTest, PeakedWorkloadIsPeaked) {
  WorkloadSketch sketch;
  ZipfSampler zipf(10'000'000, 1.2, 3);
  Exact e = Feed(sketch, 1'000'000, [&] { return zipf.Next(); });
  WorkloadStats s = sketch.Stats();
  ExpectAccurate(s, e, "zipf 1.2 over 10M");
  EXPECT_GT(s.peakedness, 0.3);
  EXPECT_EQ(s.top.front().key, "user:1");
}

TEST(WorkloadSketchTest, MergedShardsAreAsAccurate) {
  WorkloadSketch a, b, whole;
  ZipfSampler zipf(500'000, 1.0, 5);
  Exact e = Feed(whole, 1'000'000, [&] {
    const uint64_t id = zipf.Next();
    // Partition by key, as ShardedWorkloadSketch does.
    (id % 2 ? a : b).Add("user:" + std::to_string(id));
    return id;
  });
  a.Merge(b);
  WorkloadStats merged = a.Stats(), single = whole.Stats();
  EXPECT_EQ(merged.requests, single.requests);
  EXPECT_DOUBLE_EQ(merged.distinct_keys, single.distinct_keys);  // HLL merges exactly
  ExpectAccurate(merged, e, "merged");
}

TEST(WorkloadSketchTest, ExpectedCoverageForecastsNewTraffic) {
  // Learn from one day, then serve the next from a table of the top K keys
  // of the first: its hit rate is what expected_coverage predicts, not the
  // (optimistic) coverage in hindsight.
  WorkloadSketch sketch;
  ZipfSampler today(1'000'000, 1.0, 21), tomorrow(1'000'000, 1.0, 22);
  std::unordered_map<uint64_t, uint64_t> counts;
  for (int i = 0; i < 1'000'000; ++i) {
    const uint64_t id = today.Next();
    ++counts[id];
    sketch.Add("user:" + std::to_string(id));
  }
  std::vector<std::pair<uint64_t, uint64_t>> ranked(counts.begin(), counts.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<uint64_t> next(1'000'000);
  for (uint64_t& id : next) id = tomorrow.Next();
  const WorkloadStats s = sketch.Stats();
  for (size_t k : {1'000u, 30'000u, 200'000u}) {
    std::unordered_map<uint64_t, bool> table;
    for (size_t i = 0; i < k; ++i) table[ranked[i].first] = true;
    double hits = 0;
    for (uint64_t id : next) hits += table.count(id);
    const double actual = hits / next.size();
    EXPECT_NEAR(s.expected_coverage.ShareAt(static_cast<double>(k)), actual, 0.02) << k;
  }
  // In hindsight every seen key is a hit; in the future the unseen are not.
  const double seen = s.coverage.total_keys();
  EXPECT_NEAR(seen, s.distinct_keys, 0.02 * s.distinct_keys);
  EXPECT_NEAR(s.coverage.ShareAt(seen), 1.0, 1e-9);
  EXPECT_NEAR(s.expected_coverage.ShareAt(seen), 1.0 - s.unseen_share, 0.01);
}

// The documented bound (docs/hybrid.md) holds whatever the keys: the
// heavy hitters keep at most core::kMaxKeyBytes of each.
TEST(WorkloadSketchTest, MemoryIsBoundedWhateverTheKeys) {
  WorkloadSketch sketch;
  std::string key(4 * core::kMaxKeyBytes, 'k');
  for (int i = 0; i < 400'000; ++i) {
    key.replace(0, 8, fmt::format("{:08d}", i));
    sketch.Add(std::string_view(key).substr(0, core::kMaxKeyBytes + (i % 2)));
  }
  EXPECT_LT(sketch.MemoryBytes(), 6.5 * (1 << 20));  // 6.1 MiB; 4.1 MiB with short keys
}

TEST(WorkloadSketchTest, MemoryIsBounded) {
  WorkloadSketch sketch;
  for (int i = 0; i < 2'000'000; ++i) sketch.Add("user:" + std::to_string(i));
  EXPECT_LT(sketch.MemoryBytes(), 5u << 20);
  const WorkloadStats s = sketch.Stats();
  EXPECT_NEAR(s.unseen_share, 1.0, 1e-9);
  // Every key was new: a table of them would never be hit again.
  EXPECT_NEAR(s.expected_coverage.ShareAt(s.coverage.total_keys()), 0.0, 1e-9);
}

}  // namespace
}  // namespace strata::advisor
