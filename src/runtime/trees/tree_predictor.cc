#include "runtime/trees/tree_predictor.h"

#include <algorithm>
#include <cmath>

#include "runtime/trees/perfect_forest_walk.h"

namespace strata::runtime::trees {
namespace {

constexpr int64_t kBlockRows = 64;

inline float LeafValue(const TreeNode* nodes, int32_t index, const float* row) {
  const TreeNode* node = nodes + index;
  while (node->left >= 0) {
    const float x = row[node->feature & TreeNode::kFeatureMask];
    // XGBoost: a missing value takes the default branch, else x < value goes left.
    const bool right =
        std::isnan(x) ? (node->feature & TreeNode::kDefaultLeft) == 0 : !(x < node->value);
    node = nodes + node->left + static_cast<int32_t>(right);
  }
  return node->value;
}

// Walks one tree for `kLanes` rows at once, level by level: the rows'
// node loads are independent, so the processor overlaps them.
constexpr int64_t kLanes = 8;

void WalkLanes(const TreeNode* nodes, int32_t root, int32_t depth, const float* rows, int64_t width,
               float* margins, int64_t groups, int64_t group) {
  int32_t at[kLanes];
  for (int64_t lane = 0; lane < kLanes; ++lane) at[lane] = root;
  for (int32_t level = 0; level < depth; ++level) {
    for (int64_t lane = 0; lane < kLanes; ++lane) {
      const TreeNode& node = nodes[at[lane]];
      if (node.left < 0) continue;
      const float x = rows[lane * width + (node.feature & TreeNode::kFeatureMask)];
      const bool right =
          std::isnan(x) ? (node.feature & TreeNode::kDefaultLeft) == 0 : !(x < node.value);
      at[lane] = node.left + static_cast<int32_t>(right);
    }
  }
  for (int64_t lane = 0; lane < kLanes; ++lane) {
    margins[lane * groups + group] += nodes[at[lane]].value;
  }
}

void PredictBlock(const TreeEnsemble& ensemble, const float* features, int64_t rows,
                  float* margins) {
  const int64_t width = ensemble.num_features;
  const int64_t groups = ensemble.num_groups;
  const TreeNode* nodes = ensemble.nodes.data();
  const int64_t laned = rows - rows % kLanes;
  for (size_t tree = 0; tree < ensemble.roots.size(); ++tree) {
    const int32_t root = ensemble.roots[tree];
    const int64_t group = ensemble.groups[tree];
    for (int64_t row = 0; row < laned; row += kLanes) {
      WalkLanes(nodes, root, ensemble.depths[tree], features + row * width, width,
                margins + row * groups, groups, group);
    }
    for (int64_t row = laned; row < rows; ++row) {
      margins[row * groups + group] += LeafValue(nodes, root, features + row * width);
    }
  }
}

// XGBoost 1.7's common::Sigmoid.
inline float Sigmoid(float x) {
  constexpr float kEps = 1e-16f;
  x = std::min(-x, 88.7f);
  const float denominator = std::exp(x) + 1.0f + kEps;
  return 1.0f / denominator;
}

// XGBoost 1.7's common::Softmax over one row's groups.
void Softmax(float* begin, float* end) {
  float largest = *begin;
  for (float* it = begin + 1; it != end; ++it) largest = std::max(*it, largest);
  double sum = 0;
  for (float* it = begin; it != end; ++it) {
    *it = std::exp(*it - largest);
    sum += *it;
  }
  for (float* it = begin; it != end; ++it) *it /= static_cast<float>(sum);
}

}  // namespace

absl::StatusOr<TreePredictor> TreePredictor::Create(TreeEnsemble ensemble, TreeWalk walk) {
  if (walk == TreeWalk::kNodes) return TreePredictor(std::move(ensemble), std::nullopt, walk);
  absl::StatusOr<PerfectForest> forest = BuildPerfectForest(ensemble);
  if (!forest.ok()) {
    if (walk != TreeWalk::kAuto) return forest.status();
    return TreePredictor(std::move(ensemble), std::nullopt, TreeWalk::kNodes);
  }
  if (walk == TreeWalk::kPerfectAvx512 && !Avx512Available()) {
    return absl::FailedPreconditionError("this processor has no AVX-512");
  }
  if (walk == TreeWalk::kAuto) {
    walk = Avx512Available() ? TreeWalk::kPerfectAvx512 : TreeWalk::kPerfectPortable;
  }
  return TreePredictor(std::move(ensemble), *std::move(forest), walk);
}

void TreePredictor::PredictMargins(std::span<const float> features, int64_t rows,
                                   std::span<float> margins) const {
  std::fill(margins.begin(), margins.end(), ensemble_.base_margin);
  const int64_t width = ensemble_.num_features;
  if (walk_ != TreeWalk::kNodes) {
    const PerfectWalkKernel kernel = walk_ == TreeWalk::kPerfectAvx512
                                         ? PerfectWalkKernel::kAvx512
                                         : PerfectWalkKernel::kPortable;
    WalkPerfectForest(*forest_, kernel, features, rows, width, margins);
    return;
  }
  const int64_t groups = ensemble_.num_groups;
  for (int64_t start = 0; start < rows; start += kBlockRows) {
    const int64_t block = std::min(kBlockRows, rows - start);
    PredictBlock(ensemble_, features.data() + start * width, block,
                 margins.data() + start * groups);
  }
}

void TransformMargins(const TreeEnsemble& ensemble, int64_t rows, std::span<float> margins) {
  const int64_t groups = ensemble.num_groups;
  switch (ensemble.objective) {
    case Objective::kIdentity:
      return;
    case Objective::kSigmoid:
      for (float& margin : margins) margin = Sigmoid(margin);
      return;
    case Objective::kExp:  // XGBoost 1.7's PredTransform: expf of the float margin
      for (float& margin : margins) margin = std::exp(margin);
      return;
    case Objective::kSoftprob:
      for (int64_t row = 0; row < rows; ++row) {
        Softmax(margins.data() + row * groups, margins.data() + (row + 1) * groups);
      }
      return;
    case Objective::kSoftmax:
      for (int64_t row = 0; row < rows; ++row) {
        const float* begin = margins.data() + row * groups;
        margins[row] = static_cast<float>(std::max_element(begin, begin + groups) - begin);
      }
      return;
  }
}

}  // namespace strata::runtime::trees
