#include "features/skew.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "features/feature_lookup.h"
#include "features/feature_row_codec.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace strata::features {
namespace {

constexpr size_t kMaxProblems = 10;
constexpr int kPsiBins = 10;

absl::Status ParseRequest(simdjson::dom::object request, const FeatureDefinition& definition,
                          ServedRow& row) {
  for (auto [name, value] : request) {
    auto field = std::find_if(definition.request.begin(), definition.request.end(),
                              [&](const RequestField& f) { return f.name == name; });
    if (field == definition.request.end()) continue;
    FeatureValue v;
    int64_t n = 0;
    double d = 0;
    std::string_view text;
    if (value.is_null()) {
    } else if (field->type == ValueType::kString && value.get_string().get(text) == 0) {
      v = std::string(text);
    } else if (field->type == ValueType::kInt64 && value.get_int64().get(n) == 0) {
      v = n;
    } else if (field->type == ValueType::kFloat64 && value.get_double().get(d) == 0) {
      v = d;
    } else {
      return absl::InvalidArgumentError(
          fmt::format("request field '{}' is not {}", name, ValueTypeName(field->type)));
    }
    row.request.emplace(std::string(name), std::move(v));
  }
  return absl::OkStatus();
}

absl::Status ParseMaps(simdjson::dom::object object, ServedRow& row) {
  simdjson::dom::object entities, tables;
  if (object["entities"].get(entities) == 0) {
    for (auto [name, value] : entities) {
      std::string_view hash;
      if (value.get_string().get(hash) != 0) {
        return absl::InvalidArgumentError(fmt::format("entities.{} is not a string", name));
      }
      row.entities.emplace(std::string(name), std::string(hash));
    }
  }
  if (object["tables"].get(tables) == 0) {
    for (auto [name, value] : tables) {
      int64_t version = 0;
      if (value.get_int64().get(version) != 0) {
        return absl::InvalidArgumentError(fmt::format("tables.{} is not a version", name));
      }
      row.tables.emplace(std::string(name), version);
    }
  }
  return absl::OkStatus();
}

double Psi(std::vector<float> training, const std::vector<float>& served) {
  if (training.empty() || served.empty()) return 0;
  std::sort(training.begin(), training.end());
  std::vector<float> edges;
  for (int b = 1; b < kPsiBins; ++b) {
    const float e = training[training.size() * b / kPsiBins];
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  auto fractions = [&](const std::vector<float>& values) {
    std::vector<double> f(edges.size() + 1, 0);
    for (float v : values) {
      f[std::upper_bound(edges.begin(), edges.end(), v) - edges.begin()] += 1;
    }
    for (double& x : f) x = std::max(x / static_cast<double>(values.size()), 1e-4);
    return f;
  };
  const std::vector<double> p = fractions(training), q = fractions(served);
  double psi = 0;
  for (size_t i = 0; i < p.size(); ++i) psi += (q[i] - p[i]) * std::log(q[i] / p[i]);
  return psi;
}

FeatureValue FromKeyValue(const store::KeyValue& v) {
  if (std::holds_alternative<int64_t>(v)) return std::get<int64_t>(v);
  return std::get<std::string>(v);
}

}  // namespace

absl::StatusOr<ServedRow> ParseServedRow(std::string_view line,
                                         const FeatureDefinition& definition) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(line).get(object) != 0) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  ServedRow row;
  std::string_view text;
  if (object["ts"].get_int64().get(row.ts) != 0) return absl::InvalidArgumentError("no 'ts'");
  if (object["request_id"].get_string().get(text) == 0) row.request_id = std::string(text);
  if (object["model"].get_string().get(text) == 0) row.model = std::string(text);
  if (object["version"].get_int64().get(row.version) != 0) row.version = 0;
  if (absl::Status s = ParseMaps(object, row); !s.ok()) return s;
  simdjson::dom::object request;
  if (object["request"].get(request) == 0) {
    if (absl::Status s = ParseRequest(request, definition, row); !s.ok()) return s;
  }
  simdjson::dom::array vector;
  if (object["vector"].get(vector) != 0) return absl::InvalidArgumentError("no 'vector' array");
  for (simdjson::dom::element v : vector) {
    double d = 0;
    if (v.get_double().get(d) != 0)
      return absl::InvalidArgumentError("'vector' holds a non-number");
    row.vector.push_back(static_cast<float>(d));
  }
  return row;
}

SkewChecker::SkewChecker(std::shared_ptr<const FeaturePipeline> pipeline,
                         const store::TableStore& store, KeyedHasher hasher)
    : pipeline_(std::move(pipeline)), store_(store), hasher_(std::move(hasher)) {
  const FeatureDefinition& d = pipeline_->definition();
  for (const Output& output : d.outputs) {
    for (const std::string& name : output.features) {
      size_t f = 0;
      while (f < d.features.size() && d.features[f].name != name) ++f;
      for (size_t i = 0; i < pipeline_->feature_width(f); ++i) float_feature_.push_back(f);
    }
  }
  for (const Feature& f : d.features) report_.features.push_back({f.name, 0, std::nullopt});
  served_.resize(pipeline_->width());
}

const SkewChecker::TableVersion& SkewChecker::Open(const std::string& table, int64_t version) {
  auto [it, inserted] = versions_.try_emplace({table, version});
  if (!inserted) return it->second;
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> opened = store_.Open(table, version);
  if (!opened.ok()) {
    it->second.status = opened.status();
    return it->second;
  }
  it->second.table = *opened;
  const FeatureTable* t = pipeline_->definition().FindTable(table);
  auto& index = keys_[t->entity];
  it->second.status = (*opened)->Scan([&](std::string_view key, std::string_view) {
    index.try_emplace(hasher_.Hash(key), std::string(key));
    return absl::OkStatus();
  });
  return it->second;
}

absl::Status SkewChecker::FillKeys(const ServedRow& row, RawRows& raw,
                                   std::vector<std::string>& keys) {
  const FeatureDefinition& d = pipeline_->definition();
  for (const auto& [table, version] : row.tables) {
    if (version > 0 && d.FindTable(table) != nullptr) {
      if (absl::Status s = Open(table, version).status; !s.ok()) return s;
    }
  }
  for (const Entity& entity : d.entities) {
    keys.emplace_back();
    auto hash = row.entities.find(entity.name);
    auto index = keys_.find(entity.name);
    if (hash == row.entities.end() || index == keys_.end()) continue;
    auto key = index->second.find(hash->second);
    if (key == index->second.end()) continue;  // in none of its tables: rows missing
    keys.back() = key->second;
    absl::StatusOr<std::vector<store::KeyValue>> values =
        EntityKeySchema(entity).Decode(key->second);
    if (!values.ok()) return values.status();
    for (size_t k = 0; k < entity.keys.size(); ++k) {
      const int slot = pipeline_->SlotOf(entity.name, entity.keys[k].name);
      if (slot >= 0) raw.At(0, slot) = FromKeyValue((*values)[k]);
    }
  }
  return absl::OkStatus();
}

absl::Status SkewChecker::FillTables(const ServedRow& row, const std::vector<std::string>& keys,
                                     RawRows& raw) {
  const FeatureDefinition& d = pipeline_->definition();
  for (const FeatureTable& table : d.tables) {
    auto version = row.tables.find(table.name);
    if (version == row.tables.end() || version->second <= 0) continue;
    size_t e = 0;
    while (d.entities[e].name != table.entity) ++e;
    if (keys[e].empty()) continue;
    absl::StatusOr<store::LookupResult> found =
        Open(table.name, version->second).table->MultiGet(std::span(&keys[e], 1));
    if (!found.ok()) return found.status();
    if (!found->found[0]) continue;
    std::vector<FeatureValue> values(table.columns.size());
    int64_t event_time = 0;
    absl::Status s = DecodeFeatureRow(found->values[0], table.columns, values, event_time);
    if (!s.ok()) return s;
    if (table.max_age_seconds > 0 && row.ts - event_time > table.max_age_seconds) continue;
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const int slot = pipeline_->SlotOf(table.name, table.columns[c].name);
      if (slot >= 0) raw.At(0, slot) = std::move(values[c]);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RawRows> SkewChecker::Recompute(const ServedRow& row) {
  RawRows raw(1, pipeline_->slots().size());
  for (const auto& [name, value] : row.request) {
    const int slot = pipeline_->SlotOf("request", name);
    if (slot >= 0) raw.At(0, slot) = value;
  }
  std::vector<std::string> keys;
  if (absl::Status s = FillKeys(row, raw, keys); !s.ok()) return s;
  if (absl::Status s = FillTables(row, keys, raw); !s.ok()) return s;
  return raw;
}

void SkewChecker::Problem(std::string text) {
  if (report_.problems.size() < kMaxProblems) report_.problems.push_back(std::move(text));
}

void SkewChecker::Add(const ServedRow& row) {
  if (row.vector.size() != pipeline_->width()) {
    ++report_.unmatched;
    Problem(fmt::format("request {}: the vector has {} floats, the definition makes {}",
                        row.request_id, row.vector.size(), pipeline_->width()));
    return;
  }
  absl::StatusOr<RawRows> raw = Recompute(row);
  std::vector<float> expected(pipeline_->width());
  absl::Status s = raw.ok() ? pipeline_->TransformRow(raw->Row(0), expected) : raw.status();
  if (!s.ok()) {
    ++report_.unmatched;
    Problem(
        fmt::format("request {}: not recomputed: {}", row.request_id, std::string(s.message())));
    return;
  }
  Compare(row, expected);
}

void SkewChecker::Compare(const ServedRow& row, std::span<const float> expected) {
  ++report_.rows;
  std::vector<uint8_t> differs(report_.features.size(), 0);
  std::vector<std::string> names = pipeline_->ColumnNames();
  bool any = false;
  for (size_t i = 0; i < expected.size(); ++i) {
    served_[i].push_back(row.vector[i]);
    if (std::memcmp(&expected[i], &row.vector[i], sizeof(float)) == 0) continue;
    if (!any) {
      Problem(fmt::format("request {}: {} served {} but recomputes to {}", row.request_id, names[i],
                          row.vector[i], expected[i]));
    }
    any = true;
    differs[float_feature_[i]] = 1;
  }
  for (size_t f = 0; f < differs.size(); ++f) report_.features[f].differing += differs[f];
  report_.differing_rows += any ? 1 : 0;
}

std::vector<SourceColumn> SkewChecker::TrainingColumns() const {
  std::vector<SourceColumn> columns;
  for (const std::string& name : pipeline_->ColumnNames()) {
    columns.push_back({{name}, ValueType::kFloat64, true});
  }
  return columns;
}

SkewReport SkewChecker::Report(const SourceRows* training) const {
  SkewReport report = report_;
  if (training == nullptr) return report;
  for (size_t i = 0; i < served_.size() && i < training->columns.size(); ++i) {
    std::vector<float> values;
    for (const FeatureValue& v : training->columns[i]) {
      if (std::holds_alternative<double>(v))
        values.push_back(static_cast<float>(std::get<double>(v)));
    }
    const double psi = Psi(std::move(values), served_[i]);
    std::optional<double>& slot = report.features[float_feature_[i]].psi;
    slot = std::max(slot.value_or(0.0), psi);
  }
  return report;
}

}  // namespace strata::features
