// FeatureValue is one raw value on its way into the feature pipeline: a
// request-time field, a key column, or a feature table's column, before any
// transformation. Missing (std::monostate) is a value too: an entity that is
// not in its table, a stale row, a null in a source file, or a field the
// caller left out. RawRows holds many rows of them, row-major, one slot per
// raw input the pipeline reads (FeaturePipeline::slots()).
#ifndef STRATA_FEATURES_FEATURE_VALUE_H_
#define STRATA_FEATURES_FEATURE_VALUE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace strata::features {

// The type a raw column or field is declared with.
enum class ValueType { kInt64, kFloat64, kString };

// "INT64", "FLOAT64", "STRING".
std::string_view ValueTypeName(ValueType type);
// Parses ValueTypeName()'s text (also "FP64", "DOUBLE", "BYTES"); false when unknown.
bool ParseValueType(std::string_view text, ValueType& type);

using FeatureValue = std::variant<std::monostate, int64_t, double, std::string>;

inline bool IsMissing(const FeatureValue& value) {
  return std::holds_alternative<std::monostate>(value);
}

// Rows of raw values, row-major: rows() x slots.
class RawRows {
 public:
  RawRows() = default;
  RawRows(size_t rows, size_t slots) : slots_(slots), values_(rows * slots) {}

  size_t rows() const { return slots_ == 0 ? 0 : values_.size() / slots_; }
  size_t slots() const { return slots_; }
  std::span<FeatureValue> Row(size_t row) { return {values_.data() + row * slots_, slots_}; }
  std::span<const FeatureValue> Row(size_t row) const {
    return {values_.data() + row * slots_, slots_};
  }
  FeatureValue& At(size_t row, size_t slot) { return values_[row * slots_ + slot]; }
  const FeatureValue& At(size_t row, size_t slot) const { return values_[row * slots_ + slot]; }

 private:
  size_t slots_ = 0;
  std::vector<FeatureValue> values_;
};

}  // namespace strata::features

#endif  // STRATA_FEATURES_FEATURE_VALUE_H_
