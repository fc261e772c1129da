#include "serving/server_core.h"

#include <fstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace strata::serving {
namespace {
namespace fs = std::filesystem;

// A backend whose model doubles its FP32 input; loading fails when the
// version directory holds a file named "corrupt".
class DoublingModel : public runtime::Model {
 public:
  absl::StatusOr<std::vector<core::Tensor>> Run(
      std::span<const core::Tensor> inputs) override {
    core::Tensor out = core::Tensor::Zeros("y", core::DataType::kFp32, inputs[0].shape);
    auto in = inputs[0].As<float>();
    auto dst = out.MutableAs<float>();
    for (size_t i = 0; i < in.size(); ++i) dst[i] = 2 * in[i];
    return std::vector<core::Tensor>{std::move(out)};
  }
};

runtime::BackendRegistry FakeBackends() {
  runtime::BackendRegistry registry;
  registry.Register({"doubling", "fake_doubling",
                     [](const runtime::ModelConfig&, const fs::path& dir)
                         -> absl::StatusOr<std::unique_ptr<runtime::Model>> {
                       if (fs::exists(dir / "corrupt")) {
                         return absl::InvalidArgumentError("artifact is corrupt");
                       }
                       return std::make_unique<DoublingModel>();
                     }});
  return registry;
}

constexpr char kConfig[] = R"(
backend: doubling
max_batch_size: 4
inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
outputs: [{name: y, datatype: FP32, shape: [-1, 2]}]
)";

void Write(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class ServerCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    for (const char* v : {"1", "2", "10"}) {
      fs::create_directories(root_ / "models/good" / v);
    }
    Write(root_ / "models/good/config.yaml", kConfig);
    Write(root_ / "models/broken/config.yaml", "backend: [unclosed");
    Write(root_ / "models/corrupt/config.yaml", kConfig);
    Write(root_ / "models/corrupt/1/corrupt", "x");
    Write(root_ / "models/nobackend/config.yaml",
          "backend: onnx\ninputs: [{name: x, datatype: FP32, shape: [2]}]\n"
          "outputs: [{name: y, datatype: FP32, shape: [2]}]\n");
    auto core = ServerCore::Create({.repository = root_}, backends_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  core::InferRequest Request(std::vector<float> values, std::string version = "") {
    core::InferRequest request;
    request.model_name = "good";
    request.model_version = std::move(version);
    request.id = "req-1";
    core::Tensor x = core::Tensor::Zeros(
        "x", core::DataType::kFp32, {static_cast<int64_t>(values.size() / 2), 2});
    std::copy(values.begin(), values.end(), x.MutableAs<float>().begin());
    request.inputs.push_back(std::move(x));
    return request;
  }

  fs::path root_;
  runtime::BackendRegistry backends_ = FakeBackends();
  std::unique_ptr<ServerCore> core_;
};

TEST_F(ServerCoreTest, LoadsHighestVersionNumerically) {
  auto good = core_->FindModel("good", "");
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE((*good)->ready());
  EXPECT_EQ((*good)->version, 10);
  EXPECT_EQ((*good)->versions, (std::vector<int64_t>{1, 2, 10}));
  EXPECT_EQ((*good)->platform, "fake_doubling");
}

TEST_F(ServerCoreTest, BrokenModelsAreReportedAndOthersServe) {
  ASSERT_EQ(core_->models().size(), 4u);
  auto broken = core_->FindModel("broken", "");
  ASSERT_TRUE(broken.ok());
  EXPECT_FALSE((*broken)->ready());
  EXPECT_NE((*broken)->reason.find("invalid YAML"), std::string::npos);
  auto corrupt = core_->FindModel("corrupt", "");
  EXPECT_NE((*corrupt)->reason.find("version 1 failed to load: artifact is corrupt"),
            std::string::npos)
      << (*corrupt)->reason;
  auto nobackend = core_->FindModel("nobackend", "");
  EXPECT_NE((*nobackend)->reason.find("unknown backend 'onnx'"), std::string::npos);

  core::InferRequest request = Request({1, 2});
  request.model_name = "corrupt";
  EXPECT_EQ(core_->Infer(std::move(request)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_TRUE(core_->Infer(Request({1, 2})).ok());
}

TEST_F(ServerCoreTest, InferRunsTheModelAndNamesVersion) {
  auto response = core_->Infer(Request({1, 2, 3, 4}));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model_name, "good");
  EXPECT_EQ(response->model_version, "10");
  EXPECT_EQ(response->id, "req-1");
  ASSERT_EQ(response->outputs.size(), 1u);
  EXPECT_EQ(response->outputs[0].name, "y");
  EXPECT_EQ(response->outputs[0].shape, (core::Shape{2, 2}));
  auto y = response->outputs[0].As<float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()), (std::vector<float>{2, 4, 6, 8}));
}

TEST_F(ServerCoreTest, UnknownModelAndVersionUseTritonWording) {
  core::InferRequest request = Request({1, 2});
  request.model_name = "nope";
  absl::Status s = core_->Infer(std::move(request)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "Request for unknown model: 'nope' is not found");
  s = core_->Infer(Request({1, 2}, "3")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(s.message(), "Request for unknown model: 'good' version '3'"));
  EXPECT_TRUE(core_->Infer(Request({1, 2}, "10")).ok());
}

TEST_F(ServerCoreTest, InvalidInputIsRejectedBeforeTheModel) {
  core::InferRequest request = Request({1, 2});
  request.inputs[0].data.resize(12);  // 3 values for shape [1,2]
  absl::Status s = core_->Infer(std::move(request)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST(ServerCoreCreateTest, MissingRepositoryIsAnError) {
  runtime::BackendRegistry backends = FakeBackends();
  auto core = ServerCore::Create({.repository = "/nonexistent/strata"}, backends);
  EXPECT_EQ(core.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace strata::serving
