#include "serving/server_metrics.h"

#include <algorithm>
#include <cmath>

#include "serving/process_stats.h"

namespace strata::serving {
namespace {

using std::chrono::duration;
using std::chrono::nanoseconds;

// Seconds; fine below a millisecond for the tails of fast models.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025,   0.05,     0.1,     0.25,   0.5,     1.0,    2.5,   5.0,    10.0};
const prometheus::Histogram::BucketBoundaries kBatchBuckets = {1,  2,   4,   8,   16,   32,
                                                               64, 128, 256, 512, 1024, 4096};

constexpr const char* kOutcomeNames[] = {"success", "client_error", "rejected", "deadline",
                                         "internal_error"};

double Seconds(nanoseconds ns) { return duration<double>(ns).count(); }

uint64_t Nanos(nanoseconds ns) { return static_cast<uint64_t>(std::max<int64_t>(0, ns.count())); }

uint64_t NowEpochMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

Outcome OutcomeOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return Outcome::kSuccess;
    case absl::StatusCode::kResourceExhausted:
      return Outcome::kRejected;
    case absl::StatusCode::kDeadlineExceeded:
      return Outcome::kDeadline;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
      return Outcome::kClientError;
    default:
      return Outcome::kInternalError;
  }
}

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("strata_inference_requests_total")
                    .Help("Inference requests by model, version and outcome")
                    .Register(*registry_)),
      total_(prometheus::BuildHistogram()
                 .Name("strata_inference_request_duration_seconds")
                 .Help("Time from a request's arrival in the core to its answer")
                 .Register(*registry_)),
      queue_(prometheus::BuildHistogram()
                 .Name("strata_inference_queue_duration_seconds")
                 .Help("Time a request waited in the model's queue")
                 .Register(*registry_)),
      compute_(prometheus::BuildHistogram()
                   .Name("strata_inference_compute_duration_seconds")
                   .Help("Time the backend took to run one batch")
                   .Register(*registry_)),
      batch_size_(prometheus::BuildHistogram()
                      .Name("strata_inference_batch_size")
                      .Help("Rows in each batch run by the backend")
                      .Register(*registry_)),
      queue_depth_(prometheus::BuildGauge()
                       .Name("strata_inference_queue_depth")
                       .Help("Requests waiting in the model's queue")
                       .Register(*registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("strata_inference_in_flight_requests")
                     .Help("Requests in the model's batcher (queued or running), "
                           "counted when they enter and when they leave it")
                     .Register(*registry_)),
      saturation_(prometheus::BuildGauge()
                      .Name("strata_saturation_ratio")
                      .Help("max(queue depth / max_queue_size, running batches / instances), "
                            "each a mean over the last seconds (time constant 2 s); 0 idle, "
                            "1 saturated: the autoscaling metric")
                      .Register(*registry_)),
      batch_limit_(prometheus::BuildGauge()
                       .Name("strata_batch_size_limit")
                       .Help("The batch size an adaptive batcher allows now (rows)")
                       .Register(*registry_)),
      batch_delay_(prometheus::BuildGauge()
                       .Name("strata_batch_queue_delay_seconds")
                       .Help("The longest an adaptive batcher now holds a request for a "
                             "fuller batch")
                       .Register(*registry_)),
      loads_(prometheus::BuildCounter()
                 .Name("strata_model_loads_total")
                 .Help("Model version loads (load and warm-up) by model and outcome")
                 .Register(*registry_)),
      cpu_seconds_(prometheus::BuildCounter()
                       .Name("process_cpu_seconds_total")
                       .Help("User and system CPU time spent, in seconds")
                       .Register(*registry_)
                       .Add({})),
      resident_bytes_(prometheus::BuildGauge()
                          .Name("process_resident_memory_bytes")
                          .Help("Resident memory size in bytes")
                          .Register(*registry_)
                          .Add({})),
      open_fds_(prometheus::BuildGauge()
                    .Name("process_open_fds")
                    .Help("Open file descriptors")
                    .Register(*registry_)
                    .Add({})),
      open_sockets_(prometheus::BuildGauge()
                        .Name("strata_process_open_sockets")
                        .Help("Open sockets (client connections and listeners)")
                        .Register(*registry_)
                        .Add({})),
      threads_(prometheus::BuildGauge()
                   .Name("strata_process_threads")
                   .Help("Operating-system threads of the process")
                   .Register(*registry_)
                   .Add({})),
      start_time_(prometheus::BuildGauge()
                      .Name("process_start_time_seconds")
                      .Help("Start time of the process since the Unix epoch, in seconds")
                      .Register(*registry_)
                      .Add({})),
      endpoint_rows_(prometheus::BuildCounter()
                         .Name("strata_endpoint_rows_total")
                         .Help("Rows answered by each layer of an endpoint's plan")
                         .Register(*registry_)),
      endpoint_layer_(prometheus::BuildHistogram()
                          .Name("strata_endpoint_layer_duration_seconds")
                          .Help("Time one layer of an endpoint's plan took for a request")
                          .Register(*registry_)),
      table_unavailable_(prometheus::BuildCounter()
                             .Name("strata_endpoint_table_unavailable_rows_total")
                             .Help("Rows whose table lookup failed (store unreachable or its "
                                   "circuit breaker open), answered by the next layer or the "
                                   "default")
                             .Register(*registry_)),
      split_requests_(prometheus::BuildCounter()
                          .Name("strata_split_requests_total")
                          .Help("Requests a split endpoint sent to each arm, by the model "
                                "version that answered")
                          .Register(*registry_)) {}

void ServerMetrics::RecordSplit(const std::string& endpoint, const std::string& arm,
                                const std::string& version) {
  split_requests_.Add({{"endpoint", endpoint}, {"arm", arm}, {"version", version}}).Increment();
}

void ServerMetrics::RecordTableUnavailable(const std::string& endpoint, int64_t rows) {
  table_unavailable_.Add({{"endpoint", endpoint}}).Increment(static_cast<double>(rows));
}

ServerMetrics::LayerSeries& ServerMetrics::LayerSeriesOf(const std::string& endpoint,
                                                         const std::string& layer) {
  std::string id = endpoint;
  id += '\0';
  id += layer;
  std::lock_guard lock(layer_mutex_);
  auto it = layer_series_.find(id);
  if (it == layer_series_.end()) {
    const std::map<std::string, std::string> labels = {{"endpoint", endpoint}, {"layer", layer}};
    it = layer_series_
             .emplace(std::move(id),
                      LayerSeries{.rows = &endpoint_rows_.Add(labels),
                                  .took = &endpoint_layer_.Add(labels, kLatencyBuckets)})
             .first;
  }
  return it->second;  // references into an unordered_map stay valid
}

void ServerMetrics::RecordLayer(const std::string& endpoint, const std::string& layer, int64_t rows,
                                std::chrono::nanoseconds took) {
  LayerSeriesOf(endpoint, layer).Record(rows, took);
}

void ServerMetrics::LayerSeries::Record(int64_t count, std::chrono::nanoseconds spent) const {
  rows->Increment(static_cast<double>(count));
  took->Observe(Seconds(spent));
}

namespace {

// The q-quantile of a Prometheus histogram, linear within its bucket.
double HistogramQuantile(const prometheus::ClientMetric::Histogram& h, double q) {
  if (h.sample_count == 0) return 0;
  const double rank = q * static_cast<double>(h.sample_count);
  double lower = 0;
  uint64_t below = 0;
  for (const prometheus::ClientMetric::Bucket& b : h.bucket) {
    if (static_cast<double>(b.cumulative_count) >= rank) {
      if (std::isinf(b.upper_bound)) return lower;  // beyond the last bound
      const uint64_t in_bucket = b.cumulative_count - below;
      const double at = in_bucket == 0
                            ? 1.0
                            : (rank - static_cast<double>(below)) / static_cast<double>(in_bucket);
      return lower + (b.upper_bound - lower) * at;
    }
    below = b.cumulative_count;
    lower = b.upper_bound;
  }
  return lower;
}

}  // namespace

std::pair<double, double> ModelMetrics::LatencyP50P99Seconds() const {
  const prometheus::ClientMetric m = total_->Collect();
  return {HistogramQuantile(m.histogram, 0.5), HistogramQuantile(m.histogram, 0.99)};
}

std::optional<LayerSummary> ServerMetrics::Layer(const std::string& endpoint,
                                                 const std::string& layer) {
  const std::map<std::string, std::string> labels = {{"endpoint", endpoint}, {"layer", layer}};
  if (!endpoint_rows_.Has(labels) || !endpoint_layer_.Has(labels)) return std::nullopt;
  const prometheus::ClientMetric rows = endpoint_rows_.Add(labels).Collect();
  const prometheus::ClientMetric took = endpoint_layer_.Add(labels, kLatencyBuckets).Collect();
  return LayerSummary{.rows = rows.counter.value,
                      .requests = took.histogram.sample_count,
                      .seconds = took.histogram.sample_sum,
                      .p50_seconds = HistogramQuantile(took.histogram, 0.5),
                      .p99_seconds = HistogramQuantile(took.histogram, 0.99)};
}

std::unique_ptr<ModelMetrics> ServerMetrics::ForModel(const std::string& name,
                                                      const std::string& version) {
  return std::unique_ptr<ModelMetrics>(new ModelMetrics(*this, name, version));
}

void ServerMetrics::RecordLoad(const std::string& model, bool success) {
  loads_.Add({{"model", model}, {"outcome", success ? "success" : "failure"}}).Increment();
}

void ServerMetrics::UpdateProcessMetrics() {
  const ProcessStats stats = ReadProcessStats();
  std::lock_guard lock(process_mutex_);
  if (stats.cpu_seconds > last_cpu_seconds_) {
    cpu_seconds_.Increment(stats.cpu_seconds - last_cpu_seconds_);
    last_cpu_seconds_ = stats.cpu_seconds;
  }
  resident_bytes_.Set(static_cast<double>(stats.resident_bytes));
  open_fds_.Set(static_cast<double>(stats.open_fds));
  open_sockets_.Set(static_cast<double>(stats.open_sockets));
  threads_.Set(static_cast<double>(stats.threads));
  start_time_.Set(stats.start_time_seconds);
}

void ServerMetrics::UpdateSaturation() {
  const SaturationMeter::Clock::time_point now = SaturationMeter::Clock::now();
  double depth = 0, in_flight = 0, ratio = 0;
  std::lock_guard lock(models_mutex_);
  for (ModelMetrics* model : models_) {
    depth += model->queue_depth_->Value();
    in_flight += model->in_flight_->Value();
    ratio = std::max(ratio, model->UpdateSaturation(now));
  }
  process_saturation_.queue_depth->Set(depth);
  process_saturation_.in_flight->Set(in_flight);
  process_saturation_.ratio->Set(ratio);
}

ServerMetrics::ProcessSaturation ServerMetrics::BuildProcessSaturation(
    prometheus::Registry& registry) {
  auto gauge = [&registry](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
  };
  return {
      .queue_depth = gauge("strata_process_queue_depth",
                           "Requests waiting in the queues of all model versions"),
      .in_flight = gauge("strata_process_in_flight_requests",
                         "Requests in the batchers of all model versions (queued or running)"),
      .ratio = gauge("strata_process_saturation_ratio",
                     "The largest strata_saturation_ratio of the process's model versions"),
  };
}

std::vector<prometheus::MetricFamily> ServerMetrics::Collect() {
  UpdateProcessMetrics();
  UpdateSaturation();
  return registry_->Collect();
}

// The saturation ratio's smoothing: short enough that a scrape every few
// seconds follows the load, long enough that one scrape is not one instant.
constexpr std::chrono::seconds kSaturationSmoothing{2};

ModelMetrics::ModelMetrics(ServerMetrics& server, std::string name, std::string version)
    : server_(server),
      name_(std::move(name)),
      version_(std::move(version)),
      meter_(SaturationMeter::Clock::now(), kSaturationSmoothing) {
  const prometheus::Labels labels = {{"model", name_}, {"version", version_}};
  for (const char* outcome : kOutcomeNames) {
    prometheus::Labels with_outcome = labels;
    with_outcome["outcome"] = outcome;
    outcomes_.push_back(&server_.requests_.Add(with_outcome));
  }
  total_ = &server_.total_.Add(labels, kLatencyBuckets);
  queue_ = &server_.queue_.Add(labels, kLatencyBuckets);
  compute_ = &server_.compute_.Add(labels, kLatencyBuckets);
  batch_size_ = &server_.batch_size_.Add(labels, kBatchBuckets);
  queue_depth_ = &server_.queue_depth_.Add(labels);
  in_flight_ = &server_.in_flight_.Add(labels);
  saturation_ = &server_.saturation_.Add(labels);
  std::lock_guard lock(server_.models_mutex_);
  server_.models_.push_back(this);
}

ModelMetrics::~ModelMetrics() {
  for (prometheus::Counter* counter : outcomes_) server_.requests_.Remove(counter);
  server_.total_.Remove(total_);
  server_.queue_.Remove(queue_);
  server_.compute_.Remove(compute_);
  server_.batch_size_.Remove(batch_size_);
  server_.queue_depth_.Remove(queue_depth_);
  server_.in_flight_.Remove(in_flight_);
  server_.saturation_.Remove(saturation_);
  if (batch_limit_ != nullptr) server_.batch_limit_.Remove(batch_limit_);
  if (batch_delay_ != nullptr) server_.batch_delay_.Remove(batch_delay_);
  std::lock_guard lock(server_.models_mutex_);
  std::erase(server_.models_, this);
}

void ModelMetrics::AtomicDuration::Add(nanoseconds took) {
  ns.fetch_add(Nanos(took), std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
}

DurationStat ModelMetrics::AtomicDuration::Load() const {
  return {.count = count.load(std::memory_order_relaxed), .ns = ns.load(std::memory_order_relaxed)};
}

void ModelMetrics::AtomicCompute::Add(const BatchTiming& batch) {
  input_ns.fetch_add(Nanos(batch.input), std::memory_order_relaxed);
  infer_ns.fetch_add(Nanos(batch.infer), std::memory_order_relaxed);
  output_ns.fetch_add(Nanos(batch.output), std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
}

ComputeStats ModelMetrics::AtomicCompute::Load() const {
  const uint64_t n = count.load(std::memory_order_relaxed);
  return {.input = {n, input_ns.load(std::memory_order_relaxed)},
          .infer = {n, infer_ns.load(std::memory_order_relaxed)},
          .output = {n, output_ns.load(std::memory_order_relaxed)}};
}

void ModelMetrics::RecordOutcome(Outcome outcome, nanoseconds total) {
  outcomes_[static_cast<size_t>(outcome)]->Increment();
  total_->Observe(Seconds(total));
  (outcome == Outcome::kSuccess ? success_ : fail_).Add(total);
  if (outcome == Outcome::kSuccess) {
    last_inference_ms_.store(NowEpochMs(), std::memory_order_relaxed);
  }
}

void ModelMetrics::RecordQueueWait(nanoseconds waited) {
  queue_->Observe(Seconds(waited));
  queue_wait_.Add(waited);
}

void ModelMetrics::RecordBatch(const BatchTiming& batch) {
  compute_->Observe(Seconds(batch.infer));
  batch_size_->Observe(static_cast<double>(batch.rows));
  inference_count_.fetch_add(static_cast<uint64_t>(batch.rows), std::memory_order_relaxed);
  compute_stats_.Add(batch);
  if (batch.rows >= 0 && batch.rows <= kCountedBatchSizes) {
    small_batches_[static_cast<size_t>(batch.rows)].Add(batch);
    return;
  }
  const auto add = [&batch](ComputeStats& stats) {
    for (auto [stat, took] :
         {std::pair{&stats.input, batch.input}, std::pair{&stats.infer, batch.infer},
          std::pair{&stats.output, batch.output}}) {
      ++stat->count;
      stat->ns += Nanos(took);
    }
  };
  std::lock_guard lock(mutex_);
  add(large_batches_[batch.rows]);
}

void ModelMetrics::SetCapacity(int instances, size_t queue_bound) {
  std::lock_guard lock(meter_mutex_);
  meter_.SetCapacity(instances, queue_bound, SaturationMeter::Clock::now());
}

void ModelMetrics::SetQueueDepth(size_t depth) {
  queue_depth_->Set(static_cast<double>(depth));
  std::lock_guard lock(meter_mutex_);
  meter_.SetQueueDepth(depth, SaturationMeter::Clock::now());
}

void ModelMetrics::AddInFlight(int delta) { in_flight_->Increment(delta); }

void ModelMetrics::AddRunning(int delta) {
  std::lock_guard lock(meter_mutex_);
  meter_.AddRunning(delta, SaturationMeter::Clock::now());
}

double ModelMetrics::UpdateSaturation(SaturationMeter::Clock::time_point now) {
  double ratio = 0;
  {
    std::lock_guard lock(meter_mutex_);
    ratio = meter_.Ratio(now);
  }
  saturation_->Set(ratio);
  return ratio;
}

void ModelMetrics::SetBatchLimits(int64_t max_batch_size, nanoseconds max_queue_delay) {
  std::lock_guard lock(mutex_);
  if (batch_limit_ == nullptr) {
    const prometheus::Labels labels = {{"model", name_}, {"version", version_}};
    batch_limit_ = &server_.batch_limit_.Add(labels);
    batch_delay_ = &server_.batch_delay_.Add(labels);
  }
  batch_limit_->Set(static_cast<double>(max_batch_size));
  batch_delay_->Set(Seconds(max_queue_delay));
  adaptive_ = AdaptiveBatchingStats{max_batch_size, Nanos(max_queue_delay) / 1000};
}

ModelStatistics ModelMetrics::Snapshot() const {
  ModelStatistics stats;
  stats.name = name_;
  stats.version = version_;
  stats.last_inference_ms = last_inference_ms_.load(std::memory_order_relaxed);
  stats.success = success_.Load();
  stats.fail = fail_.Load();
  stats.queue = queue_wait_.Load();
  stats.compute = compute_stats_.Load();
  stats.execution_count = stats.compute.infer.count;
  stats.inference_count = inference_count_.load(std::memory_order_relaxed);
  for (int64_t rows = 0; rows <= kCountedBatchSizes; ++rows) {
    ComputeStats batch = small_batches_[static_cast<size_t>(rows)].Load();
    if (batch.infer.count > 0) stats.batch_stats.emplace(rows, batch);
  }
  std::lock_guard lock(mutex_);
  stats.batch_stats.insert(large_batches_.begin(), large_batches_.end());
  stats.adaptive = adaptive_;
  return stats;
}

ServerMetrics::HttpSeries ServerMetrics::BuildHttpSeries(prometheus::Registry& registry) {
  auto& refused = prometheus::BuildCounter()
                      .Name("strata_http_refused_requests_total")
                      .Help(
                          "REST requests refused before their body was read or inflated: "
                          "body memory budget spent (503), body stopped arriving (408)")
                      .Register(registry);
  return {
      .accept_pauses = &prometheus::BuildCounter()
                            .Name("strata_http_accept_pauses_total")
                            .Help("Failed REST accepts (no file descriptors or memory left) "
                                  "after which the acceptor paused")
                            .Register(registry)
                            .Add({}),
      .body_budget_refusals = &refused.Add({{"reason", "body_budget"}}),
      .body_timeouts = &refused.Add({{"reason", "body_timeout"}}),
      .body_bytes = &prometheus::BuildGauge()
                         .Name("strata_http_body_bytes")
                         .Help("Bytes of REST request bodies held, buffered or inflated "
                               "(bounded by --body-memory-budget)")
                         .Register(registry)
                         .Add({}),
  };
}

void ServerMetrics::RecordAcceptPause() { http_.accept_pauses->Increment(); }
void ServerMetrics::RecordBodyBudgetRefusal() { http_.body_budget_refusals->Increment(); }
void ServerMetrics::RecordBodyTimeout() { http_.body_timeouts->Increment(); }
void ServerMetrics::AddHttpBodyBytes(int64_t delta) {
  http_.body_bytes->Increment(static_cast<double>(delta));
}

}  // namespace strata::serving
