#include "serving/model_manager.h"

#include <malloc.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/dynamic_batcher.h"
#include "serving/model_config_parser.h"
#include "serving/version_policy.h"
#include "serving/version_scanner.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::nanoseconds;

namespace {

// What readers see of one model; immutable once published.
struct ModelSnapshot {
  std::map<int64_t, std::shared_ptr<const ServedModel>> ready;
  std::shared_ptr<const ServedModel> unavailable;  // when `ready` is empty
  std::map<std::string, int64_t, std::less<>> labels;
  int64_t default_version = 0;
  std::vector<VersionStatus> statuses;
};

// A loaded version: its queue in front of the backend's model, and metrics.
struct LoadedVersion {
  std::shared_ptr<ModelMetrics> metrics;
  std::shared_ptr<runtime::Model> model;
};

std::optional<int64_t> ParseVersion(std::string_view text) {
  int64_t version = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (err != std::errc() || end != text.data() + text.size() || version <= 0) {
    return std::nullopt;
  }
  return version;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::shared_ptr<runtime::Model> QueueInFront(std::unique_ptr<runtime::Model> model,
                                             const runtime::ModelConfig& config,
                                             ModelMetrics* m) {
  const runtime::SchedulingConfig& scheduling = config.scheduling;
  DynamicBatcherOptions options;
  options.queue.batching = scheduling.batching;
  options.queue.max_batch_size = std::max<int64_t>(1, config.max_batch_size);
  options.queue.max_queue_delay = std::chrono::microseconds(scheduling.max_queue_delay_us);
  options.queue.preferred_batch_sizes = scheduling.preferred_batch_sizes;
  options.queue.max_queue_size = static_cast<size_t>(scheduling.max_queue_size);
  options.instances = scheduling.instances;
  DynamicBatcherHooks hooks;
  m->SetCapacity(options.instances, options.queue.max_queue_size);
  hooks.on_queue_depth = [m](size_t depth) { m->SetQueueDepth(depth); };
  hooks.on_in_flight = [m](int delta) { m->AddInFlight(delta); };
  hooks.on_running = [m](int delta) { m->AddRunning(delta); };
  hooks.on_dequeue = [m](Clock::duration waited) {
    m->RecordQueueWait(duration_cast<nanoseconds>(waited));
  };
  hooks.on_batch = [m](const BatchPhases& b) {
    m->RecordBatch({b.rows, duration_cast<nanoseconds>(b.input), duration_cast<nanoseconds>(b.infer),
                    duration_cast<nanoseconds>(b.output)});
  };
  return std::make_shared<DynamicBatcher>(std::move(model), std::move(options),
                                          std::move(hooks));
}

}  // namespace

struct ModelManager::ModelState {
  std::string name;
  fs::path dir;
  std::atomic<std::shared_ptr<const ModelSnapshot>> snapshot;

  // Everything below belongs to the lifecycle thread.
  std::string config_text;
  std::shared_ptr<const runtime::ModelConfig> config;
  std::string config_error;
  std::string platform;
  VersionScanner scanner;
  std::vector<int64_t> complete;
  std::map<int64_t, LoadedVersion> loaded;
  std::map<int64_t, std::weak_ptr<ModelMetrics>> metrics;  // reused on reload
  std::map<int64_t, std::pair<std::string, std::string>> failed;  // fingerprint, reason
  std::map<std::string, int64_t, std::less<>> label_overrides;    // 0 removes
  int64_t pinned = -1;  // -1: config's default_version; 0: newest; >0: pinned
  int64_t current_default = 0;
  std::vector<int64_t> default_history;
  bool unloaded = false;
  std::string transient_reason;

  std::map<std::string, int64_t, std::less<>> Labels() const {
    std::map<std::string, int64_t, std::less<>> labels;
    if (config) labels = config->lifecycle.labels;
    for (const auto& [label, version] : label_overrides) {
      if (version == 0) {
        labels.erase(label);
      } else {
        labels[label] = version;
      }
    }
    return labels;
  }

  int64_t PinnedVersion() const {
    if (pinned >= 0) return pinned;
    return config ? config->lifecycle.default_version : 0;
  }
};

struct ModelManager::Draining {
  std::string what;
  LoadedVersion version;
};

ModelManager::ModelManager(ModelManagerOptions options, const runtime::BackendRegistry& backends,
                           ServerMetrics& metrics)
    : options_(std::move(options)), backends_(backends), metrics_(metrics) {
  models_.store(std::make_shared<const ModelMap>());
}

absl::StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(
    ModelManagerOptions options, const runtime::BackendRegistry& backends,
    ServerMetrics& metrics) {
  const fs::path models_dir = options.repository / "models";
  std::error_code ec;
  if (!fs::is_directory(models_dir, ec)) {
    return absl::NotFoundError(fmt::format(
        "model repository {} has no 'models' directory; expected "
        "{}/models/<name>/config.yaml",
        options.repository.string(), options.repository.string()));
  }
  std::unique_ptr<ModelManager> manager(new ModelManager(std::move(options), backends, metrics));
  manager->SyncAll(false);
  manager->lifecycle_ = std::thread([m = manager.get()] { m->LifecycleLoop(); });
  return manager;
}

ModelManager::~ModelManager() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (lifecycle_.joinable()) lifecycle_.join();
  for (const auto& [name, state] : *Models()) {
    state->snapshot.store(nullptr);
    for (auto& [version, loaded] : state->loaded) {
      draining_.push_back({fmt::format("{} version {}", name, version), std::move(loaded)});
    }
    state->loaded.clear();
  }
  models_.store(std::make_shared<const ModelMap>());
  WaitForDrain();
}

// ---- readers -----------------------------------------------------------

absl::StatusOr<std::shared_ptr<const ServedModel>> ModelManager::Find(
    std::string_view name, std::string_view version) const {
  const std::shared_ptr<const ModelMap> models = Models();
  auto it = models->find(name);
  const std::shared_ptr<const ModelSnapshot> snap =
      it == models->end() ? nullptr : it->second->snapshot.load();
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
  return absl::NotFoundError(fmt::format(
      "Request for unknown model: '{}' version '{}' is not found (served versions: {})", name,
      version, fmt::join(served, ", ")));
}

std::vector<std::shared_ptr<const ServedModel>> ModelManager::List() const {
  std::vector<std::shared_ptr<const ServedModel>> list;
  for (const auto& [name, state] : *Models()) {
    const std::shared_ptr<const ModelSnapshot> snap = state->snapshot.load();
    if (!snap) continue;
    list.push_back(snap->ready.empty() ? snap->unavailable : snap->ready.at(snap->default_version));
  }
  return list;
}

std::vector<std::shared_ptr<const ServedModel>> ModelManager::ReadyVersions() const {
  std::vector<std::shared_ptr<const ServedModel>> list;
  for (const auto& [name, state] : *Models()) {
    const std::shared_ptr<const ModelSnapshot> snap = state->snapshot.load();
    if (!snap) continue;
    for (const auto& [version, served] : snap->ready) list.push_back(served);
  }
  return list;
}

std::vector<VersionStatus> ModelManager::Index() const {
  std::vector<VersionStatus> index;
  for (const auto& [name, state] : *Models()) {
    const std::shared_ptr<const ModelSnapshot> snap = state->snapshot.load();
    if (snap) index.insert(index.end(), snap->statuses.begin(), snap->statuses.end());
  }
  return index;
}

// ---- the lifecycle thread ----------------------------------------------

void ModelManager::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_all();
}

void ModelManager::SyncNow() {
  std::promise<void> done;
  Post([&] {
    SyncAll(false);
    done.set_value();
  });
  done.get_future().wait();
}

void ModelManager::LifecycleLoop() {
  auto next_poll = std::chrono::steady_clock::now() + options_.poll_interval;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto wake_at = options_.poll_interval.count() > 0
                       ? next_poll
                       : std::chrono::steady_clock::now() + std::chrono::hours(1);
    if (!draining_.empty()) {
      wake_at = std::min(wake_at, std::chrono::steady_clock::now() +
                                      std::chrono::milliseconds(20));
    }
    wake_.wait_until(lock, wake_at, [this] { return stopping_ || !tasks_.empty(); });
    if (stopping_) break;
    std::deque<std::function<void()>> tasks;
    tasks.swap(tasks_);
    lock.unlock();
    for (auto& task : tasks) task();
    if (options_.poll_interval.count() > 0 && std::chrono::steady_clock::now() >= next_poll) {
      SyncAll(false);
      next_poll = std::chrono::steady_clock::now() + options_.poll_interval;
    }
    ReapDrained();
    lock.lock();
  }
}

void ModelManager::SyncAll(bool force_retry) {
  const fs::path models_dir = options_.repository / "models";
  std::set<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(models_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && !name.starts_with(".")) names.insert(name);
  }
  if (ec) {
    spdlog::error("cannot scan {}: {}; keeping what is loaded", models_dir.string(),
                  ec.message());
    return;
  }
  std::shared_ptr<const ModelMap> current = Models();
  bool changed = names.size() != current->size();
  auto next = std::make_shared<ModelMap>();
  for (const std::string& name : names) {
    auto it = current->find(name);
    if (it != current->end()) {
      (*next)[name] = it->second;
    } else {
      auto state = std::make_shared<ModelState>();
      state->name = name;
      state->dir = models_dir / name;
      (*next)[name] = state;
      changed = true;
    }
  }
  for (const auto& [name, state] : *next) SyncModel(*state, force_retry);
  for (const auto& [name, state] : *current) {
    if (next->contains(name)) continue;
    spdlog::info("model '{}' was removed from the repository; unloading it", name);
    state->unloaded = true;
    for (auto& [version, loaded] : state->loaded) {
      draining_.push_back({fmt::format("{} version {}", name, version), std::move(loaded)});
    }
    state->loaded.clear();
  }
  if (changed) models_.store(std::shared_ptr<const ModelMap>(std::move(next)));
}

void ModelManager::SyncModel(ModelState& state, bool force_retry) {
  // 1. The config: re-parsed whenever its text changes.
  bool config_changed = false;
  const std::string text = ReadFile(state.dir / "config.yaml");
  if (text != state.config_text || !state.config) {
    const bool first = state.config_text.empty() && !state.config;
    state.config_text = text;
    absl::StatusOr<runtime::ModelConfig> parsed =
        LoadModelConfig(state.dir / "config.yaml", state.name);
    const runtime::Backend* backend = parsed.ok() ? backends_.Find(parsed->backend) : nullptr;
    if (!parsed.ok()) {
      state.config_error = std::string(parsed.status().message());
    } else if (backend == nullptr) {
      state.config_error = fmt::format(
          "unknown backend '{}' in config.yaml; available backends: {}", parsed->backend,
          fmt::join(backends_.Names(), ", "));
    } else {
      config_changed = !first && state.config != nullptr;
      state.config = std::make_shared<const runtime::ModelConfig>(*std::move(parsed));
      state.platform = backend->platform;
      state.config_error.clear();
    }
    if (!state.config_error.empty()) {
      spdlog::error("model '{}': {}{}", state.name, state.config_error,
                    state.loaded.empty() ? "" : " (still serving with the previous config)");
    } else if (config_changed) {
      spdlog::info("model '{}': config.yaml changed; reloading its versions", state.name);
    }
  }
  if (!state.config) return Publish(state);

  // 2. Which versions should serve.
  const runtime::LifecycleConfig& lifecycle = state.config->lifecycle;
  state.complete = state.scanner.CompleteVersions(state.dir, lifecycle.version_marker);
  std::set<int64_t> keep;
  for (const auto& [label, version] : state.Labels()) keep.insert(version);
  if (state.PinnedVersion() > 0) keep.insert(state.PinnedVersion());
  // Versions that failed before are not candidates until their directory
  // changes (or a control call retries them), so the policy falls back to
  // the newest version that can serve.
  std::vector<int64_t> candidates;
  for (int64_t v : state.complete) {
    auto failed = state.failed.find(v);
    const bool failed_before = failed != state.failed.end() &&
                               failed->second.first == state.scanner.Fingerprint(v);
    if (!failed_before || force_retry) candidates.push_back(v);
  }
  std::set<int64_t> reload;  // loaded versions to load again (config changed)
  if (config_changed) {
    for (const auto& [v, loaded] : state.loaded) reload.insert(v);
  }

  std::vector<int64_t> aspired;
  for (size_t round = 0; round <= state.complete.size(); ++round) {
    aspired = state.unloaded ? std::vector<int64_t>{}
                             : AspiredVersions(lifecycle, candidates, keep);
    std::vector<int64_t> to_load;
    for (int64_t v : aspired) {
      if (!state.loaded.contains(v) || reload.contains(v)) to_load.push_back(v);
    }
    if (to_load.empty()) break;
    // Resource-preserving: free the memory first; the model is unavailable
    // until the new version is ready.
    if (!lifecycle.availability_preserving) {
      std::vector<int64_t> victims;
      for (const auto& [v, loaded] : state.loaded) {
        if (!std::binary_search(aspired.begin(), aspired.end(), v) || reload.contains(v)) {
          victims.push_back(v);
        }
      }
      if (!victims.empty()) {
        state.transient_reason = fmt::format(
            "loading version {} (resource-preserving swap: the previous version was "
            "unloaded first); retry shortly",
            to_load.back());
        for (int64_t v : victims) UnloadVersion(state, v);
        Publish(state);
        WaitForDrain();
      }
    }
    // Load, warm up, swap in, one version at a time; a failure drops the
    // version from the candidates and the policy is asked again.
    for (int64_t v : to_load) {
      reload.erase(v);
      if (LoadVersion(state, v)) {
        Publish(state);
      } else {
        candidates.erase(std::remove(candidates.begin(), candidates.end(), v),
                         candidates.end());
      }
    }
  }
  state.transient_reason.clear();
  // Only now retire what is no longer aspired.
  std::vector<int64_t> to_unload;
  for (const auto& [v, loaded] : state.loaded) {
    if (!std::binary_search(aspired.begin(), aspired.end(), v)) to_unload.push_back(v);
  }
  for (int64_t v : to_unload) UnloadVersion(state, v);
  Publish(state);
}

bool ModelManager::LoadVersion(ModelState& state, int64_t version) {
  const runtime::ModelConfig& config = *state.config;
  const fs::path dir = state.dir / std::to_string(version);
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<runtime::Model>> model =
      backends_.Find(config.backend)->factory(config, dir);
  absl::Status status = model.status();
  if (status.ok()) {
    status = WarmUp(**model, config, dir, options_.warmup_reader);
  } else {
    status = absl::Status(status.code(), fmt::format("version {} failed to load: {}", version,
                                                     std::string(status.message())));
  }
  if (!status.ok()) {
    const std::string reason = std::string(status.message());
    spdlog::error("model '{}' version {} is not served: {}", state.name, version, reason);
    state.failed[version] = {state.scanner.Fingerprint(version), reason};
    metrics_.RecordLoad(state.name, false);
    return false;
  }
  std::shared_ptr<ModelMetrics> metrics = state.metrics[version].lock();
  if (!metrics) {
    metrics = metrics_.ForModel(state.name, std::to_string(version));
    state.metrics[version] = metrics;
  }
  LoadedVersion loaded{metrics, QueueInFront(*std::move(model), config, metrics.get())};
  if (auto old = state.loaded.find(version); old != state.loaded.end()) {
    draining_.push_back({fmt::format("{} version {} (replaced)", state.name, version),
                         std::move(old->second)});
  }
  state.loaded[version] = std::move(loaded);
  state.failed.erase(version);
  metrics_.RecordLoad(state.name, true);
  spdlog::info("model '{}' version {} ready ({}, loaded and warmed up in {} ms)", state.name,
               version, state.platform,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
  return true;
}

void ModelManager::UnloadVersion(ModelState& state, int64_t version) {
  auto it = state.loaded.find(version);
  if (it == state.loaded.end()) return;
  spdlog::info("model '{}' version {} leaves service; unloading after its in-flight requests",
               state.name, version);
  draining_.push_back({fmt::format("{} version {}", state.name, version), std::move(it->second)});
  state.loaded.erase(it);
}

void ModelManager::Publish(ModelState& state) {
  auto snap = std::make_shared<ModelSnapshot>();
  snap->labels = state.Labels();
  std::vector<int64_t> served;
  for (const auto& [v, loaded] : state.loaded) served.push_back(v);

  int64_t default_version = served.empty() ? 0 : served.back();
  if (const int64_t pinned = state.PinnedVersion(); pinned > 0 && state.loaded.contains(pinned)) {
    default_version = pinned;
  }
  if (default_version != state.current_default) {
    if (state.current_default != 0) state.default_history.push_back(state.current_default);
    if (default_version != 0) {
      spdlog::info("model '{}': version {} is now the default", state.name, default_version);
    }
    state.current_default = default_version;
  }
  snap->default_version = default_version;

  auto view = [&](int64_t version) {
    auto model = std::make_shared<ServedModel>();
    model->name = state.name;
    model->versions = served;
    model->version = version;
    if (state.config) model->config = *state.config;
    model->platform = state.platform;
    return model;
  };
  for (const auto& [v, loaded] : state.loaded) {
    std::shared_ptr<ServedModel> model = view(v);
    model->metrics = loaded.metrics;
    model->model = loaded.model;
    snap->ready[v] = std::move(model);
  }
  std::string reason = state.config_error;
  if (reason.empty()) reason = state.transient_reason;
  if (reason.empty() && state.unloaded) reason = "unloaded through the control API";
  if (reason.empty() && !state.failed.empty()) reason = state.failed.rbegin()->second.second;
  if (reason.empty()) {
    reason = fmt::format("no complete version directory (an integer-named directory such as {}/1)",
                         state.dir.string());
  }
  std::shared_ptr<ServedModel> unavailable = view(0);
  unavailable->versions.clear();
  unavailable->reason = reason;
  snap->unavailable = std::move(unavailable);

  if (!state.config_error.empty()) {
    snap->statuses.push_back({state.name, "", "UNAVAILABLE", state.config_error});
  }
  std::set<int64_t> versions(state.complete.begin(), state.complete.end());
  for (const auto& [v, loaded] : state.loaded) versions.insert(v);
  for (const auto& [v, failure] : state.failed) versions.insert(v);
  for (int64_t v : versions) {
    VersionStatus status{state.name, std::to_string(v), "UNAVAILABLE", ""};
    if (state.loaded.contains(v)) {
      status.state = "READY";
    } else if (auto f = state.failed.find(v); f != state.failed.end()) {
      status.reason = f->second.second;
    } else {
      status.reason = state.unloaded ? "unloaded through the control API"
                                     : "not selected by the version policy";
    }
    snap->statuses.push_back(std::move(status));
  }
  if (versions.empty() && state.config_error.empty()) {
    snap->statuses.push_back({state.name, "", "UNAVAILABLE", reason});
  }
  state.snapshot.store(std::shared_ptr<const ModelSnapshot>(std::move(snap)));
}

void ModelManager::ReapDrained() {
  bool freed = false;
  for (auto it = draining_.begin(); it != draining_.end();) {
    // Only this list still refers to the model: nothing is in flight on it.
    if (it->version.model.use_count() == 1) {
      it->version.model.reset();
      it->version.metrics.reset();
      spdlog::info("unloaded {}", it->what);
      it = draining_.erase(it);
      freed = true;
    } else {
      ++it;
    }
  }
  if (freed) malloc_trim(0);  // give the freed memory back to the system
}

void ModelManager::WaitForDrain() {
  const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  ReapDrained();
  while (!draining_.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ReapDrained();
  }
  for (const Draining& d : draining_) {
    spdlog::warn("{} still has requests in flight after {} ms; it will unload when they finish",
                 d.what, options_.drain_timeout.count());
  }
}

// ---- control operations --------------------------------------------------

void ModelManager::RunControl(std::string name, ControlCallback done,
                              std::function<absl::StatusOr<std::string>(ModelState&)> op) {
  Post([this, name = std::move(name), done = std::move(done), op = std::move(op)] {
    SyncAll(false);  // pick up a model that appeared since the last scan
    const std::shared_ptr<const ModelMap> models = Models();
    auto it = models->find(name);
    if (it == models->end()) {
      return done(absl::NotFoundError(
          fmt::format("Request for unknown model: '{}' is not found", name)));
    }
    done(op(*it->second));
  });
}

namespace {

std::string ReadyList(const std::map<int64_t, LoadedVersion>& loaded) {
  std::vector<int64_t> versions;
  for (const auto& [v, l] : loaded) versions.push_back(v);
  return fmt::format("{}", fmt::join(versions, ", "));
}

}  // namespace

void ModelManager::Load(std::string name, ControlCallback done) {
  RunControl(std::move(name), std::move(done), [this](ModelState& state) -> absl::StatusOr<std::string> {
    state.unloaded = false;
    SyncModel(state, true);
    if (state.loaded.empty()) {
      return absl::UnavailableError(fmt::format("model '{}' has no ready version: {}",
                                                state.name, state.snapshot.load()->unavailable->reason));
    }
    return fmt::format("model '{}' loaded; ready versions: {}", state.name, ReadyList(state.loaded));
  });
}

void ModelManager::Unload(std::string name, ControlCallback done) {
  RunControl(std::move(name), std::move(done), [this](ModelState& state) -> absl::StatusOr<std::string> {
    state.unloaded = true;
    SyncModel(state, false);
    WaitForDrain();
    return fmt::format("model '{}' unloaded", state.name);
  });
}

void ModelManager::SetLabel(std::string name, std::string label, int64_t version,
                            ControlCallback done) {
  RunControl(std::move(name), std::move(done),
             [this, label = std::move(label), version](ModelState& state) -> absl::StatusOr<std::string> {
               if (label.empty() || std::isdigit(static_cast<unsigned char>(label[0]))) {
                 return absl::InvalidArgumentError(fmt::format(
                     "label '{}' must start with a letter (digits name versions)", label));
               }
               if (version > 0 && !std::binary_search(state.complete.begin(),
                                                      state.complete.end(), version)) {
                 return absl::NotFoundError(fmt::format(
                     "model '{}' has no complete version {} on disk", state.name, version));
               }
               state.label_overrides[label] = version;
               SyncModel(state, false);
               if (version == 0) return fmt::format("label '{}' removed", label);
               if (!state.loaded.contains(version)) {
                 return absl::FailedPreconditionError(fmt::format(
                     "label '{}' points to version {}, which failed to load: {}", label,
                     version, state.failed.count(version) ? state.failed[version].second : "unknown"));
               }
               return fmt::format("label '{}' now points to version {}", label, version);
             });
}

void ModelManager::SetDefault(std::string name, int64_t version, ControlCallback done) {
  RunControl(std::move(name), std::move(done),
             [this, version](ModelState& state) -> absl::StatusOr<std::string> {
               if (version > 0 && !std::binary_search(state.complete.begin(),
                                                      state.complete.end(), version)) {
                 return absl::NotFoundError(fmt::format(
                     "model '{}' has no complete version {} on disk", state.name, version));
               }
               state.pinned = version;
               SyncModel(state, version > 0);
               if (version > 0 && state.current_default != version) {
                 return absl::FailedPreconditionError(fmt::format(
                     "version {} did not become ready; the default stays {}", version,
                     state.current_default));
               }
               return version > 0
                          ? fmt::format("version {} is pinned as the default", version)
                          : fmt::format("the default follows the newest ready version ({})",
                                        state.current_default);
             });
}

void ModelManager::Rollback(std::string name, ControlCallback done) {
  RunControl(std::move(name), std::move(done), [this](ModelState& state) -> absl::StatusOr<std::string> {
    const int64_t from = state.current_default;
    int64_t target = 0;
    for (auto it = state.default_history.rbegin(); it != state.default_history.rend(); ++it) {
      if (*it != from && std::binary_search(state.complete.begin(), state.complete.end(), *it) &&
          !state.failed.contains(*it)) {
        target = *it;
        break;
      }
    }
    if (target == 0) {
      return absl::FailedPreconditionError(fmt::format(
          "model '{}' has no previous version to roll back to (default is {})", state.name, from));
    }
    state.pinned = target;
    SyncModel(state, false);
    if (state.current_default != target) {
      return absl::UnavailableError(fmt::format(
          "rolling back model '{}' to version {} failed; the default stays {}", state.name,
          target, state.current_default));
    }
    spdlog::warn("model '{}' rolled back from version {} to version {} (pinned)", state.name,
                 from, target);
    return fmt::format(
        "model '{}' rolled back from version {} to version {}; it is pinned until the default "
        "is changed",
        state.name, from, target);
  });
}

}  // namespace strata::serving
