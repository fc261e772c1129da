// ThompsonRouter re-weights the split endpoints of `policy: thompson`
// (docs/serving.md: Split endpoints) from their feedback: on each Tick it
// reads every arm's rewards joined since a time (OutcomeWindow; a reward
// is the negated loss, so the feedback must be `reward` values in [0, 1]),
// asks the endpoint's ThompsonPolicy for the arms' shares and publishes
// them as the arms' weights (SplitEndpoint::SetArms; keys stay sticky as
// SplitAssignment describes). Ticked by one caller at a time (its random
// generator is its own); the endpoints and outcomes are thread-safe.
#ifndef STRATA_SERVING_EXPERIMENT_THOMPSON_ROUTER_H_
#define STRATA_SERVING_EXPERIMENT_THOMPSON_ROUTER_H_

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "serving/experiment/outcome_window.h"
#include "serving/experiment/thompson_policy.h"
#include "serving/split_endpoint.h"

namespace strata::serving {

struct ThompsonSplit {
  std::shared_ptr<SplitEndpoint> endpoint;
  ThompsonPolicy policy;
};

class ThompsonRouter {
 public:
  ThompsonRouter(std::vector<ThompsonSplit> splits, std::shared_ptr<const OutcomeWindow> outcomes,
                 uint64_t seed)
      : splits_(std::move(splits)), outcomes_(std::move(outcomes)), random_(seed) {}

  // Sets each split's weights (percent) from its arms' rewards joined at or
  // after `since`. A split whose arms SetArms refuses keeps its weights.
  void Tick(OutcomeWindow::Clock::time_point since);

  bool empty() const { return splits_.empty(); }

 private:
  std::vector<ThompsonSplit> splits_;
  std::shared_ptr<const OutcomeWindow> outcomes_;
  std::mt19937_64 random_;
};

// One arm's rewards from its window: the count, and the sum of the mean
// reward (-mean loss, held to [0, 1]) over it.
ArmRewards RewardsOf(const WindowOutcome& outcome);

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_THOMPSON_ROUTER_H_
