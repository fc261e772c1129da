// ServerCore is the one narrow API that every frontend (REST now, gRPC
// later) calls: health, metadata and inference on protocol-neutral types.
// It owns the loaded models. All const methods are thread-safe; the model
// set is fixed after Create().
#ifndef STRATA_SERVING_SERVER_CORE_H_
#define STRATA_SERVING_SERVER_CORE_H_

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "advisor/workload_snapshot.h"
#include "core/infer_request.h"
#include "runtime/backend_registry.h"
#include "serving/classification.h"
#include "serving/endpoint.h"
#include "serving/endpoint_set.h"
#include "serving/guarded_table_store.h"
#include "serving/key_log.h"
#include "serving/lifecycle/model_control.h"
#include "serving/lifecycle/model_manager.h"
#include "serving/lifecycle/table_control.h"
#include "serving/lifecycle/table_registry.h"
#include "serving/model_repository.h"
#include "serving/served_model_runner.h"
#include "serving/server_metrics.h"
#include "serving/workload_monitor.h"

namespace strata::serving {

struct ServerOptions {
  std::filesystem::path repository;  // holds models/<name>/...
  std::string name = "strata";
  std::string version = "0.1.0";
  // Repository scan interval for new versions; zero disables watching.
  std::chrono::milliseconds poll_interval{2000};
  WarmupReader warmup_reader = {};  // reads warm-up samples files
  // Endpoints with a plan of their own (serving/endpoint.h). A call of
  // their name goes to them before any model of the same name.
  std::vector<std::shared_ptr<Endpoint>> endpoints = {};
  // The table stores the endpoints read through a guard (a Redis store):
  // their circuit breakers and calls are in /metrics, and their lookups
  // finish before the endpoints go.
  std::vector<std::shared_ptr<GuardedTableStore>> guarded_stores = {};
  // The tables the endpoints (and the feature stage) read, followed through
  // the servable lifecycle; its control operations are the table control
  // routes'. Null: an empty registry of the core's own, without a store.
  std::shared_ptr<TableRegistry> tables = nullptr;
  // When set, the keys of the rows endpoints are asked for are written here
  // (`--key-log`).
  std::shared_ptr<KeyLog> key_log = nullptr;
  // Live workload sketches of the endpoints with key columns
  // (serving/workload_monitor.h); off: no sketch, no advisor endpoint.
  bool workload_sketches = true;
  WorkloadMonitorOptions workload = {};
  // Ready() answers true once the server has started, even when models or
  // endpoints are not ready (`--lenient-readiness`).
  bool lenient_readiness = false;
  // Feature tables, deadline and log of the model versions with a
  // features.yaml (serving/served_features.h); metrics are the server's.
  FeatureServices features = {};
  // Checks model version files before they load (ModelManagerOptions).
  std::shared_ptr<const store::ArtifactVerifier> artifact_verifier = nullptr;
};

class ServerCore {
 public:
  // Loads every model of the repository. A model that fails to load is kept
  // as not ready; Create() fails only when the repository is unreadable.
  static absl::StatusOr<std::unique_ptr<ServerCore>> Create(
      const ServerOptions& options, const runtime::BackendRegistry& backends);
  // Finishes the guarded stores' lookups in flight before anything goes.
  ~ServerCore();

  const std::string& name() const { return options_.name; }
  const std::string& version() const { return options_.version; }
  // Protocol extensions this server supports (server metadata), in the
  // names Triton uses.
  std::vector<std::string> extensions() const {
    return {"binary_tensor_data", "classification", "model_configuration", "statistics"};
  }

  // Readiness in the protocol's sense: every model of the repository has a
  // ready version (models in the kUnloaded state excepted) and
  // every endpoint is ready. With `lenient_readiness`, the server is ready
  // once it has started, whatever its models. Reads published state only:
  // never waits on a store or on model work.
  bool Ready() const { return NotReadyReason().empty(); }
  // Why the server is not ready, naming the first model or endpoint that is
  // not; empty when it is ready.
  std::string NotReadyReason() const;

  // The drain sequence has begun (SIGTERM): from now on the server is not
  // ready, whatever its models and `lenient_readiness`, so that load
  // balancers stop sending while it goes on serving. Liveness is unchanged.
  void BeginDrain() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

  // One entry per model: its default version or its not-ready view.
  std::vector<std::shared_ptr<const ServedModel>> models() const { return manager_->List(); }

  // The ready model `name` at `version` (a number, a label, or empty for
  // the default). NOT_FOUND, worded as Triton does ("Request for unknown
  // model: ..."), for an unknown model or a version that is not served;
  // UNAVAILABLE, with the reason, for a model with no ready version.
  absl::StatusOr<std::shared_ptr<const ServedModel>> FindModel(std::string_view name,
                                                               std::string_view version) const;
  // What metadata and config calls report about the model `name` at
  // `version`: the ready version, or the model's not-ready view (model ==
  // nullptr, with the reason). NOT_FOUND as FindModel.
  absl::StatusOr<std::shared_ptr<const ServedModel>> DescribeModel(std::string_view name,
                                                                   std::string_view version) const {
    return manager_->Find(name, version);
  }

  // The endpoint called `name` (a plan other than a model's own), or null.
  const Endpoint* FindEndpoint(std::string_view name) const { return endpoints_->Find(name); }
  std::vector<const Endpoint*> endpoints() const { return endpoints_->List(); }

  // What metadata and readiness calls report about `name`: the endpoint's
  // description when the name has a plan (`version` is then not looked
  // at), else the model at `version` (its not-ready view when it has no
  // ready version, DescribeModel). NOT_FOUND as FindModel. The one place that decides
  // whether a name is an endpoint or a model, for every frontend.
  using Description = std::variant<EndpointDescription, std::shared_ptr<const ServedModel>>;
  absl::StatusOr<Description> Describe(std::string_view name, std::string_view version) const;

  // The control operations (index, load, unload, labels, default,
  // rollback) of the frontends' control routes, for models and for tables.
  // Only a mutable core hands them out; both are thread-safe.
  ModelControl& model_control() { return *manager_; }
  TableControl& table_control() { return *tables_; }
  // The tables endpoints read.
  const TableRegistry& tables() const { return *tables_; }

  // Calls of an endpoint's name go to its plan. Otherwise:
  // validates `request` against the model's signature and runs it through
  // the model's queue. The request parameter "timeout" (microseconds) or the
  // model's default_timeout_us sets its deadline; a timeout over a year
  // means none. Outputs requested with the "classification" parameter are
  // answered with their top classes (serving/classification.h).
  // NOT_FOUND (model/version), UNAVAILABLE (model not ready),
  // INVALID_ARGUMENT (inputs/outputs), RESOURCE_EXHAUSTED (queue full),
  // DEADLINE_EXCEEDED (expired while queued), INTERNAL (backend failure).
  absl::StatusOr<core::InferResponse> Infer(core::InferRequest request) const;

  // The same as Infer(), but calls `done` exactly once with the result, on
  // any thread (possibly before InferAsync returns). Frontends use this so
  // that a request waiting for its batch does not hold an I/O thread.
  using InferCallback = std::function<void(absl::StatusOr<core::InferResponse>)>;
  void InferAsync(core::InferRequest request, InferCallback done) const;

  // The metrics registry's owner (frontends add their series).
  ServerMetrics& metrics() { return *metrics_; }
  const ServerMetrics& metrics() const { return *metrics_; }

  // Statistics of the served versions of `name` (every model when empty),
  // in Triton's statistics-extension terms. NOT_FOUND as FindModel.
  absl::StatusOr<std::vector<ModelStatistics>> Statistics(std::string_view name,
                                                          std::string_view version) const;

  // Prometheus families for /metrics.
  std::vector<prometheus::MetricFamily> CollectMetrics() const;

  // The endpoints with a live workload sketch: those with key columns, and
  // the models called so far (empty when sketches are off).
  std::vector<std::string> WorkloadEndpoints() const;
  // The live workload of `endpoint`: its sketch and the cost figures
  // measured so far (advisor/workload_snapshot.h names them): model time per
  // row from the model's statistics, the model layer's p50/p99 and the
  // table layer's time per row. Without `with_sketch` the snapshot's sketch
  // is left empty (the JSON views need only its statistics, LiveWorkloadStats).
  // NOT_FOUND for an endpoint without a sketch.
  absl::StatusOr<advisor::WorkloadSnapshot> LiveWorkload(std::string_view endpoint,
                                                         bool with_sketch = true) const;
  // Its statistics, at most a second old, and the sketch's memory.
  absl::StatusOr<advisor::WorkloadStats> LiveWorkloadStats(std::string_view endpoint) const;
  size_t WorkloadSketchBytes(std::string_view endpoint) const;

 private:
  // InferAsync's work for a model's own name: one lookup of the version,
  // one validation, then the model port. `sketch` adds the rows to the
  // model's live workload sketch; `classes` are the outputs to answer with
  // their top classes.
  void RunModel(core::InferRequest request, InferCallback done, bool sketch,
                std::vector<Classification> classes) const;

  ServerCore(ServerOptions options, std::unique_ptr<ServerMetrics> metrics)
      : options_(std::move(options)), metrics_(std::move(metrics)) {}

  ServerOptions options_;
  std::unique_ptr<ServerMetrics> metrics_;  // outlives manager_
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<ServedModelRunner> runner_;  // the port plans run models through
  std::unique_ptr<RowObserver> observer_;      // the key log and sketches of keyed plans
  std::shared_ptr<TableRegistry> tables_;      // outlives endpoints_
  std::unique_ptr<EndpointSet> endpoints_;     // fixed after Create()
  std::unique_ptr<WorkloadMonitor> workload_;  // null when sketches are off
  std::atomic<bool> draining_{false};
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_SERVER_CORE_H_
