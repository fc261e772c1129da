// TableStore is where the versions of prediction tables live (a directory
// of RocksDB databases, or a Redis server): it lists them, reads their
// manifests, builds new ones, opens them for lookups, and holds each table's
// current-version pointer, which it switches atomically. The composition
// root (cli) picks the implementation. Implementations are thread-safe.
#ifndef STRATA_STORE_TABLE_STORE_H_
#define STRATA_STORE_TABLE_STORE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/prediction_table.h"
#include "store/table_builder.h"
#include "store/table_manifest.h"

namespace strata::store {

class TableStore {
 public:
  virtual ~TableStore() = default;

  // "rocksdb" or "redis"; recorded in manifests.
  virtual std::string_view kind() const = 0;
  // Where it is, for messages: a directory or redis://host:port.
  virtual std::string location() const = 0;

  virtual absl::StatusOr<std::vector<std::string>> ListTables() const = 0;
  // Committed versions of `table`, ascending; empty for an unknown table.
  virtual absl::StatusOr<std::vector<int64_t>> ListVersions(std::string_view table) const = 0;
  virtual absl::StatusOr<TableManifest> ReadManifest(std::string_view table,
                                                     int64_t version) const = 0;

  // The published version: the pointer when set, else the highest committed
  // version; 0 when there is none.
  virtual absl::StatusOr<int64_t> CurrentVersion(std::string_view table) const = 0;
  // Switches the pointer atomically. REQUIRES: `version` is committed.
  virtual absl::Status SetCurrentVersion(std::string_view table, int64_t version) = 0;

  // A builder for a new version of `table`. `scratch` is a local directory
  // the builder may use for temporary files.
  virtual absl::StatusOr<std::unique_ptr<TableBuilder>> NewBuilder(
      std::string_view table, const std::filesystem::path& scratch) = 0;

  // Opens a committed version read-only. DATA_LOSS when it is corrupt.
  virtual absl::StatusOr<std::shared_ptr<PredictionTable>> Open(std::string_view table,
                                                                int64_t version) const = 0;

  // Removes versions that are neither current nor among the `keep` newest,
  // after their grace period where the store has one. Returns how many.
  virtual absl::StatusOr<int> RemoveOldVersions(std::string_view table, int keep) = 0;
};

// Table names: letters, digits, '_', '-', '.'; not starting with '.'.
absl::Status ValidateTableName(std::string_view name);

}  // namespace strata::store

#endif  // STRATA_STORE_TABLE_STORE_H_
