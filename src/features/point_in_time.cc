#include "features/point_in_time.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <unordered_map>

#include "features/feature_lookup.h"
#include "fmt/format.h"

namespace strata::features {
namespace {

// A table's source rows by entity key, each key's rows sorted by event time
// (stable: of equal times, the later in the file comes later).
class TableHistory {
 public:
  static absl::StatusOr<TableHistory> Build(const Entity& entity, const SourceRows& rows,
                                            std::string_view table) {
    TableHistory history;
    const size_t keys = entity.keys.size();
    std::vector<FeatureValue> values(keys);
    for (size_t r = 0; r < rows.rows; ++r) {
      for (size_t k = 0; k < keys; ++k) values[k] = rows.columns[k][r];
      absl::StatusOr<std::string> key = EncodeEntityKey(entity, values);
      if (!key.ok()) {
        return absl::InvalidArgumentError(fmt::format("table '{}' source row {}: {}", table, r + 1,
                                                      std::string(key.status().message())));
      }
      const FeatureValue& time = rows.columns[keys][r];
      if (!std::holds_alternative<int64_t>(time)) {
        return absl::InvalidArgumentError(
            fmt::format("table '{}' source row {}: the event time is missing; every row needs one",
                        table, r + 1));
      }
      history.rows_[*key].push_back({std::get<int64_t>(time), r});
    }
    for (auto& [key, list] : history.rows_) {
      std::stable_sort(list.begin(), list.end(),
                       [](const Entry& a, const Entry& b) { return a.time < b.time; });
    }
    return history;
  }

  // The latest row of `key` with event time <= `ts`, or null.
  const std::pair<int64_t, size_t>* AsOf(const std::string& key, int64_t ts) const {
    auto it = rows_.find(key);
    if (it == rows_.end()) return nullptr;
    const std::vector<Entry>& list = it->second;
    auto after = std::upper_bound(list.begin(), list.end(), ts,
                                  [](int64_t t, const Entry& e) { return t < e.time; });
    if (after == list.begin()) return nullptr;
    const Entry& e = *(after - 1);
    found_ = {e.time, e.row};
    return &found_;
  }

 private:
  struct Entry {
    int64_t time;
    size_t row;
  };
  std::unordered_map<std::string, std::vector<Entry>> rows_;
  mutable std::pair<int64_t, size_t> found_;
};

int FindColumn(const SourceRows& rows, std::string_view name) {
  for (size_t c = 0; c < rows.names.size(); ++c) {
    if (rows.names[c] == name && rows.present[c]) return static_cast<int>(c);
  }
  return -1;
}

// Copies the labels file's request fields and key columns into their slots,
// and reads timestamps and labels.
absl::Status FillFromLabels(const std::vector<Slot>& slots, const SourceRows& labels,
                            const PointInTimeOptions& options, TrainingRows& out) {
  for (size_t s = 0; s < slots.size(); ++s) {
    if (slots[s].source == Slot::Source::kTable) continue;
    const int c = FindColumn(labels, slots[s].column);
    if (c < 0) continue;
    for (size_t r = 0; r < labels.rows; ++r) out.raw.At(r, s) = labels.columns[c][r];
  }
  const int ts = FindColumn(labels, options.timestamp_column);
  if (ts < 0) {
    return absl::InvalidArgumentError(
        fmt::format("the labels have no timestamp column '{}'", options.timestamp_column));
  }
  for (size_t r = 0; r < labels.rows; ++r) {
    const FeatureValue& v = labels.columns[ts][r];
    if (!std::holds_alternative<int64_t>(v)) {
      return absl::InvalidArgumentError(fmt::format("labels row {}: the timestamp '{}' is missing",
                                                    r + 1, options.timestamp_column));
    }
    out.timestamps.push_back(std::get<int64_t>(v));
  }
  if (options.label_column.empty()) return absl::OkStatus();
  const int label = FindColumn(labels, options.label_column);
  if (label < 0) {
    return absl::InvalidArgumentError(
        fmt::format("the labels have no label column '{}'", options.label_column));
  }
  for (size_t r = 0; r < labels.rows; ++r) {
    const FeatureValue& v = labels.columns[label][r];
    double y = std::nan("");
    if (std::holds_alternative<double>(v)) y = std::get<double>(v);
    out.labels.push_back(y);
  }
  return absl::OkStatus();
}

// The entity keys of every label row ("" where a key column is missing).
std::vector<std::string> LabelKeys(const Entity& entity, const std::vector<Slot>& slots,
                                   const TrainingRows& rows) {
  std::vector<int> key_slots;
  for (const Column& k : entity.keys) {
    for (size_t s = 0; s < slots.size(); ++s) {
      if (slots[s].source == Slot::Source::kKey && slots[s].owner == entity.name &&
          slots[s].column == k.name) {
        key_slots.push_back(static_cast<int>(s));
      }
    }
  }
  std::vector<std::string> keys(rows.raw.rows());
  std::vector<FeatureValue> values(key_slots.size());
  for (size_t r = 0; r < rows.raw.rows(); ++r) {
    for (size_t k = 0; k < key_slots.size(); ++k) values[k] = rows.raw.At(r, key_slots[k]);
    absl::StatusOr<std::string> key = EncodeEntityKey(entity, values);
    if (key.ok()) keys[r] = *std::move(key);
  }
  return keys;
}

// Joins one table: fills its slots of every row as of the row's timestamp.
absl::StatusOr<int64_t> JoinTable(const FeatureDefinition& definition, const FeatureTable& table,
                                  const SourceRows& source, const std::vector<Slot>& slots,
                                  TrainingRows& out) {
  const Entity* entity = definition.FindEntity(table.entity);
  absl::StatusOr<TableHistory> history = TableHistory::Build(*entity, source, table.name);
  if (!history.ok()) return history.status();
  const std::vector<std::string> keys = LabelKeys(*entity, slots, out);
  std::vector<std::pair<size_t, size_t>> columns;  // (slot, source column)
  for (size_t s = 0; s < slots.size(); ++s) {
    if (slots[s].source != Slot::Source::kTable || slots[s].owner != table.name) continue;
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const size_t at = entity->keys.size() + 1 + c;
      if (table.columns[c].name == slots[s].column && source.present[at])
        columns.push_back({s, at});
    }
  }
  int64_t found = 0;
  for (size_t r = 0; r < out.raw.rows(); ++r) {
    if (keys[r].empty()) continue;
    const auto* hit = history->AsOf(keys[r], out.timestamps[r]);
    if (hit == nullptr) continue;
    if (table.max_age_seconds > 0 && out.timestamps[r] - hit->first > table.max_age_seconds) {
      continue;  // stale at the label's time, as the server would judge it
    }
    ++found;
    for (const auto& [slot, column] : columns)
      out.raw.At(r, slot) = source.columns[column][hit->second];
  }
  return found;
}

}  // namespace

std::vector<SourceColumn> LabelColumns(const FeatureDefinition& definition,
                                       const PointInTimeOptions& options) {
  std::vector<SourceColumn> columns;
  for (const RequestField& f : definition.request) {
    columns.push_back({{f.name, "request." + f.name}, f.type, false});
  }
  for (const Entity& e : definition.entities) {
    for (const Column& k : e.keys)
      columns.push_back({{k.name, e.name + "." + k.name}, k.type, false});
  }
  columns.push_back({{options.timestamp_column}, ValueType::kInt64, true});
  if (!options.label_column.empty()) {
    columns.push_back({{options.label_column}, ValueType::kFloat64, true});
  }
  return columns;
}

std::vector<SourceColumn> TableSourceColumns(const FeatureDefinition& definition,
                                             const FeatureTable& table,
                                             const std::string& event_time_column) {
  std::vector<SourceColumn> columns;
  const Entity* entity = definition.FindEntity(table.entity);
  for (const Column& k : entity->keys) columns.push_back({{k.name}, k.type, true});
  columns.push_back({{event_time_column}, ValueType::kInt64, true});
  for (const Column& c : table.columns) {
    columns.push_back({{table.name + "." + c.name, c.name}, c.type, false});
  }
  return columns;
}

absl::StatusOr<TrainingRows> JoinPointInTime(const FeatureDefinition& definition,
                                             const SourceRows& labels,
                                             const std::map<std::string, SourceRows>& sources,
                                             const PointInTimeOptions& options) {
  const std::vector<Slot> slots = SlotsOf(definition);
  TrainingRows out;
  out.raw = RawRows(labels.rows, slots.size());
  if (absl::Status s = FillFromLabels(slots, labels, options, out); !s.ok()) return s;
  for (const FeatureTable& table : definition.tables) {
    auto it = sources.find(table.name);
    if (it == sources.end()) {
      return absl::InvalidArgumentError(fmt::format(
          "no source for table '{}'; give one (--source {}=FILE)", table.name, table.name));
    }
    absl::StatusOr<int64_t> found = JoinTable(definition, table, it->second, slots, out);
    if (!found.ok()) return found.status();
    out.found.push_back(*found);
  }
  return out;
}

absl::Status WriteTrainingSet(const std::filesystem::path& file, const FeaturePipeline& pipeline,
                              const TrainingRows& rows) {
  const std::filesystem::path temporary = file.string() + ".tmp";
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InvalidArgumentError(fmt::format("cannot write {}", file.string()));
  const bool labelled = !rows.labels.empty();
  out << "ts" << (labelled ? ",label" : "");
  for (const std::string& name : pipeline.ColumnNames()) out << ',' << name;
  out << '\n';
  std::vector<float> vector(pipeline.width());
  std::string line;
  for (size_t r = 0; r < rows.raw.rows(); ++r) {
    absl::Status s = pipeline.TransformRow(rows.raw.Row(r), vector);
    if (!s.ok()) {
      std::filesystem::remove(temporary);
      return absl::InvalidArgumentError(
          fmt::format("labels row {}: {}", r + 1, std::string(s.message())));
    }
    line = fmt::format("{}", rows.timestamps[r]);
    if (labelled) fmt::format_to(std::back_inserter(line), ",{}", rows.labels[r]);
    for (float v : vector) fmt::format_to(std::back_inserter(line), ",{}", v);
    line += '\n';
    out << line;
  }
  out.close();
  if (!out) return absl::DataLossError(fmt::format("writing {} failed", temporary.string()));
  std::error_code ec;
  std::filesystem::rename(temporary, file, ec);
  if (ec)
    return absl::DataLossError(
        fmt::format("renaming {}: {}", temporary.string(), std::string(ec.message())));
  return absl::OkStatus();
}

}  // namespace strata::features
