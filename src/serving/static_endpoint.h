// StaticEndpoint answers an endpoint whose plan is `static`: predictions are
// looked up in a prediction table, never computed. A request carries the
// table's key columns as input tensors (one row per key, any number of rows,
// looked up with one multi-get); the response carries the table's outputs,
// a BOOL output `found` per row, and parameters naming the table version and
// the model version that produced it. Rows not in the table get the
// configured default. When the store cannot be reached (or its circuit
// breaker is open, serving/guarded_table_store.h) the endpoint answers with
// defaults and `degraded: true`, or UNAVAILABLE, as configured. InferAsync
// hands the lookup to the table's MultiGetAsync: a Redis table's lookups run
// on the store's own threads, never on the caller's.
//
// The table version is a servable, followed by the server's TableRegistry
// (serving/lifecycle/table_registry.h) like a model version: it opens in the
// background, is published atomically (readers never block and keep the
// version they started with), drains, and can be labelled, pinned and
// rolled back through /v2/repository/tables/...; a version that fails to
// open is refused and the previous keeps serving. A request's version (a
// number or a label) picks an open table version. A RocksDB table version
// small enough (`pin_max_bytes`) is held in memory
// (serving/lifecycle/table_opener.h); a single-key request on such a
// version is answered from the thread's StaticAnswerCache when its key was
// answered before (serving/static_answer_cache.h), still observed and
// recorded as a table row.
//
// The plan is two stages over the request's row batch (serving/plans/):
// TableStage, then DefaultStage. Connected to a server, the stages record
// each request's rows per layer: `table` for rows found, `default` for rows
// answered with the default (missing, or the store unreachable).
// A StaticEndpoint is an Endpoint (serving/endpoint.h): ServerCore routes
// calls of its name here. Infer() and Refresh() are thread-safe.
#ifndef STRATA_SERVING_STATIC_ENDPOINT_H_
#define STRATA_SERVING_STATIC_ENDPOINT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "serving/endpoint.h"
#include "serving/lifecycle/table_registry.h"
#include "serving/plans/layer_recorder.h"
#include "serving/plans/stage.h"
#include "store/prediction_table.h"
#include "store/table_store.h"

namespace strata::serving {

struct StaticEndpointConfig {
  std::string name;          // the endpoint clients call
  std::string table;         // the table it reads
  double default_value = 0;  // every output element of a missing row
  // When the store is unreachable: answer defaults flagged `degraded`
  // (true), or fail with UNAVAILABLE (false).
  bool default_when_unavailable = true;
  // The key columns the endpoint expects, in order; a table version whose
  // key differs is refused. Empty: whatever the table's manifest says.
  std::vector<std::string> key = {};
  // A RocksDB table version whose rows take at most this many bytes in
  // memory (keys, values and the hash table) is held in memory; 0: never.
  size_t pin_max_bytes = 64 << 20;
};

class StaticEndpoint : public Endpoint {
 public:
  // Reads `config.table` from `tables`, which follows it (Follow()).
  StaticEndpoint(StaticEndpointConfig config, std::shared_ptr<TableRegistry> tables);

  // The options `tables` should follow the endpoint's table with.
  static TableFollowOptions FollowOptions(const StaticEndpointConfig& config,
                                          std::shared_ptr<store::TableStore> store);

  // An endpoint over a registry of its own that follows the table in
  // `store` (polled on Refresh() only), its current version open.
  // UNAVAILABLE or NOT_FOUND when there is none that opens; the endpoint
  // then cannot start.
  static absl::StatusOr<std::unique_ptr<StaticEndpoint>> Create(
      StaticEndpointConfig config, std::shared_ptr<store::TableStore> store);
  // Like Create(), but when no version opens the endpoint starts not ready
  // (UNAVAILABLE to callers, with the reason) and Refresh() keeps trying.
  static std::unique_ptr<StaticEndpoint> Start(StaticEndpointConfig config,
                                               std::shared_ptr<store::TableStore> store);

  const StaticEndpointConfig& config() const { return config_; }

  // INVALID_ARGUMENT for a missing, unknown or mistyped key column;
  // UNAVAILABLE before a version has opened.
  absl::StatusOr<core::InferResponse> Infer(const core::InferRequest& request) const;

  // Endpoint: answers on the thread the lookup completes on. A version in
  // the request must be an open table version or a table label (NOT_FOUND
  // otherwise).
  const std::string& name() const override { return config_.name; }
  EndpointDescription Describe() const override;
  void InferAsync(core::InferRequest request, InferCallback done) const override;

  // Polls the table now (TableRegistry::Refresh). Returns the error of a
  // refused version (the previous keeps serving).
  absl::Status Refresh();
  // Per-layer row counts go to `services.metrics`, keys to `services.rows`.
  void Connect(const PlanServices& services) override;
  // config().key, else the serving table's key columns.
  std::vector<std::string> key_columns() const override;

  // The default version of the table; null while none is open.
  std::shared_ptr<const store::PredictionTable> table() const {
    return tables_->Current(config_.table);
  }
  // Why no version serves, or why the last version offered was refused;
  // empty when neither.
  std::string last_error() const;

 private:
  // The table version `version` names (empty: the default). NOT_FOUND
  // unless it is open; UNAVAILABLE while none is.
  absl::StatusOr<std::shared_ptr<const store::PredictionTable>> Resolve(
      const std::string& version) const;
  // The request's rows and keys in `table`; INVALID_ARGUMENT as Infer().
  absl::StatusOr<std::shared_ptr<RowBatch>> Prepare(
      const core::InferRequest& request, std::shared_ptr<const store::PredictionTable> table,
      std::shared_ptr<const RowLayout> layout) const;
  // The key columns of `request` in `key`'s order.
  absl::StatusOr<std::vector<const core::Tensor*>> KeyColumns(const core::InferRequest& request,
                                                              const store::KeySchema& key) const;
  // What is worked out once per table version: its layout, and the token
  // its answers are kept under (serving/static_answer_cache.h; 0: a version
  // not held in memory, whose answers are not kept).
  struct CachedLayout {
    std::weak_ptr<const store::PredictionTable> table;  // compared, never locked
    std::shared_ptr<const RowLayout> layout;
    uint64_t answer_token = 0;
  };
  std::shared_ptr<const CachedLayout> LayoutFor(
      const std::shared_ptr<const store::PredictionTable>& table) const;
  // Prepares, observes and answers from this thread's StaticAnswerCache or
  // runs the stages; `done` gets the response.
  void Run(const core::InferRequest& request, std::shared_ptr<const store::PredictionTable> table,
           InferCallback done) const;
  // The token `batch`'s answer may be kept under: one row, every output,
  // a version held in memory; else 0.
  static uint64_t AnswerToken(const RowBatch& batch, const CachedLayout& version);
  // The answer this thread kept for `batch`'s key, recorded as a table row.
  std::optional<core::InferResponse> KeptAnswer(const RowBatch& batch, uint64_t token) const;

  StaticEndpointConfig config_;
  std::shared_ptr<TableRegistry> tables_;
  std::unique_ptr<LayerRecorder> recorder_;  // records nothing until Connect()
  const RowObserver* observer_ = nullptr;    // set by Connect()
  StageList stages_;                         // over recorder_
  mutable std::atomic<std::shared_ptr<const CachedLayout>> layout_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_STATIC_ENDPOINT_H_
