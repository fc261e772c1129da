#include "serving/server_core.h"

#include <algorithm>
#include <cmath>
#include <future>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "serving/batch_queue.h"
#include "serving/classification.h"
#include "serving/feature_model_call.h"
#include "serving/request_validator.h"
#include "serving/row_keys.h"

namespace strata::serving {
namespace {

// The key log and the live sketch of a keyed endpoint's rows, from the keys
// its plan computed once.
class KeyObserver : public RowObserver {
 public:
  KeyObserver(KeyLog* key_log, WorkloadMonitor* workload)
      : key_log_(key_log), workload_(workload) {}

  void Observe(const RowBatch& batch) const override {
    if (batch.key_schema.size() == 0) {  // keys are the rows' content, as for a model
      if (workload_ != nullptr)
        workload_->ObserveHashed(batch.endpoint, ContentFingerprints(batch.keys));
      return;
    }
    const bool sketched = workload_ != nullptr && workload_->Watches(batch.endpoint);
    if (key_log_ == nullptr && !sketched) return;
    const std::vector<std::string> texts = KeyTextsOf(batch.key_schema, batch.keys);
    if (key_log_ != nullptr && !texts.empty()) key_log_->RecordKeys(batch.endpoint, texts);
    if (sketched) workload_->Observe(batch.endpoint, texts);
  }

 private:
  KeyLog* const key_log_;
  WorkloadMonitor* const workload_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServerCore>> ServerCore::Create(
    const ServerOptions& options, const runtime::BackendRegistry& backends) {
  std::unique_ptr<ServerCore> core(new ServerCore(options, std::make_unique<ServerMetrics>()));
  ModelManagerOptions manager_options;
  manager_options.repository = options.repository;
  manager_options.poll_interval = options.poll_interval;
  manager_options.warmup_reader = options.warmup_reader;
  manager_options.features = options.features;
  manager_options.artifact_verifier = options.artifact_verifier;
  manager_options.features.metrics = &core->metrics_->features();
  if (options.features.log) options.features.log->AttachMetrics(&core->metrics_->features());
  STRATA_ASSIGN_OR_RETURN(
      core->manager_, ModelManager::Create(std::move(manager_options), backends, *core->metrics_));
  core->runner_ = std::make_unique<ServedModelRunner>(*core->manager_);
  if (options.workload_sketches) {
    std::vector<std::string> keyed;
    for (const std::shared_ptr<Endpoint>& endpoint : options.endpoints) {
      if (!endpoint->key_columns().empty()) keyed.push_back(endpoint->name());
    }
    core->workload_ =
        std::make_unique<WorkloadMonitor>(keyed, options.workload, core->metrics_->registry());
  }
  core->observer_ = std::make_unique<KeyObserver>(options.key_log.get(), core->workload_.get());
  const PlanServices services{core->runner_.get(), core->metrics_.get(), core->observer_.get()};
  for (const std::shared_ptr<Endpoint>& endpoint : options.endpoints) endpoint->Connect(services);
  core->tables_ = options.tables ? options.tables
                                 : std::make_shared<TableRegistry>(TableRegistryOptions{
                                       .poll_interval = options.poll_interval});
  core->endpoints_ = std::make_unique<EndpointSet>(options.endpoints);
  return core;
}

ServerCore::~ServerCore() {
  for (const std::shared_ptr<Endpoint>& endpoint : options_.endpoints) endpoint->Disconnect();
  for (const std::shared_ptr<GuardedTableStore>& store : options_.guarded_stores) store->Stop();
}

absl::StatusOr<core::InferResponse> ServerCore::Infer(core::InferRequest request) const {
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
      done = [classes = *std::move(classes),
              done = std::move(done)](absl::StatusOr<core::InferResponse> response) {
        if (response.ok()) {
          absl::Status s = ApplyClassifications(classes, /*batched=*/true, {}, *response);
          if (!s.ok()) return done(std::move(s));
        }
        done(std::move(response));
      };
    }
    return endpoint->InferAsync(std::move(request), std::move(done));
  }
  RunModel(std::move(request), std::move(done), /*sketch=*/workload_ != nullptr,
           *std::move(classes));
}

void ServerCore::RunModel(core::InferRequest request, InferCallback done, bool sketch,
                          std::vector<Classification> classes) const {
  const Clock::time_point start = Clock::now();
  absl::StatusOr<std::shared_ptr<const ServedModel>> found =
      runner_->Find(request.model_name, request.model_version);
  if (!found.ok()) return done(found.status());
  std::shared_ptr<const ServedModel> served = *std::move(found);
  if (!served->ready()) {
    return done(absl::UnavailableError(
        fmt::format("model '{}' is not ready: {}", served->name, served->reason)));
  }
  if (CallsFeatures(*served, request)) {  // a key-only request: features first
    return RunWithFeatures(*runner_, std::move(served), std::move(request), std::move(done));
  }
  absl::Status valid = runner_->Validate(*served, request);
  if (valid.ok()) valid = CheckClassifiable(classes, served->config.outputs);
  if (!valid.ok()) {
    served->metrics->RecordOutcome(OutcomeOf(valid), Clock::now() - start);
    return done(std::move(valid));
  }
  // A model's own endpoint is sketched by its rows' content keys, as a
  // dynamic plan's (inputs are in the config's order now, so equal rows
  // give equal keys).
  if (sketch) {
    absl::StatusOr<std::vector<std::string>> keys = RowInputKeys(request.inputs);
    if (keys.ok()) workload_->ObserveHashed(served->name, ContentFingerprints(*keys));
  }
  if (!classes.empty()) {
    done = [served, classes = std::move(classes),
            done = std::move(done)](absl::StatusOr<core::InferResponse> response) {
      if (response.ok()) {
        absl::Status s = ApplyClassifications(classes, served->config.max_batch_size > 0,
                                              served->config.outputs, *response);
        if (!s.ok()) return done(std::move(s));
      }
      done(std::move(response));
    };
  }
  runner_->Run(std::move(served), std::move(request), std::move(done));
}

absl::StatusOr<std::shared_ptr<const ServedModel>> ServerCore::FindModel(
    std::string_view name, std::string_view version) const {
  STRATA_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> served, manager_->Find(name, version));
  if (!served->ready()) {
    return absl::UnavailableError(
        fmt::format("model '{}' is not ready: {}", served->name, served->reason));
  }
  return served;
}

absl::StatusOr<ServerCore::Description> ServerCore::Describe(std::string_view name,
                                                             std::string_view version) const {
  if (const Endpoint* endpoint = FindEndpoint(name)) return endpoint->Describe();
  STRATA_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> model, DescribeModel(name, version));
  return model;
}

std::string ServerCore::NotReadyReason() const {
  if (draining()) return "the server is shutting down (draining)";
  if (options_.lenient_readiness) return "";
  for (const std::shared_ptr<const ServedModel>& model : manager_->List()) {
    // A model unloaded on purpose is no longer one the server must serve.
    if (model->state() != VersionState::kUnavailable) continue;
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
  std::vector<prometheus::MetricFamily> families = metrics_->Collect();
  AppendStoreMetrics(options_.guarded_stores, families);
  return families;
}

std::vector<std::string> ServerCore::WorkloadEndpoints() const {
  return workload_ == nullptr ? std::vector<std::string>{} : workload_->endpoints();
}

absl::StatusOr<advisor::WorkloadSnapshot> ServerCore::LiveWorkload(std::string_view name,
                                                                   bool with_sketch) const {
  if (workload_ == nullptr) {
    return absl::NotFoundError(
        "workload sketches are off; start strata serve without --no-workload-sketches");
  }
  STRATA_ASSIGN_OR_RETURN(advisor::WorkloadSnapshot snapshot,
                          workload_->Snapshot(name, with_sketch));
  const std::string endpoint(name);
  if (std::optional<LayerSummary> table =
          metrics_->Layer(endpoint, std::string(LayerName(Layer::kTable)));
      table && table->rows > 0) {
    snapshot.figures[std::string(advisor::kLookupUs)] = 1e6 * table->seconds / table->rows;
  }
  if (std::optional<LayerSummary> model =
          metrics_->Layer(endpoint, std::string(LayerName(Layer::kModel)));
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
    model = d.model;
    // What one entry of the endpoint's table costs, when it has one open.
    if (d.table && d.table->version != 0) {
      snapshot.figures[std::string(advisor::kBytesPerEntry)] = d.table->bytes_per_entry;
    }
  }
  if (!model.empty()) {
    absl::StatusOr<std::shared_ptr<const ServedModel>> served = DescribeModel(model, "");
    if (served.ok() && (*served)->metrics != nullptr) {
      const ModelStatistics s = (*served)->metrics->Snapshot();
      if (s.inference_count > 0) {
        snapshot.figures[std::string(advisor::kModelUsPerRow)] =
            1e-3 * static_cast<double>(s.compute.infer.ns) / static_cast<double>(s.inference_count);
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

absl::StatusOr<advisor::WorkloadStats> ServerCore::LiveWorkloadStats(std::string_view name) const {
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
  STRATA_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> served, DescribeModel(name, version));
  if (served->metrics) stats.push_back(served->metrics->Snapshot());
  return stats;
}

}  // namespace strata::serving
