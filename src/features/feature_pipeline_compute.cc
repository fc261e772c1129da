// FeaturePipeline's per-feature arithmetic: the transformations of
// docs/features.md, in double, rounded to float once at the end.
#include <algorithm>
#include <array>
#include <cmath>

#include "absl/strings/string_view.h"
#include "features/feature_pipeline.h"
#include "features/feature_plan.h"
#include "features/feature_transforms.h"

namespace strata::features {
namespace {

using internal::ApplyNumeric;
using internal::FeaturePlan;

bool IsMissingValue(const FeatureValue& value) {
  const auto* d = std::get_if<double>(&value);
  return IsMissing(value) || (d != nullptr && std::isnan(*d));
}

}  // namespace

absl::Status FeaturePipeline::ReadInput(size_t feature, std::span<const FeatureValue> raw,
                                        size_t index, bool finite_only, double& x,
                                        bool& missing) const {
  const FeaturePlan& plan = plan_->features[feature];
  const int slot = plan.slots[index];
  const FeatureValue& value = raw[static_cast<size_t>(slot)];
  missing = false;
  if (const auto* d = std::get_if<double>(&value)) {
    x = *d;
    missing = std::isnan(x) || (finite_only && std::isinf(x));
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    x = static_cast<double>(*i);
  } else if (IsMissing(value)) {
    missing = true;
  } else {
    // A STRING input is read as a decimal number ("nan" is missing).
    if (!ParseNumber(std::get<std::string>(value), x)) return NotANumber(feature, slot);
    missing = std::isnan(x) || (finite_only && std::isinf(x));
  }
  if (missing && plan.required) return MissingRequired(feature, slot);
  return absl::OkStatus();
}

absl::Status FeaturePipeline::ComputeFeature(size_t feature, std::span<const FeatureValue> raw,
                                             std::span<float> out, bool& imputed) const {
  switch (plan_->features[feature].kind) {
    case TransformKind::kOneHot:
    case TransformKind::kVocabulary:
    case TransformKind::kHashBuckets:
      return ComputeCategorical(feature, raw, out, imputed);
    case TransformKind::kCross:
      return ComputeCross(feature, raw, out, imputed);
    case TransformKind::kTimeSince:
    case TransformKind::kRatio:
      return ComputePair(feature, raw, out, imputed);
    default:
      return ComputeNumeric(feature, raw, out, imputed);
  }
}

absl::Status FeaturePipeline::ComputeNumeric(size_t feature, std::span<const FeatureValue> raw,
                                             std::span<float> out, bool& imputed) const {
  const FeaturePlan& plan = plan_->features[feature];
  double x = 0;
  bool missing = false;
  const bool finite_only = plan.kind == TransformKind::kHourOfDay;
  if (auto s = ReadInput(feature, raw, 0, finite_only, x, missing); !s.ok()) return s;
  if (missing) {
    x = plan.impute;
    imputed = true;
  }
  out[0] = ToFiniteFloat(ApplyNumeric(plan, x));
  return absl::OkStatus();
}

absl::Status FeaturePipeline::ComputePair(size_t feature, std::span<const FeatureValue> raw,
                                          std::span<float> out, bool& imputed) const {
  const FeaturePlan& plan = plan_->features[feature];
  const bool time = plan.kind == TransformKind::kTimeSince;
  double a = 0, b = 0;
  bool missing_a = false, missing_b = false;
  if (auto s = ReadInput(feature, raw, 0, time, a, missing_a); !s.ok()) return s;
  if (auto s = ReadInput(feature, raw, 1, time, b, missing_b); !s.ok()) return s;
  double result = 0;
  if (!missing_a && !missing_b) {
    // time_since clamps an event in the future at 0; ratio's b == 0 and
    // inf/inf are undefined, so imputed.
    result = time ? std::max(a - b, 0.0) / plan.b : (b == 0 ? std::nan("") : a / b);
  }
  if (missing_a || missing_b || std::isnan(result)) {
    result = plan.impute;
    imputed = true;
  }
  out[0] = ToFiniteFloat(result);
  return absl::OkStatus();
}

absl::Status FeaturePipeline::ComputeCategorical(size_t feature, std::span<const FeatureValue> raw,
                                                 std::span<float> out, bool& imputed) const {
  const FeaturePlan& plan = plan_->features[feature];
  const int slot = plan.slots[0];
  const FeatureValue& value = raw[static_cast<size_t>(slot)];
  const bool missing = IsMissingValue(value);
  if (missing && plan.required) return MissingRequired(feature, slot);
  imputed = missing;
  std::array<char, 32> buffer;
  const std::string_view text = missing ? std::string_view() : CanonicalText(value, buffer);
  if (plan.kind == TransformKind::kHashBuckets) {
    std::fill(out.begin(), out.end(), 0.0f);
    if (!missing) HashTokens(text, out);
    return absl::OkStatus();
  }
  int32_t index = plan.vocabulary_size;  // out of vocabulary, or missing
  if (!missing) {
    const auto found = plan.vocabulary.find(absl::string_view(text.data(), text.size()));
    if (found != plan.vocabulary.end()) index = found->second;
  }
  if (plan.kind == TransformKind::kVocabulary) {
    out[0] = static_cast<float>(index);
  } else {
    std::fill(out.begin(), out.end(), 0.0f);
    out[static_cast<size_t>(index)] = 1.0f;
  }
  return absl::OkStatus();
}

absl::Status FeaturePipeline::ComputeCross(size_t feature, std::span<const FeatureValue> raw,
                                           std::span<float> out, bool& imputed) const {
  const FeaturePlan& plan = plan_->features[feature];
  uint64_t hash = kFnvOffset;
  bool missing = false;
  std::array<char, 32> buffer;
  for (size_t i = 0; i < plan.slots.size(); ++i) {
    const FeatureValue& value = raw[static_cast<size_t>(plan.slots[i])];
    if (IsMissingValue(value)) {
      if (plan.required) return MissingRequired(feature, plan.slots[i]);
      missing = true;
      continue;
    }
    if (i > 0) hash = Fnv1a64("\x1f", hash);
    hash = Fnv1a64(CanonicalText(value, buffer), hash);
  }
  imputed = missing;
  const double index = static_cast<double>(hash % static_cast<uint64_t>(plan.buckets));
  out[0] = ToFiniteFloat(missing ? plan.impute : index);
  return absl::OkStatus();
}

}  // namespace strata::features
