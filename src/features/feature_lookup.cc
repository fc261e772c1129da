#include "features/feature_lookup.h"

#include <atomic>
#include <cmath>
#include <future>
#include <mutex>

#include "features/feature_row_codec.h"
#include "fmt/format.h"

namespace strata::features {
namespace {

absl::Status KeyError(const Entity& entity, const Column& key, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("key '{}.{}' {}", entity.name, key.name, what));
}

absl::Status AppendKey(const Entity& entity, const Column& key, const FeatureValue& value,
                       std::string& out) {
  if (IsMissing(value)) return KeyError(entity, key, "is missing");
  if (key.type == ValueType::kString) {
    const auto* text = std::get_if<std::string>(&value);
    if (text == nullptr) return KeyError(entity, key, "must be a STRING");
    store::KeySchema::AppendBytes(*text, out);
    return absl::OkStatus();
  }
  if (const auto* i = std::get_if<int64_t>(&value)) {
    store::KeySchema::AppendInt(*i, out);
    return absl::OkStatus();
  }
  const auto* d = std::get_if<double>(&value);
  // 2^63 is the first double past INT64's range.
  if (d == nullptr || !(std::trunc(*d) == *d) || std::fabs(*d) >= 9223372036854775808.0) {
    return KeyError(entity, key, "must be an INT64");
  }
  store::KeySchema::AppendInt(static_cast<int64_t>(*d), out);
  return absl::OkStatus();
}

}  // namespace

store::KeySchema EntityKeySchema(const Entity& entity) {
  std::vector<store::KeyColumn> columns;
  for (const Column& key : entity.keys) {
    columns.push_back({key.name, key.type == ValueType::kString ? core::DataType::kBytes
                                                                : core::DataType::kInt64});
  }
  return store::KeySchema(std::move(columns));
}

absl::StatusOr<std::string> EncodeEntityKey(const Entity& entity,
                                            std::span<const FeatureValue> values) {
  if (values.size() != entity.keys.size()) {
    return absl::InvalidArgumentError(fmt::format("entity '{}': {} key values for {} key columns",
                                                  entity.name, values.size(), entity.keys.size()));
  }
  std::string key;
  for (size_t i = 0; i < values.size(); ++i) {
    if (auto s = AppendKey(entity, entity.keys[i], values[i], key); !s.ok()) return s;
  }
  return key;
}

struct FeatureLookup::FillState {
  RawRows* rows = nullptr;
  int64_t now = 0;
  Done done;
  std::vector<std::vector<std::string>> keys;
  LookupReport report;
  std::atomic<size_t> pending{0};
  std::mutex mutex;
  absl::Status error;  // the first table's error; guarded by mutex

  // One table is done; the last one calls `done`.
  void Finish(const absl::Status& status) {
    if (!status.ok()) {
      std::lock_guard<std::mutex> lock(mutex);
      if (error.ok()) error = status;
    }
    if (pending.fetch_sub(1) != 1) return;
    absl::Status first;
    {
      std::lock_guard<std::mutex> lock(mutex);
      first = error;
    }
    if (first.ok()) {
      done(std::move(report));
    } else {
      done(first);
    }
  }
};

FeatureLookup::FeatureLookup(std::shared_ptr<const FeaturePipeline> pipeline)
    : pipeline_(std::move(pipeline)) {
  const FeatureDefinition& definition = pipeline_->definition();
  for (const Entity& entity : definition.entities) {
    entity_schemas_.push_back(EntityKeySchema(entity));
    std::vector<int> slots;
    for (const Column& key : entity.keys) slots.push_back(pipeline_->SlotOf(entity.name, key.name));
    entity_key_slots_.push_back(std::move(slots));
    entity_keys_table_.push_back(0);
  }
  for (const FeatureTable& table : definition.tables) {
    const size_t entity =
        static_cast<size_t>(definition.FindEntity(table.entity) - definition.entities.data());
    table_entity_.push_back(entity);
    entity_keys_table_[entity] = 1;
    table_first_slot_.push_back(
        static_cast<size_t>(pipeline_->SlotOf(table.name, table.columns[0].name)));
  }
}

absl::StatusOr<std::vector<std::vector<std::string>>> FeatureLookup::EncodeKeys(
    const RawRows& rows) const {
  const FeatureDefinition& definition = pipeline_->definition();
  std::vector<std::vector<std::string>> keys(definition.entities.size());
  std::vector<FeatureValue> values;
  for (size_t e = 0; e < definition.entities.size(); ++e) {
    const Entity& entity = definition.entities[e];
    keys[e].reserve(rows.rows());
    for (size_t r = 0; r < rows.rows(); ++r) {
      values.clear();
      for (int slot : entity_key_slots_[e]) values.push_back(rows.At(r, static_cast<size_t>(slot)));
      auto key = EncodeEntityKey(entity, values);
      if (!key.ok() && entity_keys_table_[e]) {
        return absl::Status(key.status().code(),
                            fmt::format("row {}: {}", r, std::string(key.status().message())));
      }
      keys[e].push_back(key.ok() ? std::move(*key) : std::string());
    }
  }
  return keys;
}

void FeatureLookup::ClearTableSlots(size_t table, RawRows& rows, size_t row) const {
  const size_t columns = pipeline_->definition().tables[table].columns.size();
  for (size_t c = 0; c < columns; ++c)
    rows.At(row, table_first_slot_[table] + c) = std::monostate();
}

absl::Status FeatureLookup::ApplyResult(size_t table, const store::PredictionTable* opened,
                                        const absl::StatusOr<store::LookupResult>& result,
                                        FillState& state) const {
  const FeatureTable& spec = pipeline_->definition().tables[table];
  RawRows& rows = *state.rows;
  if (!result.ok()) {
    for (size_t r = 0; r < rows.rows(); ++r) ClearTableSlots(table, rows, r);
    state.report.unavailable[table] = 1;
    if (spec.on_store_error == StoreErrorPolicy::kImpute) return absl::OkStatus();
    return absl::UnavailableError(fmt::format("feature table '{}' unavailable: {}", spec.name,
                                              std::string(result.status().message())));
  }
  state.report.versions[table] = opened->manifest().version;
  for (size_t r = 0; r < rows.rows(); ++r) {
    if (r >= result->found.size() || !result->found[r]) {
      ClearTableSlots(table, rows, r);
      ++state.report.missing[table];
      continue;
    }
    std::span<FeatureValue> values =
        rows.Row(r).subspan(table_first_slot_[table], spec.columns.size());
    int64_t event_time = 0;
    if (auto s = DecodeFeatureRow(result->values[r], spec.columns, values, event_time); !s.ok()) {
      return absl::DataLossError(
          fmt::format("feature table '{}': {}", spec.name, std::string(s.message())));
    }
    if (spec.max_age_seconds > 0 && event_time != 0 &&
        state.now - event_time > spec.max_age_seconds) {
      ClearTableSlots(table, rows, r);
      ++state.report.stale[table];
      continue;
    }
    ++state.report.found[table];
  }
  return absl::OkStatus();
}

void FeatureLookup::LookUpTable(size_t table, const FeatureTableSource& source,
                                const std::shared_ptr<FillState>& state) const {
  const FeatureTable& spec = pipeline_->definition().tables[table];
  std::shared_ptr<const store::PredictionTable> opened = source.Current(spec.name);
  if (opened == nullptr) {
    const absl::StatusOr<store::LookupResult> none =
        absl::UnavailableError(fmt::format("no version of '{}' is open", spec.name));
    state->Finish(ApplyResult(table, nullptr, none, *state));
    return;
  }
  const std::vector<std::string>& keys = state->keys[table_entity_[table]];
  const store::PredictionTable* raw = opened.get();
  raw->MultiGetAsync(keys, [this, table, state, opened = std::move(opened)](
                               absl::StatusOr<store::LookupResult> result) {
    state->Finish(ApplyResult(table, opened.get(), result, *state));
  });
}

void FeatureLookup::FillAsync(const FeatureTableSource& source, RawRows& rows, int64_t now,
                              Done done) const {
  auto keys = EncodeKeys(rows);
  if (!keys.ok()) {
    done(keys.status());
    return;
  }
  const size_t tables = pipeline_->definition().tables.size();
  auto state = std::make_shared<FillState>();
  state->rows = &rows;
  state->now = now;
  state->done = std::move(done);
  state->keys = std::move(*keys);
  state->report.found.assign(tables, 0);
  state->report.missing.assign(tables, 0);
  state->report.stale.assign(tables, 0);
  state->report.unavailable.assign(tables, 0);
  state->report.versions.assign(tables, 0);
  // One extra count held until every lookup is started, so `done` runs
  // once, after all of them, even when they finish inline.
  state->pending = tables + 1;
  for (size_t t = 0; t < tables; ++t) LookUpTable(t, source, state);
  state->Finish(absl::OkStatus());
}

absl::StatusOr<LookupReport> FeatureLookup::Fill(const FeatureTableSource& source, RawRows& rows,
                                                 int64_t now) const {
  std::promise<absl::StatusOr<LookupReport>> answer;
  std::future<absl::StatusOr<LookupReport>> future = answer.get_future();
  FillAsync(source, rows, now, [&answer](absl::StatusOr<LookupReport> report) {
    answer.set_value(std::move(report));
  });
  return future.get();
}

}  // namespace strata::features
