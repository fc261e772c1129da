#include "cli/rollout_serving.h"

#include <filesystem>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace strata::cli {

absl::StatusOr<std::unique_ptr<serving::RolloutManager>> StartRollouts(
    const RolloutServeFlags& flags, const std::string& repository, const serving::ServerCore& core,
    std::vector<std::shared_ptr<serving::SplitEndpoint>> splits) {
  if (splits.empty()) return nullptr;
  const std::filesystem::path dir = flags.state_dir.empty()
                                        ? std::filesystem::path(repository) / ".strata" / "rollouts"
                                        : std::filesystem::path(flags.state_dir);
  // Ready: the core serves the candidate's version and it is ready.
  serving::CandidateCheck ready = [&core](const serving::RolloutCandidate& candidate) {
    absl::StatusOr<std::shared_ptr<const serving::ServedModel>> served =
        core.FindModel(candidate.model, candidate.version);
    if (!served.ok()) return served.status();
    if (!(*served)->ready()) {
      return absl::UnavailableError(fmt::format("{}@{} is not ready: {}", candidate.model,
                                                candidate.version, (*served)->reason));
    }
    return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<serving::RolloutManager>> manager =
      serving::RolloutManager::Create({.state_dir = dir,
                                       .tick = std::chrono::milliseconds(flags.tick_ms),
                                       .ready = std::move(ready),
                                       .check = nullptr,
                                       .quality = nullptr,
                                       .time = nullptr},
                                      std::move(splits));
  if (!manager.ok()) return manager.status();
  (*manager)->Run();
  spdlog::info("rollouts: state in {}, judged every {} ms", dir.string(), flags.tick_ms);
  return manager;
}

}  // namespace strata::cli
