#include "serving/request_validator.h"

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

runtime::ModelConfig TwoInputConfig() {
  runtime::ModelConfig config;
  config.name = "m";
  config.max_batch_size = 8;
  config.inputs = {{"a", core::DataType::kFp32, {-1, 2}}, {"b", core::DataType::kInt64, {-1, 2}}};
  config.outputs = {{"x", core::DataType::kFp32, {-1}}, {"y", core::DataType::kFp32, {-1}}};
  return config;
}

core::InferRequest Request(int64_t rows) {
  core::InferRequest request;
  request.inputs.push_back(core::Tensor::Zeros("b", core::DataType::kInt64, {rows, 2}));
  request.inputs.push_back(core::Tensor::Zeros("a", core::DataType::kFp32, {rows, 2}));
  return request;
}

std::string ErrorOf(core::InferRequest request) {
  absl::Status s = ValidateAndOrderInputs(TwoInputConfig(), request);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.message());
}

TEST(RequestValidatorTest, OrdersInputsAsDeclared) {
  core::InferRequest request = Request(3);
  ASSERT_TRUE(ValidateAndOrderInputs(TwoInputConfig(), request).ok());
  EXPECT_EQ(request.inputs[0].name, "a");
  EXPECT_EQ(request.inputs[1].name, "b");
}

TEST(RequestValidatorTest, WrongDatatype) {
  core::InferRequest request = Request(1);
  request.inputs[1].dtype = core::DataType::kInt32;
  request.inputs[1].data.resize(8);
  EXPECT_NE(ErrorOf(request).find("input 'a' has datatype INT32 but model 'm' expects FP32"),
            std::string::npos);
}

TEST(RequestValidatorTest, WrongShape) {
  core::InferRequest request = Request(1);
  request.inputs[1] = core::Tensor::Zeros("a", core::DataType::kFp32, {1, 3});
  EXPECT_NE(ErrorOf(request).find("has shape [1,3] but model 'm' expects [-1,2]"),
            std::string::npos);
}

TEST(RequestValidatorTest, WrongElementCount) {
  core::InferRequest request = Request(2);
  request.inputs[1].data.resize(12);
  EXPECT_NE(ErrorOf(request).find("has 3 elements but shape [2,2] needs 4"), std::string::npos);
}

TEST(RequestValidatorTest, UnknownMissingDuplicateInputs) {
  core::InferRequest request = Request(1);
  request.inputs[0].name = "c";
  EXPECT_NE(ErrorOf(request).find("unknown input 'c'"), std::string::npos);
  request = Request(1);
  request.inputs.pop_back();
  EXPECT_NE(ErrorOf(request).find("missing input 'a'"), std::string::npos);
  request = Request(1);
  request.inputs[0] = request.inputs[1];
  EXPECT_NE(ErrorOf(request).find("more than once"), std::string::npos);
}

TEST(RequestValidatorTest, BatchTooLargeOrInconsistent) {
  EXPECT_NE(ErrorOf(Request(9)).find("at most 8"), std::string::npos);
  core::InferRequest request = Request(2);
  request.inputs[0] = core::Tensor::Zeros("b", core::DataType::kInt64, {3, 2});
  EXPECT_NE(ErrorOf(request).find("disagree on the batch size"), std::string::npos);
}

TEST(RequestValidatorTest, SelectsOutputs) {
  core::InferRequest request;
  EXPECT_EQ(*SelectOutputs(TwoInputConfig(), request), (std::vector<size_t>{0, 1}));
  request.outputs = {{"y", {}}};
  EXPECT_EQ(*SelectOutputs(TwoInputConfig(), request), (std::vector<size_t>{1}));
  request.outputs = {{"z", {}}};
  absl::StatusOr<std::vector<size_t>> bad = SelectOutputs(TwoInputConfig(), request);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown output 'z'"), absl::string_view::npos);
  request.outputs = {{"x", {}}, {"x", {}}};
  EXPECT_FALSE(SelectOutputs(TwoInputConfig(), request).ok());
}

}  // namespace
}  // namespace strata::serving
