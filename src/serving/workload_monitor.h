// WorkloadMonitor keeps the live workload sketch of every endpoint that has
// key columns (serving/endpoint.h): each row a request asks for adds its key
// (serving/row_keys.h) to the endpoint's ShardedWorkloadSketch -- requests,
// distinct keys (HyperLogLog), heavy hitters (Space-Saving) and a tail
// sample, in bounded memory (about 4 MiB per endpoint by default). It is
// what `GET /v2/advisor/{endpoint}` reports, what `strata advise --server`
// reads, and the strata_workload_* families of /metrics:
//
//   strata_workload_keys_total{endpoint}             rows observed
//   strata_workload_distinct_keys{endpoint}          HyperLogLog estimate
//   strata_workload_entropy_bits{endpoint}           of the key distribution
//   strata_workload_peakedness{endpoint}             1 - entropy / log2(distinct)
//   strata_workload_unseen_share{endpoint}           Good-Turing: next key is new
//   strata_workload_top_keys_share{endpoint,top}     share of the top 10..10000 keys
//   strata_workload_sketch_bytes{endpoint}           memory of the sketch
//
// Statistics cost a few milliseconds per endpoint to compute, so they are
// recomputed at most once per `stats_max_age`. Thread-safe.
#ifndef STRATA_SERVING_WORKLOAD_MONITOR_H_
#define STRATA_SERVING_WORKLOAD_MONITOR_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "advisor/sharded_workload_sketch.h"
#include "advisor/workload_snapshot.h"
#include "advisor/workload_stats.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace strata::serving {

struct WorkloadMonitorOptions {
  advisor::SketchOptions sketch = {};
  std::chrono::milliseconds stats_max_age{1000};
};

class WorkloadMonitor {
 public:
  // One sketch per name in `endpoints`; the families are registered in
  // `registry`, which must outlive the monitor.
  WorkloadMonitor(const std::vector<std::string>& endpoints, WorkloadMonitorOptions options,
                  prometheus::Registry& registry);

  // Whether `endpoint` is sketched.
  bool Watches(std::string_view endpoint) const { return sketches_.contains(endpoint); }
  std::vector<std::string> endpoints() const;

  // Adds one key per row; a no-op for an endpoint that is not watched.
  void Observe(std::string_view endpoint, const std::vector<std::string>& row_keys);

  // The endpoint's sketch so far and the seconds it has been observing
  // (figures are left for the caller). NOT_FOUND when not watched.
  absl::StatusOr<advisor::WorkloadSnapshot> Snapshot(std::string_view endpoint) const;

  // The endpoint's statistics, at most `stats_max_age` old. NOT_FOUND when
  // not watched.
  absl::StatusOr<advisor::WorkloadStats> Stats(std::string_view endpoint) const;

  // Sets the strata_workload_* series from fresh-enough statistics (called
  // before /metrics is serialised).
  void UpdateMetrics() const;

  size_t MemoryBytes(std::string_view endpoint) const;

 private:
  struct Watched {
    explicit Watched(const advisor::SketchOptions& options) : sketch(options) {}
    advisor::ShardedWorkloadSketch sketch;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    mutable std::mutex stats_mutex;
    mutable std::shared_ptr<const advisor::WorkloadStats> stats;  // guarded by stats_mutex
    mutable std::chrono::steady_clock::time_point stats_at;        // guarded by stats_mutex
    mutable uint64_t exported_keys = 0;                            // guarded by stats_mutex
  };

  std::shared_ptr<const advisor::WorkloadStats> FreshStats(const Watched& w) const;

  const WorkloadMonitorOptions options_;
  std::map<std::string, std::unique_ptr<Watched>, std::less<>> sketches_;  // fixed
  prometheus::Family<prometheus::Counter>& keys_;
  prometheus::Family<prometheus::Gauge>& distinct_;
  prometheus::Family<prometheus::Gauge>& entropy_;
  prometheus::Family<prometheus::Gauge>& peakedness_;
  prometheus::Family<prometheus::Gauge>& unseen_;
  prometheus::Family<prometheus::Gauge>& top_share_;
  prometheus::Family<prometheus::Gauge>& bytes_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_WORKLOAD_MONITOR_H_
