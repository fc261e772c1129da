// OutcomeWindow answers, for a rollout's quality gate, how an arm of an
// endpoint has done on the feedback joined since a time: how many outcomes,
// their mean loss and its variance. The loss of one outcome is 1 - correct
// for a classifier's label (so the mean is 1 - accuracy), the absolute
// error for a regressor's label, and -reward for a reward. Implementations
// are thread-safe.
#ifndef STRATA_SERVING_EXPERIMENT_OUTCOME_WINDOW_H_
#define STRATA_SERVING_EXPERIMENT_OUTCOME_WINDOW_H_

#include <chrono>
#include <cstdint>
#include <string_view>

namespace strata::serving {

struct WindowOutcome {
  uint64_t count = 0;
  double mean_loss = 0;
  double variance = 0;  // of one outcome's loss (n - 1 in the denominator); 0 below 2
};

class OutcomeWindow {
 public:
  using Clock = std::chrono::steady_clock;

  virtual ~OutcomeWindow() = default;
  // The outcomes of `arm` ("" outside a split) joined at or after `since`,
  // at one-second resolution; count 0 when there are none (or the endpoint
  // or arm is unknown).
  virtual WindowOutcome Since(std::string_view endpoint, std::string_view arm,
                              Clock::time_point since) const = 0;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_OUTCOME_WINDOW_H_
