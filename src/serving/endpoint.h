// Endpoint is the plan behind a name that clients call
// (`/v2/models/{endpoint}/infer`) when that name is not simply a model: a
// static plan (answers looked up in a table), and later hybrid, cascade and
// split plans. ServerCore resolves a name to its Endpoint before it looks
// for a model, so REST and gRPC share one code path. Implementations are
// thread-safe: InferAsync and Describe run on many threads at once, Refresh
// on the refresh thread.
#ifndef STRATA_SERVING_ENDPOINT_H_
#define STRATA_SERVING_ENDPOINT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "runtime/model_config.h"

namespace strata::serving {

class ServerCore;

// What metadata and readiness calls report about an endpoint.
struct EndpointDescription {
  std::string name;
  std::string plan;                          // "static", ...
  std::vector<int64_t> versions;             // the servable versions answering
  std::vector<runtime::TensorSpec> inputs;   // shapes include the batch dimension as -1
  std::vector<runtime::TensorSpec> outputs;
  bool ready = false;
  std::string reason;                        // why not ready; empty when ready
  std::map<std::string, std::string> properties;  // plan details (table, model, ...)
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

  // Picks up new versions of what the endpoint reads; called every poll
  // interval. An error means a version was refused or the source is
  // unreachable; the endpoint keeps serving what it had.
  virtual absl::Status Refresh() = 0;

  // Called once by ServerCore::Create() with the core that will route calls
  // here, before any call: plans that call models (hybrid) keep it. The
  // core outlives the endpoint.
  virtual void Attach(const ServerCore& /*core*/) {}

  // The names of the request inputs that are the row key (what the key log
  // writes); empty when the endpoint has none.
  virtual std::vector<std::string> key_columns() const { return {}; }
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_ENDPOINT_H_
