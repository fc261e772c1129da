// The dense engine on hand-built networks, against the same arithmetic done
// naively in double precision. The comparison with LibTorch itself is in
// runtime/torchscript/dense_engine_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "runtime/dense/dense_kernels.h"
#include "runtime/dense/dense_model.h"
#include "runtime/dense/dense_network.h"

namespace strata::runtime::dense {
namespace {

std::vector<float> RandomFloats(size_t count, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = value(random);
  return values;
}

LinearWeights RandomLinear(int64_t in, int64_t out, unsigned seed) {
  return LinearWeights{in, out, RandomFloats(static_cast<size_t>(in * out), seed),
                       RandomFloats(static_cast<size_t>(out), seed + 1)};
}

// Widths with whole tiles of 32 and 16 columns, partial tiles and one column;
// row counts with whole blocks of 4 and 2 rows and single rows.
class LinearKernelTest : public ::testing::TestWithParam<LinearKernel> {};

TEST_P(LinearKernelTest, MatchesANaiveSumForEveryTileShape) {
  if (!CpuSupports(GetParam())) GTEST_SKIP() << "this CPU lacks the kernel's instructions";
  for (int64_t out : {1, 10, 16, 48, 64, 70, 130}) {
    const LinearWeights linear = RandomLinear(37, out, 3);
    for (int64_t rows : {1, 2, 7, 64}) {
      const std::vector<float> x = RandomFloats(static_cast<size_t>(rows * 37), 5);
      std::vector<float> y(static_cast<size_t>(rows * out));
      LinearRowsWith(GetParam(), Pack(linear), rows, x.data(), y.data());
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < out; ++j) {
          double want = linear.bias[j];
          for (int64_t k = 0; k < 37; ++k)
            want += double{x[r * 37 + k]} * linear.weights[k * out + j];
          EXPECT_NEAR(y[r * out + j], want, 1e-5) << "out " << out << " row " << r << " col " << j;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, LinearKernelTest,
                         ::testing::Values(LinearKernel::kAvx512, LinearKernel::kAvx2,
                                           LinearKernel::kPortable));

TEST(DenseKernelsTest, SoftmaxAndLogSoftmaxOfLargeLogitsStayFinite) {
  const std::vector<float> x = {1000.0f, 999.0f, -1000.0f};
  std::vector<float> soft(3), log_soft(3);
  SoftmaxRows(1, 3, x.data(), soft.data());
  LogSoftmaxRows(1, 3, x.data(), log_soft.data());
  const double total = 1.0 + std::exp(-1.0);
  EXPECT_NEAR(soft[0], 1.0 / total, 1e-6);
  EXPECT_NEAR(soft[1], std::exp(-1.0) / total, 1e-6);
  EXPECT_EQ(soft[2], 0.0f);
  EXPECT_NEAR(log_soft[0], -std::log(total), 1e-5);
  EXPECT_NEAR(log_soft[2], -2000.0 - std::log(total), 1e-2);
}

// 3 -> 2 linear, relu, then both the relu'd value and its softmax answered.
DenseNetwork SmallNetwork() {
  DenseNetwork network;
  network.input_width = 3;
  network.linears.push_back(LinearWeights{3, 2, {1, -1, 2, 0, -1, 3}, {0.5f, -0.5f}});
  network.steps = {Step{StepKind::kLinear, 0, -1, 0}, Step{StepKind::kRelu, 1},
                   Step{StepKind::kSoftmax, 2}};
  network.outputs = {2, 3};
  return network;
}

ModelConfig SmallConfig() {
  ModelConfig config;
  config.name = "small";
  config.max_batch_size = 8;
  config.inputs = {TensorSpec{"x", core::DataType::kFp32, {-1, 3}}};
  config.outputs = {TensorSpec{"hidden", core::DataType::kFp32, {-1, 2}},
                    TensorSpec{"probabilities", core::DataType::kFp32, {-1, 2}}};
  return config;
}

core::Tensor Input(std::vector<float> values, int64_t rows) {
  core::Tensor t = core::Tensor::Zeros("x", core::DataType::kFp32, {rows, 3});
  std::copy(values.begin(), values.end(), t.MutableAs<float>().begin());
  return t;
}

TEST(DenseModelTest, RunsTheStepsAndAnswersEachDeclaredOutput) {
  auto model = DenseModel::Create(SmallConfig(), SmallNetwork());
  ASSERT_TRUE(model.ok()) << model.status();
  // Row 0: [1, 2, 3] -> (1*1 + 2*2 + 3*-1 + 0.5, 1*-1 + 0 + 3*3 - 0.5) = (2.5, 7.5).
  // Row 1: [-1, 0, 0] -> (-0.5, 0.5) -> relu (0, 0.5).
  const std::vector<core::Tensor> inputs = {Input({1, 2, 3, -1, 0, 0}, 2)};
  auto out = (*model)->Run(inputs);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].name, "hidden");
  EXPECT_EQ((*out)[0].shape, (core::Shape{2, 2}));
  const auto hidden = (*out)[0].As<float>();
  EXPECT_FLOAT_EQ(hidden[0], 2.5f);
  EXPECT_FLOAT_EQ(hidden[1], 7.5f);
  EXPECT_FLOAT_EQ(hidden[2], 0.0f);
  EXPECT_FLOAT_EQ(hidden[3], 0.5f);
  const auto probabilities = (*out)[1].As<float>();
  EXPECT_NEAR(probabilities[0], 1.0 / (1.0 + std::exp(5.0)), 1e-7);
  EXPECT_NEAR(probabilities[3], 1.0 / (1.0 + std::exp(-0.5)), 1e-7);
}

TEST(DenseModelTest, RefusesAnInputOfTheWrongWidthOrSize) {
  auto model = DenseModel::Create(SmallConfig(), SmallNetwork());
  ASSERT_TRUE(model.ok());
  core::Tensor wide = core::Tensor::Zeros("x", core::DataType::kFp32, {1, 4});
  EXPECT_EQ((*model)->Run(std::vector<core::Tensor>{wide}).status().code(),
            absl::StatusCode::kInvalidArgument);
  core::Tensor short_data = Input({1, 2, 3}, 1);
  short_data.data.resize(8);
  EXPECT_EQ((*model)->Run(std::vector<core::Tensor>{short_data}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DenseModelTest, ANetworkThatDoesNotFitTheSignatureIsUnimplemented) {
  ModelConfig config = SmallConfig();
  config.outputs.pop_back();
  EXPECT_EQ(DenseModel::Create(config, SmallNetwork()).status().code(),
            absl::StatusCode::kUnimplemented);
  config = SmallConfig();
  config.outputs[1].dtype = core::DataType::kFp64;
  EXPECT_EQ(DenseModel::Create(config, SmallNetwork()).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(DenseNetworkTest, MalformedNetworksAreRefused) {
  DenseNetwork later = SmallNetwork();
  later.steps[1].input = 3;  // reads a value written after it
  EXPECT_EQ(ValueWidths(later).status().code(), absl::StatusCode::kInvalidArgument);
  DenseNetwork short_weights = SmallNetwork();
  short_weights.linears[0].weights.pop_back();
  EXPECT_EQ(ValueWidths(short_weights).status().code(), absl::StatusCode::kInvalidArgument);
  DenseNetwork wrong_width = SmallNetwork();
  wrong_width.input_width = 4;
  EXPECT_EQ(ValueWidths(wrong_width).status().code(), absl::StatusCode::kInvalidArgument);
  DenseNetwork no_outputs = SmallNetwork();
  no_outputs.outputs.clear();
  EXPECT_EQ(ValueWidths(no_outputs).status().code(), absl::StatusCode::kInvalidArgument);
  auto widths = ValueWidths(SmallNetwork());
  ASSERT_TRUE(widths.ok());
  EXPECT_EQ(*widths, (std::vector<int64_t>{3, 2, 2, 2}));
}

TEST(DenseModelTest, MaxScaledDifferenceScalesByTheLargestWantedValue) {
  EXPECT_EQ(MaxScaledDifference(std::vector<float>{1, 2}, std::vector<float>{1, 2}), 0.0);
  EXPECT_NEAR(MaxScaledDifference(std::vector<float>{0.5f}, std::vector<float>{0.75f}), 0.25, 1e-9);
  EXPECT_NEAR(MaxScaledDifference(std::vector<float>{100, 0}, std::vector<float>{100, 1}), 0.01,
              1e-9);
  EXPECT_TRUE(std::isnan(
      MaxScaledDifference(std::vector<float>{1, 2}, std::vector<float>{1, std::nanf("")})));
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(MaxScaledDifference(std::vector<float>{inf}, std::vector<float>{inf}), 0.0);
}

}  // namespace
}  // namespace strata::runtime::dense
