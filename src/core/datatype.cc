#include "core/datatype.h"

#include <array>
#include <utility>

namespace strata::core {
namespace {

struct DataTypeInfo {
  DataType dtype;
  std::string_view name;
  size_t size;
};

constexpr std::array<DataTypeInfo, 14> kInfos = {{
    {DataType::kBool, "BOOL", 1},
    {DataType::kUint8, "UINT8", 1},
    {DataType::kUint16, "UINT16", 2},
    {DataType::kUint32, "UINT32", 4},
    {DataType::kUint64, "UINT64", 8},
    {DataType::kInt8, "INT8", 1},
    {DataType::kInt16, "INT16", 2},
    {DataType::kInt32, "INT32", 4},
    {DataType::kInt64, "INT64", 8},
    {DataType::kFp16, "FP16", 2},
    {DataType::kBf16, "BF16", 2},
    {DataType::kFp32, "FP32", 4},
    {DataType::kFp64, "FP64", 8},
    {DataType::kBytes, "BYTES", 0},
}};

const DataTypeInfo& InfoOf(DataType dtype) { return kInfos[static_cast<size_t>(dtype)]; }

}  // namespace

std::string_view DataTypeName(DataType dtype) { return InfoOf(dtype).name; }

std::optional<DataType> DataTypeFromName(std::string_view name) {
  for (const DataTypeInfo& info : kInfos) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

size_t ElementSize(DataType dtype) { return InfoOf(dtype).size; }

}  // namespace strata::core
