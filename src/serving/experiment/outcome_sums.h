// OutcomeSums accumulates the feedback joined for one arm and version: what
// the experiment report needs to compute accuracy, log loss, AUC, mean
// absolute error and mean reward with their intervals. AUC comes from a
// fixed histogram of the positive class's score (kAucBins bins), so memory
// is bounded whatever the traffic. LossBuckets keeps the per-second sums
// behind OutcomeWindow. Value types; not thread-safe.
#ifndef STRATA_SERVING_EXPERIMENT_OUTCOME_SUMS_H_
#define STRATA_SERVING_EXPERIMENT_OUTCOME_SUMS_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <span>
#include <string>

#include "serving/experiment/feedback_task.h"
#include "serving/experiment/outcome_window.h"

namespace strata::serving {

inline constexpr size_t kAucBins = 200;

struct OutcomeSums {
  // Labels of a classifier.
  uint64_t labels = 0;
  uint64_t correct = 0;
  double log_loss_sum = 0;
  std::array<uint64_t, kAucBins> positive_bins = {};  // rows labelled 1, by score
  std::array<uint64_t, kAucBins> negative_bins = {};  // rows labelled 0, by score
  // Labels of a regressor.
  uint64_t regression_labels = 0;
  double abs_error_sum = 0;
  double abs_error_square_sum = 0;
  // Rewards.
  uint64_t rewards = 0;
  double reward_sum = 0;
  double reward_square_sum = 0;

  // Adds a classifier's label against its scores; returns its loss
  // (1 - correct). REQUIRES: !scores.empty().
  double AddLabel(std::span<const double> scores, int label);
  // Adds a regressor's label against its prediction; returns |error|.
  double AddRegressionLabel(double prediction, double label);
  // Adds a reward; returns -reward.
  double AddReward(double reward);

  // Positive-class positive_bins/negative_bins' AUC (ties count half);
  // NaN without both classes.
  double Auc() const;
};

// An arm and version's outcomes as the experiment report reads them: the
// counts and sums behind each figure, and the AUC (NaN without both
// classes). What travels in the report's JSON.
struct ArmFigures {
  std::string arm = {};
  std::string version = {};
  uint64_t labels = 0;
  uint64_t correct = 0;
  double log_loss_sum = 0;
  uint64_t positives = 0;
  uint64_t negatives = 0;
  double auc = 0;
  uint64_t regression_labels = 0;
  double abs_error_sum = 0;
  double abs_error_square_sum = 0;
  uint64_t rewards = 0;
  double reward_sum = 0;
  double reward_square_sum = 0;
};

ArmFigures FiguresOf(const std::string& arm, const std::string& version, const OutcomeSums& sums);

// Loss sums per second, for OutcomeWindow. Handed `now`; keeps at most
// `max_seconds` seconds.
class LossBuckets {
 public:
  using Clock = OutcomeWindow::Clock;

  explicit LossBuckets(int64_t max_seconds) : max_seconds_(max_seconds) {}
  void Add(double loss, Clock::time_point now);
  WindowOutcome Since(Clock::time_point since) const;

 private:
  struct Bucket {
    int64_t second = 0;
    uint64_t count = 0;
    double sum = 0;
    double square_sum = 0;
  };
  const int64_t max_seconds_;
  std::deque<Bucket> buckets_;  // ascending seconds
};

// The mean and the sample variance of n values from their sum and sum of
// squares (variance 0 below two values).
WindowOutcome MeanAndVariance(uint64_t n, double sum, double square_sum);

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_OUTCOME_SUMS_H_
