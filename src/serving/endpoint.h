// Endpoint is the plan behind a name that clients call
// (`/v2/models/{endpoint}/infer`) when that name is not simply a model: a
// static, hybrid or dynamic plan, each a list of stages over a row batch
// (serving/plans/). ServerCore resolves a name to its Endpoint before it
// looks for a model, so REST and gRPC share one code path. Implementations
// are thread-safe: InferAsync and Describe run on many threads at once.
// The tables a plan reads are followed by the server's TableRegistry
// (serving/lifecycle/table_registry.h), not by the endpoint.
#ifndef STRATA_SERVING_ENDPOINT_H_
#define STRATA_SERVING_ENDPOINT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "runtime/model_config.h"
#include "serving/plans/model_runner.h"
#include "serving/plans/plan_kind.h"
#include "serving/plans/row_batch.h"
#include "serving/prediction_cache.h"

namespace strata::serving {

class ServerMetrics;

// The table an endpoint reads, as metadata reports it.
struct EndpointTable {
  std::string name;
  std::string store;    // the store's kind: rocksdb, redis (static plans)
  int64_t version = 0;  // 0: no version open yet
  std::string model;    // the model version that produced it
  int64_t model_version = 0;
  int64_t rows = 0;
  double bytes_per_entry = 0;             // what one entry costs
  std::optional<size_t> in_memory_bytes;  // set when the version is held in memory
  std::string refused;  // why the last version offered was refused; empty when none was
};

// The prediction cache of a plan that has one.
struct EndpointCache {
  size_t max_bytes = 0;
  bool keyed_by_row_inputs = false;  // no key columns: a row's inputs are its key
  PredictionCacheStats stats;
};

// What metadata and readiness calls report about an endpoint. Frontends
// turn it into text (JSON, protobuf); nothing inside reads it back.
struct EndpointDescription {
  std::string name;
  PlanKind plan = PlanKind::kStatic;
  std::vector<int64_t> versions;            // the servable versions answering
  std::vector<runtime::TensorSpec> inputs;  // shapes include the batch dimension as -1
  std::vector<runtime::TensorSpec> outputs;
  bool ready = false;
  std::string reason;  // why not ready; empty when ready
  // The model: a static plan's table producer, else the model computing
  // rows; its version once known.
  std::string model;
  std::optional<int64_t> model_version;
  std::optional<EndpointTable> table;  // plans that read a table
  std::optional<EndpointCache> cache;  // plans with a cache layer
  // A plan that reads a table whose version is not open: why.
  std::string table_reason;
};

// Sees the rows of every request to a keyed endpoint once their keys are
// computed (the key log, the live workload sketch). Thread-safe.
class RowObserver {
 public:
  virtual ~RowObserver() = default;
  virtual void Observe(const RowBatch& batch) const = 0;
};

// What the server hands an endpoint before any call: the model port for
// plans that run models, the metrics its layers are recorded in, and the
// observer of its rows. Each may be null; all outlive the endpoint.
struct PlanServices {
  const ModelRunner* models = nullptr;
  ServerMetrics* metrics = nullptr;
  const RowObserver* rows = nullptr;
};

class Endpoint {
 public:
  using InferCallback = std::function<void(absl::StatusOr<core::InferResponse>)>;

  virtual ~Endpoint() = default;

  virtual const std::string& name() const = 0;
  virtual EndpointDescription Describe() const = 0;

  // Answers `request` (its model_version is empty or a servable version) by
  // calling `done` exactly once, on any thread.
  virtual void InferAsync(core::InferRequest request, InferCallback done) const = 0;

  // Called once by ServerCore::Create(), before any call.
  virtual void Connect(const PlanServices& services) = 0;
  // Called once by ~ServerCore, while the services still exist: stop any
  // work of the endpoint's own that uses them (a shadow's thread).
  virtual void Disconnect() {}

  // The names of the request inputs that are the row key (what the key log
  // writes); empty when the endpoint has none.
  virtual std::vector<std::string> key_columns() const { return {}; }
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_ENDPOINT_H_
