// The per-feature plans a FeaturePipeline precomputes at Create, so
// TransformRow is a tight loop over them (private to src/features).
#ifndef STRATA_FEATURES_FEATURE_PLAN_H_
#define STRATA_FEATURES_FEATURE_PLAN_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "features/feature_definition.h"
#include "features/feature_transforms.h"

namespace strata::features::internal {

struct FeaturePlan {
  TransformKind kind = TransformKind::kIdentity;
  std::vector<int> slots;  // of its sources, in order
  int slot = 0;            // slots[0]
  // identity, standardize, min_max, clip, log1p, bucketize, hour_of_day.
  bool one_numeric_input = false;
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

// A one-input numeric transformation of a finite number `x`.
inline double ApplyNumeric(const FeaturePlan& plan, double x) {
  switch (plan.kind) {
    case TransformKind::kStandardize:
    case TransformKind::kMinMax:
      return (x - plan.a) / plan.b;
    case TransformKind::kClip:
      return std::min(std::max(x, plan.a), plan.b);
    case TransformKind::kLog1p:
      return std::log1p(std::max(x, 0.0));
    case TransformKind::kBucketize:
      return static_cast<double>(Bucketize(x, plan.boundaries));
    case TransformKind::kHourOfDay:
      return HourOfDay(x);
    default:
      return x;
  }
}

// The hot path of TransformRow: writes `out` and answers true when `value`
// is a finite number (or an integer); false sends it the general way
// (missing, NaN, infinities, strings).
inline bool TryNumeric(const FeaturePlan& plan, const FeatureValue& value, float& out) {
  double x;
  if (const auto* d = std::get_if<double>(&value); d != nullptr && std::isfinite(*d)) {
    x = *d;
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    x = static_cast<double>(*i);
  } else {
    return false;
  }
  out = ToFiniteFloat(ApplyNumeric(plan, x));
  return true;
}

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
