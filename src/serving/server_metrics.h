// ServerMetrics owns the Prometheus registry of a server and hands out one
// ModelMetrics per served model version. ModelMetrics records each request's
// outcome and latencies into Prometheus families (for /metrics) and into
// Triton-style cumulative statistics (for /v2/models/{m}/stats).
// Both classes are thread-safe. A request records without a lock: its series
// are lock-free (serving/lockfree_metrics.h) and /metrics reads them at
// scrape time (serving/lockfree_family.h).
#ifndef STRATA_SERVING_SERVER_METRICS_H_
#define STRATA_SERVING_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "serving/feature_metrics.h"
#include "serving/lockfree_family.h"
#include "serving/lockfree_metrics.h"
#include "serving/saturation_meter.h"
#include "serving/striped_cells.h"

namespace strata::serving {

// How a request ended, as counted in strata_inference_requests_total.
enum class Outcome { kSuccess, kClientError, kRejected, kDeadline, kInternalError };

Outcome OutcomeOf(const absl::Status& status);

// A count and the nanoseconds spent, as in Triton's statistics extension.
struct DurationStat {
  uint64_t count = 0;
  uint64_t ns = 0;
};

// The three phases of running one batch, as Triton's statistics name them:
// compute_input (merging the queued requests' inputs into the batch),
// compute_infer (the backend) and compute_output (splitting the outputs back
// to the requests). Each batch counts once in all three, so their counts are
// always equal (perf_analyzer requires it).
struct ComputeStats {
  DurationStat input, infer, output;
};

// What an adaptive batcher (`dynamic_batching: {latency_objective_us}`) is
// using now.
struct AdaptiveBatchingStats {
  int64_t max_batch_size = 0;
  uint64_t max_queue_delay_us = 0;
};

struct ModelStatistics {
  std::string name;
  std::string version;
  uint64_t last_inference_ms = 0;  // Unix epoch milliseconds; 0 = never
  uint64_t inference_count = 0;    // rows run
  uint64_t execution_count = 0;    // batches run
  DurationStat success, fail, queue;
  ComputeStats compute;                         // per batch
  std::map<int64_t, ComputeStats> batch_stats;  // by batch size (rows)
  // Adaptive batching only: the batch size and queue delay in use now.
  std::optional<AdaptiveBatchingStats> adaptive;
};

// How long each phase of one batch took.
struct BatchTiming {
  int64_t rows = 0;
  std::chrono::nanoseconds input{0}, infer{0}, output{0};
};

// What one layer of an endpoint's plan has done so far (from the series of
// RecordLayer).
struct LayerSummary {
  double rows = 0;
  uint64_t requests = 0;  // requests the layer answered rows of
  double seconds = 0;     // summed over those requests
  // Quantiles of the layer's time per request, interpolated within the
  // histogram's buckets.
  double p50_seconds = 0;
  double p99_seconds = 0;
};

class ServerMetrics;

class ModelMetrics {
 public:
  ~ModelMetrics();  // removes this version's series from /metrics

  void RecordOutcome(Outcome outcome, std::chrono::nanoseconds total);
  void RecordQueueWait(std::chrono::nanoseconds waited);
  // Records all three phases of a batch at once, so that a snapshot never
  // sees their counts differ.
  void RecordBatch(const BatchTiming& batch);
  // The saturation signals, updated as requests enter and leave the queue
  // and as batches start and finish (never on completion alone):
  // strata_inference_queue_depth, strata_inference_in_flight_requests and
  // strata_saturation_ratio (docs/operations.md, "Saturation").
  void SetCapacity(int instances, size_t queue_bound);
  void SetQueueDepth(size_t depth);
  void AddInFlight(int delta);
  void AddRunning(int delta);
  // The saturation ratio as of now; also sets its gauge.
  double UpdateSaturation(SaturationMeter::Clock::time_point now);
  // An adaptive batcher's current limits: strata_batch_size_limit and
  // strata_batch_queue_delay_seconds (series that exist only for adaptive
  // batchers), and the statistics' `adaptive_batching`.
  void SetBatchLimits(int64_t max_batch_size, std::chrono::nanoseconds max_queue_delay);

  ModelStatistics Snapshot() const;

  // The p50 and p99 of this version's request latency (queue + compute),
  // interpolated within the histogram's buckets; zeros before any request.
  std::pair<double, double> LatencyP50P99Seconds() const;

 private:
  friend class ServerMetrics;
  ModelMetrics(ServerMetrics& server, std::string name, std::string version);

  // The statistics' cells (stats_), striped so that two I/O threads running
  // requests inline never write one cache line: a count and nanoseconds per
  // DurationStat, and per batch size one count for the three phases (so
  // that their counts are always equal) and their nanoseconds; the totals
  // over all sizes are summed at Snapshot.
  enum Cell : size_t {
    kSuccessCount,
    kSuccessNs,
    kFailCount,
    kFailNs,
    kQueueCount,
    kQueueNs,
    kInferenceCount,
    kBatches,  // per size: count, input, infer and output ns (kComputeCells)
  };
  static constexpr size_t kComputeCells = 4;
  // Batch sizes up to this have their own cells; larger ones share a map.
  static constexpr int64_t kCountedBatchSizes = 64;
  static constexpr size_t kCells = kBatches + kComputeCells * (kCountedBatchSizes + 1);
  static constexpr size_t kOutcomes = 5;

  void AddCompute(size_t first, const BatchTiming& batch);
  ComputeStats LoadCompute(size_t first) const;
  DurationStat LoadDuration(size_t count) const;
  // The series' families on /metrics, added in the constructor and removed
  // in the destructor.
  std::vector<std::pair<LockFreeFamily*, LockFreeFamily::Series>> Exposed();

  ServerMetrics& server_;
  const std::string name_, version_;
  std::array<StripedCounter, kOutcomes> outcomes_;  // indexed by Outcome
  LockFreeHistogram total_;
  LockFreeHistogram queue_;
  LockFreeHistogram compute_;
  LockFreeHistogram batch_size_;
  ValueGauge queue_depth_;
  LevelGauge in_flight_;
  ValueGauge saturation_;
  prometheus::Gauge* batch_limit_ = nullptr;  // set once, under mutex_
  prometheus::Gauge* batch_delay_ = nullptr;  // set once, under mutex_

  // Events reach the meter without a lock; its Ratio (at scrape time) takes
  // one caller at a time.
  SaturationMeter meter_;
  std::mutex ratio_mutex_;

  std::atomic<uint64_t> last_inference_ms_{0};
  StripedCells stats_{kCells};
  mutable std::mutex mutex_;
  std::map<int64_t, ComputeStats> large_batches_;  // guarded by mutex_
  std::optional<AdaptiveBatchingStats> adaptive_;  // guarded by mutex_
};

class ServerMetrics {
 public:
  ServerMetrics();

  // Series for one model version; they disappear when it is destroyed.
  // REQUIRES: the ServerMetrics outlives the returned object.
  std::unique_ptr<ModelMetrics> ForModel(const std::string& name, const std::string& version);

  // Counts a model version load attempt (strata_model_loads_total).
  void RecordLoad(const std::string& model, bool success);

  // One request's rows answered by one layer of an endpoint's plan (table,
  // cache, model, default) and the time that layer took for the request:
  // strata_endpoint_rows_total and strata_endpoint_layer_duration_seconds,
  // labelled endpoint and layer.
  void RecordLayer(const std::string& endpoint, const std::string& layer, int64_t rows,
                   std::chrono::nanoseconds took);

  // One layer's series of one endpoint, found once and kept by the
  // endpoint's LayerRecorder (serving/plans/layer_recorder.h); valid as long
  // as the ServerMetrics.
  struct LayerSeries {
    LayerSeries();
    StripedCounter rows;
    LockFreeHistogram took;
    void Record(int64_t rows, std::chrono::nanoseconds took);
  };
  LayerSeries& LayerSeriesOf(const std::string& endpoint, const std::string& layer);

  // Rows of a request whose table lookup failed (the store unreachable, or
  // its circuit breaker open) and that the plan's next layer answered:
  // strata_endpoint_table_unavailable_rows_total, labelled endpoint.
  void RecordTableUnavailable(const std::string& endpoint, int64_t rows);

  // One request a split endpoint sent to `arm`, answered by model `version`
  // (strata_split_requests_total, labelled endpoint, arm and version). The
  // series is found in the calling thread's cache of the ones it used (the
  // family's mutex and label map only on a thread's first use of a series),
  // then incremented without a lock.
  void RecordSplit(const std::string& endpoint, const std::string& arm, const std::string& version);

  // The layer's totals, or nullopt when it has answered no row yet.
  std::optional<LayerSummary> Layer(const std::string& endpoint, const std::string& layer);

  // The series of the feature stages (serving/feature_metrics.h).
  FeatureMetrics& features() { return features_; }

  // The registry, for components that own families of their own (the
  // workload monitor).
  prometheus::Registry& registry() { return *registry_; }

  // Refreshes the process metrics and returns every family, ready for the
  // Prometheus text format.
  std::vector<prometheus::MetricFamily> Collect();

 private:
  friend class ModelMetrics;
  void UpdateProcessMetrics();

  std::shared_ptr<prometheus::Registry> registry_;
  // The lock-free families, in the order /metrics shows them within their
  // type (before the registry's own families of that type).
  LockFreeFamily requests_;
  LockFreeFamily queue_depth_;
  LockFreeFamily in_flight_;
  LockFreeFamily saturation_;
  LockFreeFamily total_;
  LockFreeFamily queue_;
  LockFreeFamily compute_;
  LockFreeFamily batch_size_;
  LockFreeFamily endpoint_rows_;
  LockFreeFamily endpoint_layer_;
  prometheus::Family<prometheus::Gauge>& batch_limit_;
  prometheus::Family<prometheus::Gauge>& batch_delay_;
  prometheus::Family<prometheus::Counter>& loads_;
  prometheus::Counter& cpu_seconds_;
  prometheus::Gauge& resident_bytes_;
  prometheus::Gauge& open_fds_;
  prometheus::Gauge& open_sockets_;
  prometheus::Gauge& threads_;
  prometheus::Gauge& start_time_;
  prometheus::Family<prometheus::Counter>& table_unavailable_;
  prometheus::Family<prometheus::Counter>& split_requests_;
  // Names this ServerMetrics in the threads' split-series caches, which
  // outlive it (a later one at the same address must not find its series).
  const uint64_t id_;
  std::mutex process_mutex_;
  double last_cpu_seconds_ = 0;  // guarded by process_mutex_
  // RecordLayer's series by "endpoint\0layer": Family::Add would build a
  // histogram on every call just to find the existing one.
  std::mutex layer_mutex_;
  std::unordered_map<std::string, std::unique_ptr<LayerSeries>>
      layer_series_;  // guarded by layer_mutex_

  // The process-wide saturation series: sums of the versions' queue depth
  // and in-flight requests, and the largest saturation ratio.
  void UpdateSaturation();
  struct ProcessSaturation {
    prometheus::Gauge* queue_depth;
    prometheus::Gauge* in_flight;
    prometheus::Gauge* ratio;
  };
  static ProcessSaturation BuildProcessSaturation(prometheus::Registry& registry);
  ProcessSaturation process_saturation_ = BuildProcessSaturation(*registry_);
  std::mutex models_mutex_;
  std::vector<ModelMetrics*> models_;  // live versions; guarded by models_mutex_

  // The REST frontend's defences (docs/operations.md).
 public:
  // An accept that failed for want of file descriptors or memory, after
  // which the acceptor paused: strata_http_accept_pauses_total.
  void RecordAcceptPause();
  // A request refused because the request-body memory budget was spent
  // (503), or whose body stopped arriving (408):
  // strata_http_refused_requests_total{reason="body_budget"|"body_timeout"}.
  void RecordBodyBudgetRefusal();
  void RecordBodyTimeout();
  // Bytes of request bodies held, buffered or inflated: strata_http_body_bytes.
  void AddHttpBodyBytes(int64_t delta);

 private:
  struct HttpSeries {
    prometheus::Counter* accept_pauses;
    prometheus::Counter* body_budget_refusals;
    prometheus::Counter* body_timeouts;
  };
  static HttpSeries BuildHttpSeries(prometheus::Registry& registry);
  HttpSeries http_ = BuildHttpSeries(*registry_);  // declared after registry_, which it needs
  // Changed by every request with a body: lock-free.
  LevelGauge body_bytes_;
  LockFreeFamily http_body_bytes_{"strata_http_body_bytes",
                                  "Bytes of REST request bodies held, buffered or inflated "
                                  "(bounded by --body-memory-budget)"};
  FeatureMetrics features_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_SERVER_METRICS_H_
