// GuardedTableStore wraps a TableStore whose calls can block (Redis) so that
// a store which stops answering cannot stall the server:
//   - every call goes through the store's CircuitBreaker: after the store
//     has hung (a call ran into its timeout) or failed a few times in a
//     row, calls fail fast with UNAVAILABLE without touching it. After a
//     cool-down one call probes whether it is back: a call of the refresh
//     thread, or a cheap ListTables() the guard runs in the background;
//     a request's lookup is never the probe, so no request waits for a
//     store that may still hang;
//   - the lookups of the tables it opens (PredictionTable::MultiGetAsync)
//     never run on the caller's thread, so frontend I/O threads never wait
//     for the store: a table that queues its lookups itself (a Redis table's
//     pipeline: AsyncLookup::kQueued) answers on the store's thread, and the
//     guard hands the answer to its StoreExecutor, which continues the
//     request there; any other table's lookups run on the executor;
//   - the breaker's state and transitions and the calls by result are
//     Prometheus series labelled with the store's name (CollectMetrics).
// Endpoints see a TableStore like any other and decide what to answer when
// a lookup fails (StaticEndpointConfig::default_when_unavailable; a hybrid
// plan goes on to its cache and model). Thread-safe.
#ifndef STRATA_SERVING_GUARDED_TABLE_STORE_H_
#define STRATA_SERVING_GUARDED_TABLE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "prometheus/metric_family.h"
#include "serving/circuit_breaker.h"
#include "serving/store_executor.h"
#include "store/table_store.h"

namespace strata::serving {

struct GuardedTableStoreOptions {
  std::string name = "redis";  // the `store` label of its series
  CircuitBreakerOptions breaker = {};
  StoreExecutorOptions executor = {};
};

class GuardedTableStore : public store::TableStore {
 public:
  GuardedTableStore(std::shared_ptr<store::TableStore> store, GuardedTableStoreOptions options);
  ~GuardedTableStore() override;

  std::string_view kind() const override { return store_->kind(); }
  std::string location() const override { return store_->location(); }
  absl::StatusOr<std::vector<std::string>> ListTables() const override;
  absl::StatusOr<std::vector<int64_t>> ListVersions(std::string_view table) const override;
  absl::StatusOr<store::TableManifest> ReadManifest(std::string_view table,
                                                    int64_t version) const override;
  absl::StatusOr<int64_t> CurrentVersion(std::string_view table) const override;
  absl::Status SetCurrentVersion(std::string_view table, int64_t version) override;
  // Builders write in bulk and are not guarded (strata serve builds none).
  absl::StatusOr<std::unique_ptr<store::TableBuilder>> NewBuilder(
      std::string_view table, const std::filesystem::path& scratch) override {
    return store_->NewBuilder(table, scratch);
  }
  // The table's lookups are guarded and MultiGetAsync answers on the
  // executor.
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> Open(std::string_view table,
                                                               int64_t version) const override;
  absl::StatusOr<int> RemoveOldVersions(std::string_view table, int keep) override;

  BreakerState breaker_state() const;

  // Finishes the lookups queued and running; later ones are answered
  // UNAVAILABLE at once. The server calls it before its endpoints go.
  void Stop();

  // strata_store_calls_total{store,result}, strata_store_breaker_state
  // {store,state} and strata_store_breaker_transitions_total{store,to}.
  std::vector<prometheus::MetricFamily> CollectMetrics() const;

  class Guard;  // the breaker, executor and series; shared with its tables

 private:
  std::shared_ptr<store::TableStore> store_;
  std::shared_ptr<Guard> guard_;
};

// Appends the series of `stores` to `families` (one family per name).
void AppendStoreMetrics(const std::vector<std::shared_ptr<GuardedTableStore>>& stores,
                        std::vector<prometheus::MetricFamily>& families);

}  // namespace strata::serving

#endif  // STRATA_SERVING_GUARDED_TABLE_STORE_H_
