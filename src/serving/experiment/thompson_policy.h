// ThompsonPolicy turns each arm's rewards so far into the arms' shares of
// the traffic by Thompson sampling (docs/serving.md: Feedback): each arm's
// mean reward has a Beta(1 + successes, 1 + failures) posterior (rewards in
// [0, 1]; a 0/1 reward is one success or one failure, a fractional reward
// counts as that fraction of each); an arm's share is the probability that
// its draw is the highest, estimated from `draws` joint draws, then raised
// to at least `min_share` so no arm starves and its figures keep moving.
// A pure decision object: no clock, no threads; the caller hands it the
// sums and the random generator (seeded in tests). Thread-compatible.
#ifndef STRATA_SERVING_EXPERIMENT_THOMPSON_POLICY_H_
#define STRATA_SERVING_EXPERIMENT_THOMPSON_POLICY_H_

#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::serving {

// One arm's rewards so far: how many, and their sum (each in [0, 1]).
struct ArmRewards {
  uint64_t count = 0;
  double sum = 0;
};

struct ThompsonOptions {
  double min_share = 0.05;  // each arm's floor, in [0, 1 / arms]
  int draws = 2000;         // joint posterior draws per decision
};

class ThompsonPolicy {
 public:
  // INVALID_ARGUMENT for min_share outside [0, 1) or draws below 1.
  static absl::StatusOr<ThompsonPolicy> Create(ThompsonOptions options);

  // The arms' shares (summing to 1, in arm order) for `rewards`.
  // INVALID_ARGUMENT for no arm, min_share above 1 / arms, or a sum
  // outside [0, count].
  absl::StatusOr<std::vector<double>> Shares(const std::vector<ArmRewards>& rewards,
                                             std::mt19937_64& random) const;

 private:
  explicit ThompsonPolicy(ThompsonOptions options) : options_(options) {}

  // Raises every share to min_share, taking the difference from the arms
  // above it in proportion to their excess.
  std::vector<double> WithFloor(std::vector<double> shares) const;

  ThompsonOptions options_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_THOMPSON_POLICY_H_
