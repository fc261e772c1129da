#include "core/tensor.h"

#include "gtest/gtest.h"

namespace strata::core {
namespace {

TEST(TensorTest, ZerosAllocatesElementBytes) {
  Tensor t = Tensor::Zeros("x", DataType::kFp32, {2, 3});
  EXPECT_EQ(t.data.size(), 24u);
  EXPECT_EQ(t.As<float>().size(), 6u);
  EXPECT_TRUE(ValidateTensorData(t).ok());
}

TEST(TensorTest, ValidateCatchesWrongByteCount) {
  Tensor t = Tensor::Zeros("x", DataType::kFp32, {2, 3});
  t.data.resize(20);
  absl::Status s = ValidateTensorData(t);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("needs 6"), std::string_view::npos) << s;
}

TEST(TensorTest, BytesRoundTrip) {
  Tensor t{"s", DataType::kBytes, {3}, {}};
  AppendBytesElement("hello", t.data);
  AppendBytesElement("", t.data);
  AppendBytesElement(std::string(300, 'x'), t.data);
  EXPECT_TRUE(ValidateTensorData(t).ok());
  std::vector<std::string_view> elements;
  ASSERT_TRUE(SplitBytesElements(t.data, elements).ok());
  ASSERT_EQ(elements.size(), 3u);
  EXPECT_EQ(elements[0], "hello");
  EXPECT_EQ(elements[1], "");
  EXPECT_EQ(elements[2].size(), 300u);
}

TEST(TensorTest, BytesTruncatedPrefixAndBody) {
  std::vector<uint8_t> data;
  AppendBytesElement("abc", data);
  data.pop_back();
  std::vector<std::string_view> elements;
  EXPECT_FALSE(SplitBytesElements(data, elements).ok());
  data = {1, 0};
  elements.clear();
  EXPECT_FALSE(SplitBytesElements(data, elements).ok());
}

TEST(TensorTest, BytesElementCountMustMatchShape) {
  Tensor t{"s", DataType::kBytes, {2}, {}};
  AppendBytesElement("only one", t.data);
  EXPECT_FALSE(ValidateTensorData(t).ok());
}

}  // namespace
}  // namespace strata::core
