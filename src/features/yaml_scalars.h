// Reading the scalars of features.yaml (private to src/features): each
// helper names the entry in its INVALID_ARGUMENT. Numbers are read with
// std::from_chars, so a double written by FormatDouble() reads back
// bit-identical. Pure functions.
#ifndef STRATA_FEATURES_YAML_SCALARS_H_
#define STRATA_FEATURES_YAML_SCALARS_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "features/feature_value.h"

namespace strata::features {

absl::Status Invalid(std::string_view message);

// Error naming the first key of `map` not in `allowed`.
absl::Status CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                       std::string_view where);

absl::StatusOr<std::string> ToText(const YAML::Node& node, std::string_view where);
// A scalar (one text) or a list of scalars.
absl::StatusOr<std::vector<std::string>> ToTexts(const YAML::Node& node, std::string_view where);
// A finite number.
absl::StatusOr<double> ToDouble(const YAML::Node& node, std::string_view where);
absl::StatusOr<std::vector<double>> ToDoubles(const YAML::Node& node, std::string_view where);
absl::StatusOr<int64_t> ToInt(const YAML::Node& node, std::string_view where);
absl::StatusOr<bool> ToBool(const YAML::Node& node, std::string_view where);
absl::StatusOr<ValueType> ToValueType(const YAML::Node& node, std::string_view where);

// The shortest decimal text that reads back as the same double.
std::string FormatDouble(double value);

}  // namespace strata::features

#endif  // STRATA_FEATURES_YAML_SCALARS_H_
