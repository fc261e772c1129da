// TableLifecycle runs the life of one followed table's versions, the way
// ModelLifecycle runs a model's: it asks the store which version is
// published, opens the aspired versions (the published or pinned default,
// the labelled ones), publishes a new snapshot after each change, drains
// what is no longer aspired (keeping the last known good while the target
// does not open) and carries out the control operations (load, unload,
// labels, default, rollback). A version that fails to open is refused, with
// its reason kept; the previous version keeps serving.
//
// Everything but snapshot() runs on the registry's executor, one call at a
// time; snapshot() is thread-safe and never blocks.
#ifndef STRATA_SERVING_LIFECYCLE_TABLE_LIFECYCLE_H_
#define STRATA_SERVING_LIFECYCLE_TABLE_LIFECYCLE_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "serving/lifecycle/table_opener.h"
#include "serving/lifecycle/table_versions.h"

namespace strata::serving {

class TableLifecycle {
 public:
  // REQUIRES: options.store is set. `drain` outlives the lifecycle.
  TableLifecycle(std::string name, TableFollowOptions options, TableDrain& drain);

  const std::string& name() const { return state_.name; }
  // What readers see (never null). Thread-safe.
  std::shared_ptr<const TableSnapshot> snapshot() const { return snapshot_.load(); }

  // Asks the store for the published version and brings the open versions
  // in line. The error of a refused version or an unreachable store.
  absl::Status Sync();
  // A reader's key requirement, from now on.
  void Require(std::vector<std::string> key, size_t in_memory_bytes);
  // At shutdown: readers see nothing more, every version drains.
  void Close();

  // Control operations; the result is a human-readable message.
  absl::StatusOr<std::string> Load();
  absl::StatusOr<std::string> Unload();
  absl::StatusOr<std::string> SetLabel(const std::string& label, int64_t version);
  absl::StatusOr<std::string> SetDefault(int64_t version);
  absl::StatusOr<std::string> Rollback();

 private:
  absl::Status Poll();
  // Opens, chooses the default, retires and publishes.
  absl::Status Apply();
  absl::Status OpenAspired();
  // Opens `version` unless open; a control call retries a refused one.
  absl::Status OpenVersion(int64_t version);
  void ChooseDefault();
  void Retire();
  void Publish() { snapshot_.store(BuildTableSnapshot(state_)); }
  std::string Serving() const;

  TableDrain& drain_;
  TableVersions state_;
  std::atomic<std::shared_ptr<const TableSnapshot>> snapshot_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_TABLE_LIFECYCLE_H_
