// Walks a PerfectForest over rows of features: for each row, 16 trees at a
// time (one lane per tree), every tree exactly `depth` branch-free steps.
// Rows go in blocks, and the block meets one group of 16 trees at a time, so
// those trees' nodes stay in L1 while the block uses them; each row still
// adds its trees' leaves one by one in model order, in float, which is
// XGBoost's own sum, bit for bit. Two kernels compute the same bits: a
// portable one and one with AVX-512 gathers, chosen at run time by what the
// processor supports. No allocation; thread-safe (reads the forest only).
#ifndef STRATA_RUNTIME_TREES_PERFECT_FOREST_WALK_H_
#define STRATA_RUNTIME_TREES_PERFECT_FOREST_WALK_H_

#include <cstdint>
#include <span>

#include "runtime/trees/perfect_forest.h"

namespace strata::runtime::trees {

enum class PerfectWalkKernel {
  kPortable,  // plain C++, any processor
  kAvx512,    // AVX-512F gathers; REQUIRES: Avx512Available()
};

// Whether this processor runs the AVX-512 kernel.
bool Avx512Available();

// Adds every tree's leaf to each row's margins. `rows` holds `count` rows of
// `width` floats (NaN is missing); `margins` holds count x num_groups
// starting margins. REQUIRES: width covers every split feature.
void WalkPerfectForest(const PerfectForest& forest, PerfectWalkKernel kernel,
                       std::span<const float> rows, int64_t count, int64_t width,
                       std::span<float> margins);

}  // namespace strata::runtime::trees

#endif  // STRATA_RUNTIME_TREES_PERFECT_FOREST_WALK_H_
