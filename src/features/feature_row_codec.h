// The bytes of one feature table row as a table store holds them (the value
// under the entity's canonical key bytes, store/key_schema.h): the row's
// event time, then each column in the table's declared order. A pure codec.
//
//   int64 event time (unix seconds, little-endian; 0 when unknown)
//   per column: one tag byte (0 missing, 1 INT64, 2 FLOAT64, 3 STRING)
//               then 8 bytes little-endian, or a 4-byte length and the bytes
#ifndef STRATA_FEATURES_FEATURE_ROW_CODEC_H_
#define STRATA_FEATURES_FEATURE_ROW_CODEC_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "features/feature_definition.h"
#include "features/feature_value.h"

namespace strata::features {

// REQUIRES: values.size() == columns.size(); each value missing or of its
// column's type.
std::string EncodeFeatureRow(std::span<const Column> columns, std::span<const FeatureValue> values,
                             int64_t event_time);

// Decodes into `values` (columns.size() of them). DATA_LOSS when the bytes
// do not fit the columns (a table written under another definition).
absl::Status DecodeFeatureRow(std::string_view bytes, std::span<const Column> columns,
                              std::span<FeatureValue> values, int64_t& event_time);

}  // namespace strata::features

#endif  // STRATA_FEATURES_FEATURE_ROW_CODEC_H_
