#include "runtime/signature_check.h"

#include "gtest/gtest.h"

namespace strata::runtime {
namespace {

ModelConfig TwoOutputConfig() {
  ModelConfig config;
  config.name = "m";
  config.inputs = {{"x", core::DataType::kFp32, {-1, 4}}};
  config.outputs = {{"a", core::DataType::kFp32, {-1, 2}}, {"b", core::DataType::kInt64, {-1}}};
  return config;
}

TEST(SignatureCheckTest, DryRunInputsFillVariableDims) {
  auto inputs = MakeDryRunInputs(TwoOutputConfig(), 3);
  ASSERT_TRUE(inputs.ok());
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].shape, (core::Shape{3, 4}));
  EXPECT_EQ((*inputs)[0].data.size(), 48u);
}

TEST(SignatureCheckTest, OutputsMatch) {
  std::vector<core::Tensor> outs = {core::Tensor::Zeros("a", core::DataType::kFp32, {3, 2}),
                                    core::Tensor::Zeros("b", core::DataType::kInt64, {3})};
  EXPECT_TRUE(CheckOutputsMatch(TwoOutputConfig(), outs).ok());
}

TEST(SignatureCheckTest, OutputMismatchNamesTheProblem) {
  std::vector<core::Tensor> outs = {core::Tensor::Zeros("a", core::DataType::kFp32, {3, 5}),
                                    core::Tensor::Zeros("b", core::DataType::kInt64, {3})};
  absl::Status s = CheckOutputsMatch(TwoOutputConfig(), outs);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("output 'a' has shape [3,5]"), std::string_view::npos) << s;
  outs.pop_back();
  EXPECT_NE(CheckOutputsMatch(TwoOutputConfig(), outs).message().find("produces 1 outputs"),
            std::string_view::npos);
}

TEST(SignatureCheckTest, IntParameter) {
  ModelConfig config = TwoOutputConfig();
  EXPECT_EQ(*IntParameter(config, "threads", 4), 4);
  config.parameters["threads"] = "2";
  EXPECT_EQ(*IntParameter(config, "threads", 4), 2);
  config.parameters["threads"] = "two";
  EXPECT_FALSE(IntParameter(config, "threads", 4).ok());
}

}  // namespace
}  // namespace strata::runtime
