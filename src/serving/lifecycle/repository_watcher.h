// RepositoryWatcher says which models the repository holds and when to
// look again. Like BatchQueue it has no thread and no clock: the caller
// passes `now`. Not thread-safe: the lifecycle's executor owns it.
#ifndef STRATA_SERVING_LIFECYCLE_REPOSITORY_WATCHER_H_
#define STRATA_SERVING_LIFECYCLE_REPOSITORY_WATCHER_H_

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"

namespace strata::serving {

class RepositoryWatcher {
 public:
  using Clock = std::chrono::steady_clock;

  // `poll_interval` zero: never due (control calls still scan).
  RepositoryWatcher(std::filesystem::path repository, std::chrono::milliseconds poll_interval)
      : models_dir_(std::move(repository) / "models"), poll_interval_(poll_interval) {}

  const std::filesystem::path& models_dir() const { return models_dir_; }

  // The names of the model directories (hidden ones left out); UNAVAILABLE
  // when the directory cannot be listed.
  absl::StatusOr<std::set<std::string>> ListModels() const;

  // Records a scan made at `now`: the next is due one interval later.
  void Scanned(Clock::time_point now) { last_scan_ = now; }

  // Whether a scan is due at `now`.
  bool Due(Clock::time_point now) const;

  // When the next scan is due (nullopt: never).
  std::optional<Clock::time_point> NextScan() const;

 private:
  const std::filesystem::path models_dir_;
  const std::chrono::milliseconds poll_interval_;
  std::optional<Clock::time_point> last_scan_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_REPOSITORY_WATCHER_H_
