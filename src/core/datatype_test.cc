#include "core/datatype.h"

#include "gtest/gtest.h"

namespace strata::core {
namespace {

TEST(DataTypeTest, NamesRoundTrip) {
  for (std::string_view name : {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64",
                                "INT8", "INT16", "INT32", "INT64", "FP16",
                                "BF16", "FP32", "FP64", "BYTES"}) {
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

}  // namespace
}  // namespace strata::core
