// A small definition and source texts shared by the offline unit tests
// (point_in_time_test, materializer_test, skew_test).
#ifndef STRATA_FEATURES_OFFLINE_TEST_UTIL_H_
#define STRATA_FEATURES_OFFLINE_TEST_UTIL_H_

#include <string_view>

#include "features/feature_definition.h"
#include "features/materializer.h"
#include "features/source_reader.h"
#include "gtest/gtest.h"

namespace strata::features::testing {

// user_stats (keyed by user_id) with one numeric and one string column;
// features: its value as is, a standardized copy, and the request's hour.
inline constexpr std::string_view kDefinitionYaml = R"(
entities:
  user: {keys: [user_id]}
key_types: {user_id: INT64}
tables:
  user_stats:
    entity: user
    columns: {purchases: FLOAT64, country: STRING}
request:
  ts: {type: INT64, required: true}
features:
  - {name: purchases, from: user_stats.purchases, transform: identity, missing: {impute: -1}}
  - {name: scaled, from: user_stats.purchases, transform: standardize, params: {mean: 2, std: 4}}
  - {name: hour, from: request.ts, transform: hour_of_day}
outputs:
  - {tensor: input__0, features: [purchases, scaled, hour]}
)";

inline FeatureDefinition TestDefinition() {
  absl::StatusOr<FeatureDefinition> d = ParseFeatureDefinition(kDefinitionYaml);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

inline SourceRows Parse(std::string_view csv, const std::vector<SourceColumn>& columns) {
  absl::StatusOr<SourceRows> rows = ParseSource(csv, SourceFormat::kCsv, columns, "test.csv");
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *rows : SourceRows{};
}

inline MaterializeOptions UserStats(std::optional<int64_t> as_of = std::nullopt) {
  MaterializeOptions options;
  options.table = "user_stats";
  options.as_of = as_of;
  return options;
}

}  // namespace strata::features::testing

#endif  // STRATA_FEATURES_OFFLINE_TEST_UTIL_H_
