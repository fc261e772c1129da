// The statistical check's reference: a histogram of the scores a model gave
// its training set (`check/reference.json`, written by the training script),
// and the population stability index (PSI) of new scores against it.
// Pure; thread-safe.
#ifndef STRATA_CHECK_SCORE_HISTOGRAM_H_
#define STRATA_CHECK_SCORE_HISTOGRAM_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::check {

// Bin i holds the scores x with edges[i-1] < x <= edges[i] (the first bin
// everything up to edges[0], the last everything above the last edge):
// numpy's searchsorted(edges, x, side="left"). fractions.size() ==
// edges.size() + 1 and they sum to 1.
struct ScoreHistogram {
  std::string output;  // the output whose every element is a score
  std::vector<double> edges;
  std::vector<double> fractions;
};

// {"output": "probability", "edges": [...], "fractions": [...]}.
absl::StatusOr<ScoreHistogram> ParseScoreHistogram(std::string_view text);

// The bin a score falls in.
size_t BinOf(const ScoreHistogram& histogram, double score);

// PSI = sum over bins of (a - r) * ln(a / r), a and r the new and the
// reference fractions, each floored at 1e-4 so an empty bin is finite.
// Error when `scores` is empty.
absl::StatusOr<double> PopulationStabilityIndex(const ScoreHistogram& reference,
                                                std::span<const double> scores);

}  // namespace strata::check

#endif  // STRATA_CHECK_SCORE_HISTOGRAM_H_
