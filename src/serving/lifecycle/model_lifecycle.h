// ModelLifecycle runs the life of one model's versions: it re-reads the
// model's config when it changes, asks the version policy which versions
// should serve, loads and warms them up through the ModelLoader, publishes
// a new snapshot after each change, retires what is no longer aspired
// (keeping the last known good while nothing aspired is ready) and carries
// out the control operations (load, unload, labels, default, rollback).
//
// Everything but snapshot() runs on the lifecycle's executor, one call at a
// time; snapshot() is thread-safe and never blocks.
#ifndef STRATA_SERVING_LIFECYCLE_MODEL_LIFECYCLE_H_
#define STRATA_SERVING_LIFECYCLE_MODEL_LIFECYCLE_H_

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "serving/lifecycle/client_text.h"
#include "serving/lifecycle/drain_list.h"
#include "serving/lifecycle/model_loader.h"
#include "serving/lifecycle/model_snapshot.h"
#include "serving/lifecycle/model_versions.h"
#include "serving/lifecycle/time_source.h"
#include "serving/server_metrics.h"

namespace strata::serving {

// What the lifecycles of all models share; owned by ModelManager, it
// outlives them.
struct LifecycleContext {
  const ModelLoader& loader;
  ServerMetrics& metrics;
  DrainList& drain;
  TimeSource& time;
  const ClientText& client_text;
  // How long an unload waits for in-flight requests before giving up.
  std::chrono::milliseconds drain_timeout;
};

class ModelLifecycle {
 public:
  ModelLifecycle(std::string name, std::filesystem::path dir, const LifecycleContext& context);

  const std::string& name() const { return state_.name; }

  // What readers see (null before the first Sync). Thread-safe.
  std::shared_ptr<const ModelSnapshot> snapshot() const { return snapshot_.load(); }

  // Brings the served versions in line with the config and the disk;
  // `force_retry` retries versions that failed before.
  void Sync(bool force_retry);
  // The model left the repository: every version drains.
  void Remove();
  // At shutdown: readers see nothing more, every version drains.
  void Close();

  // Control operations; the result is a human-readable message.
  absl::StatusOr<std::string> Load();
  absl::StatusOr<std::string> Unload();
  absl::StatusOr<std::string> SetLabel(const std::string& label, int64_t version);
  absl::StatusOr<std::string> SetDefault(int64_t version);
  absl::StatusOr<std::string> Rollback();

 private:
  bool SyncConfig();
  void LoadAspired(std::vector<int64_t>& aspired, bool force_retry, bool config_changed);
  void UnloadFirst(const std::vector<int64_t>& aspired, const std::set<int64_t>& reload,
                   int64_t loading);
  bool LoadVersion(int64_t version);
  void UnloadVersion(int64_t version);
  void RetireVersions(const std::vector<int64_t>& aspired);
  std::string KeptReason(int64_t version) const;
  void Publish();
  absl::Status CheckOnDisk(int64_t version) const;

  const LifecycleContext& context_;
  ModelVersions state_;
  std::atomic<std::shared_ptr<const ModelSnapshot>> snapshot_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_MODEL_LIFECYCLE_H_
