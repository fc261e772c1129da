// GrpcInferenceService answers the KServe v2 gRPC service
// `inference.GRPCInferenceService` from a ServerCore, the same core the REST
// frontend calls. It uses gRPC's callback API: a call waiting for its batch
// holds no thread, and the core may answer on any thread. Thread-safe; the
// core it borrows must outlive it.
#ifndef STRATA_API_GRPC_INFERENCE_SERVICE_H_
#define STRATA_API_GRPC_INFERENCE_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "inference.grpc.pb.h"
#include "serving/server_core.h"

namespace strata::api {

struct GrpcServiceOptions {
  // Model control (RepositoryIndex, RepositoryModelLoad/Unload): off unless
  // asked for, since it changes what the server serves; PERMISSION_DENIED.
  bool control_api = false;
};

class GrpcInferenceService final
    : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit GrpcInferenceService(const serving::ServerCore& core,
                                GrpcServiceOptions options = {})
      : core_(core), options_(options) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* context,
                                       const inference::ServerLiveRequest* request,
                                       inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* context,
                                        const inference::ServerReadyRequest* request,
                                        inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* context,
                                       const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(
      grpc::CallbackServerContext* context,
      const inference::ServerMetadataRequest* request,
      inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(
      grpc::CallbackServerContext* context,
      const inference::ModelMetadataRequest* request,
      inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelConfig(grpc::CallbackServerContext* context,
                                        const inference::ModelConfigRequest* request,
                                        inference::ModelConfigResponse* response) override;
  grpc::ServerUnaryReactor* ModelStatistics(
      grpc::CallbackServerContext* context,
      const inference::ModelStatisticsRequest* request,
      inference::ModelStatisticsResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryIndex(
      grpc::CallbackServerContext* context,
      const inference::RepositoryIndexRequest* request,
      inference::RepositoryIndexResponse* response) override;
  // Load and unload run on the model manager's lifecycle thread; the call
  // finishes when the manager is done (an unload, once the versions drained).
  grpc::ServerUnaryReactor* RepositoryModelLoad(
      grpc::CallbackServerContext* context,
      const inference::RepositoryModelLoadRequest* request,
      inference::RepositoryModelLoadResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryModelUnload(
      grpc::CallbackServerContext* context,
      const inference::RepositoryModelUnloadRequest* request,
      inference::RepositoryModelUnloadResponse* response) override;
  // Decodes the request, passes the call's deadline on as the request
  // timeout, and finishes the call when the core answers.
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override;

 private:
  // PERMISSION_DENIED unless the control API is on.
  grpc::Status CheckControlAllowed() const;

  // RepositoryModelLoad and RepositoryModelUnload: checks the call, then runs
  // `action` (ModelManager::Load or Unload) and finishes when it is done.
  template <typename Request>
  grpc::ServerUnaryReactor* RunRepositoryAction(
      grpc::CallbackServerContext* context, const Request& request,
      void (serving::ModelManager::*action)(std::string,
                                            serving::ModelManager::ControlCallback));

  const serving::ServerCore& core_;
  const GrpcServiceOptions options_;
};

// The gRPC status for `status`: the codes are the same, the message is kept.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace strata::api

#endif  // STRATA_API_GRPC_INFERENCE_SERVICE_H_
