#include "runtime/trees/perfect_forest_walk.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace strata::runtime::trees {
namespace {

constexpr int32_t kLanes = PerfectForest::kLanes;
constexpr int64_t kBlockRows = 64;

// Adds lane group `q`'s leaves (bottom positions `at`, 0-based) to one row's
// margins, tree by tree in model order.
inline void AddLeaves(const PerfectForest& forest, int32_t q, const int32_t* at, float* margins) {
  const float* leaves =
      forest.leaves.data() + static_cast<size_t>(q) * forest.LeavesPerTree() * kLanes;
  const int32_t first = q * kLanes;
  const int32_t lanes = std::min(kLanes, forest.num_trees - first);
  for (int32_t lane = 0; lane < lanes; ++lane) {
    margins[forest.groups[static_cast<size_t>(first + lane)]] +=
        leaves[static_cast<size_t>(at[lane]) * kLanes + static_cast<size_t>(lane)];
  }
}

// Walks lane group `q` (16 trees) for one row, one lane per tree.
void WalkGroupPortable(const PerfectForest& forest, int32_t q, const float* row, float* margins) {
  const size_t base = static_cast<size_t>(q) * forest.NodesPerTree() * kLanes;
  const uint32_t* features = forest.features.data() + base;
  const float* thresholds = forest.thresholds.data() + base;
  int32_t at[kLanes] = {};
  for (int32_t level = 0; level < forest.depth; ++level) {
    for (int32_t lane = 0; lane < kLanes; ++lane) {
      const size_t slot = static_cast<size_t>(at[lane]) * kLanes + static_cast<size_t>(lane);
      const uint32_t word = features[slot];
      const float x = row[word & TreeNode::kFeatureMask];
      // XGBoost: a missing value takes the default branch, else x < value goes left.
      const bool right =
          std::isnan(x) ? (word & TreeNode::kDefaultLeft) == 0 : !(x < thresholds[slot]);
      at[lane] = 2 * at[lane] + 1 + static_cast<int32_t>(right);
    }
  }
  for (int32_t& k : at) k -= forest.NodesPerTree();
  AddLeaves(forest, q, at, margins);
}

// GCC 12's unmasked gathers and shifts start from an "undefined" vector that
// -Wmaybe-uninitialized flags; the masked forms with every lane set and an
// explicit zero source are the same instructions.
constexpr __mmask16 kAllLanes = 0xFFFF;

__attribute__((target("avx512f"))) inline __m512i GatherWords(__m512i index, const void* base) {
  return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), kAllLanes, index, base, 4);
}

__attribute__((target("avx512f"))) inline __m512 GatherFloats(__m512i index, const void* base) {
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), kAllLanes, index, base, 4);
}

// The same walk with AVX-512: one gather per level for the 16 trees' split
// features, one for their thresholds and one for the row's values.
__attribute__((target("avx512f"))) void WalkGroupAvx512(const PerfectForest& forest, int32_t q,
                                                        const float* row, float* margins) {
  const size_t base = static_cast<size_t>(q) * forest.NodesPerTree() * kLanes;
  const uint32_t* features = forest.features.data() + base;
  const float* thresholds = forest.thresholds.data() + base;
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i feature_mask = _mm512_set1_epi32(static_cast<int>(TreeNode::kFeatureMask));
  const __m512i default_left = _mm512_set1_epi32(static_cast<int>(TreeNode::kDefaultLeft));
  const __m512i one = _mm512_set1_epi32(1);
  __m512i at = _mm512_setzero_si512();
  for (int32_t level = 0; level < forest.depth; ++level) {
    const __m512i slot = _mm512_add_epi32(_mm512_maskz_slli_epi32(kAllLanes, at, 4), lanes);
    const __m512i word = GatherWords(slot, features);
    const __m512 threshold = GatherFloats(slot, thresholds);
    const __m512 x = GatherFloats(_mm512_and_si512(word, feature_mask), row);
    const __mmask16 missing = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    const __mmask16 less = _mm512_cmp_ps_mask(x, threshold, _CMP_LT_OQ);
    const __mmask16 left = less | (missing & _mm512_test_epi32_mask(word, default_left));
    at = _mm512_add_epi32(_mm512_add_epi32(at, at), one);
    at = _mm512_mask_add_epi32(at, static_cast<__mmask16>(~left), at, one);
  }
  alignas(64) int32_t bottom[kLanes];
  _mm512_store_si512(bottom, _mm512_sub_epi32(at, _mm512_set1_epi32(forest.NodesPerTree())));
  AddLeaves(forest, q, bottom, margins);
}

void WalkPortable(const PerfectForest& forest, const float* rows, int64_t count, int64_t width,
                  float* margins) {
  const int64_t groups = forest.num_groups;
  for (int64_t start = 0; start < count; start += kBlockRows) {
    const int64_t end = std::min(count, start + kBlockRows);
    for (int32_t q = 0; q < forest.LaneGroups(); ++q) {
      for (int64_t row = start; row < end; ++row) {
        WalkGroupPortable(forest, q, rows + row * width, margins + row * groups);
      }
    }
  }
}

__attribute__((target("avx512f"))) void WalkAvx512(const PerfectForest& forest, const float* rows,
                                                   int64_t count, int64_t width, float* margins) {
  const int64_t groups = forest.num_groups;
  for (int64_t start = 0; start < count; start += kBlockRows) {
    const int64_t end = std::min(count, start + kBlockRows);
    for (int32_t q = 0; q < forest.LaneGroups(); ++q) {
      for (int64_t row = start; row < end; ++row) {
        WalkGroupAvx512(forest, q, rows + row * width, margins + row * groups);
      }
    }
  }
}

}  // namespace

bool Avx512Available() { return __builtin_cpu_supports("avx512f"); }

void WalkPerfectForest(const PerfectForest& forest, PerfectWalkKernel kernel,
                       std::span<const float> rows, int64_t count, int64_t width,
                       std::span<float> margins) {
  if (kernel == PerfectWalkKernel::kAvx512) {
    WalkAvx512(forest, rows.data(), count, width, margins.data());
  } else {
    WalkPortable(forest, rows.data(), count, width, margins.data());
  }
}

}  // namespace strata::runtime::trees
