#include "core/datatype.h"

#include <type_traits>

#include "gtest/gtest.h"

namespace strata::core {
namespace {

TEST(DataTypeTest, NamesRoundTrip) {
  for (std::string_view name : {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
                                "INT32", "INT64", "FP16", "BF16", "FP32", "FP64", "BYTES"}) {
    std::optional<DataType> dtype = DataTypeFromName(name);
    ASSERT_TRUE(dtype.has_value()) << name;
    EXPECT_EQ(DataTypeName(*dtype), name);
  }
}

TEST(DataTypeTest, RejectsUnknownAndLowercaseNames) {
  EXPECT_FALSE(DataTypeFromName("fp32").has_value());
  EXPECT_FALSE(DataTypeFromName("FLOAT").has_value());
  EXPECT_FALSE(DataTypeFromName("").has_value());
}

TEST(DataTypeTest, ElementSizes) {
  EXPECT_EQ(ElementSize(DataType::kBool), 1u);
  EXPECT_EQ(ElementSize(DataType::kUint16), 2u);
  EXPECT_EQ(ElementSize(DataType::kBf16), 2u);
  EXPECT_EQ(ElementSize(DataType::kInt32), 4u);
  EXPECT_EQ(ElementSize(DataType::kFp64), 8u);
  EXPECT_EQ(ElementSize(DataType::kBytes), 0u);
}

TEST(DataTypeTest, VisitorHandsEachDataTypeItsElementType) {
  for (std::string_view name : {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
                                "INT32", "INT64", "FP16", "BF16", "FP32", "FP64", "BYTES"}) {
    const DataType dtype = *DataTypeFromName(name);
    VisitDataType(dtype, [&](auto tag) {
      using Tag = decltype(tag);
      EXPECT_EQ(Tag::kDataType, dtype) << name;
      EXPECT_EQ(Tag::kIsBool + Tag::kIsInteger + Tag::kIsFloat + Tag::kIsHalf + Tag::kIsBytes, 1)
          << name;
      if constexpr (Tag::kIsBytes) {
        EXPECT_EQ(ElementSize(dtype), 0u);
      } else {
        EXPECT_EQ(sizeof(typename Tag::Element), ElementSize(dtype)) << name;
      }
    });
  }
  EXPECT_TRUE(VisitDataType(DataType::kInt8, [](auto tag) {
    return std::is_same_v<typename decltype(tag)::Element, int8_t>;
  }));
  EXPECT_TRUE(VisitDataType(DataType::kBf16, [](auto tag) {
    return std::is_same_v<typename decltype(tag)::Element, uint16_t> && decltype(tag)::kIsHalf;
  }));
  EXPECT_TRUE(VisitDataType(DataType::kBool, [](auto tag) {
    return std::is_same_v<typename decltype(tag)::Element, uint8_t> && decltype(tag)::kIsBool;
  }));
}

}  // namespace
}  // namespace strata::core
