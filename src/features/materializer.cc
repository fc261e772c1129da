#include "features/materializer.h"

#include <algorithm>
#include <unordered_map>

#include "features/feature_lookup.h"
#include "features/feature_row_codec.h"
#include "fmt/format.h"
#include "store/table_builder.h"
#include "store/table_checksum.h"
#include "store/table_verification.h"

namespace strata::features {
namespace {

core::DataType ColumnDtype(ValueType type) {
  switch (type) {
    case ValueType::kInt64:
      return core::DataType::kInt64;
    case ValueType::kFloat64:
      return core::DataType::kFp64;
    case ValueType::kString:
      return core::DataType::kBytes;
  }
  return core::DataType::kFp64;
}

const FeatureTable* FindTableOrError(const FeatureDefinition& definition, std::string_view name,
                                     absl::Status& error) {
  const FeatureTable* table = definition.FindTable(name);
  if (table == nullptr) {
    std::vector<std::string> names;
    for (const FeatureTable& t : definition.tables) names.push_back(t.name);
    error = absl::InvalidArgumentError(
        fmt::format("the definition has no table '{}' (it has: {})", name, fmt::join(names, ", ")));
  }
  return table;
}

// Refuses to add a version to a table that holds something else.
absl::Status CheckExistingTable(const store::TableStore& store, const FeatureDefinition& definition,
                                const FeatureTable& table) {
  absl::StatusOr<int64_t> current = store.CurrentVersion(table.name);
  if (!current.ok()) return current.status();
  if (*current == 0) return absl::OkStatus();
  absl::StatusOr<store::TableManifest> manifest = store.ReadManifest(table.name, *current);
  if (!manifest.ok()) return manifest.status();
  absl::Status s = CheckFeatureTableManifest(*manifest, definition, table);
  if (s.ok()) return s;
  return absl::FailedPreconditionError(
      fmt::format("table '{}' in {} already holds version {} that does not fit: {}; materialize "
                  "under another table name, or remove the old table first",
                  table.name, store.location(), *current, std::string(s.message())));
}

// Reads the new version back through the store: its rows and checksum.
absl::Status VerifyWritten(store::TableStore& store, const std::string& table, int64_t version) {
  absl::Status s = store::VerifyTableVersion(store, table, version);
  if (s.ok()) return s;
  return absl::DataLossError(
      fmt::format("table '{}' version {} failed verification, not "
                  "published: {}",
                  table, version, std::string(s.message())));
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LatestRows(
    const FeatureDefinition& definition, const FeatureTable& table, const SourceRows& rows,
    std::optional<int64_t> as_of, int64_t& future_rows) {
  const Entity* entity = definition.FindEntity(table.entity);
  const size_t keys = entity->keys.size();
  std::unordered_map<std::string, std::pair<int64_t, size_t>> latest;  // key -> (time, row)
  std::vector<FeatureValue> values(keys);
  future_rows = 0;
  for (size_t r = 0; r < rows.rows; ++r) {
    for (size_t k = 0; k < keys; ++k) values[k] = rows.columns[k][r];
    absl::StatusOr<std::string> key = EncodeEntityKey(*entity, values);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("source row {}: {}", r + 1, std::string(key.status().message())));
    }
    const FeatureValue& time = rows.columns[keys][r];
    if (!std::holds_alternative<int64_t>(time)) {
      return absl::InvalidArgumentError(
          fmt::format("source row {}: the event time is missing", r + 1));
    }
    const int64_t t = std::get<int64_t>(time);
    if (as_of && t > *as_of) {
      ++future_rows;
      continue;
    }
    auto [it, inserted] = latest.try_emplace(*std::move(key), t, r);
    if (!inserted && t >= it->second.first) it->second = {t, r};  // equal: the later row
  }
  std::vector<std::pair<std::string, std::string>> records;
  records.reserve(latest.size());
  std::vector<FeatureValue> row(table.columns.size());
  for (const auto& [key, hit] : latest) {
    for (size_t c = 0; c < table.columns.size(); ++c)
      row[c] = rows.columns[keys + 1 + c][hit.second];
    records.emplace_back(key, EncodeFeatureRow(table.columns, row, hit.first));
  }
  std::sort(records.begin(), records.end());
  return records;
}

store::TableManifest FeatureTableManifest(const FeatureDefinition& definition,
                                          const FeatureTable& table) {
  store::TableManifest m;
  m.table = table.name;
  m.kind = store::TableKind::kFeatures;
  m.model_name = "";  // a feature table is not made by a model
  m.key = EntityKeySchema(*definition.FindEntity(table.entity));
  for (const Column& c : table.columns) m.outputs.push_back({c.name, ColumnDtype(c.type), {}});
  return m;
}

absl::Status CheckFeatureTableManifest(const store::TableManifest& manifest,
                                       const FeatureDefinition& definition,
                                       const FeatureTable& table) {
  const store::TableManifest want = FeatureTableManifest(definition, table);
  if (manifest.kind != store::TableKind::kFeatures) {
    return absl::FailedPreconditionError("it is a prediction table, not a feature table");
  }
  if (manifest.key.ToString() != want.key.ToString()) {
    return absl::FailedPreconditionError(
        fmt::format("its key is {}, but entity '{}' is keyed by {}", manifest.key.ToString(),
                    table.entity, want.key.ToString()));
  }
  auto text = [](const std::vector<store::OutputColumn>& columns) {
    std::vector<std::string> parts;
    for (const auto& c : columns)
      parts.push_back(fmt::format("{}:{}", c.name, core::DataTypeName(c.dtype)));
    return fmt::format("{}", fmt::join(parts, ","));
  };
  if (text(manifest.outputs) != text(want.outputs)) {
    return absl::FailedPreconditionError(fmt::format("its columns are {}, the definition's are {}",
                                                     text(manifest.outputs), text(want.outputs)));
  }
  return absl::OkStatus();
}

absl::StatusOr<MaterializeResult> Materialize(store::TableStore& store,
                                              const FeatureDefinition& definition,
                                              const SourceRows& rows,
                                              const MaterializeOptions& options,
                                              const std::function<void(int64_t)>& progress) {
  absl::Status error;
  const FeatureTable* table = FindTableOrError(definition, options.table, error);
  if (table == nullptr) return error;
  if (absl::Status s = CheckExistingTable(store, definition, *table); !s.ok()) return s;
  MaterializeResult result;
  result.source_rows = static_cast<int64_t>(rows.rows);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> records =
      LatestRows(definition, *table, rows, options.as_of, result.future_rows);
  if (!records.ok()) return records.status();
  if (records->empty()) {
    return absl::InvalidArgumentError(
        fmt::format("no source row of table '{}' is at or before the as-of time; nothing to write",
                    table->name));
  }
  absl::StatusOr<std::unique_ptr<store::TableBuilder>> builder =
      store.NewBuilder(table->name, options.scratch);
  if (!builder.ok()) return builder.status();
  store::TableChecksum checksum;
  for (const auto& [key, value] : *records) {
    if (absl::Status s = (*builder)->Add(key, value); !s.ok()) return s;
    checksum.Add(key, value);
    if (progress && (++result.rows % 100000) == 0) progress(result.rows);
  }
  result.rows = static_cast<int64_t>(records->size());
  store::TableManifest manifest = FeatureTableManifest(definition, *table);
  manifest.rows = result.rows;
  manifest.created = store::UtcNow();
  manifest.checksum = result.checksum = checksum.ToString();
  manifest.job =
      options.as_of ? fmt::format("materialize as of {}", *options.as_of) : "materialize";
  manifest.verification.rows = result.rows;
  manifest.verification.checks.push_back(
      {"rows", true, fmt::format("{} entity rows from {} source rows", result.rows, rows.rows)});
  absl::StatusOr<int64_t> version = (*builder)->Commit(std::move(manifest));
  if (!version.ok()) return version.status();
  result.version = *version;
  if (absl::Status s = VerifyWritten(store, table->name, *version); !s.ok()) return s;
  if (!options.publish) return result;
  if (absl::Status s = store.SetCurrentVersion(table->name, *version); !s.ok()) return s;
  result.published = true;
  (void)store.RemoveOldVersions(table->name, options.keep_versions);
  return result;
}

}  // namespace strata::features
