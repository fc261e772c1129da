// DataType names the element types of the Open Inference Protocol.
// Pure value functions; thread-safe.
#ifndef STRATA_CORE_DATATYPE_H_
#define STRATA_CORE_DATATYPE_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

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

// BYTES elements are length-prefixed strings of varying size
// (core/tensor.h: AppendBytesElement, SplitBytesElements); this type marks
// them in a DataTypeTag and is never stored.
struct BytesElement {};

namespace datatype_internal {
template <DataType D>
struct ElementOf;
template <>
struct ElementOf<DataType::kBool> {
  using type = uint8_t;
};
template <>
struct ElementOf<DataType::kUint8> {
  using type = uint8_t;
};
template <>
struct ElementOf<DataType::kUint16> {
  using type = uint16_t;
};
template <>
struct ElementOf<DataType::kUint32> {
  using type = uint32_t;
};
template <>
struct ElementOf<DataType::kUint64> {
  using type = uint64_t;
};
template <>
struct ElementOf<DataType::kInt8> {
  using type = int8_t;
};
template <>
struct ElementOf<DataType::kInt16> {
  using type = int16_t;
};
template <>
struct ElementOf<DataType::kInt32> {
  using type = int32_t;
};
template <>
struct ElementOf<DataType::kInt64> {
  using type = int64_t;
};
template <>
struct ElementOf<DataType::kFp16> {
  using type = uint16_t;
};
template <>
struct ElementOf<DataType::kBf16> {
  using type = uint16_t;
};
template <>
struct ElementOf<DataType::kFp32> {
  using type = float;
};
template <>
struct ElementOf<DataType::kFp64> {
  using type = double;
};
template <>
struct ElementOf<DataType::kBytes> {
  using type = BytesElement;
};
}  // namespace datatype_internal

// What VisitDataType hands its visitor: the datatype as a constant and
// `Element`, the C++ type of one element in a tensor's buffer. BOOL is one
// byte, 0 or 1 (uint8_t, never bool); FP16 and BF16 are their raw bit
// patterns (uint16_t: strata does no arithmetic on them); BYTES is
// BytesElement. Exactly one of the kIs* kinds is true.
template <DataType D>
struct DataTypeTag {
  static constexpr DataType kDataType = D;
  using Element = typename datatype_internal::ElementOf<D>::type;
  static constexpr bool kIsBool = D == DataType::kBool;
  static constexpr bool kIsHalf = D == DataType::kFp16 || D == DataType::kBf16;
  static constexpr bool kIsBytes = D == DataType::kBytes;
  static constexpr bool kIsInteger = std::is_integral_v<Element> && !kIsBool && !kIsHalf;
  static constexpr bool kIsFloat = std::is_floating_point_v<Element>;  // FP32, FP64
};

// Calls `f(DataTypeTag<dtype>{})` and returns what it returns; every
// instantiation must return the same type. The one place a DataType is
// turned into a C++ type: write the per-type code once, as a generic
// lambda, and pick the kinds it handles with `if constexpr`:
//
//   return VisitDataType(t.dtype, [&](auto tag) -> double {
//     using Tag = decltype(tag);
//     if constexpr (Tag::kIsInteger || Tag::kIsFloat) {
//       return static_cast<double>(t.As<typename Tag::Element>()[i]);
//     } else {
//       return std::nan("");
//     }
//   });
template <class F>
decltype(auto) VisitDataType(DataType dtype, F&& f) {
  switch (dtype) {
    case DataType::kBool:
      return std::forward<F>(f)(DataTypeTag<DataType::kBool>{});
    case DataType::kUint8:
      return std::forward<F>(f)(DataTypeTag<DataType::kUint8>{});
    case DataType::kUint16:
      return std::forward<F>(f)(DataTypeTag<DataType::kUint16>{});
    case DataType::kUint32:
      return std::forward<F>(f)(DataTypeTag<DataType::kUint32>{});
    case DataType::kUint64:
      return std::forward<F>(f)(DataTypeTag<DataType::kUint64>{});
    case DataType::kInt8:
      return std::forward<F>(f)(DataTypeTag<DataType::kInt8>{});
    case DataType::kInt16:
      return std::forward<F>(f)(DataTypeTag<DataType::kInt16>{});
    case DataType::kInt32:
      return std::forward<F>(f)(DataTypeTag<DataType::kInt32>{});
    case DataType::kInt64:
      return std::forward<F>(f)(DataTypeTag<DataType::kInt64>{});
    case DataType::kFp16:
      return std::forward<F>(f)(DataTypeTag<DataType::kFp16>{});
    case DataType::kBf16:
      return std::forward<F>(f)(DataTypeTag<DataType::kBf16>{});
    case DataType::kFp32:
      return std::forward<F>(f)(DataTypeTag<DataType::kFp32>{});
    case DataType::kFp64:
      return std::forward<F>(f)(DataTypeTag<DataType::kFp64>{});
    case DataType::kBytes:
      return std::forward<F>(f)(DataTypeTag<DataType::kBytes>{});
  }
  std::abort();  // not a DataType: values come from DataTypeFromName
}

}  // namespace strata::core

#endif  // STRATA_CORE_DATATYPE_H_
