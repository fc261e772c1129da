// Opening one table version for serving: the store opens it (and checks
// it), its key is checked against the one its readers expect, and a
// RocksDB version small enough is read into memory (InMemoryTable: a hash
// lookup per row instead of a RocksDB multi-get). A Redis table is always
// looked up remotely, so a stopped Redis still shows as `degraded`.
#ifndef STRATA_SERVING_LIFECYCLE_TABLE_OPENER_H_
#define STRATA_SERVING_LIFECYCLE_TABLE_OPENER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "store/prediction_table.h"
#include "store/table_store.h"

namespace strata::serving {

// How a followed table is read.
struct TableFollowOptions {
  // Where its versions live; null: the registry's default store.
  std::shared_ptr<store::TableStore> store = nullptr;
  // The key columns its readers expect, in order; a version whose key
  // differs is refused. Empty: whatever the version's manifest says.
  std::vector<std::string> key = {};
  // A RocksDB version whose rows take at most this many bytes in memory
  // (keys, values and the hash table) is held in memory; 0: never.
  size_t in_memory_bytes = 64 << 20;
};

// A table version held in memory: every record read once (Scan, which also
// checks the data) into a hash table. Lookups never touch the store.
class InMemoryTable : public store::PredictionTable {
 public:
  // What one row costs beyond its key and value bytes: the hash table's
  // slot (two std::string) and control byte, at its 7/8 maximum load.
  static constexpr size_t kRowOverhead = (2 * sizeof(std::string) + 1) * 8 / 7 + 1;

  // Null when the table does not fit in `max_bytes`.
  static absl::StatusOr<std::shared_ptr<InMemoryTable>> Load(
      std::shared_ptr<store::PredictionTable> table, size_t max_bytes);

  const store::TableManifest& manifest() const override { return table_->manifest(); }
  absl::StatusOr<store::LookupResult> MultiGet(std::span<const std::string> keys) const override;
  absl::Status Scan(const Visitor& visit) const override { return table_->Scan(visit); }

  size_t bytes() const { return bytes_; }

 private:
  explicit InMemoryTable(std::shared_ptr<store::PredictionTable> table)
      : table_(std::move(table)) {}

  std::shared_ptr<store::PredictionTable> table_;  // the store's reader
  absl::flat_hash_map<std::string, std::string> rows_;
  size_t bytes_ = 0;
};

// The bytes `table` holds in memory when it is an InMemoryTable.
std::optional<size_t> InMemoryBytes(const store::PredictionTable& table);

// What one entry of `table` costs: measured when it is held in memory, else
// its key and value bytes plus a store's usual per-entry overhead.
double BytesPerEntry(const store::PredictionTable& table);

// Opens `version` of `table` from `options.store` for serving. The store's
// errors as they are (UNAVAILABLE: try again later); FAILED_PRECONDITION
// when its key is not `options.key`.
absl::StatusOr<std::shared_ptr<const store::PredictionTable>> OpenTableVersion(
    std::string_view table, int64_t version, const TableFollowOptions& options);

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_TABLE_OPENER_H_
