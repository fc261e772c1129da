// The point-in-time join of `strata features build` and the Python binding:
// every labelled event (entity keys, event timestamp, request fields, label)
// gets each feature table's values AS OF its timestamp: the latest source
// row of its entity whose event time is <= the label's (a row with the same
// timestamp counts; of equal times, the later in the file). No value from
// the future reaches a training row. A row older than the table's max_age
// at the label's time is stale and missing, as the server would see it; so
// is an entity with no row by then. Pure; thread-safe.
#ifndef STRATA_FEATURES_POINT_IN_TIME_H_
#define STRATA_FEATURES_POINT_IN_TIME_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "features/feature_definition.h"
#include "features/feature_pipeline.h"
#include "features/feature_value.h"
#include "features/source_reader.h"

namespace strata::features {

struct PointInTimeOptions {
  std::string timestamp_column = "ts";           // the label's event time (unix s)
  std::string label_column = "label";            // empty: no label
  std::string event_time_column = "event_time";  // a source row's event time
};

// The columns a labels file is read with: every request field, every
// entity's key columns (optional: an entity without keys has no table
// values), the timestamp and the label.
std::vector<SourceColumn> LabelColumns(const FeatureDefinition& definition,
                                       const PointInTimeOptions& options);
// The columns a table's source file is read with: the entity's key columns
// and the event time (required), the table's columns ("table.column" or
// "column"; missing when absent).
std::vector<SourceColumn> TableSourceColumns(const FeatureDefinition& definition,
                                             const FeatureTable& table,
                                             const std::string& event_time_column);

struct TrainingRows {
  RawRows raw;                      // laid out by SlotsOf(definition)
  std::vector<double> labels;       // NaN where missing, empty without a label column
  std::vector<int64_t> timestamps;  // the labels' event times
  // Per table (definition order), rows whose entity had a row as of then.
  std::vector<int64_t> found;
};

// `labels` read with LabelColumns(); `sources` maps every table of the
// definition to its rows read with TableSourceColumns(). A table without a
// source is an error naming it.
absl::StatusOr<TrainingRows> JoinPointInTime(const FeatureDefinition& definition,
                                             const SourceRows& labels,
                                             const std::map<std::string, SourceRows>& sources,
                                             const PointInTimeOptions& options);

// Writes the training set as CSV: `ts`, `label` (when there are labels),
// then pipeline.ColumnNames(), one line per row, each float in the shortest
// text that reads back as the same float32. Written to a temporary file and
// renamed, so a failed run leaves no half file. Errors name the row.
absl::Status WriteTrainingSet(const std::filesystem::path& file, const FeaturePipeline& pipeline,
                              const TrainingRows& rows);

}  // namespace strata::features

#endif  // STRATA_FEATURES_POINT_IN_TIME_H_
