// Source files of the offline feature jobs (`strata features fit|build|
// materialize`, the Python binding): a CSV file with a header line or a JSON
// Lines file, read as raw feature values by column name, column-major. An
// empty numeric CSV field, a JSON null or an absent JSON field is missing.
// An empty CSV field of a STRING
// column is the empty string (the same text in every reader, the Python
// binding's included). Pure functions; thread-safe.
#ifndef STRATA_FEATURES_SOURCE_READER_H_
#define STRATA_FEATURES_SOURCE_READER_H_

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "features/feature_definition.h"
#include "features/feature_pipeline.h"
#include "features/feature_value.h"

namespace strata::features {

enum class SourceFormat { kCsv, kJsonl };

// By extension: .csv is CSV; .jsonl, .ndjson and .json are JSON Lines.
absl::StatusOr<SourceFormat> SourceFormatOf(const std::filesystem::path& file);

// A column to read: the first of `names` the file has (e.g. the slot name
// "user_stats.price", then the bare "price"), parsed as `type`.
struct SourceColumn {
  std::vector<std::string> names;
  ValueType type = ValueType::kFloat64;
  bool required = true;  // error when the file has none of `names`
};

// Column-major values: columns[c][row], in the order the columns were asked.
struct SourceRows {
  std::vector<std::string> names;  // names[c]: the first of column c's names
  std::vector<uint8_t> present;    // 1 when the file had the column
  std::vector<std::vector<FeatureValue>> columns;
  size_t rows = 0;
};

// Parses `text`; `origin` names the file in errors ("labels.csv line 7:
// column 'ts': 'x' is not an INT64").
absl::StatusOr<SourceRows> ParseSource(std::string_view text, SourceFormat format,
                                       std::span<const SourceColumn> columns,
                                       std::string_view origin);
absl::StatusOr<SourceRows> ReadSourceFile(const std::filesystem::path& file,
                                          std::span<const SourceColumn> columns);

// Parses one text field as `type`; an empty numeric field is missing.
absl::StatusOr<FeatureValue> ParseFieldText(std::string_view field, ValueType type);

// One column per slot: "owner.column", then the bare column name.
std::vector<SourceColumn> SlotColumns(std::span<const Slot> slots, bool required);
// The rows of `source` (read with SlotColumns(slots)) laid out by `slots`.
RawRows RawRowsFromSource(const SourceRows& source);

}  // namespace strata::features

#endif  // STRATA_FEATURES_SOURCE_READER_H_
