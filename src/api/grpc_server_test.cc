#include "api/grpc_server.h"

#include <cstring>
#include <future>
#include <map>

#include "api/grpc_inference_service.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inference.grpc.pb.h"
#include "serving/testing/fake_repository.h"

namespace strata::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) / "grpc_server_test";
    serving::testing::MakeFakeRepository(root_);
    auto core = serving::ServerCore::Create({.repository = root_}, backends_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
    auto server = GrpcServer::Start({.host = "127.0.0.1", .port = 0}, *core_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_NE(server_->port(), 0);
    stub_ = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
        fmt::format("127.0.0.1:{}", server_->port()), grpc::InsecureChannelCredentials()));
  }

  // A request to "good" (y = 2x, FP32 [-1, 2]) with typed contents.
  static inference::ModelInferRequest DoublingRequest(std::vector<float> values) {
    inference::ModelInferRequest request;
    request.set_model_name("good");
    auto* input = request.add_inputs();
    input->set_name("x");
    input->set_datatype("FP32");
    input->add_shape(static_cast<int64_t>(values.size() / 2));
    input->add_shape(2);
    for (float v : values) input->mutable_contents()->add_fp32_contents(v);
    return request;
  }

  static std::vector<float> RawFloats(const std::string& raw) {
    std::vector<float> values(raw.size() / sizeof(float));
    std::memcpy(values.data(), raw.data(), raw.size());
    return values;
  }

  grpc::Status Infer(const inference::ModelInferRequest& request,
                     inference::ModelInferResponse& response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub_->ModelInfer(&context, request, &response);
  }

  std::filesystem::path root_;
  runtime::BackendRegistry backends_ = serving::testing::FakeBackends();
  std::unique_ptr<serving::ServerCore> core_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(GrpcServerTest, HealthAndServerMetadata) {
  grpc::ClientContext live_context;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(&live_context, {}, &live).ok());
  EXPECT_TRUE(live.live());

  // The fake repository holds broken models: strictly, not ready.
  grpc::ClientContext ready_context;
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(&ready_context, {}, &ready).ok());
  EXPECT_FALSE(ready.ready());

  grpc::ClientContext metadata_context;
  inference::ServerMetadataResponse metadata;
  ASSERT_TRUE(stub_->ServerMetadata(&metadata_context, {}, &metadata).ok());
  EXPECT_EQ(metadata.name(), "strata");
  EXPECT_THAT(metadata.extensions(), ::testing::Contains("binary_tensor_data"));
}

TEST_F(GrpcServerTest, ModelReadyAndMetadata) {
  inference::ModelReadyRequest request;
  request.set_name("good");
  grpc::ClientContext c1;
  inference::ModelReadyResponse ready;
  ASSERT_TRUE(stub_->ModelReady(&c1, request, &ready).ok());
  EXPECT_TRUE(ready.ready());

  request.set_name("corrupt");
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->ModelReady(&c2, request, &ready).ok());
  EXPECT_FALSE(ready.ready());

  request.set_name("nope");
  grpc::ClientContext c3;
  grpc::Status missing = stub_->ModelReady(&c3, request, &ready);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.error_message(), HasSubstr("Request for unknown model: 'nope'"));

  inference::ModelMetadataRequest metadata_request;
  metadata_request.set_name("good");
  metadata_request.set_version("10");
  grpc::ClientContext c4;
  inference::ModelMetadataResponse metadata;
  ASSERT_TRUE(stub_->ModelMetadata(&c4, metadata_request, &metadata).ok());
  EXPECT_THAT(metadata.versions(), ElementsAre("10"));
  EXPECT_THAT(metadata.inputs(0).shape(), ElementsAre(-1, 2));

  metadata_request.set_version("3");
  grpc::ClientContext c5;
  EXPECT_EQ(stub_->ModelMetadata(&c5, metadata_request, &metadata).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcServerTest, ModelConfigAndStatistics) {
  inference::ModelConfigRequest request;
  request.set_name("good");
  grpc::ClientContext c1;
  inference::ModelConfigResponse config;
  ASSERT_TRUE(stub_->ModelConfig(&c1, request, &config).ok());
  EXPECT_EQ(config.config().max_batch_size(), 4);
  EXPECT_THAT(config.config().input(0).dims(), ElementsAre(2));

  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(DoublingRequest({1, 2, 3, 4}), response).ok());

  inference::ModelStatisticsRequest stats_request;
  stats_request.set_name("good");
  grpc::ClientContext c2;
  inference::ModelStatisticsResponse stats;
  ASSERT_TRUE(stub_->ModelStatistics(&c2, stats_request, &stats).ok());
  ASSERT_EQ(stats.model_stats_size(), 1);
  EXPECT_EQ(stats.model_stats(0).name(), "good");
  EXPECT_EQ(stats.model_stats(0).inference_stats().success().count(), 1u);
  EXPECT_EQ(stats.model_stats(0).inference_count(), 2u);

  stats_request.set_name("nope");
  grpc::ClientContext c3;
  EXPECT_EQ(stub_->ModelStatistics(&c3, stats_request, &stats).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcServerTest, InferWithTypedAndRawInputsAnswersRaw) {
  inference::ModelInferRequest request = DoublingRequest({1, 2, 3, 4});
  request.set_id("call-7");
  inference::ModelInferResponse typed;
  ASSERT_TRUE(Infer(request, typed).ok());
  EXPECT_EQ(typed.model_name(), "good");
  EXPECT_EQ(typed.model_version(), "10");
  EXPECT_EQ(typed.id(), "call-7");
  ASSERT_EQ(typed.raw_output_contents_size(), 1);
  EXPECT_THAT(RawFloats(typed.raw_output_contents(0)), ElementsAre(2, 4, 6, 8));
  EXPECT_THAT(typed.outputs(0).shape(), ElementsAre(2, 2));

  const std::vector<float> values = {1, 2, 3, 4};
  request.mutable_inputs(0)->clear_contents();
  request.add_raw_input_contents(
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  inference::ModelInferResponse raw;
  ASSERT_TRUE(Infer(request, raw).ok());
  EXPECT_EQ(raw.raw_output_contents(0), typed.raw_output_contents(0));
}

TEST_F(GrpcServerTest, ErrorsCarryTheirStatusCodes) {
  inference::ModelInferResponse response;
  inference::ModelInferRequest request = DoublingRequest({1, 2});
  request.set_model_name("nope");
  EXPECT_EQ(Infer(request, response).error_code(), grpc::StatusCode::NOT_FOUND);

  request.set_model_name("corrupt");
  grpc::Status unavailable = Infer(request, response);
  EXPECT_EQ(unavailable.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(unavailable.error_message(), HasSubstr("is not ready"));

  request = DoublingRequest({1, 2, 3});  // 3 values for shape [1, 2]
  grpc::Status invalid = Infer(request, response);
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(invalid.error_message(), HasSubstr("needs 2"));

  request = DoublingRequest({1, 2});
  request.mutable_inputs(0)->set_name("w");
  EXPECT_THAT(Infer(request, response).error_message(), HasSubstr("unknown input 'w'"));
}

TEST_F(GrpcServerTest, ControlIsRefusedUnlessEnabled) {
  grpc::ClientContext context;
  inference::RepositoryIndexResponse index;
  grpc::Status status = stub_->RepositoryIndex(&context, {}, &index);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("--control-api"));
}

TEST_F(GrpcServerTest, ControlListsUnloadsAndLoadsModels) {
  auto server = GrpcServer::Start({.port = 0, .control_api = true}, *core_);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      fmt::format("127.0.0.1:{}", (*server)->port()), grpc::InsecureChannelCredentials()));

  grpc::ClientContext c1;
  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(stub->RepositoryIndex(&c1, {}, &index).ok());
  std::map<std::string, std::string> states;
  for (const auto& model : index.models())
    states[model.name() + "/" + model.version()] = model.state();
  EXPECT_EQ(states["good/10"], "READY");
  EXPECT_EQ(states["corrupt/1"], "UNAVAILABLE");

  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("good");
  grpc::ClientContext c2;
  inference::RepositoryModelUnloadResponse unloaded;
  ASSERT_TRUE(stub->RepositoryModelUnload(&c2, unload, &unloaded).ok());
  inference::ModelInferResponse response;
  grpc::ClientContext c3;
  EXPECT_EQ(stub->ModelInfer(&c3, DoublingRequest({1, 2}), &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  inference::RepositoryModelLoadRequest load;
  load.set_model_name("good");
  grpc::ClientContext c4;
  inference::RepositoryModelLoadResponse loaded;
  ASSERT_TRUE(stub->RepositoryModelLoad(&c4, load, &loaded).ok());
  grpc::ClientContext c5;
  EXPECT_TRUE(stub->ModelInfer(&c5, DoublingRequest({1, 2}), &response).ok());

  (*load.mutable_parameters())["config"].set_string_param("{}");
  grpc::ClientContext c6;
  grpc::Status refused = stub->RepositoryModelLoad(&c6, load, &loaded);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("parameter 'config' is not supported"));

  // tritonclient.grpc's unload_model() always sends unload_dependents.
  (*unload.mutable_parameters())["unload_dependents"].set_bool_param(false);
  grpc::ClientContext c7;
  ASSERT_TRUE(stub->RepositoryModelUnload(&c7, unload, &unloaded).ok());
}

// A raw call of `method` with `payload`, through the generic stub.
grpc::Status CallRaw(uint16_t port, const std::string& method, const std::string& payload) {
  grpc::GenericStub stub(
      grpc::CreateChannel(fmt::format("127.0.0.1:{}", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

TEST_F(GrpcServerTest, UnsupportedRpcsAreNamedInTheirError) {
  for (const std::string rpc : {"ModelStreamInfer", "SystemSharedMemoryStatus", "LogSettings"}) {
    grpc::Status status = CallRaw(server_->port(), "/inference.GRPCInferenceService/" + rpc, "");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << rpc;
    EXPECT_THAT(status.error_message(), HasSubstr("strata does not support the RPC "
                                                  "/inference.GRPCInferenceService/" +
                                                  rpc));
    EXPECT_THAT(status.error_message(), HasSubstr("ModelInfer"));
  }
}

TEST_F(GrpcServerTest, AMessageThatDoesNotParseIsInvalidArgument) {
  // Field 1 (model_name) as a length-delimited string running past the end.
  grpc::Status status =
      CallRaw(server_->port(), "/inference.GRPCInferenceService/ModelInfer", "\x0a\x7f\x01");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("ModelInfer"));
  EXPECT_THAT(status.error_message(), HasSubstr("inference.ModelInferRequest"));
  status = CallRaw(server_->port(), "/inference.GRPCInferenceService/ServerLive", "\xff");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("ServerLive"));
}

TEST_F(GrpcServerTest, ShutdownWaitsForNothingAndIsIdempotent) {
  server_->Shutdown();
  server_->Shutdown();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  inference::ServerLiveResponse live;
  EXPECT_FALSE(stub_->ServerLive(&context, {}, &live).ok());
}

TEST(GrpcStatusTest, KeepsCodeAndMessage) {
  grpc::Status status = ToGrpcStatus(absl::ResourceExhaustedError("queue is full"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "queue is full");
  EXPECT_EQ(ToGrpcStatus(absl::DeadlineExceededError("late")).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcServerStartTest, ReportsAnAddressInUse) {
  const std::filesystem::path root =
      std::filesystem::path(::testing::TempDir()) / "grpc_server_start_test";
  serving::testing::MakeFakeRepository(root);
  const runtime::BackendRegistry backends = serving::testing::FakeBackends();
  auto core = serving::ServerCore::Create({.repository = root}, backends);
  ASSERT_TRUE(core.ok());
  auto first = GrpcServer::Start({.port = 0}, **core);
  ASSERT_TRUE(first.ok());
  auto second = GrpcServer::Start({.port = (*first)->port()}, **core);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("cannot listen for gRPC"));
}

}  // namespace
}  // namespace strata::api
