// WriteFeatureDefinition(): the YAML that ParseFeatureDefinition() reads
// back to an equal definition. Doubles are written as their shortest
// round-trip decimal text; vocabulary entries are always quoted, so "123"
// or "true" stay the strings they are.
#include <yaml-cpp/yaml.h>

#include "features/feature_definition.h"
#include "features/yaml_scalars.h"

namespace strata::features {
namespace {

void EmitColumns(YAML::Emitter& out, const std::vector<Column>& columns) {
  out << YAML::Flow << YAML::BeginMap;
  for (const Column& column : columns) {
    out << YAML::Key << column.name << YAML::Value << std::string(ValueTypeName(column.type));
  }
  out << YAML::EndMap;
}

void EmitEntities(YAML::Emitter& out, const FeatureDefinition& definition) {
  out << YAML::Key << "entities" << YAML::Value << YAML::BeginMap;
  for (const Entity& entity : definition.entities) {
    out << YAML::Key << entity.name << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "keys" << YAML::Value << YAML::BeginSeq;
    for (const Column& key : entity.keys) {
      out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << key.name << YAML::Key << "type"
          << YAML::Value << std::string(ValueTypeName(key.type)) << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void EmitTables(YAML::Emitter& out, const FeatureDefinition& definition) {
  out << YAML::Key << "tables" << YAML::Value << YAML::BeginMap;
  for (const FeatureTable& table : definition.tables) {
    out << YAML::Key << table.name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "entity" << YAML::Value << table.entity;
    out << YAML::Key << "max_age" << YAML::Value << table.max_age_seconds;
    out << YAML::Key << "on_store_error" << YAML::Value
        << (table.on_store_error == StoreErrorPolicy::kImpute ? "impute" : "unavailable");
    out << YAML::Key << "columns" << YAML::Value;
    EmitColumns(out, table.columns);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void EmitRequest(YAML::Emitter& out, const FeatureDefinition& definition) {
  out << YAML::Key << "request" << YAML::Value << YAML::BeginMap;
  for (const RequestField& field : definition.request) {
    out << YAML::Key << field.name << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "type" << YAML::Value << std::string(ValueTypeName(field.type));
    out << YAML::Key << "required" << YAML::Value << (field.required ? "true" : "false");
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void EmitDouble(YAML::Emitter& out, std::string_view key, const std::optional<double>& value) {
  if (value) out << YAML::Key << std::string(key) << YAML::Value << FormatDouble(*value);
}

void EmitParams(YAML::Emitter& out, const Feature& feature) {
  const TransformParams& p = feature.params;
  out << YAML::Key << "params" << YAML::Value << YAML::Flow << YAML::BeginMap;
  EmitDouble(out, "mean", p.mean);
  EmitDouble(out, "std", p.std);
  EmitDouble(out, "min", p.min);
  EmitDouble(out, "max", p.max);
  EmitDouble(out, "low", p.low);
  EmitDouble(out, "high", p.high);
  const TransformKind kind = feature.transform;
  if (kind == TransformKind::kBucketize) {
    out << YAML::Key << "boundaries" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (double boundary : p.boundaries) out << FormatDouble(boundary);
    out << YAML::EndSeq;
    if (p.quantiles > 0) out << YAML::Key << "quantiles" << YAML::Value << p.quantiles;
  }
  if (kind == TransformKind::kOneHot || kind == TransformKind::kVocabulary) {
    out << YAML::Key << "vocabulary" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& entry : p.vocabulary) out << YAML::DoubleQuoted << entry;
    out << YAML::EndSeq;
    if (p.max_vocabulary > 0)
      out << YAML::Key << "max_vocabulary" << YAML::Value << p.max_vocabulary;
  }
  if (kind == TransformKind::kHashBuckets || kind == TransformKind::kCross) {
    out << YAML::Key << "buckets" << YAML::Value << p.buckets;
  }
  if (kind == TransformKind::kTimeSince) {
    out << YAML::Key << "unit_seconds" << YAML::Value << FormatDouble(p.unit_seconds);
  }
  out << YAML::EndMap;
}

void EmitFeature(YAML::Emitter& out, const Feature& feature) {
  out << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << feature.name;
  out << YAML::Key << "from" << YAML::Value << YAML::Flow << feature.sources;
  out << YAML::Key << "transform" << YAML::Value << std::string(TransformName(feature.transform));
  EmitParams(out, feature);
  if (feature.missing == MissingPolicy::kRequired) {
    out << YAML::Key << "missing" << YAML::Value << "required";
  } else if (feature.impute) {
    out << YAML::Key << "missing" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
        << "impute" << YAML::Value << FormatDouble(*feature.impute) << YAML::EndMap;
  }
  out << YAML::EndMap;
}

}  // namespace

std::string WriteFeatureDefinition(const FeatureDefinition& definition) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  EmitEntities(out, definition);
  EmitTables(out, definition);
  EmitRequest(out, definition);
  out << YAML::Key << "features" << YAML::Value << YAML::BeginSeq;
  for (const Feature& feature : definition.features) EmitFeature(out, feature);
  out << YAML::EndSeq;
  out << YAML::Key << "outputs" << YAML::Value << YAML::BeginSeq;
  for (const Output& output : definition.outputs) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "tensor" << YAML::Value << output.tensor
        << YAML::Key << "features" << YAML::Value << YAML::Flow << output.features << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace strata::features
