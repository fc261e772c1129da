// TableVersions is what the table lifecycle knows of one followed table's
// versions: how it is read, the version its store publishes, the open
// versions, the failed ones and why, labels, the pinned default and the
// default's history. Plain data with the decisions that read only it.
// TableSnapshot is what readers see of it, immutable once built; TableDrain
// holds the versions taken out of service until their in-flight lookups
// finish. Not thread-safe: the lifecycle's executor owns them.
#ifndef STRATA_SERVING_LIFECYCLE_TABLE_VERSIONS_H_
#define STRATA_SERVING_LIFECYCLE_TABLE_VERSIONS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "serving/lifecycle/table_control.h"
#include "serving/lifecycle/table_opener.h"
#include "serving/lifecycle/time_source.h"
#include "store/prediction_table.h"

namespace strata::serving {

using TableVersion = std::shared_ptr<const store::PredictionTable>;

struct TableVersions {
  std::string name;
  TableFollowOptions options;  // options.store is set
  int64_t published = 0;       // the store's current pointer; 0: none seen
  std::map<int64_t, TableVersion> open;
  std::map<int64_t, std::string> failed;  // refused versions and why
  std::map<std::string, int64_t, std::less<>> labels;
  int64_t pinned = 0;  // 0: follow the published pointer
  int64_t current_default = 0;
  std::vector<int64_t> default_history;  // earlier defaults, oldest first
  bool unloaded = false;                 // taken out of service through the control API
  std::string transient_reason;          // the store unreachable, or no version yet
  std::string refused;                   // why the last version offered was refused

  // The version the default should be: the pinned one, else the published.
  int64_t Target() const { return pinned > 0 ? pinned : published; }
  // The versions to keep open: the target, the labelled ones, and the
  // current default while the target is not open (the last known good).
  std::set<int64_t> Aspired() const;
  // Makes `version` the default, remembering the one it replaces.
  void SetCurrentDefault(int64_t version);
  // The previous default still worth going back to (0: none).
  int64_t Previous() const;
};

// What readers see of one table. Immutable once built.
struct TableSnapshot {
  std::string name;
  std::string store_kind;
  std::map<int64_t, TableVersion> open;
  std::map<std::string, int64_t, std::less<>> labels;
  int64_t default_version = 0;  // 0: nothing open
  bool unloaded = false;
  std::string reason;   // why nothing serves; empty when something does
  std::string refused;  // why the last version offered was refused
  std::vector<TableVersionStatus> statuses;

  // The default version's table; null when nothing is open.
  TableVersion Default() const;
  // `version`: empty for the default, a number or a label. NOT_FOUND when
  // it is not open.
  absl::StatusOr<TableVersion> Find(std::string_view version) const;
};

std::shared_ptr<const TableSnapshot> BuildTableSnapshot(const TableVersions& versions);

class TableDrain {
 public:
  explicit TableDrain(TimeSource& time) : time_(time) {}

  // Takes `table` out of service; `what` names it in the log.
  void Add(std::string what, TableVersion table);
  // Closes the versions nothing else refers to any more.
  void Reap();
  // Reaps until the list is empty or `timeout` has passed.
  void WaitFor(std::chrono::milliseconds timeout);
  size_t size() const { return draining_.size(); }

 private:
  struct Draining {
    std::string what;
    TableVersion table;
  };
  TimeSource& time_;
  std::vector<Draining> draining_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_TABLE_VERSIONS_H_
