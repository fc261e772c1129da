#include "serving/server_core.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <future>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "serving/batch_queue.h"
#include "serving/classification.h"
#include "serving/request_validator.h"
#include "serving/row_keys.h"

namespace strata::serving {
namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::nanoseconds;

// A timeout longer than this means no deadline: a year outlives any call,
// and adding a timeout near INT64_MAX microseconds to the clock overflows.
constexpr double kLongestTimeoutUs = 365.0 * 24 * 3600 * 1e6;

// The "timeout" parameter in microseconds; 0 for a timeout too long to be a
// deadline.
absl::StatusOr<int64_t> TimeoutUs(const core::ParameterValue& value) {
  double us = 0;
  if (const auto* i = std::get_if<int64_t>(&value)) {
    us = static_cast<double>(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    us = *d;
  } else {
    return absl::InvalidArgumentError("parameter 'timeout' must be a number of microseconds");
  }
  if (!std::isfinite(us)) {
    return absl::InvalidArgumentError(
        fmt::format("parameter 'timeout' must be a finite number of microseconds, got {}", us));
  }
  if (us < 1) {
    return absl::InvalidArgumentError(fmt::format(
        "parameter 'timeout' must be a positive number of microseconds, got {}", us));
  }
  return us > kLongestTimeoutUs ? 0 : static_cast<int64_t>(us);
}

// The request's deadline from its "timeout" parameter (microseconds) or the
// model's default; none when neither sets one.
absl::StatusOr<std::optional<Clock::time_point>> DeadlineOf(
    const core::InferRequest& request, const runtime::ModelConfig& config,
    Clock::time_point start) {
  int64_t timeout_us = config.scheduling.default_timeout_us;
  if (auto it = request.parameters.find("timeout"); it != request.parameters.end()) {
    STRATA_ASSIGN_OR_RETURN(timeout_us, TimeoutUs(it->second));
  }
  if (timeout_us <= 0 || static_cast<double>(timeout_us) > kLongestTimeoutUs) {
    return std::nullopt;
  }
  return start + microseconds(timeout_us);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerCore>> ServerCore::Create(
    const ServerOptions& options, const runtime::BackendRegistry& backends) {
  std::unique_ptr<ServerCore> core(new ServerCore(options, std::make_unique<ServerMetrics>()));
  ModelManagerOptions manager_options;
  manager_options.repository = options.repository;
  manager_options.poll_interval = options.poll_interval;
  manager_options.warmup_reader = options.warmup_reader;
  STRATA_ASSIGN_OR_RETURN(core->manager_,
                          ModelManager::Create(std::move(manager_options), backends,
                                               *core->metrics_));
  for (const std::shared_ptr<Endpoint>& endpoint : options.endpoints) endpoint->Attach(*core);
  core->endpoints_ = std::make_unique<EndpointSet>(options.endpoints, options.poll_interval);
  if (options.workload_sketches) {
    std::vector<std::string> keyed;
    for (const std::shared_ptr<Endpoint>& endpoint : options.endpoints) {
      if (!endpoint->key_columns().empty()) keyed.push_back(endpoint->name());
    }
    core->workload_ = std::make_unique<WorkloadMonitor>(keyed, options.workload,
                                                        core->metrics_->registry());
  }
  return core;
}

absl::StatusOr<core::InferResponse> ServerCore::Infer(
    core::InferRequest request) const {
  std::promise<absl::StatusOr<core::InferResponse>> promise;
  InferAsync(std::move(request), [&promise](absl::StatusOr<core::InferResponse> r) {
    promise.set_value(std::move(r));
  });
  return promise.get_future().get();
}

void ServerCore::InferAsync(core::InferRequest request, InferCallback done) const {
  absl::StatusOr<std::vector<Classification>> classes = TakeClassifications(request);
  if (!classes.ok()) return done(classes.status());
  if (const Endpoint* endpoint = FindEndpoint(request.model_name)) {
    if (!classes->empty()) {
      // An endpoint's outputs carry the batch dimension and no labels.
      done = [classes = *std::move(classes), done = std::move(done)](
                 absl::StatusOr<core::InferResponse> response) {
        if (response.ok()) {
          absl::Status s = ApplyClassifications(classes, /*batched=*/true, {}, *response);
          if (!s.ok()) return done(std::move(s));
        }
        done(std::move(response));
      };
    }
    return EndpointInfer(*endpoint, std::move(request), std::move(done));
  }
  RunModel(std::move(request), std::move(done), /*sketch=*/workload_ != nullptr,
           *std::move(classes));
}

void ServerCore::EndpointInfer(const Endpoint& endpoint, core::InferRequest request,
                               InferCallback done) const {
  const std::vector<std::string> columns = endpoint.key_columns();
  if (columns.empty()) {  // sketched by the rows' content, like a model
    if (workload_ != nullptr) {
      workload_->ObserveHashed(endpoint.name(), RowContentKeys(request));
    }
    return endpoint.InferAsync(std::move(request), std::move(done));
  }
  const bool sketched = workload_ != nullptr && workload_->Watches(endpoint.name());
  if (options_.key_log != nullptr || sketched) {
    const std::vector<std::string> keys = RowKeyTexts(columns, request);
    if (options_.key_log != nullptr && !keys.empty()) {
      options_.key_log->RecordKeys(endpoint.name(), keys);
    }
    if (sketched) workload_->Observe(endpoint.name(), keys);
  }
  endpoint.InferAsync(std::move(request), std::move(done));
}

void ServerCore::InferModelAsync(core::InferRequest request, InferCallback done) const {
  RunModel(std::move(request), std::move(done), /*sketch=*/false, {});
}

namespace {

// The status a failed batch is answered with: the model and version named,
// backend errors INTERNAL unless they blame the input.
absl::Status ModelFailure(const ServedModel& served, const absl::Status& status) {
  const absl::StatusCode code = status.code();
  if (code == absl::StatusCode::kResourceExhausted ||
      code == absl::StatusCode::kDeadlineExceeded || code == absl::StatusCode::kUnavailable) {
    return absl::Status(
        code, fmt::format("model '{}': {}", served.name, std::string(status.message())));
  }
  return absl::Status(code == absl::StatusCode::kInvalidArgument ? code
                                                                 : absl::StatusCode::kInternal,
                      fmt::format("model '{}' version {} failed: {}", served.name,
                                  served.version, std::string(status.message())));
}

// The response to a request: the selected outputs, named, then classified.
absl::StatusOr<core::InferResponse> Respond(const ServedModel& served,
                                            core::InferResponse response,
                                            std::vector<core::Tensor> outputs,
                                            const std::vector<size_t>& selected,
                                            const std::vector<Classification>& classes) {
  for (size_t index : selected) {
    core::Tensor& out = outputs[index];
    out.name = served.config.outputs[index].name;
    response.outputs.push_back(std::move(out));
  }
  if (!classes.empty()) {
    STRATA_RETURN_IF_ERROR(ApplyClassifications(classes, served.config.max_batch_size > 0,
                                                served.config.outputs, response));
  }
  return response;
}

}  // namespace

void ServerCore::RunModel(core::InferRequest request, InferCallback done, bool sketch,
                          std::vector<Classification> classes) const {
  const Clock::time_point start = Clock::now();
  absl::StatusOr<std::shared_ptr<const ServedModel>> found =
      FindModel(request.model_name, request.model_version);
  if (!found.ok()) return done(found.status());
  std::shared_ptr<const ServedModel> served = *std::move(found);
  if (!served->ready()) {
    return done(absl::UnavailableError(fmt::format(
        "model '{}' is not ready: {}", served->name, served->reason)));
  }
  std::shared_ptr<ModelMetrics> metrics = served->metrics;
  auto fail = [&](absl::Status status) {
    metrics->RecordOutcome(OutcomeOf(status), Clock::now() - start);
    done(std::move(status));
  };
  if (absl::Status s = ValidateAndOrderInputs(served->config, request); !s.ok()) {
    return fail(std::move(s));
  }
  absl::StatusOr<std::vector<size_t>> selected = SelectOutputs(served->config, request);
  if (!selected.ok()) return fail(selected.status());
  if (absl::Status s = CheckClassifiable(classes, served->config.outputs); !s.ok()) {
    return fail(std::move(s));
  }
  absl::StatusOr<std::optional<Clock::time_point>> deadline =
      DeadlineOf(request, served->config, start);
  if (!deadline.ok()) return fail(deadline.status());
  // A model's own endpoint is sketched by its rows' content (inputs are in
  // the config's order now, so equal rows give equal keys).
  if (sketch) workload_->ObserveHashed(served->name, RowContentKeys(request));

  core::InferResponse response;
  response.model_name = served->name;
  response.model_version = std::to_string(served->version);
  response.id = std::move(request.id);
  response.has_id = request.has_id;
  runtime::Model& model = *served->model;
  model.RunAsync(
      std::move(request.inputs), {.deadline = *deadline},
      [served, metrics, start, selected = *std::move(selected), classes = std::move(classes),
       response = std::move(response),
       done = std::move(done)](absl::StatusOr<std::vector<core::Tensor>> outputs) mutable {
        absl::StatusOr<core::InferResponse> result =
            outputs.ok() ? Respond(*served, std::move(response), *std::move(outputs), selected,
                                   classes)
                         : absl::StatusOr<core::InferResponse>(
                               ModelFailure(*served, outputs.status()));
        metrics->RecordOutcome(OutcomeOf(result.status()), Clock::now() - start);
        done(std::move(result));
      });
}

std::string ServerCore::NotReadyReason() const {
  if (draining()) return "the server is shutting down (draining)";
  if (options_.lenient_readiness) return "";
  // The reason ModelManager gives a model unloaded on purpose: it is no
  // longer one the server is asked to serve.
  constexpr std::string_view kUnloaded = "unloaded through the control API";
  for (const std::shared_ptr<const ServedModel>& model : manager_->List()) {
    if (model->ready() || model->reason == kUnloaded) continue;
    return fmt::format("model '{}' is not ready: {}", model->name, model->reason);
  }
  for (const Endpoint* endpoint : endpoints_->List()) {
    const EndpointDescription d = endpoint->Describe();
    if (!d.ready) return fmt::format("endpoint '{}' is not ready: {}", d.name, d.reason);
  }
  return "";
}

std::vector<prometheus::MetricFamily> ServerCore::CollectMetrics() const {
  if (workload_ != nullptr) workload_->UpdateMetrics();
  return metrics_->Collect();
}

std::vector<std::string> ServerCore::WorkloadEndpoints() const {
  return workload_ == nullptr ? std::vector<std::string>{} : workload_->endpoints();
}

absl::StatusOr<advisor::WorkloadSnapshot> ServerCore::LiveWorkload(
    std::string_view name, bool with_sketch) const {
  if (workload_ == nullptr) {
    return absl::NotFoundError(
        "workload sketches are off; start strata serve without --no-workload-sketches");
  }
  STRATA_ASSIGN_OR_RETURN(advisor::WorkloadSnapshot snapshot, workload_->Snapshot(name, with_sketch));
  const std::string endpoint(name);
  if (std::optional<LayerSummary> table = metrics_->Layer(endpoint, "table");
      table && table->rows > 0) {
    snapshot.figures[std::string(advisor::kLookupUs)] = 1e6 * table->seconds / table->rows;
  }
  if (std::optional<LayerSummary> model = metrics_->Layer(endpoint, "model");
      model && model->requests > 0) {
    snapshot.figures[std::string(advisor::kModelP50Us)] = 1e6 * model->p50_seconds;
    snapshot.figures[std::string(advisor::kModelP99Us)] = 1e6 * model->p99_seconds;
  }
  // CPU time per row from the model's own statistics: what its batches took
  // over the rows they ran. The model is the plan's, or the endpoint itself
  // for a model's own endpoint (whose latency is then the model's).
  std::string model = endpoint;
  if (const Endpoint* e = FindEndpoint(name)) {
    const EndpointDescription d = e->Describe();
    auto it = d.properties.find("model");
    model = it == d.properties.end() ? "" : it->second;
    // What one entry of the endpoint's table costs, when it has one.
    if (auto b = d.properties.find("bytes_per_entry"); b != d.properties.end()) {
      snapshot.figures[std::string(advisor::kBytesPerEntry)] = std::atof(b->second.c_str());
    }
  }
  if (!model.empty()) {
    absl::StatusOr<std::shared_ptr<const ServedModel>> served = FindModel(model, "");
    if (served.ok() && (*served)->metrics != nullptr) {
      const ModelStatistics s = (*served)->metrics->Snapshot();
      if (s.inference_count > 0) {
        snapshot.figures[std::string(advisor::kModelUsPerRow)] =
            1e-3 * static_cast<double>(s.compute.infer.ns) /
            static_cast<double>(s.inference_count);
      }
      if (model == endpoint && s.success.count > 0) {
        const auto [p50, p99] = (*served)->metrics->LatencyP50P99Seconds();
        snapshot.figures[std::string(advisor::kModelP50Us)] = 1e6 * p50;
        snapshot.figures[std::string(advisor::kModelP99Us)] = 1e6 * p99;
      }
    }
  }
  return snapshot;
}

absl::StatusOr<advisor::WorkloadStats> ServerCore::LiveWorkloadStats(
    std::string_view name) const {
  if (workload_ == nullptr) {
    return absl::NotFoundError(
        "workload sketches are off; start strata serve without --no-workload-sketches");
  }
  return workload_->Stats(name);
}

size_t ServerCore::WorkloadSketchBytes(std::string_view name) const {
  return workload_ == nullptr ? 0 : workload_->MemoryBytes(name);
}

absl::StatusOr<std::vector<ModelStatistics>> ServerCore::Statistics(
    std::string_view name, std::string_view version) const {
  std::vector<ModelStatistics> stats;
  if (name.empty()) {
    for (const auto& served : manager_->ReadyVersions()) {
      stats.push_back(served->metrics->Snapshot());
    }
    return stats;
  }
  STRATA_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> served, FindModel(name, version));
  if (served->metrics) stats.push_back(served->metrics->Snapshot());
  return stats;
}

}  // namespace strata::serving
