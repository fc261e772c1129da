#include "runtime/trees/perfect_forest_avx512.h"

#include <immintrin.h>

#include <algorithm>
#include <bit>
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

// The nodes [kFirst, kFirst + kCount) of a level, picked per lane by the
// bits of its position on the level (`odd[b]`: the lanes whose position has
// bit b): the halves picked alike, then one blended in by the highest bit.
// Unrolled at compile time, so the vectors stay in registers.
template <int32_t kFirst, int32_t kCount>
STRATA_AVX512 inline Splits PickSplits(const __mmask16* odd, const NodeArrays& nodes) {
  if constexpr (kCount == 1) {
    return {_mm512_loadu_si512(nodes.features + kFirst * kLanes),
            _mm512_loadu_ps(nodes.thresholds + kFirst * kLanes)};
  } else {
    constexpr int32_t kHalf = kCount / 2;
    const Splits low = PickSplits<kFirst, kHalf>(odd, nodes);
    const Splits high = PickSplits<kFirst + kHalf, kHalf>(odd, nodes);
    const __mmask16 upper = odd[std::countr_zero(static_cast<uint32_t>(kHalf))];
    return {_mm512_mask_blend_epi32(upper, low.feature, high.feature),
            _mm512_mask_blend_ps(upper, low.threshold, high.threshold)};
  }
}

// The nodes at `at` (per lane) on level kLevel of a lane group, picked from
// the level's 2^kLevel adjacent vectors by blends.
template <int32_t kLevel>
STRATA_AVX512 inline Splits BlendSplits(__m512i at, const NodeArrays& nodes) {
  constexpr int32_t kFirst = (1 << kLevel) - 1;
  const __m512i position = _mm512_sub_epi32(at, _mm512_set1_epi32(kFirst));
  __mmask16 odd[kLevel + 1] = {};
  for (int32_t bit = 0; bit < kLevel; ++bit) {
    odd[bit] = _mm512_test_epi32_mask(position, _mm512_set1_epi32(1 << bit));
  }
  return PickSplits<kFirst, 1 << kLevel>(odd, nodes);
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
constexpr int64_t kRegisterRow = kAvx512RegisterRow;
struct RowRegisters {
  __m512 part[4];
};

// How a walk reads a row's values, cheapest first.
enum class RowLookup {
  kComplete,   // no missing value: one permute of the first copy's two registers
  kRegisters,  // both copies in four registers: two permutes and a blend
  kMemory,     // a row wider than kRegisterRow: a gather
};

// Loads an extended row of `width` floats into `registers` when it fits them,
// and says how the walk is to read it.
STRATA_AVX512 inline RowLookup LoadRow(const float* row, int64_t width, RowRegisters& registers) {
  if (width > kRegisterRow) return RowLookup::kMemory;
  for (int64_t i = 0; i < 4; ++i) {
    const int64_t n = std::clamp<int64_t>(width - 16 * i, 0, 16);
    const auto mask = static_cast<__mmask16>((1u << n) - 1);
    registers.part[i] = _mm512_maskz_loadu_ps(mask, row + 16 * i);
  }
  // Narrow rows keep their copies 32 floats apart (PerfectForest::kNarrowCopy),
  // equal but where a value is missing.
  const __mmask16 same = _mm512_cmp_ps_mask(registers.part[0], registers.part[2], _CMP_EQ_OQ) &
                         _mm512_cmp_ps_mask(registers.part[1], registers.part[3], _CMP_EQ_OQ);
  return same == kAllLanes ? RowLookup::kComplete : RowLookup::kRegisters;
}

// One lane group of trees walked for one extended row: a chain of dependent
// steps; a walk runs several chains level by level so their steps overlap.
struct Chain {
  NodeArrays nodes;               // the lane group's, from its first tree's node 0
  const float* leaves;            // the lane group's leaf 0
  const float* row;               // the extended row
  const RowRegisters* registers;  // the row, unless kMemory
};

STRATA_AVX512 inline Chain ChainFor(const PerfectForest& forest, int32_t q, const float* row,
                                    const RowRegisters* registers) {
  const size_t nodes = static_cast<size_t>(q) * forest.NodesPerTree() * kLanes;
  const size_t leaves = static_cast<size_t>(q) * forest.LeavesPerTree() * kLanes;
  return {{forest.features.data() + nodes, forest.thresholds.data() + nodes},
          forest.leaves.data() + leaves,
          row,
          registers};
}

// The row's values at `feature` (per lane).
template <RowLookup kLookup>
STRATA_AVX512 inline __m512 Values(const Chain& chain, __m512i feature) {
  const RowRegisters& r = *chain.registers;
  if constexpr (kLookup == RowLookup::kComplete) {
    return _mm512_permutex2var_ps(r.part[0], feature, r.part[1]);  // the low five bits
  } else if constexpr (kLookup == RowLookup::kRegisters) {
    const __m512 low = _mm512_permutex2var_ps(r.part[0], feature, r.part[1]);
    const __m512 high = _mm512_permutex2var_ps(r.part[2], feature, r.part[3]);
    const __mmask16 upper = _mm512_test_epi32_mask(feature, _mm512_set1_epi32(32));
    return _mm512_mask_blend_ps(upper, low, high);
  } else {
    return GatherFloats(feature, chain.row);
  }
}

// The nodes on level kLevel at `at` (per lane): blended for the top levels,
// gathered below them.
template <int32_t kLevel>
STRATA_AVX512 inline Splits SplitsOn(__m512i at, const NodeArrays& nodes) {
  if constexpr (kLevel < kBlendedLevels) {
    return BlendSplits<kLevel>(at, nodes);
  } else {
    return GatherSplits(_mm512_add_epi32(ShiftLeft(at, 4), Lanes()), nodes);
  }
}

// One level down for kChains chains.
template <int32_t kLevel, int32_t kChains, RowLookup kLookup>
STRATA_AVX512 inline void StepChains(const Chain* chains, __m512i* at) {
#pragma GCC unroll 8
  for (int32_t i = 0; i < kChains; ++i) {
    const Splits splits = SplitsOn<kLevel>(at[i], chains[i].nodes);
    at[i] = Descend(at[i], Values<kLookup>(chains[i], splits.feature), splits.threshold);
  }
}

// Walks kChains chains level by level across the chains: their steps are
// independent, so the processor overlaps one chain's gathers and permutes
// with another's instead of waiting out one chain at a time. Writes each
// chain's 16 leaf values to `values`.
template <int32_t kChains, RowLookup kLookup>
STRATA_AVX512 void WalkChains(const PerfectForest& forest, const Chain* chains,
                              float (*values)[kLanes]) {
  __m512i at[kChains];
  for (int32_t i = 0; i < kChains; ++i) at[i] = _mm512_setzero_si512();
  for (int32_t level = 0; level < forest.depth; ++level) {
    switch (level) {
      case 0:
        StepChains<0, kChains, kLookup>(chains, at);
        break;
      case 1:
        StepChains<1, kChains, kLookup>(chains, at);
        break;
      case 2:
        StepChains<2, kChains, kLookup>(chains, at);
        break;
      case 3:
        StepChains<3, kChains, kLookup>(chains, at);
        break;
      default:
        StepChains<kBlendedLevels, kChains, kLookup>(chains, at);
    }
  }
  const __m512i bottom = _mm512_set1_epi32(forest.NodesPerTree());
  for (int32_t i = 0; i < kChains; ++i) {
    const __m512i leaf = _mm512_add_epi32(ShiftLeft(_mm512_sub_epi32(at[i], bottom), 4), Lanes());
    _mm512_store_ps(values[i], GatherFloats(leaf, chains[i].leaves));
  }
}

constexpr int32_t kMaxChains = 8;

// WalkChains for `count` (1 .. kMaxChains) chains.
template <RowLookup kLookup>
STRATA_AVX512 void WalkSomeChains(const PerfectForest& forest, const Chain* chains, int32_t count,
                                  float (*values)[kLanes]) {
  switch (count) {
    case 1:
      return WalkChains<1, kLookup>(forest, chains, values);
    case 2:
      return WalkChains<2, kLookup>(forest, chains, values);
    case 3:
      return WalkChains<3, kLookup>(forest, chains, values);
    case 4:
      return WalkChains<4, kLookup>(forest, chains, values);
    case 5:
      return WalkChains<5, kLookup>(forest, chains, values);
    case 6:
      return WalkChains<6, kLookup>(forest, chains, values);
    case 7:
      return WalkChains<7, kLookup>(forest, chains, values);
    default:
      return WalkChains<kMaxChains, kLookup>(forest, chains, values);
  }
}

STRATA_AVX512 void WalkSomeChains(RowLookup lookup, const PerfectForest& forest,
                                  const Chain* chains, int32_t count, float (*values)[kLanes]) {
  switch (lookup) {
    case RowLookup::kComplete:
      return WalkSomeChains<RowLookup::kComplete>(forest, chains, count, values);
    case RowLookup::kRegisters:
      return WalkSomeChains<RowLookup::kRegisters>(forest, chains, count, values);
    case RowLookup::kMemory:
      return WalkSomeChains<RowLookup::kMemory>(forest, chains, count, values);
  }
}

// Walks every lane group for one row held in `registers`, up to kMaxChains
// groups at once, and adds their leaves in model order.
STRATA_AVX512 void WalkRow(const PerfectForest& forest, const RowRegisters& registers,
                           RowLookup lookup, const float* row, float* margins) {
  Chain chains[kMaxChains];
  alignas(64) float values[kMaxChains][kLanes];
  for (int32_t q = 0; q < forest.LaneGroups(); q += kMaxChains) {
    const int32_t count = std::min(kMaxChains, forest.LaneGroups() - q);
    for (int32_t i = 0; i < count; ++i) chains[i] = ChainFor(forest, q + i, row, &registers);
    WalkSomeChains(lookup, forest, chains, count, values);
    for (int32_t i = 0; i < count; ++i) forest.AddLeaves(q + i, values[i], margins);
  }
}

// Loads a row as it comes (`width` <= 32 floats, NaN is missing) into
// registers as its extended row (ExtendRow()), and says how to read it.
STRATA_AVX512 inline RowLookup LoadPlainRow(const float* row, int64_t width,
                                            RowRegisters& registers) {
  __mmask16 missing = 0;
  for (int64_t i = 0; i < 2; ++i) {
    const int64_t n = std::clamp<int64_t>(width - 16 * i, 0, 16);
    const __m512 x = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), row + 16 * i);
    const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    registers.part[i] = _mm512_mask_blend_ps(nan, x, _mm512_set1_ps(-__builtin_inff()));
    registers.part[2 + i] = _mm512_mask_blend_ps(nan, x, _mm512_set1_ps(__builtin_inff()));
    missing |= nan;
  }
  return missing == 0 ? RowLookup::kComplete : RowLookup::kRegisters;
}

// Rows a batch walks at once through one lane group.
constexpr int32_t kRowsAtOnce = 4;

// Walks every lane group for rows [start, count): a row alone walks its lane
// groups at once; more rows meet one lane group at a time, so that group's
// nodes stay in L1 across the rows, kRowsAtOnce rows at once.
STRATA_AVX512 void WalkRowsByLaneGroups(const PerfectForest& forest, const float* rows,
                                        int64_t start, int64_t count, float* margins) {
  const int64_t width = forest.ExtendedWidth(), groups = forest.num_groups;
  if (count - start == 1) {
    RowRegisters row;
    const RowLookup lookup = LoadRow(rows + start * width, width, row);
    return WalkRow(forest, row, lookup, rows + start * width, margins + start * groups);
  }
  RowRegisters registers[kRowsAtOnce];
  Chain chains[kRowsAtOnce];
  alignas(64) float values[kRowsAtOnce][kLanes];
  for (int32_t q = 0; q < forest.LaneGroups(); ++q) {
    for (int64_t row = start; row < count; row += kRowsAtOnce) {
      const auto n = static_cast<int32_t>(std::min<int64_t>(kRowsAtOnce, count - row));
      RowLookup lookup = RowLookup::kComplete;
      for (int32_t i = 0; i < n; ++i) {
        const float* at = rows + (row + i) * width;
        lookup = std::max(lookup, LoadRow(at, width, registers[i]));
        chains[i] = ChainFor(forest, q, at, &registers[i]);
      }
      WalkSomeChains(lookup, forest, chains, n, values);
      for (int32_t i = 0; i < n; ++i) forest.AddLeaves(q, values[i], margins + (row + i) * groups);
    }
  }
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

// Reads 16 rows' margins (row-major, `groups` per row) into `block`.
inline void LoadSums(const float* margins, int64_t groups, VectorSums& block) {
  for (int64_t row = 0; row < kLanes; ++row) {
    for (int64_t g = 0; g < groups; ++g) block.sums[g][row] = margins[row * groups + g];
  }
}

inline void StoreSums(const VectorSums& block, int64_t groups, float* margins) {
  for (int64_t row = 0; row < kLanes; ++row) {
    for (int64_t g = 0; g < groups; ++g) margins[row * groups + g] = block.sums[g][row];
  }
}

// Walks 16 extended rows, one lane per row, tree by tree in model order.
STRATA_AVX512 void WalkSixteenRows(const PerfectForest& forest, const float* rows, float* margins) {
  const int64_t groups = forest.num_groups, width = forest.ExtendedWidth();
  VectorSums block;
  LoadSums(margins, groups, block);
  const __m512i row_starts =
      _mm512_mullo_epi32(Lanes(), _mm512_set1_epi32(static_cast<int>(width)));
  for (int32_t tree = 0; tree < forest.num_trees; ++tree) {
    float* sum = block.sums[forest.groups[static_cast<size_t>(tree)]];
    const __m512 leaf = WalkTreeForRows(forest, tree, rows, row_starts);
    _mm512_store_ps(sum, _mm512_add_ps(_mm512_load_ps(sum), leaf));
  }
  StoreSums(block, groups, margins);
}

// The split-mask walk (QuickScorer's idea, 16 rows per vector): every split
// of a tree is decided for 16 rows at once, each a compare of one column of
// the rows against a broadcast threshold, and each lane keeps a 32-bit set of
// the leaves still reachable; a split going right removes its left subtree's
// leaves. The exit leaf is the lowest one left (every leaf to its left has an
// ancestor on the path that went right), picked from the tree's leaf row by a
// permute. No gathers but one per column per block, and each row's sum is a
// vector add in model order.
constexpr int64_t kMaxMaskedWidth = 256;  // extended row floats held as columns

bool SplitMasksApply(const PerfectForest& forest) {
  return forest.depth <= PerfectForest::kMaskedMaxDepth && forest.num_groups <= kMaxBlockGroups &&
         forest.ExtendedWidth() <= kMaxMaskedWidth;
}

// The leaves that stay reachable when split `node` goes right, per node in
// breadth-first order: all but those of its left subtree.
struct KeepMasks {
  uint32_t keep[(1 << PerfectForest::kMaskedMaxDepth) - 1];

  explicit KeepMasks(int32_t depth) {
    for (int32_t node = 0; node < (1 << depth) - 1; ++node) {
      const int32_t level = std::bit_width(static_cast<uint32_t>(node + 1)) - 1;
      const int32_t position = node + 1 - (1 << level);
      const int32_t span = 1 << (depth - level);  // leaves under the node
      keep[node] = ~(((1u << (span / 2)) - 1) << (position * span));
    }
  }
};

// 16 extended rows as columns: columns[f][lane] is row lane's value f.
// Only the row's values in each copy: the zeros between them are never read.
STRATA_AVX512 inline void ToColumns(const PerfectForest& forest, const float* rows,
                                    float* columns) {
  const __m512i row_starts =
      _mm512_mullo_epi32(Lanes(), _mm512_set1_epi32(static_cast<int>(forest.ExtendedWidth())));
  for (int64_t copy : {int64_t{0}, int64_t{forest.second_copy}}) {
    for (int64_t f = copy; f < copy + forest.num_features; ++f) {
      _mm512_store_ps(columns + f * kLanes, GatherFloats(row_starts, rows + f));
    }
  }
}

// Tree `tree`'s leaf for each of 16 rows held as columns.
STRATA_AVX512 inline __m512 MaskedTreeLeaves(const PerfectForest& forest, int32_t tree,
                                             const float* columns, const KeepMasks& masks) {
  const size_t base = static_cast<size_t>(tree / kLanes) * forest.NodesPerTree() * kLanes +
                      static_cast<size_t>(tree % kLanes);
  __m512i reachable = _mm512_set1_epi32(-1);
  for (int32_t node = 0; node < forest.NodesPerTree(); ++node) {
    const size_t at = base + static_cast<size_t>(node) * kLanes;
    const __m512 x = _mm512_load_ps(columns + forest.features[at] * kLanes);
    const __mmask16 right =
        _mm512_cmp_ps_mask(x, _mm512_set1_ps(forest.thresholds[at]), _CMP_NLT_UQ);
    reachable = _mm512_mask_and_epi32(reachable, right, reachable,
                                      _mm512_set1_epi32(static_cast<int>(masks.keep[node])));
  }
  // The lowest set bit, a power of two, is exact as a float: its exponent is the leaf.
  const __m512i lowest =
      _mm512_and_si512(reachable, _mm512_sub_epi32(_mm512_setzero_si512(), reachable));
  const __m512i exponent = _mm512_maskz_srli_epi32(
      kAllLanes, _mm512_castps_si512(_mm512_maskz_cvtepu32_ps(kAllLanes, lowest)), 23);
  const __m512i leaf = _mm512_sub_epi32(exponent, _mm512_set1_epi32(127));
  const float* row = forest.leaf_rows.data() + static_cast<size_t>(tree) * PerfectForest::kLeafRow;
  return _mm512_permutex2var_ps(_mm512_loadu_ps(row), leaf, _mm512_loadu_ps(row + kLanes));
}

// Walks 16 extended rows by split masks, tree by tree in model order.
STRATA_AVX512 void WalkSixteenRowsBySplitMasks(const PerfectForest& forest, const float* rows,
                                               float* margins) {
  const int64_t groups = forest.num_groups;
  alignas(64) float columns[kMaxMaskedWidth * kLanes];
  ToColumns(forest, rows, columns);
  const KeepMasks masks(forest.depth);
  VectorSums block;
  LoadSums(margins, groups, block);
  for (int32_t tree = 0; tree < forest.num_trees; ++tree) {
    float* sum = block.sums[forest.groups[static_cast<size_t>(tree)]];
    const __m512 leaf = MaskedTreeLeaves(forest, tree, columns, masks);
    _mm512_store_ps(sum, _mm512_add_ps(_mm512_load_ps(sum), leaf));
  }
  StoreSums(block, groups, margins);
}

}  // namespace

STRATA_AVX512 void WalkRowsAvx512(const PerfectForest& forest, const float* rows, int64_t count,
                                  float* margins) {
  const int64_t width = forest.ExtendedWidth(), groups = forest.num_groups;
  const bool vectors = width > kRegisterRow && groups <= kMaxBlockGroups &&
                       width <= std::numeric_limits<int32_t>::max() / kLanes;
  int64_t start = 0;
  if (SplitMasksApply(forest)) {
    for (; start + kLanes <= count; start += kLanes) {
      WalkSixteenRowsBySplitMasks(forest, rows + start * width, margins + start * groups);
    }
  }
  for (; vectors && start + kLanes <= count; start += kLanes) {
    WalkSixteenRows(forest, rows + start * width, margins + start * groups);
  }
  WalkRowsByLaneGroups(forest, rows, start, count, margins);
}

STRATA_AVX512 void WalkPlainRowAvx512(const PerfectForest& forest, const float* row, int64_t width,
                                      float* margins) {
  RowRegisters registers;
  const RowLookup lookup = LoadPlainRow(row, width, registers);
  WalkRow(forest, registers, lookup, nullptr, margins);
}

}  // namespace strata::runtime::trees
