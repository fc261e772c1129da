// The dense engine against LibTorch itself: each module is loaded twice
// through the torchscript backend, once as it chooses (the dense engine when
// it can express the graph) and once with `engine: libtorch`, and both run
// the same random inputs at batch sizes 1, 7 and 64. The answers must agree
// within dense::kDenseTolerance and pick the same argmax in every row.
#include <torch/script.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/dense/dense_model.h"
#include "runtime/torchscript/torchscript_backend.h"
#include "runtime/torchscript/torchscript_model.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace strata::runtime {
namespace {

using ::testing::HasSubstr;
constexpr core::DataType kFp32 = core::DataType::kFp32;

struct Layer {
  std::string name;
  std::vector<int64_t> shape;
};

// Compiles `source` with random float parameters `layers` and saves it as
// <dir>/model.pt; returns <dir>, the version directory.
std::filesystem::path SaveModule(const std::string& name, const std::vector<Layer>& layers,
                                 const std::string& source) {
  torch::manual_seed(0);
  torch::jit::Module module("M");
  for (const Layer& layer : layers) {
    module.register_parameter(layer.name, torch::randn(layer.shape) * 0.3, false);
  }
  module.define(source);
  const auto dir = std::filesystem::path(::testing::TempDir()) / "dense_engine_test" / name;
  std::filesystem::create_directories(dir);
  module.save((dir / "model.pt").string());
  return dir;
}

ModelConfig Config(const std::string& name, int64_t width, std::vector<TensorSpec> outputs) {
  ModelConfig config;
  config.name = name;
  config.backend = "torchscript";
  config.max_batch_size = 64;
  config.inputs = {TensorSpec{"x", kFp32, {-1, width}}};
  config.outputs = std::move(outputs);
  return config;
}

absl::StatusOr<std::unique_ptr<Model>> Load(ModelConfig config, const std::filesystem::path& dir,
                                            std::string engine = "") {
  if (!engine.empty()) config.parameters["engine"] = engine;
  return TorchScriptBackend().factory(config, dir);
}

std::vector<core::Tensor> RandomInput(int64_t rows, int64_t width, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> value(-3.0f, 3.0f);
  core::Tensor input = core::Tensor::Zeros("x", kFp32, {rows, width});
  for (float& v : input.MutableAs<float>()) v = value(random);
  std::vector<core::Tensor> inputs;
  inputs.push_back(std::move(input));
  return inputs;
}

std::vector<int64_t> RowArgmax(const core::Tensor& tensor) {
  const int64_t width = tensor.shape.back();
  const auto values = tensor.As<float>();
  std::vector<int64_t> best;
  for (size_t row = 0; row * width < values.size(); ++row) {
    const auto begin = values.begin() + static_cast<int64_t>(row) * width;
    best.push_back(std::max_element(begin, begin + width) - begin);
  }
  return best;
}

// Loads the model both ways, checks the default is the dense engine, and
// compares their answers on random inputs of 1, 7 and 64 rows.
void ExpectDenseAgreesWithLibTorch(const ModelConfig& config, const std::filesystem::path& dir) {
  auto dense = Load(config, dir);
  auto libtorch = Load(config, dir, "libtorch");
  ASSERT_TRUE(dense.ok()) << dense.status();
  ASSERT_TRUE(libtorch.ok()) << libtorch.status();
  ASSERT_NE(dynamic_cast<dense::DenseModel*>(dense->get()), nullptr) << config.name;
  ASSERT_NE(dynamic_cast<TorchScriptModel*>(libtorch->get()), nullptr);
  for (int64_t rows : {1, 7, 64}) {
    const auto inputs = RandomInput(rows, config.inputs[0].shape[1], static_cast<unsigned>(rows));
    auto got = (*dense)->Run(inputs);
    auto want = (*libtorch)->Run(inputs);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(want.ok()) << want.status();
    ASSERT_EQ(got->size(), want->size());
    for (size_t i = 0; i < want->size(); ++i) {
      const core::Tensor &g = (*got)[i], &w = (*want)[i];
      EXPECT_EQ(g.name, w.name);
      ASSERT_EQ(g.shape, w.shape) << config.name << " output " << w.name;
      const double difference = dense::MaxScaledDifference(w.As<float>(), g.As<float>());
      EXPECT_LE(difference, dense::kDenseTolerance)
          << config.name << " " << w.name << " rows " << rows;
      EXPECT_EQ(RowArgmax(g), RowArgmax(w)) << config.name << " " << w.name << " rows " << rows;
    }
  }
}

TEST(DenseEngineTest, TheExampleDigitsMlpAgreesWithLibTorch) {
  const char* source = std::getenv("STRATA_SOURCE_DIR");
  const auto dir =
      std::filesystem::path(source ? source : ".") / "examples/repository/models/digits_mlp/1";
  ASSERT_TRUE(std::filesystem::exists(dir / "model.pt")) << dir;
  ExpectDenseAgreesWithLibTorch(
      Config("digits_mlp", 64,
             {TensorSpec{"logits", kFp32, {-1, 10}}, TensorSpec{"probabilities", kFp32, {-1, 10}}}),
      dir);
}

TEST(DenseEngineTest, LinearLayersWithEveryActivationAgreeWithLibTorch) {
  const auto dir = SaveModule("activations",
                              {{"w1", {48, 20}},
                               {"b1", {48}},
                               {"w2", {20, 48}},
                               {"b2", {20}},
                               {"w3", {20, 70}},
                               {"w4", {70, 5}},
                               {"b4", {5}}},
                              R"(
def forward(self, x):
    h = torch.flatten(x, 1)
    h = torch.tanh(torch.linear(h, self.w1, self.b1))
    h = torch.dropout(h, 0.5, False)
    r = torch.sigmoid(torch.addmm(self.b2, h, self.w2.t()))
    s = torch.relu(r + x.reshape(-1, 20))
    t = torch.matmul(s, self.w3) + 0.25
    u = torch.linear(torch.relu(t), self.w4.t())
    return (torch.log_softmax(u + self.b4, -1), torch.softmax(u, 1), s)
)");
  ExpectDenseAgreesWithLibTorch(
      Config("activations", 20,
             {TensorSpec{"log_probabilities", kFp32, {-1, 5}},
              TensorSpec{"probabilities", kFp32, {-1, 5}}, TensorSpec{"hidden", kFp32, {-1, 20}}}),
      dir);
}

TEST(DenseEngineTest, AWideDeepMlpAgreesWithLibTorch) {
  const auto dir = SaveModule("wide",
                              {{"w1", {256, 64}},
                               {"b1", {256}},
                               {"w2", {256, 256}},
                               {"b2", {256}},
                               {"w3", {10, 256}},
                               {"b3", {10}}},
                              R"(
def forward(self, x):
    h = torch.relu(torch.linear(x, self.w1, self.b1))
    h = torch.relu(torch.linear(h, self.w2, self.b2))
    return [torch.linear(h, self.w3, self.b3)]
)");
  ExpectDenseAgreesWithLibTorch(Config("wide", 64, {TensorSpec{"logits", kFp32, {-1, 10}}}), dir);
}

// A logger that writes to `log` for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return log_.str(); }

 private:
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(DenseEngineTest, AConvolutionFallsBackToLibTorchWithTheReasonLogged) {
  const auto dir = SaveModule("conv", {{"k", {2, 1, 3, 3}}}, R"(
def forward(self, x):
    return torch.flatten(torch.conv2d(x.view(-1, 1, 4, 4), self.k), 1)
)");
  const ModelConfig config = Config("conv", 16, {TensorSpec{"y", kFp32, {-1, 8}}});
  CapturedLog log;
  auto model = Load(config, dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_NE(dynamic_cast<TorchScriptModel*>(model->get()), nullptr);
  EXPECT_THAT(log.text(), HasSubstr("model 'conv' (conv): aten::view that changes the shape"));
  EXPECT_THAT(log.text(), HasSubstr("running it on LibTorch"));
  auto out = (*model)->Run(RandomInput(3, 16, 1));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape, (core::Shape{3, 8}));
}

TEST(DenseEngineTest, ANetworkOverTheWeightBoundStaysOnLibTorchUnlessEngineDense) {
  // 600 x 512 = 307,200 weights, over kDenseDefaultMaxWeights (262,144).
  const auto dir = SaveModule("large", {{"w", {600, 512}}, {"b", {600}}}, R"(
def forward(self, x):
    return torch.relu(torch.linear(x, self.w, self.b))
)");
  const ModelConfig config = Config("large", 512, {TensorSpec{"y", kFp32, {-1, 600}}});
  CapturedLog log;
  auto chosen = Load(config, dir);
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_NE(dynamic_cast<TorchScriptModel*>(chosen->get()), nullptr);
  EXPECT_THAT(log.text(),
              HasSubstr("its 307200 weights are over the dense engine's default bound"));
  auto forced = Load(config, dir, "dense");
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_NE(dynamic_cast<dense::DenseModel*>(forced->get()), nullptr);
}

TEST(DenseEngineTest, AnOpOutsideTheEngineFallsBackAndEngineDenseRefusesIt) {
  const auto dir = SaveModule("mul", {{"w", {4, 4}}}, R"(
def forward(self, x):
    return torch.relu(torch.matmul(x, self.w) * 2.0)
)");
  const ModelConfig config = Config("mul", 4, {TensorSpec{"y", kFp32, {-1, 4}}});
  CapturedLog log;
  auto model = Load(config, dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_NE(dynamic_cast<TorchScriptModel*>(model->get()), nullptr);
  EXPECT_THAT(log.text(), HasSubstr("the graph has aten::mul"));
  auto forced = Load(config, dir, "dense");
  EXPECT_EQ(forced.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(forced.status().message(), HasSubstr("engine: dense, but the graph has aten::mul"));
}

TEST(DenseEngineTest, EngineParameterChoosesOrIsRefused) {
  const auto dir = SaveModule("relu", {{"w", {4, 4}}}, R"(
def forward(self, x):
    return torch.relu(torch.linear(x, self.w))
)");
  const ModelConfig config = Config("relu", 4, {TensorSpec{"y", kFp32, {-1, 4}}});
  auto dense = Load(config, dir, "dense");
  ASSERT_TRUE(dense.ok()) << dense.status();
  EXPECT_NE(dynamic_cast<dense::DenseModel*>(dense->get()), nullptr);
  auto libtorch = Load(config, dir, "libtorch");
  ASSERT_TRUE(libtorch.ok()) << libtorch.status();
  EXPECT_NE(dynamic_cast<TorchScriptModel*>(libtorch->get()), nullptr);
  auto bogus = Load(config, dir, "onnx");
  EXPECT_EQ(bogus.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bogus.status().message(), HasSubstr("'dense' or 'libtorch'"));
}

}  // namespace
}  // namespace strata::runtime
