// Table garbage collection (`strata table gc`): removes what a writer that
// was killed left behind, once nothing has touched it for a grace period:
// Redis versions that never committed (store/redis/redis_table_maintenance.h)
// and RocksDB build directories (<tables>/<table>/.build-*). Committed
// versions are never touched; old committed versions are `--keep-versions`'
// business. Not thread-safe.
#ifndef STRATA_CLI_TABLE_GC_H_
#define STRATA_CLI_TABLE_GC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/table_stores.h"

namespace strata::cli {

struct TableGcOptions {
  TableStoreFlags store = {};
  std::string repository = {};           // default tables directory: <repository>/tables
  std::vector<std::string> tables = {};  // empty: every table of the store
  int64_t grace_seconds = 3600;
  bool dry_run = false;
};

struct TableGcResult {
  std::vector<std::string> removed = {};  // one line each: what and how big
  std::vector<std::string> kept = {};     // abandoned-looking but touched within the grace
};

absl::StatusOr<TableGcResult> CollectTableGarbage(const TableGcOptions& options);

}  // namespace strata::cli

#endif  // STRATA_CLI_TABLE_GC_H_
