#include "serving/lifecycle/table_lifecycle.h"

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace strata::serving {

TableLifecycle::TableLifecycle(std::string name, TableFollowOptions options, TableDrain& drain)
    : drain_(drain) {
  state_.name = std::move(name);
  state_.options = std::move(options);
  Publish();
}

void TableLifecycle::Require(std::vector<std::string> key, size_t in_memory_bytes) {
  if (state_.options.key.empty() && !key.empty()) {
    state_.options.key = std::move(key);
    state_.failed.clear();  // judged again against the key
  }
  state_.options.in_memory_bytes = std::max(state_.options.in_memory_bytes, in_memory_bytes);
}

absl::Status TableLifecycle::Poll() {
  const store::TableStore& store = *state_.options.store;
  absl::StatusOr<int64_t> current = store.CurrentVersion(state_.name);
  if (!current.ok()) {  // unreachable: keep serving
    state_.transient_reason = std::string(current.status().message());
    return current.status();
  }
  if (*current == 0) {
    state_.transient_reason =
        fmt::format("table '{}' has no version in {}", state_.name, store.location());
    return absl::NotFoundError(state_.transient_reason);
  }
  state_.published = *current;
  state_.transient_reason.clear();
  return absl::OkStatus();
}

absl::Status TableLifecycle::Sync() {
  if (state_.unloaded) return absl::OkStatus();
  absl::Status polled = Poll();
  absl::Status applied = Apply();
  return polled.ok() ? applied : polled;
}

absl::Status TableLifecycle::Apply() {
  absl::Status opened = OpenAspired();
  ChooseDefault();
  Retire();
  Publish();
  return opened;
}

absl::Status TableLifecycle::OpenAspired() {
  absl::Status first;
  for (int64_t version : state_.Aspired()) {
    if (state_.open.contains(version) || state_.failed.contains(version)) continue;
    absl::Status s = OpenVersion(version);
    if (first.ok()) first = s;
  }
  return first;
}

absl::Status TableLifecycle::OpenVersion(int64_t version) {
  if (state_.open.contains(version)) return absl::OkStatus();
  state_.failed.erase(version);
  absl::StatusOr<TableVersion> table = OpenTableVersion(state_.name, version, state_.options);
  if (table.ok()) {
    state_.open[version] = *std::move(table);
    if (version == state_.Target()) state_.refused.clear();
    return absl::OkStatus();
  }
  const std::string why = fmt::format("table '{}' version {} refused: {}", state_.name, version,
                                      std::string(table.status().message()));
  if (table.status().code() == absl::StatusCode::kUnavailable) {
    if (state_.current_default == 0) state_.transient_reason = why;
    return absl::UnavailableError(why);  // tried again on the next poll
  }
  state_.failed[version] = why;
  state_.refused = why;
  if (state_.current_default != 0) {
    spdlog::error("{}; version {} keeps serving", why, state_.current_default);
  } else {
    spdlog::error("{}", why);
  }
  return absl::Status(table.status().code(), why);
}

void TableLifecycle::ChooseDefault() {
  const int64_t was = state_.current_default;
  if (state_.open.contains(state_.Target())) {
    state_.SetCurrentDefault(state_.Target());
  } else if (!state_.open.contains(was)) {
    state_.SetCurrentDefault(state_.open.empty() ? 0 : state_.open.rbegin()->first);
  }
  if (state_.current_default != was && state_.current_default != 0) {
    spdlog::info("table '{}' version {} is serving (was {})", state_.name, state_.current_default,
                 was);
  }
}

void TableLifecycle::Retire() {
  const std::set<int64_t> aspired = state_.Aspired();
  for (auto it = state_.open.begin(); it != state_.open.end();) {
    if (aspired.contains(it->first)) {
      ++it;
      continue;
    }
    drain_.Add(fmt::format("table '{}' version {}", state_.name, it->first), std::move(it->second));
    it = state_.open.erase(it);
  }
}

void TableLifecycle::Close() {
  state_.unloaded = true;
  Retire();
  state_.current_default = 0;
  Publish();
}

std::string TableLifecycle::Serving() const {
  if (state_.current_default == 0)
    return fmt::format("table '{}' has no version open", state_.name);
  return fmt::format("table '{}' version {} is the default", state_.name, state_.current_default);
}

absl::StatusOr<std::string> TableLifecycle::Load() {
  state_.unloaded = false;
  state_.failed.clear();  // a load retries what failed before
  absl::Status s = Sync();
  if (state_.current_default == 0) {
    return s.ok() ? absl::UnavailableError(Serving()) : s;
  }
  return Serving();
}

absl::StatusOr<std::string> TableLifecycle::Unload() {
  if (state_.unloaded) return fmt::format("table '{}' was already unloaded", state_.name);
  Close();
  return fmt::format("table '{}' unloaded: it is no longer followed until a load", state_.name);
}

absl::StatusOr<std::string> TableLifecycle::SetLabel(const std::string& label, int64_t version) {
  if (state_.unloaded) {
    return absl::FailedPreconditionError(fmt::format("table '{}' is unloaded", state_.name));
  }
  if (version == 0) {
    if (state_.labels.erase(label) == 0) {
      return absl::NotFoundError(fmt::format("table '{}' has no label '{}'", state_.name, label));
    }
    (void)Apply();
    return fmt::format("label '{}' of table '{}' removed", label, state_.name);
  }
  if (absl::Status s = OpenVersion(version); !s.ok()) return s;
  state_.labels[label] = version;
  (void)Apply();
  return fmt::format("label '{}' of table '{}' now names version {}", label, state_.name, version);
}

absl::StatusOr<std::string> TableLifecycle::SetDefault(int64_t version) {
  if (state_.unloaded) {
    return absl::FailedPreconditionError(fmt::format("table '{}' is unloaded", state_.name));
  }
  if (version != 0) {
    if (absl::Status s = OpenVersion(version); !s.ok()) return s;
  }
  state_.pinned = version;
  (void)Apply();
  if (version == 0) {
    return fmt::format("table '{}' follows its published version again; {}", state_.name,
                       Serving());
  }
  return fmt::format("table '{}' default pinned to version {}", state_.name, version);
}

absl::StatusOr<std::string> TableLifecycle::Rollback() {
  if (state_.unloaded) {
    return absl::FailedPreconditionError(fmt::format("table '{}' is unloaded", state_.name));
  }
  const int64_t previous = state_.Previous();
  if (previous == 0) {
    return absl::FailedPreconditionError(
        fmt::format("table '{}' has no previous version to roll back to", state_.name));
  }
  if (absl::Status s = OpenVersion(previous); !s.ok()) return s;
  const int64_t was = state_.current_default;
  state_.pinned = previous;
  (void)Apply();
  return fmt::format("table '{}' rolled back from version {} to version {} (pinned)", state_.name,
                     was, previous);
}

}  // namespace strata::serving
