// FeatureDefinition is the parsed `features.yaml` of a model version: which
// entities a request names by key, the feature tables keyed by them, the
// request-time fields the caller sends, the features computed from those
// raw values by a transformation with fitted parameters, and how features
// are assembled into the model's input tensors. It lives in the model
// version directory (models/<name>/<version>/features.yaml), so a model and
// the features it was trained on are one servable. docs/features.md is the
// reference of the format. A value type.
#ifndef STRATA_FEATURES_FEATURE_DEFINITION_H_
#define STRATA_FEATURES_FEATURE_DEFINITION_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "features/feature_value.h"

namespace strata::features {

inline constexpr std::string_view kFeatureDefinitionFile = "features.yaml";

struct Column {
  std::string name;
  ValueType type = ValueType::kFloat64;
  bool operator==(const Column&) const = default;
};

// An entity (`user`, `product`) and the columns of its key, in key order.
// Key columns are INT64 or STRING; a request names the entity by sending
// one input per key column, under the column's name.
struct Entity {
  std::string name;
  std::vector<Column> keys;
  bool operator==(const Entity&) const = default;
};

// What a lookup answers when a feature table cannot be read (store down,
// circuit open, past the deadline).
enum class StoreErrorPolicy { kImpute, kUnavailable };

// A feature table: one row per entity key, materialized into a table store
// (`strata features materialize`) under `name`. One multi-get per table per
// request.
struct FeatureTable {
  std::string name;
  std::string entity;           // an Entity's name
  std::vector<Column> columns;  // the values of a row, in stored order
  // A row whose event time is older than this is stale and treated as
  // missing; 0: rows never go stale.
  int64_t max_age_seconds = 0;
  StoreErrorPolicy on_store_error = StoreErrorPolicy::kImpute;
  bool operator==(const FeatureTable&) const = default;
};

// A field the caller sends with each row (a query string, the event time).
struct RequestField {
  std::string name;
  ValueType type = ValueType::kFloat64;
  bool required = false;  // a row without it is refused (400)
  bool operator==(const RequestField&) const = default;
};

enum class TransformKind {
  kIdentity,     // the number as it is
  kStandardize,  // (x - mean) / std                    params: mean, std
  kMinMax,       // (x - min) / (max - min)             params: min, max
  kClip,         // min(max(x, low), high)              params: low, high
  kLog1p,        // log1p(max(x, 0))
  kBucketize,    // index of the bucket, width 1        params: boundaries
  kOneHot,       // one slot per vocabulary entry + 1 out-of-vocabulary slot
  kHashBuckets,  // token counts per hash bucket        params: buckets
  kVocabulary,   // index in vocabulary, oov -> size    params: vocabulary
  kTimeSince,    // (now - event) / unit, from [now, event]   params: unit_seconds
  kHourOfDay,    // UTC hour 0..23 of a unix time in seconds
  kRatio,        // a / b (b == 0: missing), from [a, b]
  kCross,        // hash of [a, b, ...] into buckets, width 1  params: buckets
};

std::string_view TransformName(TransformKind kind);  // "standardize", ...
// Parses TransformName()'s text; false when unknown.
bool ParseTransformKind(std::string_view text, TransformKind& kind);

// How a missing raw value becomes a number, or refuses the row.
enum class MissingPolicy { kImpute, kRequired };

// Parameters of a transformation; `strata features fit` fills the fitted
// ones (mean, std, min, max, boundaries, vocabulary) from training data.
struct TransformParams {
  std::optional<double> mean, std, min, max, low, high;
  std::vector<double> boundaries;       // ascending
  std::vector<std::string> vocabulary;  // for one_hot and vocabulary
  int64_t buckets = 0;                  // hash_buckets, cross
  double unit_seconds = 1.0;            // time_since
  // Fit settings: how many vocabulary entries / quantile buckets to keep.
  int64_t max_vocabulary = 0;
  int64_t quantiles = 0;
  bool operator==(const TransformParams&) const = default;
};

struct Feature {
  std::string name;
  // The raw inputs, as "table.column" or "request.field" (also an entity key
  // column: "<entity>.<key column>"). One for most transforms; two or more
  // for time_since, ratio and cross.
  std::vector<std::string> sources;
  TransformKind transform = TransformKind::kIdentity;
  TransformParams params;
  MissingPolicy missing = MissingPolicy::kImpute;
  // What a missing input becomes (docs/features.md, "Missing values"): for
  // a one-input numeric transformation the raw value put in its place
  // before transforming (unset: the fitted mean for standardize, otherwise
  // 0); for time_since, ratio and cross the output itself (unset: 0).
  // one_hot and vocabulary answer the out-of-vocabulary slot and
  // hash_buckets all zeros instead; they take no impute.
  std::optional<double> impute;
  bool operator==(const Feature&) const = default;
};

// One model input tensor: FP32 [rows, width], the named features'
// outputs concatenated in order.
struct Output {
  std::string tensor;
  std::vector<std::string> features;
  bool operator==(const Output&) const = default;
};

struct FeatureDefinition {
  std::vector<Entity> entities;
  std::vector<FeatureTable> tables;
  std::vector<RequestField> request;
  std::vector<Feature> features;
  std::vector<Output> outputs;

  const Entity* FindEntity(std::string_view name) const;
  const FeatureTable* FindTable(std::string_view name) const;
  const Feature* FindFeature(std::string_view name) const;
  bool operator==(const FeatureDefinition&) const = default;
};

// The checks of ParseFeatureDefinition() on a definition built in code (the
// Python binding, Fit()). INVALID_ARGUMENT naming the offending entry.
absl::Status ValidateFeatureDefinition(const FeatureDefinition& definition,
                                       bool allow_unfitted = false);

// Parses and checks a definition: every source resolves, every feature a
// transformation needs fitted parameters for has them (unless
// `allow_unfitted`, which `strata features fit` uses), no name repeats,
// every output's features exist. Errors name the offending entry.
absl::StatusOr<FeatureDefinition> ParseFeatureDefinition(std::string_view yaml,
                                                         bool allow_unfitted = false);
absl::StatusOr<FeatureDefinition> LoadFeatureDefinition(const std::filesystem::path& file,
                                                        bool allow_unfitted = false);
// YAML that ParseFeatureDefinition() reads back to an equal definition
// (doubles written so they read back bit-identical).
std::string WriteFeatureDefinition(const FeatureDefinition& definition);

}  // namespace strata::features

#endif  // STRATA_FEATURES_FEATURE_DEFINITION_H_
