// Tensor is a named, typed, shaped block of row-major bytes: the one
// representation every layer of strata uses for inputs and outputs.
// Fixed-size types hold `ElementCount(shape) * ElementSize(dtype)` bytes in
// native little-endian order; BYTES holds each element as a 4-byte
// little-endian length followed by its bytes (the protocol's binary layout).
// A Tensor is a value type; not safe for concurrent mutation.
#ifndef STRATA_CORE_TENSOR_H_
#define STRATA_CORE_TENSOR_H_

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/datatype.h"
#include "core/shape.h"

namespace strata::core {

struct Tensor {
  std::string name;
  DataType dtype = DataType::kFp32;
  Shape shape;
  std::vector<uint8_t> data;

  // A tensor of `shape` with zeroed storage for fixed-size types.
  // REQUIRES: dtype != kBytes and shape is concrete.
  static Tensor Zeros(std::string name, DataType dtype, Shape shape);

  // Typed read-only view. REQUIRES: sizeof(T) == ElementSize(dtype).
  template <typename T>
  std::span<const T> As() const {
    return {reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T)};
  }
  template <typename T>
  std::span<T> MutableAs() {
    return {reinterpret_cast<T*>(data.data()), data.size() / sizeof(T)};
  }
};

// Checks that `data` agrees with `shape` and `dtype`: the byte size for
// fixed-size types, the length prefixes for BYTES.
absl::Status ValidateTensorData(const Tensor& tensor);

// Appends one BYTES element (length prefix + bytes) to `buffer`.
void AppendBytesElement(std::string_view element, std::vector<uint8_t>& buffer);

// Splits BYTES storage into its elements; error when a prefix is truncated.
absl::Status SplitBytesElements(std::span<const uint8_t> data,
                                std::vector<std::string_view>& elements);

}  // namespace strata::core

#endif  // STRATA_CORE_TENSOR_H_
