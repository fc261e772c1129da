// TableControl is what the frontends' table control routes
// (/v2/repository/tables/...: the index, load, unload, labels, default,
// rollback) may do to the followed tables, and no more; the same operations
// as ModelControl, for table versions. The operations run on the table
// lifecycle's executor, one at a time; `done` gets a human-readable result
// there. Implementations are thread-safe.
#ifndef STRATA_SERVING_LIFECYCLE_TABLE_CONTROL_H_
#define STRATA_SERVING_LIFECYCLE_TABLE_CONTROL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "serving/version_state.h"

namespace strata::serving {

// One line of the table index: a version (or a table-level problem, version
// 0) and its state. A value type.
struct TableVersionStatus {
  std::string table;
  int64_t version = 0;  // 0: the table as a whole (no version open, or unloaded)
  VersionState state = VersionState::kUnavailable;
  std::string reason;               // why not ready; empty when ready
  std::vector<std::string> labels;  // the labels naming this version
  bool is_default = false;          // unversioned lookups read it
  bool published = false;           // the store's current pointer names it
};

class TableControl {
 public:
  using ControlCallback = std::function<void(absl::StatusOr<std::string>)>;

  virtual ~TableControl() = default;

  // Every version of every followed table that is open, failed or
  // published, with its state.
  virtual std::vector<TableVersionStatus> Index() const = 0;

  // Follows `table` (from the default store when it was not followed yet)
  // and opens what it asks for, retrying versions that failed before.
  virtual void Load(std::string table, ControlCallback done) = 0;
  // Stops following `table` (until Load): every version drains and closes.
  virtual void Unload(std::string table, ControlCallback done) = 0;
  // Points `label` at `version` (opening it if needed); version 0 removes it.
  virtual void SetLabel(std::string table, std::string label, int64_t version,
                        ControlCallback done) = 0;
  // Pins unversioned lookups to `version`; 0 follows the published pointer.
  virtual void SetDefault(std::string table, int64_t version, ControlCallback done) = 0;
  // Makes the previous default version the default again, pinned.
  virtual void Rollback(std::string table, ControlCallback done) = 0;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_TABLE_CONTROL_H_
