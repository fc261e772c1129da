// Agreement of a shadow with its primary, row by row: whether the predicted
// class differs (ScoreMatrix::PredictedClass) and the score difference, the
// largest |primary - shadow| over the row's scores. Pure; thread-safe.
#ifndef STRATA_SERVING_EXPERIMENT_AGREEMENT_H_
#define STRATA_SERVING_EXPERIMENT_AGREEMENT_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"

namespace strata::serving {

struct RowAgreement {
  bool class_differs = false;
  double score_difference = 0;
};

// Compares the primary's first output with the shadow's output of the same
// name (its first when it has none of that name), on the rows in `rows`
// (every row when nullopt). INVALID_ARGUMENT when the outputs are not
// numeric or their rows or widths differ.
absl::StatusOr<std::vector<RowAgreement>> CompareResponses(
    const core::InferResponse& primary, const core::InferResponse& shadow,
    const std::optional<std::vector<size_t>>& rows = std::nullopt);

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_AGREEMENT_H_
