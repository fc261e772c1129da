// PerfectForest is a TreeEnsemble laid out for a branch-free walk: every tree
// padded to a perfect binary tree of the forest's depth (a leaf above the
// bottom is copied to every bottom slot below it), nodes in breadth-first
// order with implicit children (node k's children are 2k + 1 and 2k + 2), the
// leaves in their own array indexed by the bottom position. A walk is exactly
// `depth` steps of `k = 2k + 1 + go_right`, with no test for a leaf.
//
// Missing values need no test in the walk: it reads an extended row, the
// row's `width` values with NaN as -inf, then from `second_copy` on again
// with NaN as +inf (ExtendRow()). A split whose missing values go left reads the first copy
// (-inf < any threshold it holds), one whose missing values go right the
// second (+inf is never below a threshold), so every step is one compare,
// `right = !(x < threshold)`, with XGBoost's answer for missing values and
// for real infinities alike. The second copy starts at 32 for rows of at
// most 32 features (at the row's width for wider ones), so a split's index
// into either copy has the feature in its low five bits: for a row without
// missing values, one 32-float permute of the first copy reads every split.
//
// Trees are interleaved by `kLanes`: node k of the trees 16q .. 16q + 15 sits
// in 16 adjacent slots, so one row walks 16 trees at once with one vector of
// indices (and the first level is a plain load). Forests at most
// kMaskedMaxDepth deep also keep each tree's leaves side by side, for the walk
// that decides all of a tree's splits at once (perfect_forest_avx512.h). A
// value type, immutable once built; thread-safe to read.
#ifndef STRATA_RUNTIME_TREES_PERFECT_FOREST_H_
#define STRATA_RUNTIME_TREES_PERFECT_FOREST_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/trees/tree_ensemble.h"

namespace strata::runtime::trees {

struct PerfectForest {
  static constexpr int32_t kLanes = 16;          // trees interleaved node by node
  static constexpr int32_t kMaxDepth = 8;        // deeper trees keep the node walk
  static constexpr int32_t kMaskedMaxDepth = 5;  // a tree's leaves fit 32 bits
  static constexpr int32_t kLeafRow = 32;        // leaves per tree in leaf_rows

  int32_t depth = 0;
  int32_t num_trees = 0;
  int32_t num_groups = 1;
  static constexpr int32_t kNarrowCopy = 32;  // second_copy of narrow rows

  int32_t num_features = 0;  // a row's width
  int32_t second_copy = 0;   // where the extended row's NaN-as-+inf copy starts
  // Per node, [tree / kLanes][node][tree % kLanes]: the index of its value in
  // the extended row, and the threshold (go right when !(x < threshold)).
  std::vector<uint32_t> features;
  std::vector<float> thresholds;
  std::vector<float> leaves;    // [tree / kLanes][leaf][tree % kLanes]
  std::vector<int32_t> groups;  // per tree, the output group it adds to
  // Per tree, its leaves side by side ([tree][kLeafRow], the bottom position
  // in order); empty when depth > kMaskedMaxDepth.
  std::vector<float> leaf_rows;

  int32_t NodesPerTree() const { return (1 << depth) - 1; }
  int32_t LeavesPerTree() const { return 1 << depth; }
  int32_t LaneGroups() const { return (num_trees + kLanes - 1) / kLanes; }
  int64_t ExtendedWidth() const { return 2 * int64_t{second_copy}; }

  // Adds lane group `q`'s leaf values (one per lane) to one row's margins,
  // tree by tree in model order.
  void AddLeaves(int32_t q, const float* values, float* margins) const {
    const int32_t first = q * kLanes;
    const int32_t lanes = num_trees - first < kLanes ? num_trees - first : kLanes;
    if (num_groups == 1) {  // the sum stays in a register
      float sum = margins[0];
      for (int32_t lane = 0; lane < lanes; ++lane) sum += values[lane];
      margins[0] = sum;
      return;
    }
    for (int32_t lane = 0; lane < lanes; ++lane) {
      margins[groups[static_cast<size_t>(first + lane)]] += values[lane];
    }
  }
};

// Lays `ensemble` out as a PerfectForest. FAILED_PRECONDITION, with the
// reason, when a tree is deeper than kMaxDepth (the padding would grow as
// 2^depth) or a split sending missing values left has a threshold of -inf or
// NaN (its missing values could not be told from -inf).
absl::StatusOr<PerfectForest> BuildPerfectForest(const TreeEnsemble& ensemble);

// Writes `row` (`width` floats) as the walk reads it into `extended`
// (2 x second_copy floats): NaN as -inf, then from `second_copy` on NaN as
// +inf; zeros between the copies and after the second.
inline void ExtendRow(const float* row, int64_t width, int64_t second_copy, float* extended) {
  // One loop per copy: each vectorizes on its own.
  for (int64_t i = 0; i < width; ++i) {
    extended[i] = row[i] != row[i] ? -__builtin_inff() : row[i];
  }
  float* second = extended + second_copy;
  for (int64_t i = 0; i < width; ++i) {
    second[i] = row[i] != row[i] ? __builtin_inff() : row[i];
  }
  for (int64_t i = width; i < second_copy; ++i) extended[i] = second[i] = 0;
}

}  // namespace strata::runtime::trees

#endif  // STRATA_RUNTIME_TREES_PERFECT_FOREST_H_
