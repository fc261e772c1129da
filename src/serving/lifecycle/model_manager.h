// ModelManager serves every model of a repository: it composes one
// ModelLifecycle per model, the RepositoryWatcher that finds models and
// says when to scan again, the ModelLoader they load through, and the
// DrainList of versions on their way out. All lifecycle work (scans, loads,
// control operations) runs on the Executor it is handed, one task at a
// time; time comes from its TimeSource, so tests drive it without threads
// or sleeping (serving/testing/fake_lifecycle.h).
//
// Readers see an immutable snapshot per model through an atomic pointer,
// so they never block. While no version the policy asks for is ready, the
// default version keeps serving as the last known good, even when its
// directory has gone away, until a ready replacement exists.
//
// What clients see of a failure (statuses, reasons, control results) names
// paths relative to the repository (models/<name>/<version>/...) and leaves
// the backend library's own error text out; the log has both in full.
// Thread-safe.
#ifndef STRATA_SERVING_LIFECYCLE_MODEL_MANAGER_H_
#define STRATA_SERVING_LIFECYCLE_MODEL_MANAGER_H_

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/backend_registry.h"
#include "serving/lifecycle/client_text.h"
#include "serving/lifecycle/drain_list.h"
#include "serving/lifecycle/executor.h"
#include "serving/lifecycle/model_control.h"
#include "serving/lifecycle/model_lifecycle.h"
#include "serving/lifecycle/model_loader.h"
#include "serving/lifecycle/repository_watcher.h"
#include "serving/lifecycle/time_source.h"
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
  // What versions with a features.yaml are served with.
  FeatureServices features;
  // Checks every version's files before it loads; null: SHA256SUMS
  // checked when present, no signature required.
  std::shared_ptr<const store::ArtifactVerifier> artifact_verifier;
  // How long an unload waits for in-flight requests before giving up.
  std::chrono::milliseconds drain_timeout{30000};
  // Where the lifecycle work runs; null: a ThreadExecutor of its own.
  std::unique_ptr<Executor> executor;
  // What time it is; null: RealTimeSource(). Must outlive the manager.
  TimeSource* time = nullptr;
};

class ModelManager : public ModelControl {
 public:
  // Loads the repository once (synchronously) and starts watching it.
  // `backends` and `metrics` must outlive the manager.
  static absl::StatusOr<std::unique_ptr<ModelManager>> Create(
      ModelManagerOptions options, const runtime::BackendRegistry& backends,
      ServerMetrics& metrics);
  ~ModelManager() override;

  // The version `version` of `name`: a number, a label, or empty for the
  // default version. A model with no ready version yields its not-ready
  // view (model == nullptr, with the reason). NOT_FOUND otherwise.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Find(std::string_view name,
                                                          std::string_view version) const;

  // One entry per model: its default version, or its not-ready view.
  std::vector<std::shared_ptr<const ServedModel>> List() const;

  // Every ready version of every model.
  std::vector<std::shared_ptr<const ServedModel>> ReadyVersions() const;

  // ModelControl.
  std::vector<VersionStatus> Index() const override;
  void SyncNow() override;
  void Load(std::string name, ControlCallback done) override;
  void Unload(std::string name, ControlCallback done) override;
  void SetLabel(std::string name, std::string label, int64_t version,
                ControlCallback done) override;
  void SetDefault(std::string name, int64_t version, ControlCallback done) override;
  void Rollback(std::string name, ControlCallback done) override;

 private:
  using ModelMap = std::map<std::string, std::shared_ptr<ModelLifecycle>, std::less<>>;
  using Operation = std::function<absl::StatusOr<std::string>(ModelLifecycle&)>;

  ModelManager(ModelManagerOptions options, const runtime::BackendRegistry& backends,
               ServerMetrics& metrics);

  void RunControl(std::string name, ControlCallback done, Operation op);
  // The executor's periodic work: a scan when due, reaping drained versions.
  std::optional<std::chrono::steady_clock::time_point> Tick();
  void SyncAll(bool force_retry);
  std::shared_ptr<const ModelMap> Models() const { return models_.load(); }

  ModelManagerOptions options_;
  TimeSource& time_;
  const ModelLoader loader_;
  const ClientText client_text_;
  DrainList drain_;  // executor only
  const LifecycleContext context_;
  RepositoryWatcher watcher_;  // executor only
  std::atomic<std::shared_ptr<const ModelMap>> models_;
  std::unique_ptr<Executor> executor_;  // stopped first
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_MODEL_MANAGER_H_
