#include "core/tensor.h"

#include "fmt/format.h"

namespace strata::core {

Tensor Tensor::Zeros(std::string name, DataType dtype, Shape shape) {
  Tensor tensor{std::move(name), dtype, std::move(shape), {}};
  tensor.data.resize(ElementCount(tensor.shape).value_or(0) * ElementSize(dtype));
  return tensor;
}

void AppendBytesElement(std::string_view element, std::vector<uint8_t>& buffer) {
  const auto length = static_cast<uint32_t>(element.size());
  const uint8_t prefix[4] = {static_cast<uint8_t>(length), static_cast<uint8_t>(length >> 8),
                             static_cast<uint8_t>(length >> 16),
                             static_cast<uint8_t>(length >> 24)};
  buffer.insert(buffer.end(), prefix, prefix + 4);
  buffer.insert(buffer.end(), element.begin(), element.end());
}

absl::Status SplitBytesElements(std::span<const uint8_t> data,
                                std::vector<std::string_view>& elements) {
  size_t offset = 0;
  while (offset < data.size()) {
    if (data.size() - offset < 4) {
      return absl::InvalidArgumentError(
          fmt::format("BYTES data is truncated: a 4-byte length prefix at byte {} has "
                      "only {} bytes",
                      offset, data.size() - offset));
    }
    const uint32_t length = uint32_t{data[offset]} | uint32_t{data[offset + 1]} << 8 |
                            uint32_t{data[offset + 2]} << 16 | uint32_t{data[offset + 3]} << 24;
    offset += 4;
    if (data.size() - offset < length) {
      return absl::InvalidArgumentError(
          fmt::format("BYTES element {} declares {} bytes but only {} remain", elements.size(),
                      length, data.size() - offset));
    }
    elements.emplace_back(reinterpret_cast<const char*>(data.data() + offset), length);
    offset += length;
  }
  return absl::OkStatus();
}

absl::Status ValidateTensorData(const Tensor& tensor) {
  const std::optional<int64_t> count = ElementCount(tensor.shape);
  if (!count) {
    return absl::InvalidArgumentError(fmt::format("input '{}' has an invalid shape {}", tensor.name,
                                                  ShapeToString(tensor.shape)));
  }
  if (tensor.dtype == DataType::kBytes) {
    std::vector<std::string_view> elements;
    if (absl::Status s = SplitBytesElements(tensor.data, elements); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("input '{}': {}", tensor.name, std::string(s.message())));
    }
    if (static_cast<int64_t>(elements.size()) != *count) {
      return absl::InvalidArgumentError(
          fmt::format("input '{}' has {} BYTES elements but shape {} needs {}", tensor.name,
                      elements.size(), ShapeToString(tensor.shape), *count));
    }
    return absl::OkStatus();
  }
  const size_t expected = static_cast<size_t>(*count) * ElementSize(tensor.dtype);
  if (tensor.data.size() != expected) {
    return absl::InvalidArgumentError(fmt::format(
        "input '{}' has {} elements but shape {} needs {}", tensor.name,
        tensor.data.size() / ElementSize(tensor.dtype), ShapeToString(tensor.shape), *count));
  }
  return absl::OkStatus();
}

}  // namespace strata::core
