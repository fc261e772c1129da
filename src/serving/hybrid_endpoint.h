// HybridEndpoint answers an endpoint whose plan is `hybrid`: each row is
// answered by the first of three layers that has it,
//
//   table  -> precomputed predictions (the table's default version, followed
//             by the server's TableRegistry), used only while the table's manifest names the
//             endpoint's model AND the model version now serving; when its
//             store cannot be asked (unreachable, or its circuit breaker
//             open: serving/guarded_table_store.h) every row goes on to the
//             next layers and the response says `degraded: true`;
//   cache  -> the PredictionCache, keyed by the row's canonical key bytes
//             behind the model's name and the version actually serving, so
//             a version swap never serves another version's answer;
//   model  -> the rows still unanswered, sent as ONE request through the
//             ModelRunner port (the model's queue and batcher) on the version
//             handle found once for the request; their answers are written
//             to the cache under that version.
//
// Each layer is a stage over the request's RowBatch (serving/plans/), built
// by HybridPlan() or DynamicPlan(). A request does one model version lookup
// and one validation of its inputs.
//
// A request carries the key columns (which address the table and the cache)
// AND the model's own inputs for every row (what the model needs for the
// rows that reach it). The response has the model's outputs in row order, a
// BYTES output `layer` ("table", "cache" or "model" per row), and the
// parameters `layer_table`, `layer_cache`, `layer_model` (rows per layer),
// `layer` (the one layer that answered every row, or "mixed"), `model`,
// `model_version`, and `table`/`table_version` when the table was used.
// The plan assumes the key decides the answer (rows with equal keys have
// equal model inputs); a key missed twice in one request is computed once.
// Model outputs must have a fixed size per row (no BYTES, no -1 beyond the
// batch dimension). Thread-safe.
//
// The same class answers `plan: dynamic` (config.plan "dynamic", no table):
// cache -> model. Its key columns are optional; without them a row's cache
// key is the row's own input bytes (after validation against the model's
// signature, inputs in its order), so the cache can stand in front of any
// model, even under the model's own name, without clients changing their
// requests.
//
// Cost: what a request needs to know about the model version and the table
// version serving (the RowLayout: output layout, where the outputs sit in a
// table row, the cache key prefix) is worked out once per pair of versions,
// not per request; a row answered by the table or the cache costs a hash lookup (the
// table is held in memory when it fits, see StaticEndpoint) and a copy of
// its output bytes; such rows never leave the calling thread, except that a
// Redis table is asked on its store's own threads (the request goes on
// there).
#ifndef STRATA_SERVING_HYBRID_ENDPOINT_H_
#define STRATA_SERVING_HYBRID_ENDPOINT_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "serving/endpoint.h"
#include "serving/lifecycle/table_registry.h"
#include "serving/plans/layer_recorder.h"
#include "serving/plans/stage.h"
#include "serving/prediction_cache.h"
#include "store/table_store.h"

namespace strata::serving {

struct HybridEndpointConfig {
  std::string name;                   // the endpoint clients call
  std::string model;                  // the model computing misses
  std::string table;                  // the table of precomputed rows; empty: none
  std::vector<std::string> key = {};  // key columns, in order (hybrid: required)
  size_t cache_max_bytes = 64 << 20;  // 0: no cache layer
  std::chrono::nanoseconds cache_ttl{0};
  PlanKind plan = PlanKind::kHybrid;        // or kDynamic (no table)
  size_t table_in_memory_bytes = 64 << 20;  // StaticEndpointConfig::pin_max_bytes

  // The options a registry should follow `table` with.
  TableFollowOptions FollowOptions(std::shared_ptr<store::TableStore> store) const {
    return {.store = std::move(store), .key = key, .in_memory_bytes = table_in_memory_bytes};
  }
};

class HybridEndpoint : public Endpoint {
 public:
  // Reads `config.table` (when set) from `tables`, which follows it.
  HybridEndpoint(std::shared_ptr<TableRegistry> tables, HybridEndpointConfig config);
  // The same over a registry of its own that follows the table in `store`
  // (polled on Refresh() only). Starts even when the table has no version
  // yet (rows then go to the cache and the model).
  HybridEndpoint(HybridEndpointConfig config, std::shared_ptr<store::TableStore> store);

  const std::string& name() const override { return config_.name; }
  EndpointDescription Describe() const override;
  // A version in the request selects the model's version (number or label).
  void InferAsync(core::InferRequest request, InferCallback done) const override;
  // Polls the table now (TableRegistry::Refresh).
  absl::Status Refresh();
  // Models are run through `services.models`; without it every call is
  // UNAVAILABLE.
  void Connect(const PlanServices& services) override;
  std::vector<std::string> key_columns() const override { return config_.key; }

  PredictionCacheStats cache_stats() const;

 private:
  // The layout for `served` and `table`: the last one when both are the
  // same versions, else a new one (kept for the next requests).
  absl::StatusOr<std::shared_ptr<const RowLayout>> LayoutFor(
      const ServedModel& served, const std::shared_ptr<const ServedModel>& handle,
      const std::shared_ptr<const store::PredictionTable>& table) const;
  // The request as a batch for `served`: keys, layout, the model's inputs.
  absl::StatusOr<std::shared_ptr<RowBatch>> Prepare(
      core::InferRequest request, std::shared_ptr<const ServedModel> served) const;
  // Splits the inputs into key columns and the model's, and computes keys.
  absl::Status TakeInputs(std::vector<core::Tensor> inputs, RowBatch& batch) const;
  absl::StatusOr<std::vector<std::string>> RowKeys(
      const std::vector<const core::Tensor*>& key_columns, RowBatch& batch) const;
  void DescribeTable(EndpointDescription& d) const;
  void DescribeModel(EndpointDescription& d) const;
  // The table's default version; null without one.
  std::shared_ptr<const store::PredictionTable> Table() const;

  HybridEndpointConfig config_;
  std::shared_ptr<TableRegistry> tables_;    // null without a table
  std::unique_ptr<PredictionCache> cache_;   // null when disabled
  const ModelRunner* models_ = nullptr;      // set by Connect()
  const RowObserver* observer_ = nullptr;    // set by Connect()
  std::unique_ptr<LayerRecorder> recorder_;  // set by Connect()
  StageList stages_;                         // set by Connect()
  struct CachedLayout {
    // Which versions it is for (compared by owner, never locked: a layout
    // never keeps a version alive).
    std::weak_ptr<const ServedModel> served;
    std::weak_ptr<const store::PredictionTable> table;
    absl::StatusOr<std::shared_ptr<const RowLayout>> layout;
  };
  mutable std::atomic<std::shared_ptr<const CachedLayout>> layout_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_HYBRID_ENDPOINT_H_
