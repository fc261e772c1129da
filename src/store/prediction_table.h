// PredictionTable is one open, immutable table version: precomputed
// predictions looked up by key. Implementations (store/rocksdb,
// store/redis) must be safe for concurrent calls from many threads.
#ifndef STRATA_STORE_PREDICTION_TABLE_H_
#define STRATA_STORE_PREDICTION_TABLE_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/table_manifest.h"

namespace strata::store {

struct LookupResult {
  std::vector<std::string> values;  // empty where not found
  std::vector<uint8_t> found;       // 1 where the key is in the table
};

class PredictionTable {
 public:
  virtual ~PredictionTable() = default;

  virtual const TableManifest& manifest() const = 0;

  // Looks up every key at once (one multi-get). UNAVAILABLE when the store
  // cannot be reached; the caller decides what to answer then.
  virtual absl::StatusOr<LookupResult> MultiGet(std::span<const std::string> keys) const = 0;

  // MultiGet() that calls `done` exactly once with the result, on any
  // thread (possibly before it returns). REQUIRES: `keys` stay valid until
  // `done` is called. The default looks up inline; a table whose lookups
  // can block (serving/guarded_table_store.h) runs them elsewhere.
  using LookupCallback = std::function<void(absl::StatusOr<LookupResult>)>;
  virtual void MultiGetAsync(std::span<const std::string> keys, LookupCallback done) const {
    done(MultiGet(keys));
  }

  // How MultiGetAsync() runs. kInline (the default): on the caller's
  // thread, waiting for the store. kQueued: it only queues the lookup and
  // `done` runs on the store's own thread, which the caller must not hold
  // for long (store/redis/redis_lookup_pipeline.h).
  enum class AsyncLookup { kInline, kQueued };
  virtual AsyncLookup async_lookup() const { return AsyncLookup::kInline; }

  // Calls `visit` for every record (in no promised order) until it returns
  // an error, which Scan returns.
  using Visitor = std::function<absl::Status(std::string_view key, std::string_view value)>;
  virtual absl::Status Scan(const Visitor& visit) const = 0;
};

}  // namespace strata::store

#endif  // STRATA_STORE_PREDICTION_TABLE_H_
