#include "features/fitting.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "features/feature_pipeline.h"
#include "features/feature_transforms.h"
#include "features/slot_resolution.h"
#include "fmt/format.h"

namespace strata::features {
namespace {

absl::Status NothingToFit(const Feature& feature) {
  return absl::InvalidArgumentError(fmt::format(
      "feature '{}': no non-missing value of '{}' to fit on", feature.name, feature.sources[0]));
}

// The finite numbers of `slot` over every row, in row order.
absl::StatusOr<std::vector<double>> FiniteValues(const Feature& feature, const RawRows& rows,
                                                 size_t slot) {
  std::vector<double> values;
  values.reserve(rows.rows());
  for (size_t r = 0; r < rows.rows(); ++r) {
    const FeatureValue& value = rows.At(r, slot);
    double x = 0;
    if (const auto* d = std::get_if<double>(&value)) {
      x = *d;
    } else if (const auto* i = std::get_if<int64_t>(&value)) {
      x = static_cast<double>(*i);
    } else if (const auto* s = std::get_if<std::string>(&value)) {
      if (!ParseNumber(*s, x)) {
        return absl::InvalidArgumentError(fmt::format("feature '{}': row {}: '{}' is not a number",
                                                      feature.name, r, feature.sources[0]));
      }
    } else {
      continue;
    }
    if (std::isfinite(x)) values.push_back(x);
  }
  if (values.empty()) return NothingToFit(feature);
  return values;
}

void FitStandardize(const std::vector<double>& values, TransformParams& params) {
  if (!params.mean) {
    double sum = 0;
    for (double x : values) sum += x;
    params.mean = sum / static_cast<double>(values.size());
  }
  if (!params.std) {
    double squares = 0;
    for (double x : values) squares += (x - *params.mean) * (x - *params.mean);
    const double std = std::sqrt(squares / static_cast<double>(values.size()));
    params.std = std > 0 && std::isfinite(std) ? std : 1.0;  // a constant column
  }
}

void FitMinMax(const std::vector<double>& values, TransformParams& params) {
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  if (!params.min) params.min = *low;
  if (!params.max) params.max = *high;
  if (!(*params.min < *params.max)) params.max = *params.min + 1.0;  // a constant column
}

// Boundary k (1..q-1) is the value at rank floor(k * n / q) of the sorted
// values; repeats are dropped; at least one boundary (the median) remains.
void FitQuantiles(std::vector<double> values, TransformParams& params) {
  std::sort(values.begin(), values.end());
  const uint64_t n = values.size();
  const uint64_t q = static_cast<uint64_t>(params.quantiles);
  for (uint64_t k = 1; k < q; ++k) {
    const double boundary = values[std::min<uint64_t>(n - 1, k * n / q)];
    if (params.boundaries.empty() || params.boundaries.back() < boundary) {
      params.boundaries.push_back(boundary);
    }
  }
  if (params.boundaries.empty()) params.boundaries.push_back(values[n / 2]);
}

// The max_vocabulary (0: all) most frequent texts, ties broken by text.
absl::Status FitVocabulary(const Feature& feature, const RawRows& rows, size_t slot,
                           TransformParams& params) {
  std::map<std::string, int64_t, std::less<>> counts;
  std::array<char, 32> buffer;
  for (size_t r = 0; r < rows.rows(); ++r) {
    const FeatureValue& value = rows.At(r, slot);
    const auto* d = std::get_if<double>(&value);
    if (IsMissing(value) || (d != nullptr && std::isnan(*d))) continue;
    ++counts[std::string(CanonicalText(value, buffer))];
  }
  if (counts.empty()) return NothingToFit(feature);
  std::vector<std::pair<std::string, int64_t>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  const size_t keep = params.max_vocabulary > 0
                          ? std::min(ranked.size(), static_cast<size_t>(params.max_vocabulary))
                          : ranked.size();
  for (size_t i = 0; i < keep; ++i) params.vocabulary.push_back(ranked[i].first);
  return absl::OkStatus();
}

absl::Status FitNumeric(Feature& feature, const RawRows& rows, size_t slot) {
  TransformParams& params = feature.params;
  auto values = FiniteValues(feature, rows, slot);
  if (!values.ok()) return values.status();
  switch (feature.transform) {
    case TransformKind::kStandardize:
      FitStandardize(*values, params);
      break;
    case TransformKind::kMinMax:
      FitMinMax(*values, params);
      break;
    default:
      FitQuantiles(std::move(*values), params);
      break;
  }
  return absl::OkStatus();
}

bool NeedsFitting(const Feature& feature) {
  const TransformParams& p = feature.params;
  switch (feature.transform) {
    case TransformKind::kStandardize:
      return !p.mean || !p.std;
    case TransformKind::kMinMax:
      return !p.min || !p.max;
    case TransformKind::kBucketize:
      return p.boundaries.empty();
    case TransformKind::kOneHot:
    case TransformKind::kVocabulary:
      return p.vocabulary.empty();
    default:
      return false;
  }
}

absl::Status FitFeature(const FeatureDefinition& definition, const std::vector<Slot>& slots,
                        const RawRows& rows, Feature& feature) {
  if (feature.transform == TransformKind::kBucketize && feature.params.quantiles <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("feature '{}': bucketize needs boundaries or quantiles to fit", feature.name));
  }
  const Slot source = *ResolveSource(definition, feature.sources[0]);  // validated
  size_t slot = 0;
  while (slots[slot].owner != source.owner || slots[slot].column != source.column) ++slot;
  if (feature.transform == TransformKind::kOneHot ||
      feature.transform == TransformKind::kVocabulary) {
    return FitVocabulary(feature, rows, slot, feature.params);
  }
  return FitNumeric(feature, rows, slot);
}

}  // namespace

absl::StatusOr<FeatureDefinition> Fit(const FeatureDefinition& definition, const RawRows& rows) {
  if (auto s = ValidateFeatureDefinition(definition, /*allow_unfitted=*/true); !s.ok()) return s;
  const std::vector<Slot> slots = SlotsOf(definition);
  if (rows.slots() != slots.size()) {
    return absl::InvalidArgumentError(
        fmt::format("fit: rows have {} slots, the definition {}", rows.slots(), slots.size()));
  }
  FeatureDefinition fitted = definition;
  for (Feature& feature : fitted.features) {
    if (!NeedsFitting(feature)) continue;
    if (auto s = FitFeature(definition, slots, rows, feature); !s.ok()) return s;
  }
  if (auto s = ValidateFeatureDefinition(fitted); !s.ok()) return s;
  return fitted;
}

}  // namespace strata::features
