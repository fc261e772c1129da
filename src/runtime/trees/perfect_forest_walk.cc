#include "runtime/trees/perfect_forest_walk.h"

#include <algorithm>
#include <vector>

#include "runtime/trees/perfect_forest_avx512.h"

namespace strata::runtime::trees {
namespace {

constexpr int32_t kLanes = PerfectForest::kLanes;
constexpr int32_t kChains = 8;  // trees the portable kernel walks at once

// The arrays of one lane group, from the first tree walked.
struct GroupArrays {
  const uint32_t* features;
  const float* thresholds;
  const float* leaves;
};

// Walks kChains adjacent trees of one lane group (`group`: from the first
// one's node 0 and leaf 0) for one extended row, and writes their leaf
// values. The chains are independent, so the processor overlaps their loads.
inline void WalkChains(const GroupArrays& group, int32_t depth, const float* row, float* values) {
  // Each chain's state is its slot, node x kLanes, so a node is one
  // addressing mode away: slot' = 2 x slot + kLanes (+ kLanes going right).
  size_t slot[kChains] = {};
  for (int32_t level = 0; level < depth; ++level) {
#pragma GCC unroll 8
    for (int32_t lane = 0; lane < kChains; ++lane) {
      const size_t at = slot[lane] + static_cast<size_t>(lane);
      const auto right = static_cast<size_t>(!(row[group.features[at]] < group.thresholds[at]));
      slot[lane] = 2 * slot[lane] + kLanes + right * kLanes;
    }
  }
  // The bottom slots start at node 2^depth - 1, where the leaves start at 0.
  const float* bottom = group.leaves - static_cast<size_t>((1 << depth) - 1) * kLanes;
  for (int32_t lane = 0; lane < kChains; ++lane) {
    values[lane] = bottom[slot[lane] + static_cast<size_t>(lane)];
  }
}

// Walks every tree for `count` extended rows (ExtendedWidth() floats), one
// lane group of trees at a time across the rows.
void WalkRowsPortable(const PerfectForest& forest, const float* rows, int64_t count,
                      float* margins) {
  const int64_t width = forest.ExtendedWidth();
  const int64_t groups = forest.num_groups;
  const size_t nodes_per_group = static_cast<size_t>(forest.NodesPerTree()) * kLanes;
  const size_t leaves_per_group = static_cast<size_t>(forest.LeavesPerTree()) * kLanes;
  for (int32_t q = 0; q < forest.LaneGroups(); ++q) {
    const GroupArrays arrays{forest.features.data() + q * nodes_per_group,
                             forest.thresholds.data() + q * nodes_per_group,
                             forest.leaves.data() + q * leaves_per_group};
    for (int64_t row = 0; row < count; ++row) {
      float values[kLanes];
      for (int32_t chain = 0; chain < kLanes; chain += kChains) {
        const GroupArrays chains{arrays.features + chain, arrays.thresholds + chain,
                                 arrays.leaves + chain};
        WalkChains(chains, forest.depth, rows + row * width, values + chain);
      }
      forest.AddLeaves(q, values, margins + row * groups);
    }
  }
}

// Rows in a block: extended together, then met by one lane group of trees
// at a time, so those trees' nodes stay in L1 across the block.
constexpr int64_t kBlockRows = 64;

// The extended rows of the block being walked; per thread, grown once.
std::vector<float>& BlockBuffer(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer;
}

}  // namespace

bool Avx512Available() { return __builtin_cpu_supports("avx512f"); }

void WalkPerfectForest(const PerfectForest& forest, PerfectWalkKernel kernel,
                       std::span<const float> rows, int64_t count, int64_t width,
                       std::span<float> margins) {
  const int64_t extended = forest.ExtendedWidth(), groups = forest.num_groups;
  if (kernel == PerfectWalkKernel::kAvx512 && count == 1 && extended <= kAvx512RegisterRow) {
    return WalkPlainRowAvx512(forest, rows.data(), width, margins.data());
  }
  std::vector<float>& buffer = BlockBuffer(static_cast<size_t>(kBlockRows * extended));
  for (int64_t start = 0; start < count; start += kBlockRows) {
    const int64_t block = std::min(kBlockRows, count - start);
    for (int64_t row = 0; row < block; ++row) {
      ExtendRow(rows.data() + (start + row) * width, width, forest.second_copy,
                buffer.data() + row * extended);
    }
    if (kernel == PerfectWalkKernel::kAvx512) {
      WalkRowsAvx512(forest, buffer.data(), block, margins.data() + start * groups);
    } else {
      WalkRowsPortable(forest, buffer.data(), block, margins.data() + start * groups);
    }
  }
}

}  // namespace strata::runtime::trees
