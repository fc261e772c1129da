// ScoreMatrix is a model output read as one row of scores per request row:
// a probability (or a regression value) per row when the output is [N] or
// [N, 1], K class scores per row when it is [N, K]. The predicted class is
// the score at or over 0.5 for one probability, else the argmax. Shadow
// agreement and feedback both read outputs this way. Value type.
#ifndef STRATA_SERVING_EXPERIMENT_SCORES_H_
#define STRATA_SERVING_EXPERIMENT_SCORES_H_

#include <cstddef>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace strata::serving {

struct ScoreMatrix {
  size_t rows = 0;
  size_t width = 0;                 // scores per row
  std::vector<double> values = {};  // rows * width, row-major

  std::span<const double> Row(size_t row) const { return {values.data() + row * width, width}; }
  // REQUIRES: row < rows.
  int PredictedClass(size_t row) const;
};

// The scores of a numeric output with a batch dimension. INVALID_ARGUMENT
// for BYTES or BOOL outputs and for tensors without rows.
absl::StatusOr<ScoreMatrix> ScoresOf(const core::Tensor& output);

// The predicted class of one row of scores (see ScoreMatrix).
int PredictedClass(std::span<const double> scores);

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_SCORES_H_
