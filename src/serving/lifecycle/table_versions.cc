#include "serving/lifecycle/table_versions.h"

#include <charconv>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace {

constexpr size_t kMaxHistory = 16;

// A line of the index about the table as a whole.
TableVersionStatus TableLine(const std::string& table, VersionState state, std::string reason) {
  TableVersionStatus s;
  s.table = table;
  s.state = state;
  s.reason = std::move(reason);
  return s;
}

std::vector<std::string> LabelsOf(const TableVersions& v, int64_t version) {
  std::vector<std::string> labels;
  for (const auto& [label, target] : v.labels) {
    if (target == version) labels.push_back(label);
  }
  return labels;
}

TableVersionStatus StatusOf(const TableVersions& v, int64_t version) {
  TableVersionStatus s = TableLine(v.name, VersionState::kUnavailable, "");
  s.version = version;
  s.labels = LabelsOf(v, version);
  s.is_default = version == v.current_default;
  s.published = version == v.published;
  if (v.open.contains(version)) {
    s.state = VersionState::kReady;
  } else if (auto failed = v.failed.find(version); failed != v.failed.end()) {
    s.reason = failed->second;
  } else {
    s.reason = v.transient_reason.empty() ? "not open" : v.transient_reason;
  }
  return s;
}

std::vector<TableVersionStatus> Statuses(const TableVersions& v) {
  if (v.unloaded) {
    return {TableLine(v.name, VersionState::kUnloaded, "unloaded through the control API")};
  }
  std::set<int64_t> versions;
  for (const auto& [version, table] : v.open) versions.insert(version);
  for (const auto& [version, why] : v.failed) versions.insert(version);
  if (v.published != 0) versions.insert(v.published);
  std::vector<TableVersionStatus> statuses;
  if (v.open.empty()) {
    statuses.push_back(TableLine(v.name, VersionState::kUnavailable,
                                 v.transient_reason.empty() ? v.refused : v.transient_reason));
  }
  for (int64_t version : versions) statuses.push_back(StatusOf(v, version));
  return statuses;
}

}  // namespace

std::set<int64_t> TableVersions::Aspired() const {
  std::set<int64_t> aspired;
  if (unloaded) return aspired;
  if (Target() != 0) aspired.insert(Target());
  for (const auto& [label, version] : labels) aspired.insert(version);
  if (!open.contains(Target()) && current_default != 0) aspired.insert(current_default);
  return aspired;
}

void TableVersions::SetCurrentDefault(int64_t version) {
  if (version == current_default) return;
  if (current_default != 0) default_history.push_back(current_default);
  if (default_history.size() > kMaxHistory) default_history.erase(default_history.begin());
  current_default = version;
}

int64_t TableVersions::Previous() const {
  for (auto it = default_history.rbegin(); it != default_history.rend(); ++it) {
    if (*it != current_default) return *it;
  }
  return 0;
}

TableVersion TableSnapshot::Default() const {
  auto it = open.find(default_version);
  return it == open.end() ? nullptr : it->second;
}

absl::StatusOr<TableVersion> TableSnapshot::Find(std::string_view version) const {
  if (version.empty()) {
    if (TableVersion table = Default()) return table;
    return absl::UnavailableError(fmt::format("table '{}' is not ready: {}", name, reason));
  }
  int64_t number = 0;
  auto [end, error] = std::from_chars(version.data(), version.data() + version.size(), number);
  const bool numeric = error == std::errc() && end == version.data() + version.size();
  if (!numeric) {
    auto label = labels.find(version);
    number = label == labels.end() ? 0 : label->second;
  }
  if (auto it = open.find(number); it != open.end()) return it->second;
  return absl::NotFoundError(fmt::format("table '{}' has no open version '{}'", name, version));
}

std::shared_ptr<const TableSnapshot> BuildTableSnapshot(const TableVersions& v) {
  auto s = std::make_shared<TableSnapshot>();
  s->name = v.name;
  s->store_kind = v.options.store ? std::string(v.options.store->kind()) : "";
  s->open = v.open;
  s->labels = v.labels;
  s->default_version = v.open.contains(v.current_default) ? v.current_default : 0;
  s->unloaded = v.unloaded;
  s->refused = v.refused;
  if (s->default_version == 0) {
    s->reason = v.unloaded ? fmt::format("table '{}' was unloaded through the control API", v.name)
                : !v.transient_reason.empty() ? v.transient_reason
                : !v.refused.empty()          ? v.refused
                                              : fmt::format("table '{}' is opening", v.name);
  }
  s->statuses = Statuses(v);
  return s;
}

void TableDrain::Add(std::string what, TableVersion table) {
  draining_.push_back({std::move(what), std::move(table)});
}

void TableDrain::Reap() {
  for (auto it = draining_.begin(); it != draining_.end();) {
    // Only this list still refers to the version: no lookup is in flight.
    if (it->table.use_count() == 1) {
      spdlog::info("closed {}", it->what);
      it = draining_.erase(it);
    } else {
      ++it;
    }
  }
}

void TableDrain::WaitFor(std::chrono::milliseconds timeout) {
  const TimeSource::Clock::time_point deadline = time_.Now() + timeout;
  Reap();
  while (!draining_.empty() && time_.Now() < deadline) {
    time_.SleepFor(std::chrono::milliseconds(2));
    Reap();
  }
  for (const Draining& d : draining_) {
    spdlog::warn("{} still has lookups in flight after {} ms; it closes when they finish", d.what,
                 timeout.count());
  }
}

}  // namespace strata::serving
