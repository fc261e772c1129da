#include "serving/workload_monitor.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/registry.h"

namespace strata::serving {
namespace {

double Value(prometheus::Registry& registry, const std::string& family,
             const std::string& endpoint) {
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    if (f.name != family) continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      for (const prometheus::ClientMetric::Label& l : m.label) {
        if (l.name == "endpoint" && l.value == endpoint) {
          return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
        }
      }
    }
  }
  return -1;
}

std::vector<std::string> Keys(int from, int to) {
  std::vector<std::string> keys;
  for (int i = from; i < to; ++i) keys.push_back("{\"id\":" + std::to_string(i) + "}");
  return keys;
}

TEST(WorkloadMonitorTest, SketchesOnlyTheWatchedEndpoints) {
  prometheus::Registry registry;
  WorkloadMonitor monitor({"a"}, {}, registry);
  EXPECT_TRUE(monitor.Watches("a"));
  EXPECT_FALSE(monitor.Watches("b"));
  monitor.Observe("a", Keys(0, 10));
  monitor.Observe("b", Keys(0, 10));  // ignored
  absl::StatusOr<advisor::WorkloadStats> stats = monitor.Stats("a");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->requests, 10u);
  EXPECT_EQ(stats->distinct_keys, 10);
  EXPECT_EQ(monitor.Stats("b").status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<advisor::WorkloadSnapshot> snapshot = monitor.Snapshot("a");
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->endpoint, "a");
  EXPECT_EQ(snapshot->sketch.requests(), 10u);
  EXPECT_GE(snapshot->seconds, 0);
}

TEST(WorkloadMonitorTest, StatisticsAreRecomputedOnlyWhenOld) {
  prometheus::Registry registry;
  WorkloadMonitor fresh({"a"}, {.stats_max_age = std::chrono::milliseconds(0)}, registry);
  fresh.Observe("a", Keys(0, 5));
  EXPECT_EQ(fresh.Stats("a")->requests, 5u);
  fresh.Observe("a", Keys(0, 5));
  EXPECT_EQ(fresh.Stats("a")->requests, 10u);

  prometheus::Registry other;
  WorkloadMonitor cached({"a"}, {.stats_max_age = std::chrono::hours(1)}, other);
  cached.Observe("a", Keys(0, 5));
  EXPECT_EQ(cached.Stats("a")->requests, 5u);
  cached.Observe("a", Keys(0, 5));
  EXPECT_EQ(cached.Stats("a")->requests, 5u);               // within max age: the cached figures
  EXPECT_EQ(cached.Snapshot("a")->sketch.requests(), 10u);  // a snapshot is always current
}

TEST(WorkloadMonitorTest, MetricsFollowTheSketch) {
  prometheus::Registry registry;
  WorkloadMonitor monitor({"a", "b"}, {.stats_max_age = std::chrono::milliseconds(0)}, registry);
  monitor.Observe("a", Keys(0, 8));
  monitor.Observe("a", Keys(0, 8));
  monitor.UpdateMetrics();
  EXPECT_EQ(Value(registry, "strata_workload_keys_total", "a"), 16);
  EXPECT_EQ(Value(registry, "strata_workload_keys_total", "b"), 0);  // exists from the start
  EXPECT_EQ(Value(registry, "strata_workload_distinct_keys", "a"), 8);
  EXPECT_NEAR(Value(registry, "strata_workload_entropy", "a"), 3.0, 1e-9);  // 8 equal keys
  EXPECT_NEAR(Value(registry, "strata_workload_peakedness", "a"), 0.0, 1e-9);
  monitor.Observe("a", Keys(0, 4));
  monitor.UpdateMetrics();
  monitor.UpdateMetrics();  // a second update adds nothing
  EXPECT_EQ(Value(registry, "strata_workload_keys_total", "a"), 20);
  EXPECT_GT(Value(registry, "strata_workload_sketch_bytes", "a"), 0);
}

}  // namespace
}  // namespace strata::serving
