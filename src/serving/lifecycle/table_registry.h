// TableRegistry follows the server's tables: one TableLifecycle per table,
// all run on one Executor (one task at a time), with time from a
// TimeSource, so tests drive it without threads or sleeping
// (serving/testing/fake_lifecycle.h). Every poll interval it asks each
// table's store for the published version and opens, publishes and drains
// as TableLifecycle says; opening never happens on the caller's thread.
//
// Endpoints (static, hybrid) and the feature stage obtain their tables here:
// Current() is the default version of a table, Find() a version by number or
// label, Snapshot() what the table's metadata shows. Readers see immutable
// snapshots through atomic pointers and never block. A table no endpoint
// names (a feature table) is followed on its first Current() call, from the
// default store, when `follow_on_first_use` is set; Follow() does the same
// up front.
//
// Thread-safe.
#ifndef STRATA_SERVING_LIFECYCLE_TABLE_REGISTRY_H_
#define STRATA_SERVING_LIFECYCLE_TABLE_REGISTRY_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "serving/lifecycle/executor.h"
#include "serving/lifecycle/table_control.h"
#include "serving/lifecycle/table_opener.h"
#include "serving/lifecycle/table_versions.h"
#include "serving/lifecycle/time_source.h"
#include "store/prediction_table.h"
#include "store/table_store.h"

namespace strata::serving {

class TableLifecycle;

struct TableRegistryOptions {
  // Where a table followed without a store of its own is opened (Follow(),
  // Current(), the control API's load). May be null: such tables are then
  // refused.
  std::shared_ptr<store::TableStore> default_store = nullptr;
  // How often every table's published version is checked; zero: only on
  // Refresh() and control calls.
  std::chrono::milliseconds poll_interval{2000};
  // How long an unload waits for in-flight lookups before giving up.
  std::chrono::milliseconds drain_timeout{30000};
  // Current() of a table not followed yet follows it (and answers null
  // until its first version opens).
  bool follow_on_first_use = true;
  // Where the lifecycle work runs; null: a ThreadExecutor of its own.
  std::unique_ptr<Executor> executor = nullptr;
  // What time it is; null: RealTimeSource(). Must outlive the registry.
  TimeSource* time = nullptr;
};

class TableRegistry : public TableControl {
 public:
  explicit TableRegistry(TableRegistryOptions options = {});
  ~TableRegistry() override;  // stops the lifecycle work; open versions close

  TableRegistry(const TableRegistry&) = delete;
  TableRegistry& operator=(const TableRegistry&) = delete;

  // Follows `table`: its versions open in the background. A table already
  // followed keeps its store and its key (a key given here applies when it
  // had none); the larger in-memory bound wins. INVALID_ARGUMENT for a bad
  // name; FAILED_PRECONDITION when no store is given and there is no
  // default store, or when the table is followed from another kind of
  // store.
  absl::Status Follow(std::string table, TableFollowOptions options = {});

  // Polls `table` now and waits for it: picks up a new published version.
  // The error of a refused version or an unreachable store (the version
  // serving keeps serving); NOT_FOUND for a table not followed.
  absl::Status Refresh(std::string_view table);
  // Polls every followed table now and waits.
  void RefreshAll();

  // The default version of `table` (the published one, or the pinned one);
  // null when no version is open. Never blocks.
  std::shared_ptr<const store::PredictionTable> Current(std::string_view table) const;
  // `version` of `table`: empty for the default, a number or a label.
  // NOT_FOUND for a table not followed or a version not open; UNAVAILABLE
  // (with the reason) when nothing is open.
  absl::StatusOr<std::shared_ptr<const store::PredictionTable>> Find(
      std::string_view table, std::string_view version) const;
  // What readers see of `table`; null when it is not followed.
  std::shared_ptr<const TableSnapshot> Snapshot(std::string_view table) const;

  // TableControl.
  std::vector<TableVersionStatus> Index() const override;
  void Load(std::string table, ControlCallback done) override;
  void Unload(std::string table, ControlCallback done) override;
  void SetLabel(std::string table, std::string label, int64_t version,
                ControlCallback done) override;
  void SetDefault(std::string table, int64_t version, ControlCallback done) override;
  void Rollback(std::string table, ControlCallback done) override;

 private:
  using TableMap = std::map<std::string, std::shared_ptr<TableLifecycle>, std::less<>>;
  using Operation = std::function<absl::StatusOr<std::string>(TableLifecycle&)>;

  std::shared_ptr<const TableMap> Tables() const { return tables_.load(); }
  std::shared_ptr<TableLifecycle> Lookup(std::string_view table) const;
  void RunControl(std::string table, ControlCallback done, Operation op);
  std::optional<std::chrono::steady_clock::time_point> Tick();
  // Runs `task` on the executor and waits for it.
  void RunAndWait(std::function<void()> task);

  TableRegistryOptions options_;
  TimeSource& time_;
  TableDrain drain_;         // executor only
  std::mutex follow_mutex_;  // serialises changes of tables_
  std::atomic<std::shared_ptr<const TableMap>> tables_;
  std::chrono::steady_clock::time_point next_poll_{};  // executor only
  std::unique_ptr<Executor> executor_;                 // stopped first
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_TABLE_REGISTRY_H_
