// TableBuilder writes one new table version from records in ascending key
// order, and makes it visible atomically on Commit(): until then no reader
// can see any of it, and a builder destroyed without Commit() leaves
// nothing visible behind. Not thread-safe; one builder per thread.
#ifndef STRATA_STORE_TABLE_BUILDER_H_
#define STRATA_STORE_TABLE_BUILDER_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "store/table_manifest.h"

namespace strata::store {

class TableBuilder {
 public:
  virtual ~TableBuilder() = default;

  // REQUIRES: keys strictly ascend.
  virtual absl::Status Add(std::string_view key, std::string_view value) = 0;

  // Stores `manifest` (its version and store fields are filled in) and
  // makes the version visible, but not current: publishing is the store's
  // SetCurrentVersion(). Returns the version number.
  virtual absl::StatusOr<int64_t> Commit(TableManifest manifest) = 0;
};

}  // namespace strata::store

#endif  // STRATA_STORE_TABLE_BUILDER_H_
