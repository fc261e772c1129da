// The AVX-512 kernels of the PerfectForest walk (perfect_forest_walk.h says
// what the walk computes). Forests at most PerfectForest::kMaskedMaxDepth deep
// (and at most 16 output groups) go 16 rows per vector by split masks: each
// split decided for 16 rows by one compare of a column against its
// threshold, each lane's reachable leaves a 32-bit set, the exit leaf its
// lowest bit. Deeper forests go 16 trees per vector (a lane group) for one
// row: the top four levels' nodes picked by blending whole vectors, deeper
// ones gathered, and a row of at most 32 features held in registers so its
// values are permutes (one permute when nothing in the row is missing, two
// and a blend otherwise). Several walks run level by level together so their
// chains overlap: a row alone walks up to 8 lane groups at once (straight
// from the caller's floats), a batch meets one lane group at a time, 4 rows
// at once. Rows with more features (and at most 16 output groups) go 16 rows
// per vector instead, tree by tree, each row's sum a vector add in model
// order; rows left over go 16 trees per vector. Compiled for AVX-512F by
// function attributes, so the rest of the binary stays portable. REQUIRES
// for every function: Avx512Available().
#ifndef STRATA_RUNTIME_TREES_PERFECT_FOREST_AVX512_H_
#define STRATA_RUNTIME_TREES_PERFECT_FOREST_AVX512_H_

#include <cstdint>

#include "runtime/trees/perfect_forest.h"

namespace strata::runtime::trees {

// Adds every tree's leaf to the margins (count x num_groups) of `count`
// extended rows (ExtendRow()), each row's trees in model order.
void WalkRowsAvx512(const PerfectForest& forest, const float* rows, int64_t count, float* margins);

// Extended rows at most this wide are held in registers.
constexpr int64_t kAvx512RegisterRow = 64;

// Adds every tree's leaf to one row's margins, reading the row as it comes
// (`width` floats, NaN is missing) straight into registers: no extended copy
// in memory. REQUIRES: forest.ExtendedWidth() <= kAvx512RegisterRow.
void WalkPlainRowAvx512(const PerfectForest& forest, const float* row, int64_t width,
                        float* margins);

}  // namespace strata::runtime::trees

#endif  // STRATA_RUNTIME_TREES_PERFECT_FOREST_AVX512_H_
