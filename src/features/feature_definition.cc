#include "features/feature_definition.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "features/yaml_scalars.h"
#include "fmt/format.h"

namespace strata::features {
namespace {

constexpr std::array<std::pair<TransformKind, std::string_view>, 13> kTransformNames = {{
    {TransformKind::kIdentity, "identity"},
    {TransformKind::kStandardize, "standardize"},
    {TransformKind::kMinMax, "min_max"},
    {TransformKind::kClip, "clip"},
    {TransformKind::kLog1p, "log1p"},
    {TransformKind::kBucketize, "bucketize"},
    {TransformKind::kOneHot, "one_hot"},
    {TransformKind::kHashBuckets, "hash_buckets"},
    {TransformKind::kVocabulary, "vocabulary"},
    {TransformKind::kTimeSince, "time_since"},
    {TransformKind::kHourOfDay, "hour_of_day"},
    {TransformKind::kRatio, "ratio"},
    {TransformKind::kCross, "cross"},
}};

// The params each transformation takes; any other is an error.
std::vector<std::string_view> AllowedParams(TransformKind kind) {
  switch (kind) {
    case TransformKind::kStandardize:
      return {"mean", "std"};
    case TransformKind::kMinMax:
      return {"min", "max"};
    case TransformKind::kClip:
      return {"low", "high"};
    case TransformKind::kBucketize:
      return {"boundaries", "quantiles"};
    case TransformKind::kOneHot:
    case TransformKind::kVocabulary:
      return {"vocabulary", "max_vocabulary"};
    case TransformKind::kHashBuckets:
    case TransformKind::kCross:
      return {"buckets"};
    case TransformKind::kTimeSince:
      return {"unit_seconds"};
    default:
      return {};
  }
}

absl::StatusOr<Column> ParseKeyColumn(const YAML::Node& node, const std::string& where) {
  Column column{.name = "", .type = ValueType::kInt64};
  if (node.IsMap()) {
    if (auto s = CheckKeys(node, {"name", "type"}, where); !s.ok()) return s;
    auto name = ToText(node["name"], where + " name");
    if (!name.ok()) return name.status();
    column.name = *name;
    if (node["type"]) {
      auto type = ToValueType(node["type"], where + " key '" + column.name + "'");
      if (!type.ok()) return type.status();
      column.type = *type;
    }
    return column;
  }
  auto name = ToText(node, where);
  if (!name.ok()) return name.status();
  column.name = *name;
  column.type = ValueType::kInt64;
  return column;
}

// `entities: {user: {keys: [user_id]}}`; types come from `key_types` when
// a key is written as a bare name.
absl::Status ParseEntities(const YAML::Node& root, FeatureDefinition& definition) {
  const YAML::Node entities = root["entities"];
  if (!entities) return absl::OkStatus();
  if (!entities.IsMap()) return Invalid("entities: expected a map of entity names");
  const YAML::Node key_types = root["key_types"];
  if (key_types && !key_types.IsMap()) return Invalid("key_types: expected a map");
  for (const auto& item : entities) {
    Entity entity{.name = item.first.Scalar(), .keys = {}};
    const std::string where = "entity '" + entity.name + "'";
    if (!item.second.IsMap()) return Invalid(where + ": expected {keys: [...]}");
    if (auto s = CheckKeys(item.second, {"keys"}, where); !s.ok()) return s;
    const YAML::Node keys = item.second["keys"];
    if (!keys || !keys.IsSequence()) return Invalid(where + ": keys: expected a list");
    for (const auto& key : keys) {
      auto column = ParseKeyColumn(key, where);
      if (!column.ok()) return column.status();
      if (!key.IsMap() && key_types && key_types[column->name]) {
        auto type = ToValueType(key_types[column->name], "key_types '" + column->name + "'");
        if (!type.ok()) return type.status();
        column->type = *type;
      }
      entity.keys.push_back(std::move(*column));
    }
    definition.entities.push_back(std::move(entity));
  }
  if (!key_types) return absl::OkStatus();
  for (const auto& item : key_types) {
    const std::string& name = item.first.Scalar();
    const bool used =
        std::any_of(definition.entities.begin(), definition.entities.end(), [&](const Entity& e) {
          return std::any_of(e.keys.begin(), e.keys.end(),
                             [&](const Column& c) { return c.name == name; });
        });
    if (!used) return Invalid("key_types: '" + name + "' is not a key column of any entity");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Column>> ParseColumns(const YAML::Node& node, const std::string& where) {
  std::vector<Column> columns;
  if (node.IsMap()) {
    for (const auto& item : node) {
      auto type = ToValueType(item.second, where + " column '" + item.first.Scalar() + "'");
      if (!type.ok()) return type.status();
      columns.push_back({.name = item.first.Scalar(), .type = *type});
    }
    return columns;
  }
  if (!node.IsSequence()) return Invalid(where + ": columns: expected a map of name: TYPE");
  for (const auto& item : node) {
    if (!item.IsMap() || !item["name"] || !item["type"]) {
      return Invalid(where + ": columns: expected {name: ..., type: ...} entries");
    }
    auto type = ToValueType(item["type"], where + " column '" + item["name"].Scalar() + "'");
    if (!type.ok()) return type.status();
    columns.push_back({.name = item["name"].Scalar(), .type = *type});
  }
  return columns;
}

absl::StatusOr<FeatureTable> ParseTable(const std::string& name, const YAML::Node& node) {
  FeatureTable table;
  table.name = name;
  const std::string where = "table '" + name + "'";
  if (!node.IsMap()) return Invalid(where + ": expected a map");
  if (auto s = CheckKeys(node, {"entity", "max_age", "on_store_error", "columns"}, where);
      !s.ok()) {
    return s;
  }
  auto entity = ToText(node["entity"], where + " entity");
  if (!entity.ok()) return entity.status();
  table.entity = *entity;
  if (node["max_age"]) {
    auto max_age = ToInt(node["max_age"], where + " max_age");
    if (!max_age.ok()) return max_age.status();
    table.max_age_seconds = *max_age;
  }
  if (node["on_store_error"]) {
    const std::string policy = node["on_store_error"].Scalar();
    if (policy == "impute") {
      table.on_store_error = StoreErrorPolicy::kImpute;
    } else if (policy == "unavailable") {
      table.on_store_error = StoreErrorPolicy::kUnavailable;
    } else {
      return Invalid(where + ": on_store_error: expected impute or unavailable, got '" + policy +
                     "'");
    }
  }
  if (!node["columns"]) return Invalid(where + ": columns: missing");
  auto columns = ParseColumns(node["columns"], where);
  if (!columns.ok()) return columns.status();
  table.columns = std::move(*columns);
  return table;
}

absl::Status ParseTables(const YAML::Node& root, FeatureDefinition& definition) {
  const YAML::Node tables = root["tables"];
  if (!tables) return absl::OkStatus();
  if (!tables.IsMap()) return Invalid("tables: expected a map of table names");
  for (const auto& item : tables) {
    auto table = ParseTable(item.first.Scalar(), item.second);
    if (!table.ok()) return table.status();
    definition.tables.push_back(std::move(*table));
  }
  return absl::OkStatus();
}

absl::Status ParseRequest(const YAML::Node& root, FeatureDefinition& definition) {
  const YAML::Node request = root["request"];
  if (!request) return absl::OkStatus();
  if (!request.IsMap()) return Invalid("request: expected a map of field names");
  for (const auto& item : request) {
    RequestField field;
    field.name = item.first.Scalar();
    const std::string where = "request field '" + field.name + "'";
    const YAML::Node& spec = item.second;
    const YAML::Node type_node = spec.IsMap() ? spec["type"] : spec;
    if (spec.IsMap()) {
      if (auto s = CheckKeys(spec, {"type", "required"}, where); !s.ok()) return s;
      if (spec["required"]) {
        auto required = ToBool(spec["required"], where + " required");
        if (!required.ok()) return required.status();
        field.required = *required;
      }
    }
    auto type = ToValueType(type_node, where);
    if (!type.ok()) return type.status();
    field.type = *type;
    definition.request.push_back(std::move(field));
  }
  return absl::OkStatus();
}

absl::Status ParseParam(const std::string& key, const YAML::Node& value, const std::string& where,
                        TransformParams& params) {
  const std::string what = where + " params." + key;
  absl::Status status;
  auto set_double = [&](std::optional<double>& field) {
    auto v = ToDouble(value, what);
    if (v.ok()) field = *v;
    return v.status();
  };
  auto set_int = [&](int64_t& field) {
    auto v = ToInt(value, what);
    if (v.ok()) field = *v;
    return v.status();
  };
  if (key == "mean") return set_double(params.mean);
  if (key == "std") return set_double(params.std);
  if (key == "min") return set_double(params.min);
  if (key == "max") return set_double(params.max);
  if (key == "low") return set_double(params.low);
  if (key == "high") return set_double(params.high);
  if (key == "buckets") return set_int(params.buckets);
  if (key == "max_vocabulary") return set_int(params.max_vocabulary);
  if (key == "quantiles") return set_int(params.quantiles);
  if (key == "unit_seconds") {
    std::optional<double> unit;
    status = set_double(unit);
    if (unit) params.unit_seconds = *unit;
    return status;
  }
  if (key == "boundaries") {
    auto v = ToDoubles(value, what);
    if (v.ok()) params.boundaries = std::move(*v);
    return v.status();
  }
  auto v = ToTexts(value, what);  // vocabulary
  if (v.ok()) params.vocabulary = std::move(*v);
  return v.status();
}

absl::Status ParseParams(const YAML::Node& node, const std::string& where, Feature& feature) {
  if (!node) return absl::OkStatus();
  if (!node.IsMap()) return Invalid(where + ": params: expected a map");
  const std::vector<std::string_view> allowed = AllowedParams(feature.transform);
  for (const auto& item : node) {
    const std::string key = item.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Invalid(fmt::format("{}: param '{}' does not apply to {}", where, key,
                                 TransformName(feature.transform)));
    }
    if (auto s = ParseParam(key, item.second, where, feature.params); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ParseMissing(const YAML::Node& node, const std::string& where, Feature& feature) {
  if (!node) return absl::OkStatus();
  if (node.IsScalar()) {
    if (node.Scalar() == "required") {
      feature.missing = MissingPolicy::kRequired;
    } else if (node.Scalar() != "impute") {
      return Invalid(where + ": missing: expected required, impute or {impute: value}");
    }
    return absl::OkStatus();
  }
  if (!node.IsMap()) return Invalid(where + ": missing: expected required or {impute: value}");
  if (auto s = CheckKeys(node, {"impute"}, where + " missing"); !s.ok()) return s;
  auto impute = ToDouble(node["impute"], where + " missing.impute");
  if (!impute.ok()) return impute.status();
  feature.impute = *impute;
  return absl::OkStatus();
}

absl::StatusOr<Feature> ParseFeature(const YAML::Node& node, size_t index) {
  std::string where = fmt::format("features[{}]", index);
  if (!node.IsMap()) return Invalid(where + ": expected a map");
  auto name = ToText(node["name"], where + " name");
  if (!name.ok()) return name.status();
  Feature feature;
  feature.name = *name;
  where = "feature '" + feature.name + "'";
  if (auto s = CheckKeys(node, {"name", "from", "transform", "params", "missing"}, where);
      !s.ok()) {
    return s;
  }
  auto sources = ToTexts(node["from"], where + " from");
  if (!sources.ok()) return sources.status();
  feature.sources = std::move(*sources);
  if (node["transform"]) {
    const std::string transform = node["transform"].Scalar();
    if (!ParseTransformKind(transform, feature.transform)) {
      return Invalid(where + ": unknown transform '" + transform + "'");
    }
  }
  if (auto s = ParseParams(node["params"], where, feature); !s.ok()) return s;
  if (auto s = ParseMissing(node["missing"], where, feature); !s.ok()) return s;
  return feature;
}

absl::Status ParseFeatures(const YAML::Node& root, FeatureDefinition& definition) {
  const YAML::Node features = root["features"];
  if (!features || !features.IsSequence()) return Invalid("features: expected a list");
  for (size_t i = 0; i < features.size(); ++i) {
    auto feature = ParseFeature(features[i], i);
    if (!feature.ok()) return feature.status();
    definition.features.push_back(std::move(*feature));
  }
  return absl::OkStatus();
}

absl::Status ParseOutputs(const YAML::Node& root, FeatureDefinition& definition) {
  const YAML::Node outputs = root["outputs"];
  if (!outputs || !outputs.IsSequence()) return Invalid("outputs: expected a list");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string where = fmt::format("outputs[{}]", i);
    const YAML::Node& node = outputs[i];
    if (!node.IsMap()) return Invalid(where + ": expected {tensor: ..., features: [...]}");
    if (auto s = CheckKeys(node, {"tensor", "features"}, where); !s.ok()) return s;
    auto tensor = ToText(node["tensor"], where + " tensor");
    if (!tensor.ok()) return tensor.status();
    auto features = ToTexts(node["features"], "output '" + *tensor + "' features");
    if (!features.ok()) return features.status();
    definition.outputs.push_back({.tensor = *tensor, .features = std::move(*features)});
  }
  return absl::OkStatus();
}

absl::StatusOr<FeatureDefinition> ParseRoot(const YAML::Node& root) {
  if (!root.IsMap()) return Invalid("expected a map at the top level");
  if (auto s = CheckKeys(
          root, {"entities", "key_types", "tables", "request", "features", "outputs"}, "top level");
      !s.ok()) {
    return s;
  }
  FeatureDefinition definition;
  for (auto* parse : {&ParseEntities, &ParseTables, &ParseRequest, &ParseFeatures, &ParseOutputs}) {
    if (auto s = parse(root, definition); !s.ok()) return s;
  }
  return definition;
}

template <typename T>
const T* FindByName(const std::vector<T>& items, std::string_view name) {
  for (const T& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

}  // namespace

std::string_view TransformName(TransformKind kind) {
  for (const auto& [k, name] : kTransformNames) {
    if (k == kind) return name;
  }
  return "identity";
}

bool ParseTransformKind(std::string_view text, TransformKind& kind) {
  for (const auto& [k, name] : kTransformNames) {
    if (name == text) {
      kind = k;
      return true;
    }
  }
  return false;
}

const Entity* FeatureDefinition::FindEntity(std::string_view name) const {
  return FindByName(entities, name);
}

const FeatureTable* FeatureDefinition::FindTable(std::string_view name) const {
  return FindByName(tables, name);
}

const Feature* FeatureDefinition::FindFeature(std::string_view name) const {
  return FindByName(features, name);
}

absl::StatusOr<FeatureDefinition> ParseFeatureDefinition(std::string_view yaml,
                                                         bool allow_unfitted) {
  absl::StatusOr<FeatureDefinition> definition;
  try {
    definition = ParseRoot(YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {
    return Invalid(std::string("malformed YAML: ") + e.what());
  }
  if (!definition.ok()) return definition.status();
  if (auto s = ValidateFeatureDefinition(*definition, allow_unfitted); !s.ok()) return s;
  return definition;
}

absl::StatusOr<FeatureDefinition> LoadFeatureDefinition(const std::filesystem::path& file,
                                                        bool allow_unfitted) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}", file.string()));
  std::ostringstream text;
  text << in.rdbuf();
  auto definition = ParseFeatureDefinition(text.str(), allow_unfitted);
  if (!definition.ok()) {
    return absl::Status(
        definition.status().code(),
        fmt::format("{}: {}", file.string(), std::string(definition.status().message())));
  }
  return definition;
}

}  // namespace strata::features
