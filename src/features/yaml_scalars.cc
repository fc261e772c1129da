#include "features/yaml_scalars.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "fmt/format.h"

namespace strata::features {

absl::Status Invalid(std::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}

absl::Status CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                       std::string_view where) {
  for (const auto& item : map) {
    const std::string& key = item.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Invalid(fmt::format("{}: unknown key '{}'", where, key));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ToText(const YAML::Node& node, std::string_view where) {
  if (!node) return Invalid(fmt::format("{}: missing", where));
  if (!node.IsScalar()) return Invalid(fmt::format("{}: expected a scalar", where));
  return node.Scalar();
}

absl::StatusOr<std::vector<std::string>> ToTexts(const YAML::Node& node, std::string_view where) {
  if (!node) return Invalid(fmt::format("{}: missing", where));
  if (node.IsScalar()) return std::vector<std::string>{node.Scalar()};
  if (!node.IsSequence()) return Invalid(fmt::format("{}: expected a list", where));
  std::vector<std::string> texts;
  for (const auto& item : node) {
    if (!item.IsScalar()) return Invalid(fmt::format("{}: expected a list of scalars", where));
    texts.push_back(item.Scalar());
  }
  return texts;
}

absl::StatusOr<double> ToDouble(const YAML::Node& node, std::string_view where) {
  if (!node || !node.IsScalar()) return Invalid(fmt::format("{}: expected a number", where));
  const std::string& text = node.Scalar();
  const char* begin = text.data();
  if (!text.empty() && text[0] == '+') ++begin;
  double value = 0;
  const auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return Invalid(fmt::format("{}: expected a finite number, got '{}'", where, text));
  }
  return value;
}

absl::StatusOr<std::vector<double>> ToDoubles(const YAML::Node& node, std::string_view where) {
  if (!node || !node.IsSequence()) return Invalid(fmt::format("{}: expected a list", where));
  std::vector<double> values;
  for (const auto& item : node) {
    auto value = ToDouble(item, where);
    if (!value.ok()) return value.status();
    values.push_back(*value);
  }
  return values;
}

absl::StatusOr<int64_t> ToInt(const YAML::Node& node, std::string_view where) {
  if (!node || !node.IsScalar()) return Invalid(fmt::format("{}: expected an integer", where));
  const std::string& text = node.Scalar();
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return Invalid(fmt::format("{}: expected an integer, got '{}'", where, text));
  }
  return value;
}

absl::StatusOr<bool> ToBool(const YAML::Node& node, std::string_view where) {
  if (node && node.IsScalar()) {
    if (node.Scalar() == "true") return true;
    if (node.Scalar() == "false") return false;
  }
  return Invalid(fmt::format("{}: expected true or false", where));
}

absl::StatusOr<ValueType> ToValueType(const YAML::Node& node, std::string_view where) {
  ValueType type = ValueType::kFloat64;
  if (!node || !node.IsScalar() || !ParseValueType(node.Scalar(), type)) {
    return Invalid(fmt::format("{}: expected a type (INT64, FLOAT64, STRING), got '{}'", where,
                               node && node.IsScalar() ? node.Scalar() : ""));
  }
  return type;
}

std::string FormatDouble(double value) { return fmt::format("{}", value); }

}  // namespace strata::features
