// Walks a TreeEnsemble over rows of features. Rows go in blocks: for each
// block, every tree is walked for every row of the block, so a tree's nodes
// stay in cache while the block uses them, and each row still adds its trees
// in model order (what makes the sums bit-identical to XGBoost's). No
// allocation and no setup per call beyond the caller's output buffer.
// Thread-safe: reads the ensemble only.
#ifndef STRATA_RUNTIME_TREES_TREE_PREDICTOR_H_
#define STRATA_RUNTIME_TREES_TREE_PREDICTOR_H_

#include <cstdint>
#include <span>

#include "runtime/trees/tree_ensemble.h"

namespace strata::runtime::trees {

// Margins of `rows` rows of `ensemble.num_features` floats (row-major; NaN
// is missing) into `margins` (rows x num_groups), starting from the base
// margin. REQUIRES: the spans have those sizes.
void PredictMargins(const TreeEnsemble& ensemble, std::span<const float> features, int64_t rows,
                    std::span<float> margins);

// Applies the objective to each row's margins in place, as XGBoost does.
// For multi:softmax, `margins` keeps rows x num_groups and the answer is
// written to the first `rows` floats.
void TransformMargins(const TreeEnsemble& ensemble, int64_t rows, std::span<float> margins);

}  // namespace strata::runtime::trees

#endif  // STRATA_RUNTIME_TREES_TREE_PREDICTOR_H_
