#include "serving/lifecycle/repository_watcher.h"

#include "fmt/format.h"

namespace strata::serving {
namespace fs = std::filesystem;

absl::StatusOr<std::set<std::string>> RepositoryWatcher::ListModels() const {
  std::set<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(models_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && !name.starts_with(".")) names.insert(name);
  }
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot scan {}: {}", models_dir_.string(), ec.message()));
  }
  return names;
}

bool RepositoryWatcher::Due(Clock::time_point now) const {
  const std::optional<Clock::time_point> next = NextScan();
  return next.has_value() && now >= *next;
}

std::optional<RepositoryWatcher::Clock::time_point> RepositoryWatcher::NextScan() const {
  if (poll_interval_.count() <= 0) return std::nullopt;
  if (!last_scan_) return Clock::time_point::min();
  return *last_scan_ + poll_interval_;
}

}  // namespace strata::serving
