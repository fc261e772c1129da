#include "runtime/trees/perfect_forest_avx512.h"

#include <immintrin.h>

#include <algorithm>
#include <limits>

#define STRATA_AVX512 __attribute__((target("avx512f")))

namespace strata::runtime::trees {
namespace {

constexpr int32_t kLanes = PerfectForest::kLanes;
constexpr int32_t kMaxBlockGroups = 16;  // output groups the row-vector walk keeps

// GCC 12's unmasked gathers and shifts start from an "undefined" vector that
// -Wmaybe-uninitialized flags; the masked forms with every lane set and an
// explicit zero source are the same instructions.
constexpr __mmask16 kAllLanes = 0xFFFF;

STRATA_AVX512 inline __m512i GatherWords(__m512i index, const void* base) {
  return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), kAllLanes, index, base, 4);
}

STRATA_AVX512 inline __m512 GatherFloats(__m512i index, const void* base) {
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), kAllLanes, index, base, 4);
}

STRATA_AVX512 inline __m512i ShiftLeft(__m512i v, unsigned bits) {
  return _mm512_maskz_slli_epi32(kAllLanes, v, bits);
}

// One level down for 16 lanes at nodes `at` (node words at `slot` x 2 from
// `nodes`), reading each lane's value from `rows` at `row_starts` + feature.
STRATA_AVX512 inline __m512i Step(__m512i at, __m512i slot, const PerfectForest::Node* nodes,
                                  const float* rows, __m512i row_starts) {
  const __m512i word = ShiftLeft(slot, 1);
  const __m512i feature = GatherWords(word, nodes);
  const __m512 threshold = GatherFloats(word, &nodes->threshold);
  const __m512 x = GatherFloats(_mm512_add_epi32(row_starts, feature), rows);
  const __mmask16 right = _mm512_cmp_ps_mask(x, threshold, _CMP_NLT_UQ);
  const __m512i one = _mm512_set1_epi32(1);
  at = _mm512_add_epi32(_mm512_add_epi32(at, at), one);
  return _mm512_mask_add_epi32(at, right, at, one);
}

// Walks lane group `q` (16 trees) for one extended row, one lane per tree.
STRATA_AVX512 void WalkGroupForRow(const PerfectForest& forest, int32_t q, const float* row,
                                   float* margins) {
  const PerfectForest::Node* nodes =
      forest.nodes.data() + static_cast<size_t>(q) * forest.NodesPerTree() * kLanes;
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i at = _mm512_setzero_si512();
  for (int32_t level = 0; level < forest.depth; ++level) {
    at = Step(at, _mm512_add_epi32(ShiftLeft(at, 4), lanes), nodes, row, _mm512_setzero_si512());
  }
  const float* leaves =
      forest.leaves.data() + static_cast<size_t>(q) * forest.LeavesPerTree() * kLanes;
  const __m512i bottom = _mm512_sub_epi32(at, _mm512_set1_epi32(forest.NodesPerTree()));
  alignas(64) float values[kLanes];
  _mm512_store_ps(values, GatherFloats(_mm512_add_epi32(ShiftLeft(bottom, 4), lanes), leaves));
  forest.AddLeaves(q, values, margins);
}

// Walks tree `tree` for 16 extended rows, one lane per row (`row_starts`:
// each lane's row offset from `rows`), and returns the rows' leaves.
STRATA_AVX512 inline __m512 WalkTreeForRows(const PerfectForest& forest, int32_t tree,
                                            const float* rows, __m512i row_starts) {
  const auto q = static_cast<size_t>(tree / kLanes), lane = static_cast<size_t>(tree % kLanes);
  const PerfectForest::Node* nodes =
      forest.nodes.data() + q * static_cast<size_t>(forest.NodesPerTree()) * kLanes + lane;
  __m512i at = _mm512_setzero_si512();
  for (int32_t level = 0; level < forest.depth; ++level) {
    at = Step(at, ShiftLeft(at, 4), nodes, rows, row_starts);
  }
  const float* leaves =
      forest.leaves.data() + q * static_cast<size_t>(forest.LeavesPerTree()) * kLanes + lane;
  return GatherFloats(ShiftLeft(_mm512_sub_epi32(at, _mm512_set1_epi32(forest.NodesPerTree())), 4),
                      leaves);
}

// Margins of 16 rows, transposed so that a group's margins for the 16 rows
// are one vector: sums[group][lane].
struct VectorSums {
  alignas(64) float sums[kMaxBlockGroups][kLanes];
};

// Walks 16 extended rows, one lane per row, tree by tree in model order.
STRATA_AVX512 void WalkSixteenRows(const PerfectForest& forest, const float* rows, float* margins) {
  const int64_t groups = forest.num_groups, width = 2 * int64_t{forest.num_features};
  VectorSums block;
  for (int64_t row = 0; row < kLanes; ++row) {
    for (int64_t g = 0; g < groups; ++g) block.sums[g][row] = margins[row * groups + g];
  }
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i row_starts = _mm512_mullo_epi32(lanes, _mm512_set1_epi32(static_cast<int>(width)));
  for (int32_t tree = 0; tree < forest.num_trees; ++tree) {
    float* sum = block.sums[forest.groups[static_cast<size_t>(tree)]];
    const __m512 leaf = WalkTreeForRows(forest, tree, rows, row_starts);
    _mm512_store_ps(sum, _mm512_add_ps(_mm512_load_ps(sum), leaf));
  }
  for (int64_t row = 0; row < kLanes; ++row) {
    for (int64_t g = 0; g < groups; ++g) margins[row * groups + g] = block.sums[g][row];
  }
}

}  // namespace

STRATA_AVX512 void WalkRowsAvx512(const PerfectForest& forest, const float* rows, int64_t count,
                                  float* margins) {
  const int64_t width = 2 * int64_t{forest.num_features}, groups = forest.num_groups;
  const bool vectors =
      groups <= kMaxBlockGroups && width <= std::numeric_limits<int32_t>::max() / kLanes;
  int64_t start = 0;
  for (; vectors && start + kLanes <= count; start += kLanes) {
    WalkSixteenRows(forest, rows + start * width, margins + start * groups);
  }
  for (int32_t q = 0; q < forest.LaneGroups(); ++q) {
    for (int64_t row = start; row < count; ++row) {
      WalkGroupForRow(forest, q, rows + row * width, margins + row * groups);
    }
  }
}

}  // namespace strata::runtime::trees
