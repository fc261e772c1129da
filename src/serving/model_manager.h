// ModelManager owns every model version the server serves and their life:
// it scans the repository (at start and then every poll interval), loads the
// versions each model's version policy asks for on its own lifecycle thread,
// warms them up, and only then swaps them in. Readers see an immutable
// snapshot per model through an atomic pointer, so they never block; a
// version taken out of service finishes its in-flight requests and is then
// unloaded on the lifecycle thread, its memory returned to the system.
// While no version the policy asks for is ready, the default version keeps
// serving as the last known good, even when its directory has gone away,
// until a ready replacement exists (its status says so). Control
// operations (load, unload, labels, default, rollback) run on the same
// thread, one at a time.
//
// What clients see of a failure (statuses, reasons, control results) names
// paths relative to the repository (models/<name>/<version>/...) and leaves
// the backend library's own error text out; the log has both in full.
// Thread-safe.
#ifndef STRATA_SERVING_MODEL_MANAGER_H_
#define STRATA_SERVING_MODEL_MANAGER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/backend_registry.h"
#include "serving/model_repository.h"
#include "serving/server_metrics.h"
#include "serving/warmup.h"

namespace strata::serving {

struct ModelManagerOptions {
  std::filesystem::path repository;  // holds models/<name>/...
  // How often the repository is scanned for new versions and changed
  // configs; zero disables watching (control calls still work).
  std::chrono::milliseconds poll_interval{2000};
  WarmupReader warmup_reader;
  // How long an unload waits for in-flight requests before giving up.
  std::chrono::milliseconds drain_timeout{30000};
};

// One line of the repository index.
struct VersionStatus {
  std::string model;
  std::string version;  // empty for a model-level problem
  std::string state;    // READY, UNAVAILABLE
  std::string reason;   // why not ready; for a ready version, a note (last known good)
};

class ModelManager {
 public:
  // Loads the repository once (synchronously) and starts watching it.
  static absl::StatusOr<std::unique_ptr<ModelManager>> Create(
      ModelManagerOptions options, const runtime::BackendRegistry& backends,
      ServerMetrics& metrics);
  ~ModelManager();

  // The version `version` of `name`: a number, a label, or empty for the
  // default version. A model with no ready version yields its not-ready
  // view (model == nullptr, with the reason). NOT_FOUND otherwise.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Find(std::string_view name,
                                                          std::string_view version) const;

  // One entry per model: its default version, or its not-ready view.
  std::vector<std::shared_ptr<const ServedModel>> List() const;

  // Every ready version of every model.
  std::vector<std::shared_ptr<const ServedModel>> ReadyVersions() const;

  std::vector<VersionStatus> Index() const;

  // Control operations. `done` gets a human-readable result, on the
  // lifecycle thread.
  using ControlCallback = std::function<void(absl::StatusOr<std::string>)>;
  // Re-reads the model from disk and loads what its policy asks for,
  // retrying versions that failed before.
  void Load(std::string name, ControlCallback done);
  // Unloads every version (until Load) and waits for them to drain.
  void Unload(std::string name, ControlCallback done);
  // Points `label` at `version` (loading it if needed); version 0 removes it.
  void SetLabel(std::string name, std::string label, int64_t version, ControlCallback done);
  // Pins unversioned calls to `version`; 0 follows the newest ready again.
  void SetDefault(std::string name, int64_t version, ControlCallback done);
  // Makes the previous default version (the last known good) the default
  // again, pinned, loading it if needed.
  void Rollback(std::string name, ControlCallback done);

  // Runs one repository scan now and waits for it (tests, `index` calls).
  void SyncNow();

  struct ModelState;  // lifecycle-thread state of one model

 private:
  ModelManager(ModelManagerOptions options, const runtime::BackendRegistry& backends,
               ServerMetrics& metrics);

  using ModelMap = std::map<std::string, std::shared_ptr<ModelState>, std::less<>>;

  void Post(std::function<void()> task);
  void RunControl(std::string name, ControlCallback done,
                  std::function<absl::StatusOr<std::string>(ModelState&)> op);
  void LifecycleLoop();
  void SyncAll(bool force_retry);
  void SyncModel(ModelState& state, bool force_retry);
  bool SyncConfig(ModelState& state);
  bool LoadVersion(ModelState& state, int64_t version);
  void UnloadVersion(ModelState& state, int64_t version);
  void RetireVersions(ModelState& state, const std::vector<int64_t>& aspired);
  std::string KeptReason(const ModelState& state, int64_t version) const;
  // `text` as clients may see it: the repository's own path taken out of
  // every path in it (see RepositoryPrefixes()).
  std::string ClientText(std::string_view text) const;
  void Publish(ModelState& state);
  void ReapDrained();
  void WaitForDrain();
  std::shared_ptr<const ModelMap> Models() const { return models_.load(); }

  const ModelManagerOptions options_;
  // The repository's path as given, absolute and canonical, each ending in
  // '/', longest first: what ClientText() removes.
  const std::vector<std::string> repository_prefixes_;
  const runtime::BackendRegistry& backends_;
  ServerMetrics& metrics_;
  std::atomic<std::shared_ptr<const ModelMap>> models_;

  struct Draining;
  std::vector<Draining> draining_;  // lifecycle thread only

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  std::thread lifecycle_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_MODEL_MANAGER_H_
