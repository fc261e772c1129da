#include "serving/lifecycle/model_manager.h"

#include <charconv>
#include <future>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace fs = std::filesystem;

namespace {

std::optional<int64_t> ParseVersion(std::string_view text) {
  int64_t version = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (err != std::errc() || end != text.data() + text.size() || version <= 0) {
    return std::nullopt;
  }
  return version;
}

// How often the executor wakes while versions are draining.
constexpr std::chrono::milliseconds kReapInterval{20};

}  // namespace

ModelManager::ModelManager(ModelManagerOptions options, const runtime::BackendRegistry& backends,
                           ServerMetrics& metrics)
    : options_(std::move(options)),
      time_(options_.time != nullptr ? *options_.time : RealTimeSource()),
      loader_(backends, options_.warmup_reader, options_.features, options_.artifact_verifier),
      client_text_(options_.repository),
      drain_(time_),
      context_{loader_, metrics, drain_, time_, client_text_, options_.drain_timeout},
      watcher_(options_.repository, options_.poll_interval),
      executor_(std::move(options_.executor)) {
  if (executor_ == nullptr) executor_ = std::make_unique<ThreadExecutor>();
  models_.store(std::make_shared<const ModelMap>());
}

absl::StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(
    ModelManagerOptions options, const runtime::BackendRegistry& backends, ServerMetrics& metrics) {
  const fs::path models_dir = options.repository / "models";
  std::error_code ec;
  if (!fs::is_directory(models_dir, ec)) {
    return absl::NotFoundError(
        fmt::format("model repository {} has no 'models' directory; expected "
                    "{}/models/<name>/config.yaml",
                    options.repository.string(), options.repository.string()));
  }
  std::unique_ptr<ModelManager> manager(new ModelManager(std::move(options), backends, metrics));
  manager->SyncAll(false);
  manager->watcher_.Scanned(manager->time_.Now());
  manager->executor_->Start([m = manager.get()] { return m->Tick(); });
  return manager;
}

ModelManager::~ModelManager() {
  executor_->Stop();
  for (const auto& [name, lifecycle] : *Models()) lifecycle->Close();
  models_.store(std::make_shared<const ModelMap>());
  drain_.WaitFor(options_.drain_timeout);
}

// ---- readers -----------------------------------------------------------

absl::StatusOr<std::shared_ptr<const ServedModel>> ModelManager::Find(
    std::string_view name, std::string_view version) const {
  const std::shared_ptr<const ModelMap> models = Models();
  auto it = models->find(name);
  const std::shared_ptr<const ModelSnapshot> snap =
      it == models->end() ? nullptr : it->second->snapshot();
  if (!snap) {
    return absl::NotFoundError(fmt::format("Request for unknown model: '{}' is not found", name));
  }
  if (snap->ready.empty()) return snap->unavailable;
  if (version.empty()) return snap->ready.at(snap->default_version);
  std::optional<int64_t> number = ParseVersion(version);
  if (!number) {
    auto label = snap->labels.find(version);
    if (label != snap->labels.end()) number = label->second;
  }
  if (number) {
    auto found = snap->ready.find(*number);
    if (found != snap->ready.end()) return found->second;
  }
  std::vector<std::string> served;
  for (const auto& [v, model] : snap->ready) served.push_back(std::to_string(v));
  for (const auto& [label, v] : snap->labels) served.push_back(fmt::format("{}={}", label, v));
  return absl::NotFoundError(
      fmt::format("Request for unknown model: '{}' version '{}' is not found (served versions: {})",
                  name, version, fmt::join(served, ", ")));
}

std::vector<std::shared_ptr<const ServedModel>> ModelManager::List() const {
  std::vector<std::shared_ptr<const ServedModel>> list;
  for (const auto& [name, lifecycle] : *Models()) {
    const std::shared_ptr<const ModelSnapshot> snap = lifecycle->snapshot();
    if (!snap) continue;
    list.push_back(snap->ready.empty() ? snap->unavailable : snap->ready.at(snap->default_version));
  }
  return list;
}

std::vector<std::shared_ptr<const ServedModel>> ModelManager::ReadyVersions() const {
  std::vector<std::shared_ptr<const ServedModel>> list;
  for (const auto& [name, lifecycle] : *Models()) {
    const std::shared_ptr<const ModelSnapshot> snap = lifecycle->snapshot();
    if (!snap) continue;
    for (const auto& [version, served] : snap->ready) list.push_back(served);
  }
  return list;
}

std::vector<VersionStatus> ModelManager::Index() const {
  std::vector<VersionStatus> index;
  for (const auto& [name, lifecycle] : *Models()) {
    const std::shared_ptr<const ModelSnapshot> snap = lifecycle->snapshot();
    if (snap) index.insert(index.end(), snap->statuses.begin(), snap->statuses.end());
  }
  return index;
}

// ---- the executor's work ---------------------------------------------------

void ModelManager::SyncNow() {
  std::promise<void> done;
  executor_->Post([&] {
    SyncAll(false);
    done.set_value();
  });
  done.get_future().wait();
}

std::optional<std::chrono::steady_clock::time_point> ModelManager::Tick() {
  if (watcher_.Due(time_.Now())) {
    SyncAll(false);
    watcher_.Scanned(time_.Now());
  }
  drain_.Reap();
  std::optional<std::chrono::steady_clock::time_point> next = watcher_.NextScan();
  if (!drain_.empty()) {
    const auto soon = time_.Now() + kReapInterval;
    next = next ? std::min(*next, soon) : soon;
  }
  return next;
}

void ModelManager::SyncAll(bool force_retry) {
  absl::StatusOr<std::set<std::string>> names = watcher_.ListModels();
  if (!names.ok()) {
    spdlog::error("{}; keeping what is loaded", std::string(names.status().message()));
    return;
  }
  std::shared_ptr<const ModelMap> current = Models();
  bool changed = names->size() != current->size();
  auto next = std::make_shared<ModelMap>();
  for (const std::string& name : *names) {
    auto it = current->find(name);
    if (it != current->end()) {
      (*next)[name] = it->second;
    } else {
      (*next)[name] =
          std::make_shared<ModelLifecycle>(name, watcher_.models_dir() / name, context_);
      changed = true;
    }
  }
  for (const auto& [name, lifecycle] : *next) lifecycle->Sync(force_retry);
  for (const auto& [name, lifecycle] : *current) {
    if (!next->contains(name)) lifecycle->Remove();
  }
  if (changed) models_.store(std::shared_ptr<const ModelMap>(std::move(next)));
}

// ---- control operations ----------------------------------------------------

void ModelManager::RunControl(std::string name, ControlCallback done, Operation op) {
  executor_->Post([this, name = std::move(name), done = std::move(done), op = std::move(op)] {
    SyncAll(false);  // pick up a model that appeared since the last scan
    const std::shared_ptr<const ModelMap> models = Models();
    auto it = models->find(name);
    if (it == models->end()) {
      return done(
          absl::NotFoundError(fmt::format("Request for unknown model: '{}' is not found", name)));
    }
    done(op(*it->second));
  });
}

void ModelManager::Load(std::string name, ControlCallback done) {
  RunControl(std::move(name), std::move(done), [](ModelLifecycle& m) { return m.Load(); });
}

void ModelManager::Unload(std::string name, ControlCallback done) {
  RunControl(std::move(name), std::move(done), [](ModelLifecycle& m) { return m.Unload(); });
}

void ModelManager::SetLabel(std::string name, std::string label, int64_t version,
                            ControlCallback done) {
  RunControl(std::move(name), std::move(done),
             [label = std::move(label), version](ModelLifecycle& m) {
               return m.SetLabel(label, version);
             });
}

void ModelManager::SetDefault(std::string name, int64_t version, ControlCallback done) {
  RunControl(std::move(name), std::move(done),
             [version](ModelLifecycle& m) { return m.SetDefault(version); });
}

void ModelManager::Rollback(std::string name, ControlCallback done) {
  RunControl(std::move(name), std::move(done), [](ModelLifecycle& m) { return m.Rollback(); });
}

}  // namespace strata::serving
