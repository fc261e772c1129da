#include "serving/lifecycle/model_snapshot.h"

#include "fmt/format.h"

namespace strata::serving {
namespace {

constexpr char kUnloadedReason[] = "unloaded through the control API";

// The model's lines of the repository index; `reason` is why it is not
// ready, for a model with no version directory at all.
std::vector<VersionStatus> Statuses(const ModelVersions& state, const std::string& reason) {
  std::vector<VersionStatus> statuses;
  if (!state.config_error.empty()) {
    statuses.push_back({state.name, "", VersionState::kUnavailable, state.config_error});
  }
  std::set<int64_t> versions(state.complete.begin(), state.complete.end());
  for (const auto& [v, loaded] : state.loaded) versions.insert(v);
  for (const auto& [v, failure] : state.failed) versions.insert(v);
  for (int64_t v : versions) {
    VersionStatus status{state.name, std::to_string(v), VersionState::kUnavailable, ""};
    if (state.loaded.contains(v)) {
      status.state = VersionState::kReady;
      if (auto kept = state.kept.find(v); kept != state.kept.end()) status.reason = kept->second;
    } else if (auto f = state.failed.find(v); f != state.failed.end()) {
      status.reason = f->second.reason;
    } else if (state.unloaded) {
      status.state = VersionState::kUnloaded;
      status.reason = kUnloadedReason;
    } else {
      status.reason = "not selected by the version policy";
    }
    statuses.push_back(std::move(status));
  }
  if (versions.empty() && state.config_error.empty()) {
    statuses.push_back({state.name, "", VersionState::kUnavailable, reason});
  }
  return statuses;
}

// Why the model has no ready version.
std::string NotReadyReason(const ModelVersions& state, const ClientText& client_text) {
  if (!state.config_error.empty()) return state.config_error;
  if (!state.transient_reason.empty()) return state.transient_reason;
  if (state.unloaded) return kUnloadedReason;
  if (!state.failed.empty()) return state.failed.rbegin()->second.reason;
  return fmt::format("no complete version directory (an integer-named directory such as {}/1)",
                     client_text(state.dir.string()));
}

}  // namespace

std::shared_ptr<const ModelSnapshot> BuildSnapshot(const ModelVersions& state,
                                                   const ClientText& client_text) {
  auto snap = std::make_shared<ModelSnapshot>();
  snap->labels = state.Labels();
  snap->default_version = state.current_default;
  std::vector<int64_t> served;
  for (const auto& [v, loaded] : state.loaded) served.push_back(v);
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
    model->features = loaded.features;
    if (auto kept = state.kept.find(v); kept != state.kept.end()) model->reason = kept->second;
    snap->ready[v] = std::move(model);
  }
  const std::string reason = NotReadyReason(state, client_text);
  std::shared_ptr<ServedModel> unavailable = view(0);
  unavailable->versions.clear();
  unavailable->reason = reason;
  unavailable->unloaded =
      state.unloaded && state.config_error.empty() && state.transient_reason.empty();
  snap->unavailable = std::move(unavailable);
  snap->statuses = Statuses(state, reason);
  return snap;
}

}  // namespace strata::serving
