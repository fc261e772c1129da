// The analysis behind `strata experiment report`: each arm and version's
// figures with 95% intervals (accuracy: Wilson; AUC: Hanley-McNeil; mean
// absolute error and mean reward: Student's t; log loss: the mean only) and,
// for every arm after the first, its difference from the first (the
// baseline) with a test: two-proportion z for accuracy, Welch's t for the
// means. Pure; thread-safe.
#ifndef STRATA_SERVING_EXPERIMENT_EXPERIMENT_ANALYSIS_H_
#define STRATA_SERVING_EXPERIMENT_EXPERIMENT_ANALYSIS_H_

#include <string>
#include <string_view>
#include <vector>

#include "serving/experiment/experiment_statistics.h"
#include "serving/experiment/outcome_sums.h"

namespace strata::serving {

enum class Figure { kAccuracy, kAuc, kLogLoss, kMeanAbsoluteError, kMeanReward };
std::string_view FigureName(Figure figure);

struct FigureInterval {
  Figure figure = Figure::kAccuracy;
  uint64_t n = 0;
  Interval interval = {};  // low == high == estimate for log loss
};

struct ArmAnalysis {
  std::string name = {};  // "arm@version", or the version outside a split
  std::vector<FigureInterval> figures = {};
};

struct ArmDifference {
  std::string baseline = {};
  std::string arm = {};
  Figure figure = Figure::kAccuracy;
  double difference = 0;  // arm - baseline
  TestResult test = {};
};

struct ExperimentAnalysis {
  std::vector<ArmAnalysis> arms = {};
  std::vector<ArmDifference> differences = {};
};

ExperimentAnalysis Analyze(const std::vector<ArmFigures>& arms);

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_EXPERIMENT_ANALYSIS_H_
