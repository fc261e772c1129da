#include "serving/server_core.h"

#include <future>
#include <limits>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "serving/testing/fake_repository.h"

namespace strata::serving {
namespace {
namespace fs = std::filesystem;
using testing::FakeBackends;

class ServerCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    testing::MakeFakeRepository(root_);
    auto core = ServerCore::Create({.repository = root_}, backends_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  core::InferRequest Request(std::vector<float> values, std::string version = "") {
    core::InferRequest request;
    request.model_name = "good";
    request.model_version = std::move(version);
    request.id = "req-1";
    core::Tensor x = core::Tensor::Zeros("x", core::DataType::kFp32,
                                         {static_cast<int64_t>(values.size() / 2), 2});
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
  EXPECT_EQ((*good)->versions, (std::vector<int64_t>{10}));  // latest: 1
  EXPECT_EQ((*good)->platform, "fake_doubling");
}

TEST_F(ServerCoreTest, BrokenModelsAreReportedAndOthersServe) {
  ASSERT_EQ(core_->models().size(), 4u);
  // Metadata describes a model with no ready version; FindModel refuses it.
  auto not_ready = core_->FindModel("broken", "");
  EXPECT_EQ(not_ready.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(not_ready.status().message().find("invalid YAML"), std::string::npos);
  auto broken = core_->DescribeModel("broken", "");
  ASSERT_TRUE(broken.ok());
  EXPECT_FALSE((*broken)->ready());
  EXPECT_NE((*broken)->reason.find("invalid YAML"), std::string::npos);
  auto corrupt = core_->DescribeModel("corrupt", "");
  EXPECT_NE((*corrupt)->reason.find("version 1 failed to load: artifact is corrupt"),
            std::string::npos)
      << (*corrupt)->reason;
  auto nobackend = core_->DescribeModel("nobackend", "");
  EXPECT_NE((*nobackend)->reason.find("unknown backend 'onnx'"), std::string::npos);

  core::InferRequest request = Request({1, 2});
  request.model_name = "corrupt";
  EXPECT_EQ(core_->Infer(std::move(request)).status().code(), absl::StatusCode::kUnavailable);
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

// A readiness probe must not send traffic to a server with a broken model.
TEST_F(ServerCoreTest, ReadyOnlyWhenEveryModelIsReady) {
  EXPECT_FALSE(core_->Ready());
  EXPECT_TRUE(absl::StrContains(core_->NotReadyReason(), "is not ready"))
      << core_->NotReadyReason();
  auto lenient = ServerCore::Create({.repository = root_, .lenient_readiness = true}, backends_);
  ASSERT_TRUE(lenient.ok());
  EXPECT_TRUE((*lenient)->Ready());
}

TEST(ServerCoreReadinessTest, ModelsUnloadedOnPurposeDoNotCount) {
  const fs::path root = fs::path(::testing::TempDir()) / "server_core_readiness";
  fs::remove_all(root);
  fs::create_directories(root / "models/good/1");
  testing::WriteFile(root / "models/good/config.yaml", testing::kDoublingConfig);
  runtime::BackendRegistry backends = FakeBackends();
  auto core = ServerCore::Create({.repository = root}, backends);
  ASSERT_TRUE(core.ok());
  EXPECT_TRUE((*core)->Ready()) << (*core)->NotReadyReason();
  std::promise<absl::StatusOr<std::string>> unloaded;
  (*core)->model_control().Unload(
      "good", [&](absl::StatusOr<std::string> r) { unloaded.set_value(std::move(r)); });
  ASSERT_TRUE(unloaded.get_future().get().ok());
  EXPECT_TRUE((*core)->Ready()) << (*core)->NotReadyReason();
}

// A timeout near INT64_MAX used to overflow into an immediate 504, and 1e30
// into an undefined cast: huge timeouts mean no deadline.
TEST_F(ServerCoreTest, HugeTimeoutsMeanNoDeadline) {
  for (core::ParameterValue timeout : {core::ParameterValue(std::numeric_limits<int64_t>::max()),
                                       core::ParameterValue(1e30), core::ParameterValue(9.3e18)}) {
    core::InferRequest request = Request({1, 2});
    request.parameters["timeout"] = timeout;
    auto response = core_->Infer(std::move(request));
    EXPECT_TRUE(response.ok()) << response.status();
  }
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), -5.0}) {
    core::InferRequest request = Request({1, 2});
    request.parameters["timeout"] = bad;
    absl::Status s = core_->Infer(std::move(request)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StrContains(s.message(), "parameter 'timeout'")) << s;
  }
}

// perf_analyzer aborts unless compute_input, compute_infer and
// compute_output report the same count.
TEST_F(ServerCoreTest, StatisticsCountEveryComputePhase) {
  ASSERT_TRUE(core_->Infer(Request({1, 2, 3, 4})).ok());
  ASSERT_TRUE(core_->Infer(Request({1, 2})).ok());
  auto stats = core_->Statistics("good", "");
  ASSERT_TRUE(stats.ok());
  const ModelStatistics& s = stats->at(0);
  EXPECT_EQ(s.compute.infer.count, 2u);
  EXPECT_EQ(s.compute.input.count, 2u);
  EXPECT_EQ(s.compute.output.count, 2u);
  for (const auto& [size, batch] : s.batch_stats) {
    EXPECT_EQ(batch.input.count, batch.infer.count) << size;
    EXPECT_EQ(batch.output.count, batch.infer.count) << size;
  }
}

TEST_F(ServerCoreTest, ClassificationAnswersEachRowsTopClasses) {
  core::InferRequest request = Request({1, 5, 7, 3});
  request.outputs.push_back({"y", {{"classification", int64_t{2}}}});
  auto response = core_->Infer(std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  const core::Tensor& y = response->outputs.at(0);
  EXPECT_EQ(y.dtype, core::DataType::kBytes);
  EXPECT_EQ(y.shape, (core::Shape{2, 2}));
  std::vector<std::string_view> classes;
  ASSERT_TRUE(core::SplitBytesElements(y.data, classes).ok());
  EXPECT_EQ(classes, (std::vector<std::string_view>{"10.000000:1", "2.000000:0", "14.000000:0",
                                                    "6.000000:1"}));
  request = Request({1, 2});
  request.outputs.push_back({"y", {{"classification", std::string("2")}}});
  EXPECT_EQ(core_->Infer(std::move(request)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ServerCoreCreateTest, MissingRepositoryIsAnError) {
  runtime::BackendRegistry backends = FakeBackends();
  auto core = ServerCore::Create({.repository = "/nonexistent/strata"}, backends);
  EXPECT_EQ(core.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace strata::serving
