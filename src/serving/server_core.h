// ServerCore is the one narrow API that every frontend (REST now, gRPC
// later) calls: health, metadata and inference on protocol-neutral types.
// It owns the loaded models. All const methods are thread-safe; the model
// set is fixed after Create().
#ifndef STRATA_SERVING_SERVER_CORE_H_
#define STRATA_SERVING_SERVER_CORE_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "runtime/backend_registry.h"
#include "serving/model_repository.h"
#include "serving/server_metrics.h"

namespace strata::serving {

struct ServerOptions {
  std::filesystem::path repository;  // holds models/<name>/...
  std::string name = "strata";
  std::string version = "0.1.0";
};

class ServerCore {
 public:
  // Loads every model of the repository. A model that fails to load is kept
  // as not ready; Create() fails only when the repository is unreadable.
  static absl::StatusOr<std::unique_ptr<ServerCore>> Create(
      const ServerOptions& options, const runtime::BackendRegistry& backends);

  const std::string& name() const { return options_.name; }
  const std::string& version() const { return options_.version; }
  // Protocol extensions this server supports (server metadata), in the
  // names Triton uses.
  std::vector<std::string> extensions() const {
    return {"binary_tensor_data", "model_configuration", "statistics"};
  }

  // The server is ready once its repository has been loaded, even when some
  // models failed (their own readiness says so).
  bool Ready() const { return true; }

  const std::vector<ServedModel>& models() const { return models_; }

  // The model `name`, checked against `version` when it is not empty.
  // NOT_FOUND, worded as Triton does ("Request for unknown model: ..."),
  // for an unknown model or a version that is not served.
  absl::StatusOr<const ServedModel*> FindModel(std::string_view name,
                                               std::string_view version) const;

  // Validates `request` against the model's signature and runs it through
  // the model's queue. The request parameter "timeout" (microseconds) or the
  // model's default_timeout_us sets its deadline.
  // NOT_FOUND (model/version), UNAVAILABLE (model not ready),
  // INVALID_ARGUMENT (inputs/outputs), RESOURCE_EXHAUSTED (queue full),
  // DEADLINE_EXCEEDED (expired while queued), INTERNAL (backend failure).
  absl::StatusOr<core::InferResponse> Infer(core::InferRequest request) const;

  // The same as Infer(), but calls `done` exactly once with the result, on
  // any thread (possibly before InferAsync returns). Frontends use this so
  // that a request waiting for its batch does not hold an I/O thread.
  using InferCallback =
      std::function<void(absl::StatusOr<core::InferResponse>)>;
  void InferAsync(core::InferRequest request, InferCallback done) const;

  // Statistics of the served versions of `name` (every model when empty),
  // in Triton's statistics-extension terms. NOT_FOUND as FindModel.
  absl::StatusOr<std::vector<ModelStatistics>> Statistics(
      std::string_view name, std::string_view version) const;

  // Prometheus families for /metrics.
  std::vector<prometheus::MetricFamily> CollectMetrics() const {
    return metrics_->Collect();
  }

 private:
  ServerCore(ServerOptions options, std::unique_ptr<ServerMetrics> metrics,
             std::vector<ServedModel> models)
      : options_(std::move(options)),
        metrics_(std::move(metrics)),
        models_(std::move(models)) {}

  ServerOptions options_;
  std::unique_ptr<ServerMetrics> metrics_;  // outlives models_
  std::vector<ServedModel> models_;  // sorted by name
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_SERVER_CORE_H_
