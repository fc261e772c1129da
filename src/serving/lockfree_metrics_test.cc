#include "serving/lockfree_metrics.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/histogram.h"
#include "serving/lockfree_family.h"
#include "serving/saturation_meter.h"
#include "serving/striped_cells.h"

namespace strata::serving {
namespace {

const HistogramBounds kSeconds = {
    .bounds = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
               0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0},
    .unit = 1e9};

// Runs `body(thread index)` on `threads` threads at once and joins them.
template <class Body>
void OnThreads(int threads, Body body) {
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) running.emplace_back(body, t);
  for (std::thread& thread : running) thread.join();
}

TEST(LockFreeHistogramTest, PlacesValuesAtAndAroundEachBoundAsPrometheusDoes) {
  LockFreeHistogram ours(kSeconds);
  prometheus::Histogram theirs(kSeconds.bounds);
  std::vector<int64_t> nanos = {0, 1};
  for (double bound : kSeconds.bounds) {
    const auto at = static_cast<int64_t>(bound * 1e9 + 0.5);
    nanos.insert(nanos.end(), {at - 1, at, at + 1});
  }
  nanos.push_back(int64_t{3600} * 1'000'000'000);  // beyond the last bound
  for (int64_t ns : nanos) {
    ours.Observe(std::chrono::nanoseconds(ns));
    theirs.Observe(std::chrono::duration<double>(std::chrono::nanoseconds(ns)).count());
  }
  const prometheus::ClientMetric::Histogram a = ours.Read();
  const prometheus::ClientMetric::Histogram b = theirs.Collect().histogram;
  ASSERT_EQ(a.bucket.size(), b.bucket.size());
  for (size_t i = 0; i < a.bucket.size(); ++i) {
    EXPECT_EQ(a.bucket[i].upper_bound, b.bucket[i].upper_bound) << i;
    EXPECT_EQ(a.bucket[i].cumulative_count, b.bucket[i].cumulative_count) << i;
  }
  EXPECT_EQ(a.sample_count, nanos.size());
  EXPECT_DOUBLE_EQ(a.sample_sum, b.sample_sum);
}

TEST(LockFreeHistogramTest, KeepsTheSumInUnitsAndShowsItInShownUnits) {
  LockFreeHistogram rows({.bounds = {1, 2, 4}, .unit = 1});
  for (uint64_t n : {1, 2, 3, 4, 5, 100}) rows.Observe(n);
  const prometheus::ClientMetric::Histogram h = rows.Read();
  EXPECT_EQ(h.sample_sum, 115);
  ASSERT_EQ(h.bucket.size(), 4u);
  EXPECT_EQ(h.bucket[0].cumulative_count, 1u);  // 1
  EXPECT_EQ(h.bucket[1].cumulative_count, 2u);  // 2
  EXPECT_EQ(h.bucket[2].cumulative_count, 4u);  // 3, 4
  EXPECT_EQ(h.bucket[3].cumulative_count, 6u);  // 5, 100 in +Inf
  EXPECT_EQ(h.sample_count, 6u);
}

TEST(LockFreeHistogramTest, ConcurrentObservationsGiveExactTotals) {
  LockFreeHistogram latency(kSeconds);
  constexpr int kThreads = 6, kEach = 50'000;
  OnThreads(kThreads, [&](int t) {
    for (int i = 0; i < kEach; ++i) latency.Observe(std::chrono::microseconds(t + 1));
  });
  const prometheus::ClientMetric::Histogram h = latency.Read();
  EXPECT_EQ(h.sample_count, uint64_t{kThreads} * kEach);
  // 1..6 µs: 10 µs is the first bound, so every observation is in it.
  EXPECT_EQ(h.bucket[0].cumulative_count, uint64_t{kThreads} * kEach);
  EXPECT_DOUBLE_EQ(h.sample_sum, kEach * (1 + 2 + 3 + 4 + 5 + 6) * 1e-6);
}

TEST(StripedCounterTest, ConcurrentAddsGiveExactTotals) {
  StripedCounter counter;
  LevelGauge level;
  constexpr int kThreads = 8, kEach = 100'000;
  OnThreads(kThreads, [&](int t) {
    for (int i = 0; i < kEach; ++i) {
      counter.Add(static_cast<uint64_t>(t));
      level.Add(1);
      level.Add(t % 2 == 0 ? -1 : 0);  // half the threads leave their level up
    }
  });
  EXPECT_EQ(counter.Value(), uint64_t{kEach} * (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7));
  EXPECT_EQ(level.Value(), int64_t{kThreads / 2} * kEach);
}

TEST(StripedCellsTest, ThreadsTakeDifferentStripes) {
  std::vector<size_t> stripes(kCellStripes);
  OnThreads(static_cast<int>(kCellStripes),
            [&](int t) { stripes[static_cast<size_t>(t)] = ThisThreadStripe(); });
  std::sort(stripes.begin(), stripes.end());
  EXPECT_EQ(std::unique(stripes.begin(), stripes.end()), stripes.end());
}

TEST(ValueGaugeTest, TheLastSetWins) {
  ValueGauge gauge;
  gauge.Set(3.5);
  gauge.Set(0.25);
  EXPECT_EQ(gauge.Value(), 0.25);
}

TEST(LockFreeFamilyTest, ShowsItsSeriesWithSortedLabelsAndForgetsRemovedOnes) {
  LockFreeFamily family("requests_total", "Requests");
  EXPECT_FALSE(family.Collect().has_value());  // an empty family is left out
  StripedCounter a, b;
  a.Add(3);
  b.Add(5);
  family.Add({{"version", "1"}, {"model", "m"}}, &a);
  family.Add({{"version", "2"}, {"model", "m"}}, &b);
  std::optional<prometheus::MetricFamily> shown = family.Collect();
  ASSERT_TRUE(shown.has_value());
  EXPECT_EQ(shown->name, "requests_total");
  EXPECT_EQ(shown->help, "Requests");
  EXPECT_EQ(shown->type, prometheus::MetricType::Counter);
  ASSERT_EQ(shown->metric.size(), 2u);
  EXPECT_EQ(shown->metric[0].label[0].name, "model");
  EXPECT_EQ(shown->metric[0].label[1].value, "1");
  EXPECT_EQ(shown->metric[0].counter.value, 3);
  family.Remove(&a);
  shown = family.Collect();
  ASSERT_EQ(shown->metric.size(), 1u);
  EXPECT_EQ(shown->metric[0].counter.value, 5);
  family.Remove(&b);
  EXPECT_FALSE(family.Collect().has_value());
}

TEST(SaturationMeterConcurrencyTest, RunningFromManyThreadsIsCountedExactly) {
  using Clock = SaturationMeter::Clock;
  const Clock::time_point start{std::chrono::seconds(1000)};
  SaturationMeter meter(start, std::chrono::seconds(2));
  meter.SetCapacity(4, 100, start);
  // Each of 4 threads keeps one batch running for the first half of 60 s,
  // in 10,000 steps.
  OnThreads(4, [&](int) {
    for (int i = 0; i < 10'000; ++i) {
      meter.AddRunning(1, start + std::chrono::milliseconds(3 * i));
      meter.AddRunning(-1, start + std::chrono::milliseconds(3 * i + 3));
    }
  });
  EXPECT_NEAR(meter.Ratio(start + std::chrono::seconds(60)), 0.5, 1e-9);
}

}  // namespace
}  // namespace strata::serving
