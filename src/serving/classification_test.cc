#include "serving/classification.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

template <typename T>
core::Tensor TensorOf(core::DataType dtype, core::Shape shape, std::vector<T> values) {
  core::Tensor tensor{"y", dtype, std::move(shape),
                      std::vector<uint8_t>(values.size() * sizeof(T))};
  std::memcpy(tensor.data.data(), values.data(), tensor.data.size());
  return tensor;
}

std::vector<std::string> Strings(const core::Tensor& tensor) {
  std::vector<std::string_view> elements;
  EXPECT_TRUE(core::SplitBytesElements(tensor.data, elements).ok());
  return {elements.begin(), elements.end()};
}

TEST(ClassificationTest, TopClassesOfEachRowWithLabels) {
  const std::vector<std::string> labels = {"cat", "dog", "bird"};
  absl::StatusOr<core::Tensor> classes = Classify(
      TensorOf<float>(core::DataType::kFp32, {2, 3}, {0.1f, 0.7f, 0.2f, 0.5f, 0.25f, 0.25f}), 2,
      /*batched=*/true, labels);
  ASSERT_TRUE(classes.ok()) << classes.status();
  EXPECT_EQ(classes->name, "y");
  EXPECT_EQ(classes->dtype, core::DataType::kBytes);
  EXPECT_EQ(classes->shape, (core::Shape{2, 2}));
  // Ties keep index order.
  EXPECT_EQ(Strings(*classes), (std::vector<std::string>{"0.700000:1:dog", "0.200000:2:bird",
                                                         "0.500000:0:cat", "0.250000:1:dog"}));
}

TEST(ClassificationTest, UnbatchedShortLabelsAndTooManyClasses) {
  absl::StatusOr<core::Tensor> classes =
      Classify(TensorOf<int32_t>(core::DataType::kInt32, {3}, {-4, 9, 2}), 10, /*batched=*/false,
               std::vector<std::string>{"only-zero"});
  ASSERT_TRUE(classes.ok());
  EXPECT_EQ(classes->shape, (core::Shape{3}));
  EXPECT_EQ(Strings(*classes), (std::vector<std::string>{"9:1", "2:2", "-4:0:only-zero"}));
}

TEST(ClassificationTest, NanRanksLastAndUnsignedPrintsAsNumbers) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  absl::StatusOr<core::Tensor> doubles =
      Classify(TensorOf<double>(core::DataType::kFp64, {1, 3}, {nan, -1.0, 2.5}), 3, true, {});
  ASSERT_TRUE(doubles.ok());
  EXPECT_EQ(Strings(*doubles), (std::vector<std::string>{"2.500000:2", "-1.000000:1", "nan:0"}));
  absl::StatusOr<core::Tensor> bytes =
      Classify(TensorOf<uint8_t>(core::DataType::kUint8, {1, 2}, {7, 200}), 1, true, {});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(Strings(*bytes), (std::vector<std::string>{"200:1"}));
}

TEST(ClassificationTest, OnlyNumericOutputsAreRanked) {
  absl::StatusOr<core::Tensor> classes =
      Classify(TensorOf<uint8_t>(core::DataType::kBool, {1, 2}, {0, 1}), 1, true, {});
  EXPECT_EQ(classes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(classes.status().message().find("output 'y' is BOOL"), std::string::npos);
  const std::vector<runtime::TensorSpec> specs = {{"y", core::DataType::kFp32, {-1, 3}},
                                                  {"s", core::DataType::kBytes, {-1}}};
  EXPECT_TRUE(CheckClassifiable(std::vector<Classification>{{"y", 1}}, specs).ok());
  EXPECT_EQ(CheckClassifiable(std::vector<Classification>{{"s", 1}}, specs).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ClassificationTest, TakeClassificationsStripsTheParameter) {
  core::InferRequest request;
  request.outputs.push_back({"y", {{"classification", int64_t{3}}, {"binary_data", true}}});
  request.outputs.push_back({"z", {}});
  absl::StatusOr<std::vector<Classification>> taken = TakeClassifications(request);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].output, "y");
  EXPECT_EQ((*taken)[0].count, 3);
  EXPECT_FALSE(request.outputs[0].parameters.contains("classification"));
  EXPECT_TRUE(request.outputs[0].parameters.contains("binary_data"));
  request.outputs[1].parameters["classification"] = 1.5;
  EXPECT_EQ(TakeClassifications(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ClassificationTest, ApplyReplacesOnlyTheClassifiedOutputs) {
  core::InferResponse response;
  response.outputs.push_back(TensorOf<float>(core::DataType::kFp32, {1, 2}, {1, 3}));
  response.outputs.push_back(TensorOf<float>(core::DataType::kFp32, {1, 2}, {5, 4}));
  response.outputs[1].name = "raw";
  std::vector<runtime::TensorSpec> specs = {{"y", core::DataType::kFp32, {-1, 2}}};
  specs[0].labels = {"a", "b"};
  ASSERT_TRUE(
      ApplyClassifications(std::vector<Classification>{{"y", 1}}, true, specs, response).ok());
  EXPECT_EQ(Strings(response.outputs[0]), (std::vector<std::string>{"3.000000:1:b"}));
  EXPECT_EQ(response.outputs[1].dtype, core::DataType::kFp32);
}

}  // namespace
}  // namespace strata::serving
