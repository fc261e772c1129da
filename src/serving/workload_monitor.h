// WorkloadMonitor keeps the live workload sketch of every endpoint: each row
// a request asks for adds its key to the endpoint's ShardedWorkloadSketch.
// For an endpoint with key columns (static, hybrid) the key is the row's key
// text (serving/row_keys.h); for a model's own dynamic endpoint, which has
// none, it is the fingerprint of the row's content key (serving/row_keys.h:
// ContentFingerprints of RowInputKeys, what a dynamic plan's cache keys by), so
// the sketch still measures how peaked the model's traffic is (what a
// cache in front of it would hit), though its keys cannot be exported. The
// sketch holds requests,
// distinct keys (HyperLogLog), heavy hitters (Space-Saving) and a tail
// sample, in bounded memory (about 4 MiB per endpoint by default, at most
// 6.5 MiB whatever the keys: a key over core::kMaxKeyBytes counts as its
// fingerprint marker). It is
// what `GET /v2/advisor/{endpoint}` reports, what `strata advise --server`
// reads, and the strata_workload_* families of /metrics:
//
//   strata_workload_keys_total{endpoint}             rows observed
//   strata_workload_distinct_keys{endpoint}          HyperLogLog estimate
//   strata_workload_entropy{endpoint}                bits, of the key distribution
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
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "advisor/sharded_workload_sketch.h"
#include "advisor/workload_snapshot.h"
#include "advisor/workload_stats.h"
#include "core/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace strata::serving {

struct WorkloadMonitorOptions {
  // Live traffic samples its heavy hitters (1 key in 8, weighted 8): the
  // per-row cost of the sketch, not its accuracy (advisor/workload_sketch.h).
  advisor::SketchOptions sketch = {.heavy_hitter_sampling = 8};
  std::chrono::milliseconds stats_max_age{1000};
  // When set (`strata serve`'s default), keyed endpoints' sketches count
  // this keyed hash of each key text, never the key (no raw key in
  // /v2/advisor; their keys cannot be exported).
  std::function<std::string(std::string_view)> key_hasher = nullptr;
};

class WorkloadMonitor {
 public:
  // One sketch per name in `endpoints`; the families are registered in
  // `registry`, which must outlive the monitor.
  WorkloadMonitor(const std::vector<std::string>& endpoints, WorkloadMonitorOptions options,
                  prometheus::Registry& registry);

  // Whether `endpoint` is sketched (a keyed endpoint, or a model that has
  // been called).
  bool Watches(std::string_view endpoint) const;
  std::vector<std::string> endpoints() const;

  // Adds one key per row; a no-op for an endpoint that is not watched.
  void Observe(std::string_view endpoint, const std::vector<std::string>& row_keys);
  // The same for an endpoint without key columns (a model's own, or a
  // dynamic plan without `key`), whose sketch of hashed keys (ContentFingerprints)
  // is created on its first call.
  void ObserveHashed(std::string_view model, const std::vector<std::string>& row_keys);

  // The endpoint's sketch so far and the seconds it has been observing
  // (figures are left for the caller); without `with_sketch`, everything but
  // the sketch, which costs a merge of its shards. NOT_FOUND when not watched.
  absl::StatusOr<advisor::WorkloadSnapshot> Snapshot(std::string_view endpoint,
                                                     bool with_sketch = true) const;

  // The endpoint's statistics, at most `stats_max_age` old. NOT_FOUND when
  // not watched.
  absl::StatusOr<advisor::WorkloadStats> Stats(std::string_view endpoint) const;

  // Sets the strata_workload_* series from fresh-enough statistics (called
  // before /metrics is serialised).
  void UpdateMetrics() const;

  size_t MemoryBytes(std::string_view endpoint) const;

 private:
  struct Watched {
    Watched(const advisor::SketchOptions& options, bool hashed)
        : sketch(options), hashed_keys(hashed) {}
    advisor::ShardedWorkloadSketch sketch;
    const bool hashed_keys;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    mutable core::Mutex stats_mutex;
    mutable std::shared_ptr<const advisor::WorkloadStats> stats ABSL_GUARDED_BY(stats_mutex);
    mutable std::chrono::steady_clock::time_point stats_at ABSL_GUARDED_BY(stats_mutex);
    mutable uint64_t exported_keys ABSL_GUARDED_BY(stats_mutex) = 0;
  };

  std::shared_ptr<const advisor::WorkloadStats> FreshStats(const Watched& w) const;
  // The endpoint's sketch or null; entries are never removed, so the
  // pointer stays valid.
  Watched* Find(std::string_view endpoint) const;

  const WorkloadMonitorOptions options_;
  mutable core::SharedMutex mutex_;  // guards the map, not the sketches
  std::map<std::string, std::unique_ptr<Watched>, std::less<>> sketches_ ABSL_GUARDED_BY(mutex_);
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
