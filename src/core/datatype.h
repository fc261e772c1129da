// DataType names the element types of the Open Inference Protocol.
// Pure value functions; thread-safe.
#ifndef STRATA_CORE_DATATYPE_H_
#define STRATA_CORE_DATATYPE_H_

#include <cstddef>
#include <optional>
#include <string_view>

namespace strata::core {

enum class DataType {
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kBf16,
  kFp32,
  kFp64,
  kBytes,
};

// The protocol's name for `dtype`, e.g. "FP32".
std::string_view DataTypeName(DataType dtype);

// Parses a protocol name ("FP32"); nullopt for anything else.
std::optional<DataType> DataTypeFromName(std::string_view name);

// Bytes per element; 0 for kBytes, whose elements vary in size.
size_t ElementSize(DataType dtype);

}  // namespace strata::core

#endif  // STRATA_CORE_DATATYPE_H_
