#include "serving/experiment/thompson_router.h"

#include <algorithm>

#include "spdlog/spdlog.h"

namespace strata::serving {

ArmRewards RewardsOf(const WindowOutcome& outcome) {
  const double mean = std::clamp(-outcome.mean_loss, 0.0, 1.0);
  return {.count = outcome.count, .sum = mean * static_cast<double>(outcome.count)};
}

void ThompsonRouter::Tick(OutcomeWindow::Clock::time_point since) {
  for (ThompsonSplit& split : splits_) {
    std::vector<SplitArm> arms = split.endpoint->routing()->arms;
    std::vector<ArmRewards> rewards;
    for (const SplitArm& arm : arms) {
      rewards.push_back(RewardsOf(outcomes_->Since(split.endpoint->name(), arm.name, since)));
    }
    absl::StatusOr<std::vector<double>> shares = split.policy.Shares(rewards, random_);
    absl::Status set = shares.status();
    if (shares.ok()) {
      for (size_t i = 0; i < arms.size(); ++i) arms[i].weight = 100 * (*shares)[i];
      set = split.endpoint->SetArms(std::move(arms));
    }
    if (!set.ok()) {
      spdlog::warn("thompson routing of '{}': {}", split.endpoint->name(),
                   std::string(set.message()));
    }
  }
}

}  // namespace strata::serving
