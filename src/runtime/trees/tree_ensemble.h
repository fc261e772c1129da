// TreeEnsemble is a gradient-boosted tree model in flat arrays laid out for
// the walk: every tree's nodes side by side in one vector of 12-byte nodes,
// in breadth-first order so a split's children are adjacent (left, left + 1),
// the default direction for a missing value packed into the feature index. ParseXGBoostJson() reads
// XGBoost's JSON model format (1.x: `learner.gradient_booster.model.trees`) and refuses, with the
// reason, what the engine cannot express (categorical splits, gblinear, dart, vector leaves, an
// objective it does not know), so the caller can fall back to XGBoost. A value type, immutable once
// parsed.
#ifndef STRATA_RUNTIME_TREES_TREE_ENSEMBLE_H_
#define STRATA_RUNTIME_TREES_TREE_ENSEMBLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::runtime::trees {

struct TreeNode {
  static constexpr uint32_t kDefaultLeft = 1u << 31;
  static constexpr uint32_t kFeatureMask = kDefaultLeft - 1;

  float value = 0;       // split threshold (go left when x < value), or the leaf value
  uint32_t feature = 0;  // split feature | kDefaultLeft when a missing value goes left
  int32_t left = -1;     // absolute index of the left child (the right is left + 1); -1: leaf
};

// What turns a row's summed margins into the answer.
enum class Objective {
  kIdentity,  // reg:squarederror, reg:absoluteerror, binary:logitraw, ...
  kSigmoid,   // binary:logistic, reg:logistic
  kSoftprob,  // multi:softprob
  kSoftmax,   // multi:softmax: the index of the largest margin
  kExp,       // count:poisson, reg:gamma, reg:tweedie: exp(margin)
};

struct TreeEnsemble {
  std::vector<TreeNode> nodes;
  std::vector<int32_t> roots;   // per tree, its root's index in `nodes`
  std::vector<int32_t> groups;  // per tree, the output group it adds to
  std::vector<int32_t> depths;  // per tree, the most splits from root to a leaf
  int32_t num_groups = 1;
  int32_t num_features = 0;
  float base_margin = 0;  // every group's starting margin
  Objective objective = Objective::kIdentity;
  std::string objective_name;  // as XGBoost names it, for messages
};

// Parses XGBoost's JSON model. UNIMPLEMENTED, naming the reason, for a model
// the engine cannot express; INVALID_ARGUMENT for malformed JSON.
absl::StatusOr<TreeEnsemble> ParseXGBoostJson(std::string_view json);

}  // namespace strata::runtime::trees

#endif  // STRATA_RUNTIME_TREES_TREE_ENSEMBLE_H_
