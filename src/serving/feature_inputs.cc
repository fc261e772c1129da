#include "serving/feature_inputs.h"

#include <algorithm>
#include <cstring>

#include "core/datatype.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace strata::serving {
namespace {

using features::FeatureValue;
using features::Slot;
using features::ValueType;

bool IsRequestSlot(const Slot& slot) {
  return slot.source == Slot::Source::kKey || slot.source == Slot::Source::kRequest;
}

std::string_view Expected(ValueType type) {
  switch (type) {
    case ValueType::kInt64:
      return "INT64 (an integer datatype)";
    case ValueType::kFloat64:
      return "FLOAT64 (a number datatype)";
    case ValueType::kString:
      return "STRING (datatype BYTES)";
  }
  return "";
}

// The elements of `t` at `rows` (indices, in order) as values of `type`:
// only those rows are converted (a hybrid request sends the model a few of
// its rows, or none). Error when `t`'s datatype cannot hold a value of
// `type`, or when `t` has no element at one of `rows`.
absl::StatusOr<std::vector<FeatureValue>> Elements(const core::Tensor& t, ValueType type,
                                                   std::span<const size_t> rows) {
  std::vector<FeatureValue> values;
  values.reserve(rows.size());
  bool fits = true;
  size_t count = 0;
  absl::Status status = core::VisitDataType(t.dtype, [&](auto tag) -> absl::Status {
    using Tag = decltype(tag);
    if constexpr (Tag::kIsBytes) {
      if (type != ValueType::kString) return fits = false, absl::OkStatus();
      std::vector<std::string_view> elements;
      if (absl::Status s = core::SplitBytesElements(t.data, elements); !s.ok()) return s;
      count = elements.size();
      for (size_t r : rows) {
        if (r < count) values.emplace_back(std::string(elements[r]));
      }
    } else if constexpr (Tag::kIsInteger || Tag::kIsFloat) {
      if (type == ValueType::kString || (Tag::kIsFloat && type != ValueType::kFloat64)) {
        return fits = false, absl::OkStatus();
      }
      const auto elements = t.template As<typename Tag::Element>();
      count = elements.size();
      for (size_t r : rows) {
        if (r >= count) continue;
        if (type == ValueType::kInt64) {
          values.emplace_back(static_cast<int64_t>(elements[r]));
        } else {
          values.emplace_back(static_cast<double>(elements[r]));
        }
      }
    } else {
      fits = false;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!fits) {
    return absl::InvalidArgumentError(fmt::format("input '{}' must be {}, got {}", t.name,
                                                  Expected(type), core::DataTypeName(t.dtype)));
  }
  if (values.size() != rows.size()) {
    return absl::InvalidArgumentError(fmt::format("input '{}' has too few values", t.name));
  }
  return values;
}

}  // namespace

absl::StatusOr<bool> TakeReturnFeatures(core::Parameters& parameters) {
  auto it = parameters.find(kReturnFeaturesParameter);
  if (it == parameters.end()) return false;
  const bool* value = std::get_if<bool>(&it->second);
  if (value == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("parameter '{}' must be true or false", kReturnFeaturesParameter));
  }
  const bool wanted = *value;
  parameters.erase(it);
  return wanted;
}

core::Tensor FeatureVectorsTensor(std::vector<float> vectors, size_t rows, size_t width) {
  core::Tensor t{"features",
                 core::DataType::kFp32,
                 {static_cast<int64_t>(rows), static_cast<int64_t>(width)},
                 {}};
  t.data.resize(vectors.size() * sizeof(float));
  std::memcpy(t.data.data(), vectors.data(), t.data.size());
  return t;
}

std::vector<std::string> FeatureRequestNames(const features::FeatureDefinition& definition) {
  std::vector<std::string> names;
  for (const features::Entity& entity : definition.entities) {
    for (const features::Column& key : entity.keys) {
      if (std::find(names.begin(), names.end(), key.name) == names.end()) {
        names.push_back(key.name);
      }
    }
  }
  for (const features::RequestField& field : definition.request) names.push_back(field.name);
  return names;
}

absl::StatusOr<size_t> FeatureRequestRows(std::span<const core::Tensor> inputs,
                                          std::string_view model) {
  size_t rows = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const core::Shape& shape = inputs[i].shape;
    if (shape.empty() || shape.size() > 2 || (shape.size() == 2 && shape[1] != 1) || shape[0] < 0) {
      return absl::InvalidArgumentError(
          fmt::format("model '{}': input '{}' must have shape [rows] or [rows, 1], one value "
                      "per row",
                      model, inputs[i].name));
    }
    const size_t n = static_cast<size_t>(shape[0]);
    if (i > 0 && n != rows) {
      return absl::InvalidArgumentError(
          fmt::format("model '{}': input '{}' has {} rows, input '{}' has {}", model,
                      inputs[i].name, n, inputs[0].name, rows));
    }
    rows = n;
  }
  return rows;
}

absl::StatusOr<features::RawRows> ReadRawRows(const features::FeaturePipeline& pipeline,
                                              std::span<const core::Tensor> inputs,
                                              std::span<const size_t> rows,
                                              std::string_view model) {
  const std::vector<Slot>& slots = pipeline.slots();
  features::RawRows raw(rows.size(), slots.size());
  std::vector<bool> filled(slots.size(), false);
  for (const core::Tensor& input : inputs) {
    bool known = false;
    for (size_t s = 0; s < slots.size(); ++s) {
      if (!IsRequestSlot(slots[s]) || slots[s].column != input.name) continue;
      known = true;
      absl::StatusOr<std::vector<FeatureValue>> values = Elements(input, slots[s].type, rows);
      if (!values.ok()) {
        return absl::Status(
            values.status().code(),
            fmt::format("model '{}': {}", model, std::string(values.status().message())));
      }
      for (size_t r = 0; r < rows.size(); ++r) raw.At(r, s) = std::move((*values)[r]);
      filled[s] = true;
    }
    if (!known) {
      return absl::InvalidArgumentError(fmt::format(
          "model '{}': input '{}' is neither a key column nor a request field of its "
          "features.yaml (expected: {})",
          model, input.name, fmt::join(FeatureRequestNames(pipeline.definition()), ", ")));
    }
  }
  for (size_t s = 0; s < slots.size(); ++s) {
    if (slots[s].source == Slot::Source::kKey && !filled[s]) {
      return absl::InvalidArgumentError(
          fmt::format("model '{}': key column '{}' of entity '{}' is missing ({})", model,
                      slots[s].column, slots[s].owner, Expected(slots[s].type)));
    }
  }
  return raw;
}

}  // namespace strata::serving
