// ValidateFeatureDefinition(): every check a definition passes before a
// pipeline runs it. Each error names the entry (entity, table, request
// field, feature or output) so a refused model version says why.
#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "features/feature_definition.h"
#include "features/slot_resolution.h"
#include "fmt/format.h"

namespace strata::features {
namespace {

// The largest bucket index a float holds exactly (2^24).
constexpr int64_t kMaxCrossBuckets = int64_t{1} << 24;
// hash_buckets is that many floats per row.
constexpr int64_t kMaxHashBuckets = int64_t{1} << 20;

absl::Status Invalid(const std::string& where, std::string_view message) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", where, message));
}

// Inserts `name` into `seen`; error when empty, repeated or dotted (when
// it names a source owner).
absl::Status CheckName(std::set<std::string, std::less<>>& seen, const std::string& name,
                       const std::string& where, bool owner) {
  if (name.empty()) return Invalid(where, "empty name");
  if (owner && name.find('.') != std::string::npos) return Invalid(where, "'.' in a name");
  if (!seen.insert(name).second) return Invalid(where, "repeated name");
  return absl::OkStatus();
}

absl::Status CheckColumns(const std::vector<Column>& columns, const std::string& where) {
  std::set<std::string, std::less<>> seen;
  for (const Column& column : columns) {
    if (auto s = CheckName(seen, column.name, where + " column '" + column.name + "'", false);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEntitiesAndTables(const FeatureDefinition& definition) {
  std::set<std::string, std::less<>> owners = {"request"};
  for (const Entity& entity : definition.entities) {
    const std::string where = "entity '" + entity.name + "'";
    if (auto s = CheckName(owners, entity.name, where, true); !s.ok()) return s;
    if (entity.keys.empty()) return Invalid(where, "no key columns");
    if (auto s = CheckColumns(entity.keys, where); !s.ok()) return s;
    for (const Column& key : entity.keys) {
      if (key.type == ValueType::kFloat64) {
        return Invalid(where, "key column '" + key.name + "' must be INT64 or STRING");
      }
    }
  }
  for (const FeatureTable& table : definition.tables) {
    const std::string where = "table '" + table.name + "'";
    if (auto s = CheckName(owners, table.name, where, true); !s.ok()) return s;
    if (definition.FindEntity(table.entity) == nullptr) {
      return Invalid(where, "unknown entity '" + table.entity + "'");
    }
    if (table.max_age_seconds < 0) return Invalid(where, "max_age must be >= 0");
    if (table.columns.empty()) return Invalid(where, "no columns");
    if (auto s = CheckColumns(table.columns, where); !s.ok()) return s;
  }
  std::set<std::string, std::less<>> fields;
  for (const RequestField& field : definition.request) {
    const std::string where = "request field '" + field.name + "'";
    if (auto s = CheckName(fields, field.name, where, false); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckSources(const FeatureDefinition& definition, const Feature& feature,
                          const std::string& where) {
  const size_t count = feature.sources.size();
  const TransformKind kind = feature.transform;
  if ((kind == TransformKind::kTimeSince || kind == TransformKind::kRatio) && count != 2) {
    return Invalid(where, fmt::format("{} takes two sources", TransformName(kind)));
  }
  if (kind == TransformKind::kCross && count < 2) return Invalid(where, "cross takes 2+ sources");
  if (kind != TransformKind::kTimeSince && kind != TransformKind::kRatio &&
      kind != TransformKind::kCross && count != 1) {
    return Invalid(where, fmt::format("{} takes one source", TransformName(kind)));
  }
  for (const std::string& source : feature.sources) {
    auto slot = ResolveSource(definition, source);
    if (!slot.ok()) return Invalid(where, std::string(slot.status().message()));
    if ((kind == TransformKind::kOneHot || kind == TransformKind::kVocabulary ||
         kind == TransformKind::kHashBuckets) &&
        slot->type == ValueType::kFloat64) {
      return Invalid(where, fmt::format("{} needs a STRING or INT64, source '{}' is FLOAT64",
                                        TransformName(kind), source));
    }
  }
  return absl::OkStatus();
}

absl::Status Unfitted(const std::string& where, const Feature& feature, std::string_view params) {
  return Invalid(where, fmt::format("{} has no fitted {} (run `strata features fit`)",
                                    TransformName(feature.transform), params));
}

absl::Status CheckVocabulary(const Feature& feature, const std::string& where,
                             bool allow_unfitted) {
  const std::vector<std::string>& vocabulary = feature.params.vocabulary;
  if (vocabulary.empty() && !allow_unfitted) return Unfitted(where, feature, "vocabulary");
  std::set<std::string_view> seen(vocabulary.begin(), vocabulary.end());
  if (seen.size() != vocabulary.size()) return Invalid(where, "repeated vocabulary entry");
  if (feature.params.max_vocabulary < 0) return Invalid(where, "max_vocabulary must be >= 0");
  return absl::OkStatus();
}

absl::Status CheckBoundaries(const Feature& feature, const std::string& where,
                             bool allow_unfitted) {
  const std::vector<double>& boundaries = feature.params.boundaries;
  if (boundaries.empty() && !allow_unfitted) return Unfitted(where, feature, "boundaries");
  for (size_t i = 0; i < boundaries.size(); ++i) {
    if (!std::isfinite(boundaries[i]) || (i > 0 && !(boundaries[i - 1] < boundaries[i]))) {
      return Invalid(where, "boundaries must be finite and strictly ascending");
    }
  }
  if (feature.params.quantiles < 0) return Invalid(where, "quantiles must be >= 0");
  return absl::OkStatus();
}

absl::Status CheckParams(const Feature& feature, const std::string& where, bool allow_unfitted) {
  const TransformParams& p = feature.params;
  switch (feature.transform) {
    case TransformKind::kStandardize:
      if (!p.mean || !p.std)
        return allow_unfitted ? absl::OkStatus() : Unfitted(where, feature, "mean and std");
      if (!(*p.std > 0)) return Invalid(where, "std must be > 0");
      return absl::OkStatus();
    case TransformKind::kMinMax:
      if (!p.min || !p.max)
        return allow_unfitted ? absl::OkStatus() : Unfitted(where, feature, "min and max");
      if (!(*p.min < *p.max)) return Invalid(where, "min must be < max");
      return absl::OkStatus();
    case TransformKind::kClip:
      if (p.low && p.high && !(*p.low <= *p.high)) return Invalid(where, "low must be <= high");
      return absl::OkStatus();
    case TransformKind::kBucketize:
      return CheckBoundaries(feature, where, allow_unfitted);
    case TransformKind::kOneHot:
    case TransformKind::kVocabulary:
      return CheckVocabulary(feature, where, allow_unfitted);
    case TransformKind::kHashBuckets:
      if (p.buckets < 1 || p.buckets > kMaxHashBuckets) {
        return Invalid(where, fmt::format("buckets must be 1..{}", kMaxHashBuckets));
      }
      return absl::OkStatus();
    case TransformKind::kCross:
      if (p.buckets < 1 || p.buckets > kMaxCrossBuckets) {
        return Invalid(where, fmt::format("buckets must be 1..{}", kMaxCrossBuckets));
      }
      return absl::OkStatus();
    case TransformKind::kTimeSince:
      if (!(p.unit_seconds > 0) || !std::isfinite(p.unit_seconds)) {
        return Invalid(where, "unit_seconds must be > 0");
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

absl::Status CheckFeature(const FeatureDefinition& definition, const Feature& feature,
                          bool allow_unfitted) {
  const std::string where = "feature '" + feature.name + "'";
  if (auto s = CheckSources(definition, feature, where); !s.ok()) return s;
  if (auto s = CheckParams(feature, where, allow_unfitted); !s.ok()) return s;
  const TransformKind kind = feature.transform;
  if (feature.impute && (kind == TransformKind::kOneHot || kind == TransformKind::kVocabulary ||
                         kind == TransformKind::kHashBuckets)) {
    return Invalid(where, fmt::format("impute does not apply to {}", TransformName(kind)));
  }
  if (feature.impute && !std::isfinite(*feature.impute))
    return Invalid(where, "impute: not finite");
  return absl::OkStatus();
}

absl::Status CheckOutputs(const FeatureDefinition& definition) {
  if (definition.outputs.empty()) return absl::InvalidArgumentError("outputs: none declared");
  std::set<std::string, std::less<>> tensors;
  for (const Output& output : definition.outputs) {
    const std::string where = "output '" + output.tensor + "'";
    if (auto s = CheckName(tensors, output.tensor, where, false); !s.ok()) return s;
    if (output.features.empty()) return Invalid(where, "no features");
    for (const std::string& name : output.features) {
      if (definition.FindFeature(name) == nullptr) {
        return Invalid(where, "unknown feature '" + name + "'");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateFeatureDefinition(const FeatureDefinition& definition, bool allow_unfitted) {
  if (auto s = CheckEntitiesAndTables(definition); !s.ok()) return s;
  if (definition.features.empty()) return absl::InvalidArgumentError("features: none declared");
  std::set<std::string, std::less<>> names;
  for (const Feature& feature : definition.features) {
    const std::string where = "feature '" + feature.name + "'";
    if (auto s = CheckName(names, feature.name, where, false); !s.ok()) return s;
    if (auto s = CheckFeature(definition, feature, allow_unfitted); !s.ok()) return s;
  }
  return CheckOutputs(definition);
}

}  // namespace strata::features
