// TreePredictor walks a TreeEnsemble over rows of features, with the fastest
// walk the model and the processor allow: the perfect-tree layout
// (PerfectForest) with AVX-512 gathers or its portable kernel, or, for trees
// deeper than that layout's bound, the node walk over the ensemble's own
// arrays (rows in blocks of 64, 8 at a time per tree). Every walk adds a
// row's trees in model order, in float, so all give XGBoost's bits. No
// allocation and no setup per call beyond the caller's output buffer.
// Thread-safe: reads only, once created.
#ifndef STRATA_RUNTIME_TREES_TREE_PREDICTOR_H_
#define STRATA_RUNTIME_TREES_TREE_PREDICTOR_H_

#include <cstdint>
#include <optional>
#include <span>

#include "absl/status/statusor.h"
#include "runtime/trees/perfect_forest.h"
#include "runtime/trees/tree_ensemble.h"

namespace strata::runtime::trees {

enum class TreeWalk {
  kAuto,             // the fastest of the others that applies
  kNodes,            // any depth
  kPerfectPortable,  // depth <= PerfectForest::kMaxDepth
  kPerfectAvx512,    // depth <= PerfectForest::kMaxDepth, an AVX-512 processor
};

class TreePredictor {
 public:
  // FAILED_PRECONDITION, with the reason, when `walk` (not kAuto) cannot
  // take this ensemble on this processor.
  static absl::StatusOr<TreePredictor> Create(TreeEnsemble ensemble,
                                              TreeWalk walk = TreeWalk::kAuto);

  const TreeEnsemble& ensemble() const { return ensemble_; }
  TreeWalk walk() const { return walk_; }  // never kAuto

  // Margins of `rows` rows of `ensemble().num_features` floats (row-major;
  // NaN is missing) into `margins` (rows x num_groups), starting from the
  // base margin. REQUIRES: the spans have those sizes.
  void PredictMargins(std::span<const float> features, int64_t rows,
                      std::span<float> margins) const;

 private:
  TreePredictor(TreeEnsemble ensemble, std::optional<PerfectForest> forest, TreeWalk walk)
      : ensemble_(std::move(ensemble)), forest_(std::move(forest)), walk_(walk) {}

  TreeEnsemble ensemble_;
  std::optional<PerfectForest> forest_;  // unless walk_ is kNodes
  TreeWalk walk_;
};

// Applies the objective to each row's margins in place, as XGBoost does.
// For multi:softmax, `margins` keeps rows x num_groups and the answer is
// written to the first `rows` floats.
void TransformMargins(const TreeEnsemble& ensemble, int64_t rows, std::span<float> margins);

}  // namespace strata::runtime::trees

#endif  // STRATA_RUNTIME_TREES_TREE_PREDICTOR_H_
