#include "serving/experiment/outcome_sums.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "serving/experiment/scores.h"

namespace strata::serving {
namespace {

int64_t SecondOf(OutcomeWindow::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The probability given to class 1: the one score, or the second of several.
double PositiveScore(std::span<const double> scores) {
  return scores.size() == 1 ? scores[0] : scores[1];
}

}  // namespace

double OutcomeSums::AddLabel(std::span<const double> scores, int label) {
  const bool right = PredictedClass(scores) == label;
  ++labels;
  correct += right ? 1 : 0;
  if (label == 0 || label == 1) {
    constexpr double kEpsilon = 1e-15;
    const double p = std::clamp(PositiveScore(scores), kEpsilon, 1 - kEpsilon);
    log_loss_sum += label == 1 ? -std::log(p) : -std::log(1 - p);
    const size_t bin = std::min(kAucBins - 1, static_cast<size_t>(std::max(0.0, p) * kAucBins));
    (label == 1 ? positive_bins : negative_bins)[bin] += 1;
  }
  return right ? 0.0 : 1.0;
}

double OutcomeSums::AddRegressionLabel(double prediction, double label) {
  const double error = std::fabs(prediction - label);
  ++regression_labels;
  abs_error_sum += error;
  abs_error_square_sum += error * error;
  return error;
}

double OutcomeSums::AddReward(double reward) {
  ++rewards;
  reward_sum += reward;
  reward_square_sum += reward * reward;
  return -reward;
}

double OutcomeSums::Auc() const {
  double positives = 0;
  double negatives = 0;
  double wins = 0;  // pairs (positive, negative) ranked right, ties half
  for (size_t b = 0; b < kAucBins; ++b) {
    const auto pos = static_cast<double>(positive_bins[b]);
    const auto neg = static_cast<double>(negative_bins[b]);
    wins += pos * (negatives + 0.5 * neg);
    positives += pos;
    negatives += neg;
  }
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return wins / (positives * negatives);
}

ArmFigures FiguresOf(const std::string& arm, const std::string& version, const OutcomeSums& s) {
  ArmFigures f{.arm = arm,
               .version = version,
               .labels = s.labels,
               .correct = s.correct,
               .log_loss_sum = s.log_loss_sum,
               .auc = s.Auc(),
               .regression_labels = s.regression_labels,
               .abs_error_sum = s.abs_error_sum,
               .abs_error_square_sum = s.abs_error_square_sum,
               .rewards = s.rewards,
               .reward_sum = s.reward_sum,
               .reward_square_sum = s.reward_square_sum};
  for (size_t b = 0; b < kAucBins; ++b) {
    f.positives += s.positive_bins[b];
    f.negatives += s.negative_bins[b];
  }
  return f;
}

WindowOutcome MeanAndVariance(uint64_t n, double sum, double square_sum) {
  WindowOutcome w{.count = n};
  if (n == 0) return w;
  const auto count = static_cast<double>(n);
  w.mean_loss = sum / count;
  if (n >= 2)
    w.variance = std::max(0.0, (square_sum - count * w.mean_loss * w.mean_loss) / (count - 1));
  return w;
}

void LossBuckets::Add(double loss, Clock::time_point now) {
  const int64_t second = SecondOf(now);
  if (buckets_.empty() || buckets_.back().second < second) buckets_.push_back({.second = second});
  Bucket& b = buckets_.back();
  ++b.count;
  b.sum += loss;
  b.square_sum += loss * loss;
  while (!buckets_.empty() && buckets_.front().second <= second - max_seconds_) {
    buckets_.pop_front();
  }
}

WindowOutcome LossBuckets::Since(Clock::time_point since) const {
  const int64_t first = SecondOf(since);
  uint64_t n = 0;
  double sum = 0;
  double square_sum = 0;
  for (auto it = buckets_.rbegin(); it != buckets_.rend() && it->second >= first; ++it) {
    n += it->count;
    sum += it->sum;
    square_sum += it->square_sum;
  }
  return MeanAndVariance(n, sum, square_sum);
}

}  // namespace strata::serving
