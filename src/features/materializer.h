// Materializing a feature table (`strata features materialize`): from the
// table's source rows, the latest row per entity key with event time <= an
// as-of time becomes the table's new version in a table store: keys are
// the entity's canonical key bytes, values features::EncodeFeatureRow rows
// with their event time. The version is built through the store's
// TableBuilder (invisible until committed), its manifest says it is a
// feature table with the definition's key and columns and carries its
// checksum, it is verified by reading it back, and only then published
// (SetCurrentVersion). Not thread-safe; one job per call.
#ifndef STRATA_FEATURES_MATERIALIZER_H_
#define STRATA_FEATURES_MATERIALIZER_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "features/feature_definition.h"
#include "features/source_reader.h"
#include "store/table_manifest.h"
#include "store/table_store.h"

namespace strata::features {

struct MaterializeOptions {
  std::string table;             // a table of the definition
  std::optional<int64_t> as_of;  // unix seconds; unset: every row
  std::string event_time_column = "event_time";
  std::filesystem::path scratch;  // local directory for the builder
  bool publish = true;
  int keep_versions = 3;
};

struct MaterializeResult {
  int64_t version = 0;
  int64_t rows = 0;         // entity keys written
  int64_t source_rows = 0;  // rows read
  int64_t future_rows = 0;  // rows after as_of, left out
  std::string checksum;
  bool published = false;
};

// The records of the new version: (key, value), keys ascending. `rows` read
// with TableSourceColumns(). Errors name the source row.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LatestRows(
    const FeatureDefinition& definition, const FeatureTable& table, const SourceRows& rows,
    std::optional<int64_t> as_of, int64_t& future_rows);

// The manifest of a feature table version: kind features, the entity's key,
// the table's columns (INT64, FP64, BYTES; shape []).
store::TableManifest FeatureTableManifest(const FeatureDefinition& definition,
                                          const FeatureTable& table);
// OK when `manifest` is a feature table whose key and columns are the
// definition's; else FAILED_PRECONDITION saying what differs.
absl::Status CheckFeatureTableManifest(const store::TableManifest& manifest,
                                       const FeatureDefinition& definition,
                                       const FeatureTable& table);

// Builds, verifies and (by default) publishes the version. Refused, with
// the reason, when the store's current version of the table is not a
// feature table of the same key and columns (another table's name) or no
// row is left. `progress` is called now and then with rows written.
absl::StatusOr<MaterializeResult> Materialize(
    store::TableStore& store, const FeatureDefinition& definition, const SourceRows& rows,
    const MaterializeOptions& options, const std::function<void(int64_t)>& progress = nullptr);

}  // namespace strata::features

#endif  // STRATA_FEATURES_MATERIALIZER_H_
