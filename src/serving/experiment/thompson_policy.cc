#include "serving/experiment/thompson_policy.h"

#include <algorithm>

#include "fmt/format.h"

namespace strata::serving {
namespace {

// A Beta(a, b) draw from two Gamma draws.
double BetaDraw(double a, double b, std::mt19937_64& random) {
  const double x = std::gamma_distribution<double>(a, 1.0)(random);
  const double y = std::gamma_distribution<double>(b, 1.0)(random);
  return x + y > 0 ? x / (x + y) : 0.5;
}

}  // namespace

absl::StatusOr<ThompsonPolicy> ThompsonPolicy::Create(ThompsonOptions options) {
  if (!(options.min_share >= 0 && options.min_share < 1)) {
    return absl::InvalidArgumentError(
        fmt::format("min_share {} must be in [0, 1)", options.min_share));
  }
  if (options.draws < 1) return absl::InvalidArgumentError("draws must be at least 1");
  return ThompsonPolicy(options);
}

absl::StatusOr<std::vector<double>> ThompsonPolicy::Shares(const std::vector<ArmRewards>& rewards,
                                                           std::mt19937_64& random) const {
  if (rewards.empty()) return absl::InvalidArgumentError("no arm");
  if (options_.min_share * static_cast<double>(rewards.size()) > 1 + 1e-12) {
    return absl::InvalidArgumentError(
        fmt::format("min_share {} is more than 1 / {} arms", options_.min_share, rewards.size()));
  }
  for (const ArmRewards& arm : rewards) {
    if (!(arm.sum >= 0 && arm.sum <= static_cast<double>(arm.count))) {
      return absl::InvalidArgumentError(fmt::format(
          "a reward sum of {} over {} rewards: each reward must be in [0, 1]", arm.sum, arm.count));
    }
  }
  std::vector<double> wins(rewards.size(), 0);
  for (int d = 0; d < options_.draws; ++d) {
    size_t best = 0;
    double best_draw = -1;
    for (size_t i = 0; i < rewards.size(); ++i) {
      const double failures = static_cast<double>(rewards[i].count) - rewards[i].sum;
      const double draw = BetaDraw(1 + rewards[i].sum, 1 + failures, random);
      if (draw > best_draw) {
        best = i;
        best_draw = draw;
      }
    }
    wins[best] += 1;
  }
  for (double& w : wins) w /= options_.draws;
  return WithFloor(std::move(wins));
}

std::vector<double> ThompsonPolicy::WithFloor(std::vector<double> shares) const {
  const double floor = options_.min_share;
  double missing = 0;
  double excess = 0;
  for (double s : shares) {
    if (s < floor) missing += floor - s;
    if (s > floor) excess += s - floor;
  }
  if (missing <= 0 || excess <= 0) return shares;
  for (double& s : shares) {
    s = s <= floor ? floor : s - (s - floor) * (missing / excess);
  }
  return shares;
}

}  // namespace strata::serving
