#include "serving/server_metrics.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "serving/process_stats.h"

namespace strata::serving {
namespace {

using std::chrono::duration;
using std::chrono::nanoseconds;

// Seconds, recorded in nanoseconds; fine below a millisecond for the tails
// of fast models.
const HistogramBounds kLatencyBuckets = {
    .bounds = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
               0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0},
    .unit = 1e9};
const HistogramBounds kBatchBuckets = {
    .bounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096}, .unit = 1};

constexpr const char* kOutcomeNames[] = {"success", "client_error", "rejected", "deadline",
                                         "internal_error"};

double Seconds(nanoseconds ns) { return duration<double>(ns).count(); }

uint64_t Nanos(nanoseconds ns) { return static_cast<uint64_t>(std::max<int64_t>(0, ns.count())); }

uint64_t NowEpochMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t NextServerMetricsId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
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
      requests_("strata_inference_requests_total",
                "Inference requests by model, version and outcome"),
      queue_depth_("strata_inference_queue_depth", "Requests waiting in the model's queue"),
      in_flight_("strata_inference_in_flight_requests",
                 "Requests in the model's batcher (queued or running), "
                 "counted when they enter and when they leave it"),
      saturation_("strata_saturation_ratio",
                  "max(queue depth / max_queue_size, running batches / instances), "
                  "each a mean over the last seconds (time constant 2 s); 0 idle, "
                  "1 saturated: the autoscaling metric"),
      total_("strata_inference_request_duration_seconds",
             "Time from a request's arrival in the core to its answer"),
      queue_("strata_inference_queue_duration_seconds",
             "Time a request waited in the model's queue"),
      compute_("strata_inference_compute_duration_seconds",
               "Time the backend took to run one batch"),
      batch_size_("strata_inference_batch_size", "Rows in each batch run by the backend"),
      endpoint_rows_("strata_endpoint_rows_total",
                     "Rows answered by each layer of an endpoint's plan"),
      endpoint_layer_("strata_endpoint_layer_duration_seconds",
                      "Time one layer of an endpoint's plan took for a request"),
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
                          .Register(*registry_)),
      id_(NextServerMetricsId()) {
  http_body_bytes_.Add({}, &body_bytes_);
}

void ServerMetrics::RecordSplit(const std::string& endpoint, const std::string& arm,
                                const std::string& version) {
  struct Kept {
    uint64_t owner;
    std::string endpoint, arm, version;
    prometheus::Counter* counter;
  };
  constexpr size_t kMaxKept = 64;  // series a thread keeps; the oldest go first
  thread_local std::vector<Kept> kept;
  for (const Kept& k : kept) {
    if (k.owner == id_ && k.version == version && k.arm == arm && k.endpoint == endpoint) {
      return k.counter->Increment();
    }
  }
  prometheus::Counter& counter =
      split_requests_.Add({{"endpoint", endpoint}, {"arm", arm}, {"version", version}});
  if (kept.size() >= kMaxKept) kept.erase(kept.begin());
  kept.push_back({id_, endpoint, arm, version, &counter});
  counter.Increment();
}

void ServerMetrics::RecordTableUnavailable(const std::string& endpoint, int64_t rows) {
  table_unavailable_.Add({{"endpoint", endpoint}}).Increment(static_cast<double>(rows));
}

ServerMetrics::LayerSeries::LayerSeries() : took(kLatencyBuckets) {}

ServerMetrics::LayerSeries& ServerMetrics::LayerSeriesOf(const std::string& endpoint,
                                                         const std::string& layer) {
  std::string id = endpoint;
  id += '\0';
  id += layer;
  std::lock_guard lock(layer_mutex_);
  auto it = layer_series_.find(id);
  if (it == layer_series_.end()) {
    it = layer_series_.emplace(std::move(id), std::make_unique<LayerSeries>()).first;
    const prometheus::Labels labels = {{"endpoint", endpoint}, {"layer", layer}};
    endpoint_rows_.Add(labels, &it->second->rows);
    endpoint_layer_.Add(labels, &it->second->took);
  }
  return *it->second;  // never removed: valid as long as the ServerMetrics
}

void ServerMetrics::RecordLayer(const std::string& endpoint, const std::string& layer, int64_t rows,
                                std::chrono::nanoseconds took) {
  LayerSeriesOf(endpoint, layer).Record(rows, took);
}

void ServerMetrics::LayerSeries::Record(int64_t count, std::chrono::nanoseconds spent) {
  rows.Add(static_cast<uint64_t>(std::max<int64_t>(0, count)));
  took.Observe(spent);
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
  const prometheus::ClientMetric::Histogram h = total_.Read();
  return {HistogramQuantile(h, 0.5), HistogramQuantile(h, 0.99)};
}

std::optional<LayerSummary> ServerMetrics::Layer(const std::string& endpoint,
                                                 const std::string& layer) {
  std::string id = endpoint;
  id += '\0';
  id += layer;
  const LayerSeries* series = nullptr;
  {
    std::lock_guard lock(layer_mutex_);
    auto it = layer_series_.find(id);
    if (it == layer_series_.end()) return std::nullopt;
    series = it->second.get();
  }
  const prometheus::ClientMetric::Histogram took = series->took.Read();
  return LayerSummary{.rows = static_cast<double>(series->rows.Value()),
                      .requests = took.sample_count,
                      .seconds = took.sample_sum,
                      .p50_seconds = HistogramQuantile(took, 0.5),
                      .p99_seconds = HistogramQuantile(took, 0.99)};
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
    depth += model->queue_depth_.Value();
    in_flight += static_cast<double>(model->in_flight_.Value());
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

namespace {

// prometheus-cpp's Registry shows its families by type in this order.
int TypeOrder(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return 0;
    case prometheus::MetricType::Gauge:
      return 1;
    case prometheus::MetricType::Histogram:
      return 2;
    case prometheus::MetricType::Summary:
      return 3;
    default:
      return 4;
  }
}

}  // namespace

std::vector<prometheus::MetricFamily> ServerMetrics::Collect() {
  UpdateProcessMetrics();
  UpdateSaturation();
  std::vector<prometheus::MetricFamily> families;
  for (const LockFreeFamily* family :
       {&requests_, &endpoint_rows_, &queue_depth_, &in_flight_, &saturation_, &http_body_bytes_,
        &total_, &queue_, &compute_, &batch_size_, &endpoint_layer_}) {
    if (std::optional<prometheus::MetricFamily> collected = family->Collect()) {
      families.push_back(std::move(*collected));
    }
  }
  std::vector<prometheus::MetricFamily> features = features_.Collect();
  families.insert(families.end(), std::make_move_iterator(features.begin()),
                  std::make_move_iterator(features.end()));
  std::vector<prometheus::MetricFamily> registered = registry_->Collect();
  families.insert(families.end(), std::make_move_iterator(registered.begin()),
                  std::make_move_iterator(registered.end()));
  std::stable_sort(families.begin(), families.end(), [](const auto& a, const auto& b) {
    return TypeOrder(a.type) < TypeOrder(b.type);
  });
  return families;
}

// The saturation ratio's smoothing: short enough that a scrape every few
// seconds follows the load, long enough that one scrape is not one instant.
constexpr std::chrono::seconds kSaturationSmoothing{2};

ModelMetrics::ModelMetrics(ServerMetrics& server, std::string name, std::string version)
    : server_(server),
      name_(std::move(name)),
      version_(std::move(version)),
      total_(kLatencyBuckets),
      queue_(kLatencyBuckets),
      compute_(kLatencyBuckets),
      batch_size_(kBatchBuckets),
      meter_(SaturationMeter::Clock::now(), kSaturationSmoothing) {
  const prometheus::Labels labels = {{"model", name_}, {"version", version_}};
  for (size_t i = 0; i < kOutcomes; ++i) {
    prometheus::Labels with_outcome = labels;
    with_outcome["outcome"] = kOutcomeNames[i];
    server_.requests_.Add(with_outcome, &outcomes_[i]);
  }
  for (auto [family, series] : Exposed()) family->Add(labels, series);
  std::lock_guard lock(server_.models_mutex_);
  server_.models_.push_back(this);
}

std::vector<std::pair<LockFreeFamily*, LockFreeFamily::Series>> ModelMetrics::Exposed() {
  return {{&server_.total_, &total_},
          {&server_.queue_, &queue_},
          {&server_.compute_, &compute_},
          {&server_.batch_size_, &batch_size_},
          {&server_.queue_depth_, &queue_depth_},
          {&server_.in_flight_, &in_flight_},
          {&server_.saturation_, &saturation_}};
}

ModelMetrics::~ModelMetrics() {
  for (const StripedCounter& counter : outcomes_) server_.requests_.Remove(&counter);
  for (auto [family, series] : Exposed()) family->Remove(series);
  if (batch_limit_ != nullptr) server_.batch_limit_.Remove(batch_limit_);
  if (batch_delay_ != nullptr) server_.batch_delay_.Remove(batch_delay_);
  std::lock_guard lock(server_.models_mutex_);
  std::erase(server_.models_, this);
}

void ModelMetrics::AddCompute(size_t first, const BatchTiming& batch) {
  stats_.Add(first + 1, Nanos(batch.input));
  stats_.Add(first + 2, Nanos(batch.infer));
  stats_.Add(first + 3, Nanos(batch.output));
  stats_.Add(first, 1);
}

ComputeStats ModelMetrics::LoadCompute(size_t first) const {
  const uint64_t n = stats_.Sum(first);
  return {.input = {n, stats_.Sum(first + 1)},
          .infer = {n, stats_.Sum(first + 2)},
          .output = {n, stats_.Sum(first + 3)}};
}

DurationStat ModelMetrics::LoadDuration(size_t count) const {
  return {.count = stats_.Sum(count), .ns = stats_.Sum(count + 1)};
}

void ModelMetrics::RecordOutcome(Outcome outcome, nanoseconds total) {
  outcomes_[static_cast<size_t>(outcome)].Add();
  total_.Observe(total);
  const size_t count = outcome == Outcome::kSuccess ? kSuccessCount : kFailCount;
  stats_.Add(count + 1, Nanos(total));
  stats_.Add(count, 1);
  if (outcome == Outcome::kSuccess) {
    last_inference_ms_.store(NowEpochMs(), std::memory_order_relaxed);
  }
}

void ModelMetrics::RecordQueueWait(nanoseconds waited) {
  queue_.Observe(waited);
  stats_.Add(kQueueNs, Nanos(waited));
  stats_.Add(kQueueCount, 1);
}

void ModelMetrics::RecordBatch(const BatchTiming& batch) {
  compute_.Observe(batch.infer);
  batch_size_.Observe(static_cast<uint64_t>(std::max<int64_t>(0, batch.rows)));
  stats_.Add(kInferenceCount, static_cast<uint64_t>(batch.rows));
  // The totals over all sizes are summed at Snapshot.
  if (batch.rows >= 0 && batch.rows <= kCountedBatchSizes) {
    AddCompute(kBatches + kComputeCells * static_cast<size_t>(batch.rows), batch);
    return;
  }
  // Once per batch of more than kCountedBatchSizes rows, never per request.
  std::lock_guard lock(mutex_);
  ComputeStats& stats = large_batches_[batch.rows];
  for (auto [stat, took] :
       {std::pair{&stats.input, batch.input}, std::pair{&stats.infer, batch.infer},
        std::pair{&stats.output, batch.output}}) {
    ++stat->count;
    stat->ns += Nanos(took);
  }
}

void ModelMetrics::SetCapacity(int instances, size_t queue_bound) {
  meter_.SetCapacity(instances, queue_bound, SaturationMeter::Clock::now());
}

void ModelMetrics::SetQueueDepth(size_t depth) {
  queue_depth_.Set(static_cast<double>(depth));
  meter_.SetQueueDepth(depth, SaturationMeter::Clock::now());
}

void ModelMetrics::AddInFlight(int delta) { in_flight_.Add(delta); }

void ModelMetrics::AddRunning(int delta) {
  meter_.AddRunning(delta, SaturationMeter::Clock::now());
}

double ModelMetrics::UpdateSaturation(SaturationMeter::Clock::time_point now) {
  double ratio = 0;
  {
    std::lock_guard lock(ratio_mutex_);  // at scrape time only
    ratio = meter_.Ratio(now);
  }
  saturation_.Set(ratio);
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
  stats.success = LoadDuration(kSuccessCount);
  stats.fail = LoadDuration(kFailCount);
  stats.queue = LoadDuration(kQueueCount);
  stats.inference_count = stats_.Sum(kInferenceCount);
  for (int64_t rows = 0; rows <= kCountedBatchSizes; ++rows) {
    ComputeStats batch = LoadCompute(kBatches + kComputeCells * static_cast<size_t>(rows));
    if (batch.infer.count > 0) stats.batch_stats.emplace(rows, batch);
  }
  {
    std::lock_guard lock(mutex_);
    stats.batch_stats.insert(large_batches_.begin(), large_batches_.end());
    stats.adaptive = adaptive_;
  }
  for (const auto& [rows, batch] : stats.batch_stats) {
    for (auto [total, part] : {std::pair{&stats.compute.input, &batch.input},
                               std::pair{&stats.compute.infer, &batch.infer},
                               std::pair{&stats.compute.output, &batch.output}}) {
      total->count += part->count;
      total->ns += part->ns;
    }
  }
  stats.execution_count = stats.compute.infer.count;
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
  };
}

void ServerMetrics::RecordAcceptPause() { http_.accept_pauses->Increment(); }
void ServerMetrics::RecordBodyBudgetRefusal() { http_.body_budget_refusals->Increment(); }
void ServerMetrics::RecordBodyTimeout() { http_.body_timeouts->Increment(); }
void ServerMetrics::AddHttpBodyBytes(int64_t delta) { body_bytes_.Add(delta); }

}  // namespace strata::serving
