#include "features/feature_value.h"

namespace strata::features {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kInt64:
      return "INT64";
    case ValueType::kFloat64:
      return "FLOAT64";
    case ValueType::kString:
      return "STRING";
  }
  return "INT64";
}

bool ParseValueType(std::string_view text, ValueType& type) {
  if (text == "INT64") {
    type = ValueType::kInt64;
  } else if (text == "FLOAT64" || text == "FP64" || text == "DOUBLE") {
    type = ValueType::kFloat64;
  } else if (text == "STRING" || text == "BYTES") {
    type = ValueType::kString;
  } else {
    return false;
  }
  return true;
}

}  // namespace strata::features
