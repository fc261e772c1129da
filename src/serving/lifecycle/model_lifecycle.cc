#include "serving/lifecycle/model_lifecycle.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/library_error.h"
#include "serving/inline_first_model.h"
#include "serving/version_policy.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::nanoseconds;

namespace {

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The model's batcher (its queue in front of the backend's model) behind
// the inline path for a free, fast, unbatched model; reporting to the
// version's metrics.
std::shared_ptr<runtime::Model> QueueInFront(std::unique_ptr<runtime::Model> model,
                                             const runtime::ModelConfig& config, ModelMetrics* m) {
  const runtime::SchedulingConfig& scheduling = config.scheduling;
  DynamicBatcherOptions options;
  options.queue.batching = scheduling.batching;
  options.queue.max_batch_size = std::max<int64_t>(1, config.max_batch_size);
  options.queue.max_queue_delay = std::chrono::microseconds(scheduling.max_queue_delay_us);
  options.queue.preferred_batch_sizes = scheduling.preferred_batch_sizes;
  options.queue.max_queue_size = static_cast<size_t>(scheduling.max_queue_size);
  options.instances = scheduling.instances;
  if (scheduling.batching && scheduling.latency_objective_us > 0) {
    options.adaptive = AdaptiveBatchOptions{
        .latency_objective = std::chrono::microseconds(scheduling.latency_objective_us),
        .max_batch_size = options.queue.max_batch_size};
  }
  DynamicBatcherHooks hooks;
  m->SetCapacity(options.instances, options.queue.max_queue_size);
  hooks.on_queue_depth = [m](size_t depth) { m->SetQueueDepth(depth); };
  hooks.on_in_flight = [m](int delta) { m->AddInFlight(delta); };
  hooks.on_running = [m](int delta) { m->AddRunning(delta); };
  hooks.on_dequeue = [m](Clock::duration waited) {
    m->RecordQueueWait(duration_cast<nanoseconds>(waited));
  };
  hooks.on_batch = [m](const BatchPhases& b) {
    m->RecordBatch({b.rows, duration_cast<nanoseconds>(b.input),
                    duration_cast<nanoseconds>(b.infer), duration_cast<nanoseconds>(b.output)});
  };
  hooks.on_limits = [m](const BatchLimits& limits) {
    m->SetBatchLimits(limits.max_batch_size, limits.max_queue_delay);
  };
  return std::make_shared<InlineFirstModel>(std::move(model), std::move(options), std::move(hooks));
}

std::string ReadyList(const std::map<int64_t, LoadedVersion>& loaded) {
  std::vector<int64_t> versions;
  for (const auto& [v, l] : loaded) versions.push_back(v);
  return fmt::format("{}", fmt::join(versions, ", "));
}

}  // namespace

ModelLifecycle::ModelLifecycle(std::string name, fs::path dir, const LifecycleContext& context)
    : context_(context) {
  state_.name = std::move(name);
  state_.dir = std::move(dir);
}

// Re-parses config.yaml whenever its text changes; true when a config in
// use was replaced (its versions load again).
bool ModelLifecycle::SyncConfig() {
  const std::string text = ReadFile(state_.dir / "config.yaml");
  if (text == state_.config_text && state_.config) return false;
  const bool first = state_.config_text.empty() && !state_.config;
  state_.config_text = text;
  absl::StatusOr<ModelSpec> spec = context_.loader.ReadSpec(state_.dir, state_.name);
  if (!spec.ok()) {
    const std::string error(spec.status().message());  // in full, for the log
    state_.config_error = context_.client_text(error);
    spdlog::error("model '{}': {}{}", state_.name, error,
                  state_.loaded.empty() ? "" : " (still serving with the previous config)");
    return false;
  }
  const bool changed = !first && state_.config != nullptr;
  state_.config = std::make_shared<const runtime::ModelConfig>(std::move(spec->config));
  state_.platform = std::move(spec->platform);
  state_.config_error.clear();
  if (changed) spdlog::info("model '{}': config.yaml changed; reloading its versions", state_.name);
  return changed;
}

void ModelLifecycle::Sync(bool force_retry) {
  const bool config_changed = SyncConfig();
  if (!state_.config) return Publish();
  state_.complete =
      state_.scanner.CompleteVersions(state_.dir, state_.config->lifecycle.version_marker);
  std::vector<int64_t> aspired;
  LoadAspired(aspired, force_retry, config_changed);
  state_.transient_reason.clear();
  RetireVersions(aspired);
  Publish();
}

// Loads what the policy aspires to, one version at a time, each published
// as soon as it is ready; a failure drops the version from the candidates
// and the policy is asked again. Leaves the final aspired set in `aspired`.
void ModelLifecycle::LoadAspired(std::vector<int64_t>& aspired, bool force_retry,
                                 bool config_changed) {
  const runtime::LifecycleConfig& lifecycle = state_.config->lifecycle;
  std::set<int64_t> keep;
  for (const auto& [label, version] : state_.Labels()) keep.insert(version);
  if (state_.PinnedVersion() > 0) keep.insert(state_.PinnedVersion());
  std::vector<int64_t> candidates = state_.Candidates(force_retry);
  std::set<int64_t> reload = state_.ToReload(config_changed);
  for (size_t round = 0; round <= state_.complete.size(); ++round) {
    aspired =
        state_.unloaded ? std::vector<int64_t>{} : AspiredVersions(lifecycle, candidates, keep);
    std::vector<int64_t> to_load;
    for (int64_t v : aspired) {
      if (!state_.loaded.contains(v) || reload.contains(v)) to_load.push_back(v);
    }
    if (to_load.empty()) break;
    if (!lifecycle.availability_preserving) UnloadFirst(aspired, reload, to_load.back());
    for (int64_t v : to_load) {
      reload.erase(v);
      if (LoadVersion(v)) {
        Publish();
      } else {
        candidates.erase(std::remove(candidates.begin(), candidates.end(), v), candidates.end());
      }
    }
  }
}

// Resource-preserving: frees the memory of what `loading` replaces first;
// the model is unavailable until the new version is ready.
void ModelLifecycle::UnloadFirst(const std::vector<int64_t>& aspired,
                                 const std::set<int64_t>& reload, int64_t loading) {
  std::vector<int64_t> victims;
  for (const auto& [v, loaded] : state_.loaded) {
    if (!std::binary_search(aspired.begin(), aspired.end(), v) || reload.contains(v)) {
      victims.push_back(v);
    }
  }
  if (victims.empty()) return;
  state_.transient_reason = fmt::format(
      "loading version {} (resource-preserving swap: the previous version was "
      "unloaded first); retry shortly",
      loading);
  for (int64_t v : victims) UnloadVersion(v);
  Publish();
  context_.drain.WaitFor(context_.drain_timeout);
}

// Only now retire what is no longer aspired; but while nothing aspired is
// ready, the default (or newest) of those keeps serving as the last known
// good, e.g. when its directory was deleted.
void ModelLifecycle::RetireVersions(const std::vector<int64_t>& aspired) {
  bool replacement_ready = false;
  std::vector<int64_t> retired;
  for (const auto& [v, loaded] : state_.loaded) {
    if (std::binary_search(aspired.begin(), aspired.end(), v)) {
      replacement_ready = true;
    } else {
      retired.push_back(v);
    }
  }
  int64_t keep = 0;
  if (!replacement_ready && !state_.unloaded && !retired.empty()) {
    const bool default_retired =
        std::find(retired.begin(), retired.end(), state_.current_default) != retired.end();
    keep = default_retired ? state_.current_default : retired.back();
  }
  for (int64_t v : retired) {
    if (v == keep) continue;
    if (state_.kept.erase(v) > 0) {
      spdlog::info("model '{}': version {} is replaced by a ready version", state_.name, v);
    }
    UnloadVersion(v);
  }
  std::erase_if(state_.kept, [&](const auto& entry) { return entry.first != keep; });
  if (keep == 0) return;
  std::string reason = KeptReason(keep);
  if (state_.kept[keep] != reason) {
    spdlog::warn("model '{}' version {}: {}", state_.name, keep, reason);
    state_.kept[keep] = std::move(reason);
  }
}

// Why `version` left the aspired set, and that it serves on.
std::string ModelLifecycle::KeptReason(int64_t version) const {
  const fs::path path = state_.dir / std::to_string(version);
  const std::string dir = context_.client_text(path.string());
  std::error_code ec;
  std::string why;
  if (!fs::exists(path, ec)) {
    why = fmt::format("its directory {} is gone", dir);
  } else if (!state_.IsComplete(version)) {
    why = fmt::format("its directory {} is incomplete (changing, or without its marker)", dir);
  } else if (auto f = state_.failed.find(version); f != state_.failed.end()) {
    why = fmt::format("it failed to load again ({})", f->second.reason);
  } else {
    why = "the version policy no longer selects it";
  }
  return fmt::format(
      "{}; kept serving as the last known good version until a ready replacement exists", why);
}

bool ModelLifecycle::LoadVersion(int64_t version) {
  const auto started = context_.time.Now();
  const ModelSpec spec{*state_.config, state_.platform};
  absl::StatusOr<std::shared_ptr<const ServedFeatures>> features =
      context_.loader.LoadFeatures(spec, state_.dir, version);
  absl::StatusOr<std::unique_ptr<runtime::Model>> model =
      features.ok() ? context_.loader.LoadVersion(spec, state_.dir, version, /*warm_up=*/true)
                    : features.status();
  if (!model.ok()) {
    const std::string detail = runtime::LibraryDetail(model.status());
    const std::string message(model.status().message());
    spdlog::error("model '{}' version {} is not served: {}{}{}", state_.name, version, message,
                  detail.empty() ? "" : ": ", detail);
    std::string reason = context_.client_text(message);
    if (!detail.empty()) reason += " (the server log has the backend's error)";
    state_.failed[version] = {state_.scanner.Fingerprint(version), std::move(reason)};
    context_.metrics.RecordLoad(state_.name, false);
    return false;
  }
  std::shared_ptr<ModelMetrics> metrics = state_.metrics[version].lock();
  if (!metrics) {
    metrics = context_.metrics.ForModel(state_.name, std::to_string(version));
    state_.metrics[version] = metrics;
  }
  LoadedVersion loaded{metrics, QueueInFront(*std::move(model), *state_.config, metrics.get()),
                       *std::move(features)};
  if (auto old = state_.loaded.find(version); old != state_.loaded.end()) {
    context_.drain.Add(fmt::format("{} version {} (replaced)", state_.name, version),
                       std::move(old->second));
  }
  state_.loaded[version] = std::move(loaded);
  state_.failed.erase(version);
  context_.metrics.RecordLoad(state_.name, true);
  spdlog::info(
      "model '{}' version {} ready ({}, loaded and warmed up in {} ms)", state_.name, version,
      state_.platform,
      std::chrono::duration_cast<std::chrono::milliseconds>(context_.time.Now() - started).count());
  return true;
}

void ModelLifecycle::UnloadVersion(int64_t version) {
  auto it = state_.loaded.find(version);
  if (it == state_.loaded.end()) return;
  spdlog::info("model '{}' version {} leaves service; unloading after its in-flight requests",
               state_.name, version);
  context_.drain.Add(fmt::format("{} version {}", state_.name, version), std::move(it->second));
  state_.loaded.erase(it);
}

void ModelLifecycle::Remove() {
  spdlog::info("model '{}' was removed from the repository; unloading it", state_.name);
  state_.unloaded = true;
  for (auto& [version, loaded] : state_.loaded) {
    context_.drain.Add(fmt::format("{} version {}", state_.name, version), std::move(loaded));
  }
  state_.loaded.clear();
}

void ModelLifecycle::Close() {
  snapshot_.store(nullptr);
  for (auto& [version, loaded] : state_.loaded) {
    context_.drain.Add(fmt::format("{} version {}", state_.name, version), std::move(loaded));
  }
  state_.loaded.clear();
}

void ModelLifecycle::Publish() {
  const int64_t default_version = state_.ChooseDefault();
  if (default_version != state_.current_default) {
    if (state_.current_default != 0) state_.default_history.push_back(state_.current_default);
    if (default_version != 0) {
      spdlog::info("model '{}': version {} is now the default", state_.name, default_version);
    }
    state_.current_default = default_version;
  }
  snapshot_.store(BuildSnapshot(state_, context_.client_text));
}

// ---- control operations ----------------------------------------------------

absl::Status ModelLifecycle::CheckOnDisk(int64_t version) const {
  if (version > 0 && !state_.IsComplete(version)) {
    return absl::NotFoundError(
        fmt::format("model '{}' has no complete version {} on disk", state_.name, version));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ModelLifecycle::Load() {
  state_.unloaded = false;
  Sync(/*force_retry=*/true);
  if (state_.loaded.empty()) {
    return absl::UnavailableError(fmt::format("model '{}' has no ready version: {}", state_.name,
                                              snapshot()->unavailable->reason));
  }
  return fmt::format("model '{}' loaded; ready versions: {}", state_.name,
                     ReadyList(state_.loaded));
}

absl::StatusOr<std::string> ModelLifecycle::Unload() {
  state_.unloaded = true;
  Sync(/*force_retry=*/false);
  context_.drain.WaitFor(context_.drain_timeout);
  return fmt::format("model '{}' unloaded", state_.name);
}

absl::StatusOr<std::string> ModelLifecycle::SetLabel(const std::string& label, int64_t version) {
  if (label.empty() || std::isdigit(static_cast<unsigned char>(label[0]))) {
    return absl::InvalidArgumentError(
        fmt::format("label '{}' must start with a letter (digits name versions)", label));
  }
  if (absl::Status s = CheckOnDisk(version); !s.ok()) return s;
  state_.label_overrides[label] = version;
  Sync(/*force_retry=*/false);
  if (version == 0) return fmt::format("label '{}' removed", label);
  if (!state_.loaded.contains(version)) {
    auto f = state_.failed.find(version);
    return absl::FailedPreconditionError(
        fmt::format("label '{}' points to version {}, which failed to load: {}", label, version,
                    f != state_.failed.end() ? f->second.reason : "unknown"));
  }
  return fmt::format("label '{}' now points to version {}", label, version);
}

absl::StatusOr<std::string> ModelLifecycle::SetDefault(int64_t version) {
  if (absl::Status s = CheckOnDisk(version); !s.ok()) return s;
  state_.pinned = version;
  Sync(/*force_retry=*/version > 0);
  if (version > 0 && state_.current_default != version) {
    return absl::FailedPreconditionError(fmt::format(
        "version {} did not become ready; the default stays {}", version, state_.current_default));
  }
  return version > 0 ? fmt::format("version {} is pinned as the default", version)
                     : fmt::format("the default follows the newest ready version ({})",
                                   state_.current_default);
}

absl::StatusOr<std::string> ModelLifecycle::Rollback() {
  const int64_t from = state_.current_default;
  int64_t target = 0;
  for (auto it = state_.default_history.rbegin(); it != state_.default_history.rend(); ++it) {
    if (*it != from && state_.IsComplete(*it) && !state_.failed.contains(*it)) {
      target = *it;
      break;
    }
  }
  if (target == 0) {
    return absl::FailedPreconditionError(fmt::format(
        "model '{}' has no previous version to roll back to (default is {})", state_.name, from));
  }
  state_.pinned = target;
  Sync(/*force_retry=*/false);
  if (state_.current_default != target) {
    return absl::UnavailableError(
        fmt::format("rolling back model '{}' to version {} failed; the default stays {}",
                    state_.name, target, state_.current_default));
  }
  spdlog::warn("model '{}' rolled back from version {} to version {} (pinned)", state_.name, from,
               target);
  return fmt::format(
      "model '{}' rolled back from version {} to version {}; it is pinned until the default "
      "is changed",
      state_.name, from, target);
}

}  // namespace strata::serving
