// FeatureLookup fills raw rows from feature tables: for each table of the
// definition, the rows' entity keys (canonical bytes, store/key_schema.h)
// go to ONE multi-get on the table's open version, whatever the number of
// features; the values found are decoded into the rows' slots. A row whose
// entity is not in the table, or whose row is older than the table's
// max_age, keeps its slots missing (the pipeline imputes or refuses them).
// `strata serve` (asynchronously, never on an I/O thread: the table's
// MultiGetAsync runs a store that can block on its own threads) and
// `strata batch` and `strata features skew` (synchronously) share it.
// Thread-safe; one lookup per call.
#ifndef STRATA_FEATURES_FEATURE_LOOKUP_H_
#define STRATA_FEATURES_FEATURE_LOOKUP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "features/feature_pipeline.h"
#include "features/feature_value.h"
#include "store/key_schema.h"
#include "store/prediction_table.h"

namespace strata::features {

// Where a lookup finds a feature table's version to read now. The server's
// implementation follows each table's published version (the servable
// lifecycle); batch opens a fixed version.
class FeatureTableSource {
 public:
  virtual ~FeatureTableSource() = default;
  // The open version of `table`; null when no version is open (the table's
  // on_store_error policy decides the answer then).
  virtual std::shared_ptr<const store::PredictionTable> Current(std::string_view table) const = 0;
};

// The key schema of an entity: its key columns in order, INT64 as INT64,
// STRING as BYTES.
store::KeySchema EntityKeySchema(const Entity& entity);

// The canonical key bytes of one entity row (`values`: the entity's key
// columns in key order), exactly what `strata features materialize` writes
// a feature table row under: INT64 via KeySchema::AppendInt (an integral
// double is accepted), STRING via KeySchema::AppendBytes. INVALID_ARGUMENT
// naming the key column ("user.user_id") when a value is missing or of
// another type.
absl::StatusOr<std::string> EncodeEntityKey(const Entity& entity,
                                            std::span<const FeatureValue> values);

// What one lookup saw, per table in definition order.
struct LookupReport {
  std::vector<int64_t> found;        // rows whose entity row was found and fresh
  std::vector<int64_t> missing;      // not in the table
  std::vector<int64_t> stale;        // older than max_age
  std::vector<uint8_t> unavailable;  // the table could not be read
  std::vector<int64_t> versions;     // the version read, 0 when none
};

class FeatureLookup {
 public:
  explicit FeatureLookup(std::shared_ptr<const FeaturePipeline> pipeline);

  // The key schema of each entity (definition order), for encoding keys.
  const store::KeySchema& entity_schema(size_t entity) const { return entity_schemas_[entity]; }

  // Encodes the entity keys of every row from its key slots (already filled
  // in `rows`): [entity][row], entities in definition order.
  // INVALID_ARGUMENT naming the row and key column when a key of an entity
  // that keys a table is missing; an entity that keys no table gets ""
  // for a row whose key is missing (canonical keys are never empty).
  absl::StatusOr<std::vector<std::vector<std::string>>> EncodeKeys(const RawRows& rows) const;

  using Done = std::function<void(absl::StatusOr<LookupReport>)>;
  // Looks every table up and fills the table slots of `rows` (a row not
  // found, stale or unreadable gets its table slots reset to missing);
  // `now` (unix seconds) judges max_age: a row is stale when
  // now - event_time > max_age (event time 0, unknown, is never stale). A
  // row whose bytes do not decode fails the lookup with DATA_LOSS naming
  // the table, whatever the policy. Calls `done` exactly once, on any thread. A
  // table that cannot be read fails the lookup (UNAVAILABLE naming it) when
  // its policy is kUnavailable, else leaves its slots missing and marks it
  // unavailable in the report. REQUIRES: `rows` and this lookup outlive
  // the call (until `done` runs).
  void FillAsync(const FeatureTableSource& source, RawRows& rows, int64_t now, Done done) const;
  // The same, waiting for the answer.
  absl::StatusOr<LookupReport> Fill(const FeatureTableSource& source, RawRows& rows,
                                    int64_t now) const;

 private:
  struct FillState;  // one FillAsync's keys, report and join
  void LookUpTable(size_t table, const FeatureTableSource& source,
                   const std::shared_ptr<FillState>& state) const;
  absl::Status ApplyResult(size_t table, const store::PredictionTable* opened,
                           const absl::StatusOr<store::LookupResult>& result,
                           FillState& state) const;
  void ClearTableSlots(size_t table, RawRows& rows, size_t row) const;

  std::shared_ptr<const FeaturePipeline> pipeline_;
  std::vector<store::KeySchema> entity_schemas_;
  std::vector<std::vector<int>> entity_key_slots_;  // per entity, its key slots
  std::vector<uint8_t> entity_keys_table_;          // per entity, 1 when it keys a table
  std::vector<size_t> table_entity_;                // per table, its entity's index
  std::vector<size_t> table_first_slot_;            // per table, the slot of its first column
};

}  // namespace strata::features

#endif  // STRATA_FEATURES_FEATURE_LOOKUP_H_
