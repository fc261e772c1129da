// PerfectForest is a TreeEnsemble laid out for a branch-free walk: every tree
// padded to a perfect binary tree of the forest's depth (a leaf above the
// bottom is copied to every bottom slot below it), nodes in breadth-first
// order with implicit children (node k's children are 2k + 1 and 2k + 2), the
// leaves in their own array indexed by the bottom position. A walk is exactly
// `depth` steps of `k = 2k + 1 + go_right`, with no test for a leaf.
//
// Trees are interleaved by `kLanes`: node k of the trees 16q .. 16q + 15 sits
// in 16 adjacent slots, so one row walks 16 trees at once with one vector of
// indices (and the first level is a plain load). A value type, immutable once
// built; thread-safe to read.
#ifndef STRATA_RUNTIME_TREES_PERFECT_FOREST_H_
#define STRATA_RUNTIME_TREES_PERFECT_FOREST_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/trees/tree_ensemble.h"

namespace strata::runtime::trees {

struct PerfectForest {
  static constexpr int32_t kLanes = 16;    // trees interleaved node by node
  static constexpr int32_t kMaxDepth = 8;  // deeper trees keep the node walk

  int32_t depth = 0;
  int32_t num_trees = 0;
  int32_t num_groups = 1;
  // [tree / kLanes][node][tree % kLanes]; a feature packs kDefaultLeft as
  // TreeNode does.
  std::vector<uint32_t> features;
  std::vector<float> thresholds;
  std::vector<float> leaves;    // [tree / kLanes][leaf][tree % kLanes]
  std::vector<int32_t> groups;  // per tree, the output group it adds to

  int32_t NodesPerTree() const { return (1 << depth) - 1; }
  int32_t LeavesPerTree() const { return 1 << depth; }
  int32_t LaneGroups() const { return (num_trees + kLanes - 1) / kLanes; }
};

// Lays `ensemble` out as a PerfectForest. FAILED_PRECONDITION, with the
// reason, when a tree is deeper than kMaxDepth (the padding would grow as
// 2^depth).
absl::StatusOr<PerfectForest> BuildPerfectForest(const TreeEnsemble& ensemble);

}  // namespace strata::runtime::trees

#endif  // STRATA_RUNTIME_TREES_PERFECT_FOREST_H_
