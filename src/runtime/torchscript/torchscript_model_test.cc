// Tests of TorchScriptModel on small modules compiled here from TorchScript
// source, covering what the fixture models do not: every dtype, in-place
// inputs, list and non-contiguous outputs, and modules that misbehave.
#include "runtime/torchscript/torchscript_model.h"

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Compiles `source` (a TorchScript `def forward(self, ...)`) and saves it.
std::filesystem::path SaveModule(const std::string& name, const std::string& source) {
  torch::jit::Module module("M");
  module.define(source);
  const auto dir = std::filesystem::path(::testing::TempDir()) / "torchscript_model_test" / name;
  std::filesystem::create_directories(dir);
  module.save((dir / "model.pt").string());
  return dir / "model.pt";
}

TensorSpec Spec(std::string name, core::DataType dtype, core::Shape shape) {
  return {std::move(name), dtype, std::move(shape)};
}

absl::StatusOr<std::unique_ptr<Model>> Create(const std::string& name, const std::string& source,
                                              std::vector<TensorSpec> inputs,
                                              std::vector<TensorSpec> outputs, int threads = 1) {
  TorchScriptModel::Options options;
  options.config.name = name;
  options.config.max_batch_size = 16;
  options.config.inputs = std::move(inputs);
  options.config.outputs = std::move(outputs);
  options.artifact = SaveModule(name, source);
  options.threads = threads;
  return TorchScriptModel::Create(std::move(options));
}

core::Tensor Floats(std::string name, core::Shape shape, std::vector<float> values) {
  core::Tensor tensor = core::Tensor::Zeros(std::move(name), core::DataType::kFp32, shape);
  std::memcpy(tensor.data.data(), values.data(), tensor.data.size());
  return tensor;
}

constexpr core::DataType kFp32 = core::DataType::kFp32;

TEST(TorchScriptModelTest, EverySupportedDtypeRoundTrips) {
  const std::vector<core::DataType> dtypes = {
      core::DataType::kBool,  core::DataType::kUint8, core::DataType::kInt8, core::DataType::kInt16,
      core::DataType::kInt32, core::DataType::kInt64, core::DataType::kFp16, core::DataType::kBf16,
      core::DataType::kFp32,  core::DataType::kFp64};
  std::vector<TensorSpec> inputs, outputs;
  std::string args, results;
  for (size_t i = 0; i < dtypes.size(); ++i) {
    const std::string name = "t" + std::to_string(i);
    inputs.push_back(Spec(name, dtypes[i], {-1, 3}));
    outputs.push_back(Spec(name + "_out", dtypes[i], {-1, 3}));
    args += ", " + name;
    results += (i == 0 ? "" : ", ") + name;
  }
  auto model = Create("dtypes", "def forward(self" + args + "):\n  return (" + results + ")\n",
                      inputs, outputs);
  ASSERT_TRUE(model.ok()) << model.status();

  std::vector<core::Tensor> values;
  for (const TensorSpec& spec : inputs) {
    core::Tensor t = core::Tensor::Zeros(spec.name, spec.dtype, {2, 3});
    for (size_t b = 0; b < t.data.size(); ++b) {
      // Bool must stay 0/1; other types take any bit pattern.
      t.data[b] = spec.dtype == core::DataType::kBool ? b % 2 : (b * 37) % 251;
    }
    values.push_back(std::move(t));
  }
  auto results_or = (*model)->Run(values);
  ASSERT_TRUE(results_or.ok()) << results_or.status();
  ASSERT_EQ(results_or->size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const core::Tensor& out = (*results_or)[i];
    EXPECT_EQ(out.name, outputs[i].name);
    EXPECT_EQ(out.dtype, values[i].dtype);
    EXPECT_EQ(out.shape, (core::Shape{2, 3}));
    EXPECT_EQ(out.data, values[i].data) << core::DataTypeName(out.dtype);
  }
}

TEST(TorchScriptModelTest, UnsignedWideDtypesAreRejectedAtLoad) {
  auto model = Create("uint16", "def forward(self, x):\n  return x\n",
                      {Spec("x", core::DataType::kUint16, {-1})},
                      {Spec("y", core::DataType::kUint16, {-1})});
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("input 'x' is UINT16, which the torchscript backend "
                        "does not support"));
}

TEST(TorchScriptModelTest, ModelThatWritesItsInputGetsACopy) {
  auto model = Create("in_place",
                      "def forward(self, x):\n"
                      "  x.add_(1.0)\n"
                      "  return x * 2.0\n",
                      {Spec("x", kFp32, {-1, 2})}, {Spec("y", kFp32, {-1, 2})});
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<core::Tensor> inputs = {Floats("x", {1, 2}, {1, 2})};
  auto outputs = (*model)->Run(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_THAT((*outputs)[0].As<float>(), ElementsAre(4, 6));
  EXPECT_THAT(inputs[0].As<float>(), ElementsAre(1, 2));
}

// relu_ leaves the dry run's zeros unchanged; alias analysis still sees it.
TEST(TorchScriptModelTest, InPlaceWriteInvisibleToDryRunIsFound) {
  auto model = Create("relu_in_place",
                      "def forward(self, x):\n"
                      "  x.relu_()\n"
                      "  return x + 0.0\n",
                      {Spec("x", kFp32, {-1, 2})}, {Spec("y", kFp32, {-1, 2})});
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<core::Tensor> inputs = {Floats("x", {1, 2}, {-1, 2})};
  auto outputs = (*model)->Run(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_THAT((*outputs)[0].As<float>(), ElementsAre(0, 2));
  EXPECT_THAT(inputs[0].As<float>(), ElementsAre(-1, 2));
}

TEST(TorchScriptModelTest, ListOutputsMapByPosition) {
  auto model =
      Create("list",
             "def forward(self, x) -> List[Tensor]:\n"
             "  return [x, x + 1.0]\n",
             {Spec("x", kFp32, {-1})}, {Spec("same", kFp32, {-1}), Spec("plus", kFp32, {-1})});
  ASSERT_TRUE(model.ok()) << model.status();
  auto outputs = (*model)->Run({{Floats("x", {2}, {1, 5})}});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_THAT((*outputs)[0].As<float>(), ElementsAre(1, 5));
  EXPECT_THAT((*outputs)[1].As<float>(), ElementsAre(2, 6));
}

TEST(TorchScriptModelTest, NonContiguousOutputIsCopiedInRowMajorOrder) {
  TorchScriptModel::Options options;
  options.config.name = "transpose";
  options.config.max_batch_size = 0;  // fixed shapes, no batch dimension
  options.config.inputs = {Spec("x", kFp32, {2, 3})};
  options.config.outputs = {Spec("y", kFp32, {3, 2})};
  options.artifact = SaveModule("transpose", "def forward(self, x):\n  return x.t()\n");
  auto model = TorchScriptModel::Create(std::move(options));
  ASSERT_TRUE(model.ok()) << model.status();
  auto outputs = (*model)->Run({{Floats("x", {2, 3}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[0].shape, (core::Shape{3, 2}));
  EXPECT_THAT((*outputs)[0].As<float>(), ElementsAre(1, 4, 2, 5, 3, 6));
}

TEST(TorchScriptModelTest, NonTensorArgumentIsRejected) {
  auto model = Create("int_arg", "def forward(self, x, k: int):\n  return x\n",
                      {Spec("x", kFp32, {-1}), Spec("k", kFp32, {-1})}, {Spec("y", kFp32, {-1})});
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("forward() argument 'k' is int; only Tensor"));
}

TEST(TorchScriptModelTest, NonTensorResultIsRejected) {
  auto model = Create("int_result", "def forward(self, x) -> int:\n  return 1\n",
                      {Spec("x", kFp32, {-1})}, {Spec("y", kFp32, {-1})});
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("forward() returned Int; expected a Tensor"));
}

TEST(TorchScriptModelTest, UnrepresentableOutputDtypeIsRejected) {
  // ScalarType 9 is complex64, which core::DataType has no name for.
  auto model = Create("complex", "def forward(self, x):\n  return x.to(9)\n",
                      {Spec("x", kFp32, {-1})}, {Spec("y", kFp32, {-1})});
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("output 'y' has torch dtype ComplexFloat"));
}

TEST(TorchScriptModelTest, ExceptionInForwardBecomesStatus) {
  auto model = Create("raises",
                      "def forward(self, x):\n"
                      "  assert bool(x.sum() < 100.0), 'sum too large'\n"
                      "  return x\n",
                      {Spec("x", kFp32, {-1})}, {Spec("y", kFp32, {-1})});
  ASSERT_TRUE(model.ok()) << model.status();
  auto outputs = (*model)->Run({{Floats("x", {2}, {99, 2})}});
  ASSERT_FALSE(outputs.ok());
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(outputs.status().message(), HasSubstr("sum too large"));
  EXPECT_THAT(outputs.status().message(), ::testing::Not(HasSubstr("\n")));
}

TEST(TorchScriptModelTest, ExceptionInDryRunFailsTheLoad) {
  auto model = Create("raises_on_zero",
                      "def forward(self, x):\n"
                      "  assert bool(x.sum() != 0.0), 'all zero'\n"
                      "  return x\n",
                      {Spec("x", kFp32, {-1})}, {Spec("y", kFp32, {-1})});
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("all zero"));
  EXPECT_THAT(model.status().message(), HasSubstr("dry run at load"));
}

TEST(TorchScriptModelTest, ThreadsParameterSetsLibTorchThreads) {
  auto model = Create("threads", "def forward(self, x):\n  return x\n", {Spec("x", kFp32, {-1})},
                      {Spec("y", kFp32, {-1})},
                      /*threads=*/2);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(at::get_num_threads(), 2);
  at::set_num_threads(1);
}

}  // namespace
}  // namespace strata::runtime
