#include "runtime/trees/perfect_forest.h"

#include <algorithm>

#include "fmt/format.h"

namespace strata::runtime::trees {
namespace {

// Where one tree's slots go in the interleaved arrays.
struct TreeSlots {
  size_t node_base;  // slot of node 0
  size_t leaf_base;  // slot of leaf 0

  size_t Node(int64_t k) const {
    return node_base + static_cast<size_t>(k) * PerfectForest::kLanes;
  }
  size_t Leaf(int64_t j) const {
    return leaf_base + static_cast<size_t>(j) * PerfectForest::kLanes;
  }
};

// Copies the subtree under `node` to perfect position `k` at `level`; a leaf
// above the bottom fills every bottom slot below it, and the padding splits
// above those slots (feature 0, threshold 0) lead to the same value whichever
// way they go.
absl::Status CheckMissingValuesFit(const TreeEnsemble& ensemble) {
  for (const TreeNode& node : ensemble.nodes) {
    if (node.left >= 0 && (node.feature & TreeNode::kDefaultLeft) != 0 &&
        !(node.value > -__builtin_inff())) {
      return absl::FailedPreconditionError(fmt::format(
          "a split sending missing values left has threshold {}, which -inf cannot stand for",
          node.value));
    }
  }
  return absl::OkStatus();
}

void Fill(const std::vector<TreeNode>& nodes, int32_t node, int64_t k, int32_t level,
          const TreeSlots& slots, PerfectForest& forest) {
  const TreeNode& source = nodes[static_cast<size_t>(node)];
  if (level == forest.depth) {
    forest.leaves[slots.Leaf(k - forest.NodesPerTree())] = source.value;
    return;
  }
  if (source.left < 0) {
    forest.features[slots.Node(k)] = 0;
    forest.thresholds[slots.Node(k)] = 0;
    Fill(nodes, node, 2 * k + 1, level + 1, slots, forest);
    Fill(nodes, node, 2 * k + 2, level + 1, slots, forest);
    return;
  }
  const uint32_t feature = source.feature & TreeNode::kFeatureMask;
  const bool default_left = (source.feature & TreeNode::kDefaultLeft) != 0;
  forest.features[slots.Node(k)] =
      default_left ? feature : feature + static_cast<uint32_t>(forest.second_copy);
  forest.thresholds[slots.Node(k)] = source.value;
  Fill(nodes, source.left, 2 * k + 1, level + 1, slots, forest);
  Fill(nodes, source.left + 1, 2 * k + 2, level + 1, slots, forest);
}

// Copies each tree's leaves, interleaved by lane group, side by side.
void LineUpLeaves(PerfectForest& forest) {
  forest.leaf_rows.assign(static_cast<size_t>(forest.num_trees) * PerfectForest::kLeafRow, 0);
  for (int32_t tree = 0; tree < forest.num_trees; ++tree) {
    const auto group = static_cast<size_t>(tree / PerfectForest::kLanes);
    const auto lane = static_cast<size_t>(tree % PerfectForest::kLanes);
    const size_t first =
        group * static_cast<size_t>(forest.LeavesPerTree()) * PerfectForest::kLanes;
    for (int32_t leaf = 0; leaf < forest.LeavesPerTree(); ++leaf) {
      forest.leaf_rows[static_cast<size_t>(tree * PerfectForest::kLeafRow + leaf)] =
          forest.leaves[first + static_cast<size_t>(leaf) * PerfectForest::kLanes + lane];
    }
  }
}

}  // namespace

absl::StatusOr<PerfectForest> BuildPerfectForest(const TreeEnsemble& ensemble) {
  PerfectForest forest;
  for (int32_t depth : ensemble.depths) forest.depth = std::max(forest.depth, depth);
  if (forest.depth > PerfectForest::kMaxDepth) {
    return absl::FailedPreconditionError(
        fmt::format("a tree of depth {} is deeper than the perfect layout's bound {}", forest.depth,
                    PerfectForest::kMaxDepth));
  }
  if (absl::Status fits = CheckMissingValuesFit(ensemble); !fits.ok()) return fits;
  forest.num_trees = static_cast<int32_t>(ensemble.roots.size());
  forest.num_features = ensemble.num_features;
  forest.second_copy = std::max(ensemble.num_features, PerfectForest::kNarrowCopy);
  forest.num_groups = ensemble.num_groups;
  forest.groups = ensemble.groups;
  const auto padded = static_cast<size_t>(forest.LaneGroups()) * PerfectForest::kLanes;
  forest.features.assign(padded * static_cast<size_t>(forest.NodesPerTree()), 0);
  forest.thresholds.assign(forest.features.size(), 0);
  forest.leaves.assign(padded * static_cast<size_t>(forest.LeavesPerTree()), 0);
  for (int32_t tree = 0; tree < forest.num_trees; ++tree) {
    const auto group = static_cast<size_t>(tree / PerfectForest::kLanes);
    const auto lane = static_cast<size_t>(tree % PerfectForest::kLanes);
    const TreeSlots slots{
        (group * static_cast<size_t>(forest.NodesPerTree())) * PerfectForest::kLanes + lane,
        (group * static_cast<size_t>(forest.LeavesPerTree())) * PerfectForest::kLanes + lane};
    Fill(ensemble.nodes, ensemble.roots[static_cast<size_t>(tree)], 0, 0, slots, forest);
  }
  if (forest.depth <= PerfectForest::kMaskedMaxDepth) LineUpLeaves(forest);
  return forest;
}

}  // namespace strata::runtime::trees
