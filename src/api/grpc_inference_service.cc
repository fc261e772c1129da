#include "api/grpc_inference_service.h"

#include <chrono>
#include <string>

#include "api/grpc_codec.h"

namespace strata::api {
namespace {

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context,
                                 const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::ServerUnaryReactor* GrpcInferenceService::ServerLive(
    grpc::CallbackServerContext* context, const inference::ServerLiveRequest*,
    inference::ServerLiveResponse* response) {
  response->set_live(true);
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* GrpcInferenceService::ServerReady(
    grpc::CallbackServerContext* context, const inference::ServerReadyRequest*,
    inference::ServerReadyResponse* response) {
  response->set_ready(core_.Ready());
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* GrpcInferenceService::ModelReady(
    grpc::CallbackServerContext* context, const inference::ModelReadyRequest* request,
    inference::ModelReadyResponse* response) {
  if (const serving::Endpoint* endpoint = core_.FindEndpoint(request->name())) {
    response->set_ready(endpoint->Describe().ready);
    return Finish(context, grpc::Status::OK);
  }
  auto model =
      core_.FindModel(request->name(), request->version());
  if (!model.ok()) return Finish(context, ToGrpcStatus(model.status()));
  response->set_ready((*model)->ready());
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* GrpcInferenceService::ServerMetadata(
    grpc::CallbackServerContext* context, const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  response->set_name(core_.name());
  response->set_version(core_.version());
  for (const std::string& extension : core_.extensions()) {
    response->add_extensions(extension);
  }
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* GrpcInferenceService::ModelMetadata(
    grpc::CallbackServerContext* context, const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  if (const serving::Endpoint* endpoint = core_.FindEndpoint(request->name())) {
    EncodeEndpointMetadata(endpoint->Describe(), *response);
    return Finish(context, grpc::Status::OK);
  }
  auto model =
      core_.FindModel(request->name(), request->version());
  if (!model.ok()) return Finish(context, ToGrpcStatus(model.status()));
  EncodeModelMetadata(**model, *response);
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* GrpcInferenceService::ModelConfig(
    grpc::CallbackServerContext* context, const inference::ModelConfigRequest* request,
    inference::ModelConfigResponse* response) {
  auto model =
      core_.FindModel(request->name(), request->version());
  if (!model.ok()) return Finish(context, ToGrpcStatus(model.status()));
  EncodeModelConfig(**model, *response->mutable_config());
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* GrpcInferenceService::ModelStatistics(
    grpc::CallbackServerContext* context,
    const inference::ModelStatisticsRequest* request,
    inference::ModelStatisticsResponse* response) {
  absl::StatusOr<std::vector<serving::ModelStatistics>> stats =
      core_.Statistics(request->name(), request->version());
  if (!stats.ok()) return Finish(context, ToGrpcStatus(stats.status()));
  for (const serving::ModelStatistics& model : *stats) {
    EncodeModelStatistics(model, *response->add_model_stats());
  }
  return Finish(context, grpc::Status::OK);
}

grpc::Status GrpcInferenceService::CheckControlAllowed() const {
  if (options_.control_api) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      "the model control API is disabled; start strata serve with "
                      "--control-api to enable RepositoryIndex and "
                      "RepositoryModelLoad/Unload");
}

grpc::ServerUnaryReactor* GrpcInferenceService::RepositoryIndex(
    grpc::CallbackServerContext* context, const inference::RepositoryIndexRequest* request,
    inference::RepositoryIndexResponse* response) {
  if (grpc::Status allowed = CheckControlAllowed(); !allowed.ok()) {
    return Finish(context, allowed);
  }
  if (absl::Status s = CheckRepositoryName(request->repository_name()); !s.ok()) {
    return Finish(context, ToGrpcStatus(s));
  }
  serving::ModelManager& manager = core_.manager();
  manager.SyncNow();
  EncodeRepositoryIndex(manager.Index(), request->ready(), *response);
  return Finish(context, grpc::Status::OK);
}

template <typename Request>
grpc::ServerUnaryReactor* GrpcInferenceService::RunRepositoryAction(
    grpc::CallbackServerContext* context, const Request& request,
    void (serving::ModelManager::*action)(std::string,
                                          serving::ModelManager::ControlCallback)) {
  if (grpc::Status allowed = CheckControlAllowed(); !allowed.ok()) {
    return Finish(context, allowed);
  }
  if (absl::Status s = CheckRepositoryRequest(request.repository_name(), request.model_name(),
                                              request.parameters());
      !s.ok()) {
    return Finish(context, ToGrpcStatus(s));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  (core_.manager().*action)(request.model_name(), [reactor](absl::StatusOr<std::string> result) {
    reactor->Finish(ToGrpcStatus(result.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* GrpcInferenceService::RepositoryModelLoad(
    grpc::CallbackServerContext* context,
    const inference::RepositoryModelLoadRequest* request,
    inference::RepositoryModelLoadResponse*) {
  return RunRepositoryAction(context, *request, &serving::ModelManager::Load);
}

grpc::ServerUnaryReactor* GrpcInferenceService::RepositoryModelUnload(
    grpc::CallbackServerContext* context,
    const inference::RepositoryModelUnloadRequest* request,
    inference::RepositoryModelUnloadResponse*) {
  return RunRepositoryAction(context, *request, &serving::ModelManager::Unload);
}

grpc::ServerUnaryReactor* GrpcInferenceService::ModelInfer(
    grpc::CallbackServerContext* context, const inference::ModelInferRequest* request,
    inference::ModelInferResponse* response) {
  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(*request);
  if (!decoded.ok()) return Finish(context, ToGrpcStatus(decoded.status()));
  if (absl::Status s = ApplyDeadline(context->deadline(),
                                     std::chrono::system_clock::now(), *decoded);
      !s.ok()) {
    return Finish(context, ToGrpcStatus(s));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The call, and so `response`, lives until Finish(); the core calls back
  // exactly once.
  core_.InferAsync(*std::move(decoded),
                   [reactor, response](absl::StatusOr<core::InferResponse> result) {
                     if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
                     EncodeModelInferResponse(*result, *response);
                     reactor->Finish(grpc::Status::OK);
                   });
  return reactor;
}

}  // namespace strata::api
