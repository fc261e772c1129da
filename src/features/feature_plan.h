// The per-feature plans a FeaturePipeline precomputes at Create, so
// TransformRow is a tight loop over them (private to src/features).
#ifndef STRATA_FEATURES_FEATURE_PLAN_H_
#define STRATA_FEATURES_FEATURE_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "features/feature_definition.h"

namespace strata::features::internal {

struct FeaturePlan {
  TransformKind kind = TransformKind::kIdentity;
  std::vector<int> slots;  // of its sources, in order
  bool required = false;
  double impute = 0;  // the raw value (one-input numeric) or the output (time_since, ratio, cross)
  // standardize: mean, std; min_max: min, max - min; clip: low, high;
  // time_since: unit_seconds.
  double a = 0, b = 0;
  std::vector<double> boundaries;
  absl::flat_hash_map<std::string, int32_t> vocabulary;  // entry -> index
  int32_t vocabulary_size = 0;
  int64_t buckets = 0;
  size_t width = 1;
};

// One feature's floats in a row: computed at `offset`, or copied from an
// earlier placement of the same feature (a feature in two outputs).
struct Placement {
  size_t feature = 0;
  size_t offset = 0;
  int64_t copy_from = -1;
};

struct PipelinePlan {
  std::vector<FeaturePlan> features;
  std::vector<Placement> placements;  // in row order
  std::vector<int> required_request_slots;
  // Required features in no output: TransformRow still refuses a row
  // missing their inputs.
  std::vector<size_t> unplaced_required;
  std::vector<size_t> output_offsets;  // where each output starts in a row
};

}  // namespace strata::features::internal

#endif  // STRATA_FEATURES_FEATURE_PLAN_H_
