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

STRATA_AVX512 inline __m512i Lanes() {
  return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

STRATA_AVX512 inline __m512i ShiftLeft(__m512i v, unsigned bits) {
  return _mm512_maskz_slli_epi32(kAllLanes, v, bits);
}

// The split features and thresholds of 16 nodes.
struct Splits {
  __m512i feature;
  __m512 threshold;
};

// The arrays of nodes a walk reads, from its first tree's node 0.
struct NodeArrays {
  const uint32_t* features;
  const float* thresholds;
};

// The nodes at `slot` (per lane, counted from `nodes`).
STRATA_AVX512 inline Splits GatherSplits(__m512i slot, const NodeArrays& nodes) {
  return {GatherWords(slot, nodes.features), GatherFloats(slot, nodes.thresholds)};
}

// Levels above this one pick a lane group's nodes with blends of whole
// vectors (level k's 2^k nodes are 2^k adjacent vectors), not gathers.
constexpr int32_t kBlendedLevels = 4;

// The nodes at `at` (per lane) on level kLevel of a lane group: the level's
// vectors loaded, then halved by one bit of each lane's position at a time.
template <int32_t kLevel>
STRATA_AVX512 inline Splits BlendSplits(__m512i at, const NodeArrays& nodes) {
  constexpr int32_t kFirst = (1 << kLevel) - 1, kCount = 1 << kLevel;
  const __m512i position = _mm512_sub_epi32(at, _mm512_set1_epi32(kFirst));
  __m512i features[kCount];
  __m512 thresholds[kCount];
  for (int32_t j = 0; j < kCount; ++j) {
    features[j] = _mm512_loadu_si512(nodes.features + (kFirst + j) * kLanes);
    thresholds[j] = _mm512_loadu_ps(nodes.thresholds + (kFirst + j) * kLanes);
  }
  for (int32_t bit = 0, n = kCount; n > 1; ++bit, n /= 2) {
    const __mmask16 odd = _mm512_test_epi32_mask(position, _mm512_set1_epi32(1 << bit));
    for (int32_t j = 0; j < n / 2; ++j) {
      features[j] = _mm512_mask_blend_epi32(odd, features[2 * j], features[2 * j + 1]);
      thresholds[j] = _mm512_mask_blend_ps(odd, thresholds[2 * j], thresholds[2 * j + 1]);
    }
  }
  return {features[0], thresholds[0]};
}

// One level down for 16 lanes at nodes `at`, given their thresholds and the
// lanes' values `x`: at' = 2 at + 1, + 1 more going right.
STRATA_AVX512 inline __m512i Descend(__m512i at, __m512 x, __m512 threshold) {
  const __mmask16 right = _mm512_cmp_ps_mask(x, threshold, _CMP_NLT_UQ);
  const __m512i one = _mm512_set1_epi32(1);
  at = _mm512_add_epi32(_mm512_add_epi32(at, at), one);
  return _mm512_mask_add_epi32(at, right, at, one);
}

// An extended row of at most kRegisterRow floats, held in four registers so
// that a split's value is a permute instead of a gather.
constexpr int64_t kRegisterRow = 64;
struct RowRegisters {
  __m512 part[4];
};

STRATA_AVX512 inline RowRegisters LoadRow(const float* row, int64_t width) {
  RowRegisters registers;
  for (int64_t i = 0; i < 4; ++i) {
    const int64_t n = std::clamp<int64_t>(width - 16 * i, 0, 16);
    const auto mask = static_cast<__mmask16>((1u << n) - 1);
    registers.part[i] = _mm512_maskz_loadu_ps(mask, row + 16 * i);
  }
  return registers;
}

STRATA_AVX512 inline __m512 Lookup(const RowRegisters& r, __m512i feature) {
  const __m512 low = _mm512_permutex2var_ps(r.part[0], feature, r.part[1]);
  const __m512 high = _mm512_permutex2var_ps(r.part[2], feature, r.part[3]);
  const __mmask16 upper = _mm512_test_epi32_mask(feature, _mm512_set1_epi32(32));
  return _mm512_mask_blend_ps(upper, low, high);
}

// The row's values at `feature`: from registers when the row fits them.
STRATA_AVX512 inline __m512 Values(const RowRegisters& registers, bool in_registers,
                                   const float* row, __m512i feature) {
  return in_registers ? Lookup(registers, feature) : GatherFloats(feature, row);
}

// Walks lane group `q` (16 trees) for one extended row, one lane per tree.
STRATA_AVX512 void WalkGroupForRow(const PerfectForest& forest, int32_t q, const float* row,
                                   float* margins) {
  const size_t base = static_cast<size_t>(q) * forest.NodesPerTree() * kLanes;
  const NodeArrays nodes{forest.features.data() + base, forest.thresholds.data() + base};
  const int64_t width = 2 * int64_t{forest.num_features};
  const bool in_registers = width <= kRegisterRow;
  const RowRegisters registers = in_registers ? LoadRow(row, width) : RowRegisters{};
  __m512i at = _mm512_setzero_si512();
  Splits splits;
  for (int32_t level = 0; level < forest.depth; ++level) {
    switch (level) {
      case 0:
        splits = BlendSplits<0>(at, nodes);
        break;
      case 1:
        splits = BlendSplits<1>(at, nodes);
        break;
      case 2:
        splits = BlendSplits<2>(at, nodes);
        break;
      case 3:
        splits = BlendSplits<3>(at, nodes);
        break;
      default:
        splits = GatherSplits(_mm512_add_epi32(ShiftLeft(at, 4), Lanes()), nodes);
    }
    at = Descend(at, Values(registers, in_registers, row, splits.feature), splits.threshold);
  }
  const float* leaves =
      forest.leaves.data() + static_cast<size_t>(q) * forest.LeavesPerTree() * kLanes;
  const __m512i bottom = _mm512_sub_epi32(at, _mm512_set1_epi32(forest.NodesPerTree()));
  alignas(64) float values[kLanes];
  _mm512_store_ps(values, GatherFloats(_mm512_add_epi32(ShiftLeft(bottom, 4), Lanes()), leaves));
  forest.AddLeaves(q, values, margins);
}

// Walks tree `tree` for 16 extended rows, one lane per row (`row_starts`:
// each lane's row offset from `rows`), and returns the rows' leaves.
STRATA_AVX512 inline __m512 WalkTreeForRows(const PerfectForest& forest, int32_t tree,
                                            const float* rows, __m512i row_starts) {
  const auto q = static_cast<size_t>(tree / kLanes), lane = static_cast<size_t>(tree % kLanes);
  const size_t base = q * static_cast<size_t>(forest.NodesPerTree()) * kLanes + lane;
  const NodeArrays nodes{forest.features.data() + base, forest.thresholds.data() + base};
  __m512i at = _mm512_setzero_si512();
  for (int32_t level = 0; level < forest.depth; ++level) {
    const Splits splits = GatherSplits(ShiftLeft(at, 4), nodes);
    const __m512 x = GatherFloats(_mm512_add_epi32(row_starts, splits.feature), rows);
    at = Descend(at, x, splits.threshold);
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
  const bool vectors = width > kRegisterRow && groups <= kMaxBlockGroups &&
                       width <= std::numeric_limits<int32_t>::max() / kLanes;
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
