#include "serving/tensor_batching.h"

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

core::Tensor Floats(std::vector<float> values, core::Shape shape) {
  core::Tensor t = core::Tensor::Zeros("x", core::DataType::kFp32, shape);
  std::copy(values.begin(), values.end(), t.MutableAs<float>().begin());
  return t;
}

std::vector<float> Values(const core::Tensor& t) {
  auto v = t.As<float>();
  return {v.begin(), v.end()};
}

TEST(TensorBatchingTest, ConcatenateThenSplitRoundTrips) {
  std::vector<core::Tensor> a = {Floats({1, 2}, {1, 2})};
  std::vector<core::Tensor> b = {Floats({3, 4, 5, 6}, {2, 2})};
  const std::vector<core::Tensor>* parts[] = {&a, &b};
  std::vector<core::Tensor> merged = ConcatenateBatch(parts);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].shape, (core::Shape{3, 2}));
  EXPECT_EQ(Values(merged[0]), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  const int64_t rows[] = {1, 2};
  auto pieces = SplitBatch(merged, rows);
  ASSERT_TRUE(pieces.ok());
  EXPECT_EQ(Values((*pieces)[0][0]), (std::vector<float>{1, 2}));
  EXPECT_EQ((*pieces)[1][0].shape, (core::Shape{2, 2}));
  EXPECT_EQ(Values((*pieces)[1][0]), (std::vector<float>{3, 4, 5, 6}));
}

TEST(TensorBatchingTest, SplitsBytesByElements) {
  core::Tensor s{"s", core::DataType::kBytes, {3}, {}};
  for (const char* e : {"a", "bcd", ""}) core::AppendBytesElement(e, s.data);
  const int64_t rows[] = {2, 1};
  auto pieces = SplitBatch({s}, rows);
  ASSERT_TRUE(pieces.ok());
  std::vector<std::string_view> first, second;
  ASSERT_TRUE(core::SplitBytesElements((*pieces)[0][0].data, first).ok());
  ASSERT_TRUE(core::SplitBytesElements((*pieces)[1][0].data, second).ok());
  EXPECT_EQ(first, (std::vector<std::string_view>{"a", "bcd"}));
  EXPECT_EQ(second, (std::vector<std::string_view>{""}));
}

TEST(TensorBatchingTest, SplitRejectsOutputsWithoutBatchDimension) {
  const int64_t rows[] = {1, 1};
  EXPECT_FALSE(SplitBatch({Floats({1, 2, 3}, {3})}, rows).ok());
}

TEST(TensorBatchingTest, BatchKeyIgnoresOnlyTheFirstDimension) {
  std::vector<core::Tensor> a = {Floats({1, 2}, {1, 2})};
  std::vector<core::Tensor> b = {Floats({1, 2, 3, 4}, {2, 2})};
  std::vector<core::Tensor> c = {Floats({1, 2, 3}, {1, 3})};
  EXPECT_EQ(BatchKey(a), BatchKey(b));
  EXPECT_NE(BatchKey(a), BatchKey(c));
}

}  // namespace
}  // namespace strata::serving
