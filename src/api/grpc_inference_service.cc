#include "api/grpc_inference_service.h"

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "api/grpc_codec.h"
#include "fmt/format.h"

namespace strata::api {
namespace {

template <typename Request, typename Response>
struct Messages {
  Request request;
  Response response;
};

template <typename Message>
grpc::Status SerializeTo(const Message& message, grpc::ByteBuffer& out) {
  grpc::ByteBuffer buffer;
  bool own_buffer = false;
  grpc::Status status =
      grpc::SerializationTraits<Message>::Serialize(message, &buffer, &own_buffer);
  if (!status.ok()) {
    return grpc::Status(
        grpc::StatusCode::INTERNAL,
        fmt::format("cannot serialize the {}: {}", message.GetTypeName(), status.error_message()));
  }
  out.Swap(&buffer);
  return grpc::Status::OK;
}

// One unary call: parses `in` as a Request (INVALID_ARGUMENT naming `rpc`
// when it does not parse), runs `handler(request, response, reply)`, and
// finishes the call when the handler replies, with the response serialized
// into `out` on success. The messages live until then.
template <typename Request, typename Response, typename Handler>
grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, const grpc::ByteBuffer* in,
                                grpc::ByteBuffer* out, std::string_view rpc, Handler&& handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto messages = std::make_shared<Messages<Request, Response>>();
  grpc::ByteBuffer payload(*in);  // Deserialize consumes its buffer
  if (!grpc::SerializationTraits<Request>::Deserialize(&payload, &messages->request).ok()) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     fmt::format("{}: the request cannot be parsed as an {} protobuf message", rpc,
                                 messages->request.GetTypeName())));
    return reactor;
  }
  handler(messages->request, messages->response, [reactor, out, messages](grpc::Status status) {
    if (status.ok()) status = SerializeTo(messages->response, *out);
    reactor->Finish(status);
  });
  return reactor;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::string_view ServedRpcNames() {
  return "ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer, "
         "ModelConfig, ModelStatistics, RepositoryIndex, RepositoryModelLoad, "
         "RepositoryModelUnload";
}

grpc::ServerUnaryReactor* GrpcInferenceService::ServerLive(Context* c, const Bytes* in,
                                                           Bytes* out) {
  return Unary<inference::ServerLiveRequest, inference::ServerLiveResponse>(
      c, in, out, "ServerLive", [](const auto&, auto& response, const Reply& reply) {
        response.set_live(true);
        reply(grpc::Status::OK);
      });
}

grpc::ServerUnaryReactor* GrpcInferenceService::ServerReady(Context* c, const Bytes* in,
                                                            Bytes* out) {
  return Unary<inference::ServerReadyRequest, inference::ServerReadyResponse>(
      c, in, out, "ServerReady", [this](const auto&, auto& response, const Reply& reply) {
        response.set_ready(core_.Ready());
        reply(grpc::Status::OK);
      });
}

grpc::ServerUnaryReactor* GrpcInferenceService::ModelReady(Context* c, const Bytes* in,
                                                           Bytes* out) {
  return Unary<inference::ModelReadyRequest, inference::ModelReadyResponse>(
      c, in, out, "ModelReady", [this, c](const auto& request, auto& response, const Reply& reply) {
        grpc::Status allowed = Authorize(c, auth::Scope::kMetadata, request.name());
        reply(allowed.ok() ? Readiness(request, response) : allowed);
      });
}

grpc::ServerUnaryReactor* GrpcInferenceService::ServerMetadata(Context* c, const Bytes* in,
                                                               Bytes* out) {
  return Unary<inference::ServerMetadataRequest, inference::ServerMetadataResponse>(
      c, in, out, "ServerMetadata", [this, c](const auto&, auto& response, const Reply& reply) {
        if (grpc::Status s = Authorize(c, auth::Scope::kMetadata, std::nullopt); !s.ok()) {
          return reply(s);
        }
        response.set_name(core_.name());
        response.set_version(core_.version());
        for (const std::string& extension : core_.extensions()) {
          response.add_extensions(extension);
        }
        reply(grpc::Status::OK);
      });
}

grpc::ServerUnaryReactor* GrpcInferenceService::ModelMetadata(Context* c, const Bytes* in,
                                                              Bytes* out) {
  return Unary<inference::ModelMetadataRequest, inference::ModelMetadataResponse>(
      c, in, out, "ModelMetadata",
      [this, c](const auto& request, auto& response, const Reply& reply) {
        grpc::Status allowed = Authorize(c, auth::Scope::kMetadata, request.name());
        reply(allowed.ok() ? Metadata(request, response) : allowed);
      });
}

grpc::ServerUnaryReactor* GrpcInferenceService::ModelConfig(Context* c, const Bytes* in,
                                                            Bytes* out) {
  return Unary<inference::ModelConfigRequest, inference::ModelConfigResponse>(
      c, in, out, "ModelConfig",
      [this, c](const auto& request, auto& response, const Reply& reply) {
        grpc::Status allowed = Authorize(c, auth::Scope::kMetadata, request.name());
        reply(allowed.ok() ? Config(request, response) : allowed);
      });
}

grpc::ServerUnaryReactor* GrpcInferenceService::ModelStatistics(Context* c, const Bytes* in,
                                                                Bytes* out) {
  return Unary<inference::ModelStatisticsRequest, inference::ModelStatisticsResponse>(
      c, in, out, "ModelStatistics",
      [this, c](const auto& request, auto& response, const Reply& reply) {
        const std::string_view model = request.name().empty() ? "*" : request.name();
        grpc::Status allowed = Authorize(c, auth::Scope::kMetadata, model);
        reply(allowed.ok() ? Statistics(request, response) : allowed);
      });
}

grpc::ServerUnaryReactor* GrpcInferenceService::RepositoryIndex(Context* c, const Bytes* in,
                                                                Bytes* out) {
  return Unary<inference::RepositoryIndexRequest, inference::RepositoryIndexResponse>(
      c, in, out, "RepositoryIndex",
      [this, c](const auto& request, auto& response, const Reply& reply) {
        grpc::Status allowed = Authorize(c, auth::Scope::kControl, "*");
        reply(allowed.ok() ? Index(request, response) : allowed);
      });
}

grpc::ServerUnaryReactor* GrpcInferenceService::RepositoryModelLoad(Context* c, const Bytes* in,
                                                                    Bytes* out) {
  return Unary<inference::RepositoryModelLoadRequest, inference::RepositoryModelLoadResponse>(
      c, in, out, "RepositoryModelLoad", [this, c](const auto& request, auto&, Reply reply) {
        grpc::Status allowed = Authorize(c, auth::Scope::kControl, request.model_name());
        if (!allowed.ok()) return reply(allowed);
        RunRepositoryAction(request, /*load=*/true, std::move(reply));
      });
}

grpc::ServerUnaryReactor* GrpcInferenceService::RepositoryModelUnload(Context* c, const Bytes* in,
                                                                      Bytes* out) {
  return Unary<inference::RepositoryModelUnloadRequest, inference::RepositoryModelUnloadResponse>(
      c, in, out, "RepositoryModelUnload", [this, c](const auto& request, auto&, Reply reply) {
        grpc::Status allowed = Authorize(c, auth::Scope::kControl, request.model_name());
        if (!allowed.ok()) return reply(allowed);
        RunRepositoryAction(request, /*load=*/false, std::move(reply));
      });
}

grpc::ServerUnaryReactor* GrpcInferenceService::ModelInfer(Context* c, const Bytes* in,
                                                           Bytes* out) {
  return Unary<inference::ModelInferRequest, inference::ModelInferResponse>(
      c, in, out, "ModelInfer", [this, c](const auto& request, auto& response, Reply reply) {
        Infer(c, request, response, std::move(reply));
      });
}

grpc::Status GrpcInferenceService::Readiness(const inference::ModelReadyRequest& request,
                                             inference::ModelReadyResponse& response) const {
  auto described = core_.Describe(request.name(), request.version());
  if (!described.ok()) return ToGrpcStatus(described.status());
  const auto* d = std::get_if<serving::EndpointDescription>(&*described);
  response.set_ready(d != nullptr ? d->ready : std::get<1>(*described)->ready());
  return grpc::Status::OK;
}

grpc::Status GrpcInferenceService::Metadata(const inference::ModelMetadataRequest& request,
                                            inference::ModelMetadataResponse& response) const {
  auto described = core_.Describe(request.name(), request.version());
  if (!described.ok()) return ToGrpcStatus(described.status());
  if (const auto* d = std::get_if<serving::EndpointDescription>(&*described)) {
    EncodeEndpointMetadata(*d, response);
  } else {
    EncodeModelMetadata(*std::get<1>(*described), response);
  }
  return grpc::Status::OK;
}

grpc::Status GrpcInferenceService::Config(const inference::ModelConfigRequest& request,
                                          inference::ModelConfigResponse& response) const {
  auto model = core_.DescribeModel(request.name(), request.version());
  if (!model.ok()) return ToGrpcStatus(model.status());
  EncodeModelConfig(**model, *response.mutable_config());
  return grpc::Status::OK;
}

grpc::Status GrpcInferenceService::Statistics(const inference::ModelStatisticsRequest& request,
                                              inference::ModelStatisticsResponse& response) const {
  absl::StatusOr<std::vector<serving::ModelStatistics>> stats =
      core_.Statistics(request.name(), request.version());
  if (!stats.ok()) return ToGrpcStatus(stats.status());
  for (const serving::ModelStatistics& model : *stats) {
    EncodeModelStatistics(model, *response.add_model_stats());
  }
  return grpc::Status::OK;
}

grpc::Status AuthorizeGrpcCall(const AccessGuard* guard, const grpc::ServerContextBase& context,
                               auth::Scope scope, std::optional<std::string_view> model,
                               Caller* caller) {
  if (guard == nullptr) return grpc::Status::OK;
  std::string_view header;
  const auto& metadata = context.client_metadata();
  if (auto found = metadata.find("authorization"); found != metadata.end()) {
    header = std::string_view(found->second.data(), found->second.size());
  }
  const auth::AuthDecision decision = guard->Authorize(header, scope, model);
  if (decision.allowed()) {
    if (caller != nullptr) *caller = {decision.tenant, decision.key_id};
    return grpc::Status::OK;
  }
  return grpc::Status(decision.http_status() == 401 ? grpc::StatusCode::UNAUTHENTICATED
                                                    : grpc::StatusCode::PERMISSION_DENIED,
                      decision.message);
}

grpc::Status GrpcInferenceService::Authorize(const Context* context, auth::Scope scope,
                                             std::optional<std::string_view> model,
                                             Caller* caller) const {
  return AuthorizeGrpcCall(options_.guard, *context, scope, model, caller);
}

grpc::Status GrpcInferenceService::ChargeCaller(Context* context, const Caller& caller,
                                                const core::InferRequest& request) const {
  if (options_.guard == nullptr || caller.tenant.empty()) return grpc::Status::OK;
  const RateCharge charge = options_.guard->Charge(caller, RequestRows(request));
  for (const auto& [name, value] : charge.Headers()) {
    context->AddTrailingMetadata(absl::AsciiStrToLower(name), value);
  }
  if (charge.admitted) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, charge.message);
}

grpc::Status GrpcInferenceService::CheckControlAllowed() const {
  if (options_.control_on_admin_port) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "the control API is served on the admin port only (--admin-port): "
                        "POST /v2/repository/... there");
  }
  if (options_.control_api) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      "the model control API is disabled; start strata serve with "
                      "--control-api to enable RepositoryIndex and "
                      "RepositoryModelLoad/Unload");
}

grpc::Status GrpcInferenceService::Index(const inference::RepositoryIndexRequest& request,
                                         inference::RepositoryIndexResponse& response) const {
  if (grpc::Status allowed = CheckControlAllowed(); !allowed.ok()) return allowed;
  if (absl::Status s = CheckRepositoryName(request.repository_name()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  serving::ModelControl& control = core_.model_control();
  control.SyncNow();
  EncodeRepositoryIndex(control.Index(), request.ready(), response);
  return grpc::Status::OK;
}

template <typename Request>
void GrpcInferenceService::RunRepositoryAction(const Request& request, bool load,
                                               Reply reply) const {
  if (grpc::Status allowed = CheckControlAllowed(); !allowed.ok()) return reply(allowed);
  if (absl::Status s = CheckRepositoryRequest(
          load ? RepositoryAction::kLoad : RepositoryAction::kUnload, request.repository_name(),
          request.model_name(), request.parameters());
      !s.ok()) {
    return reply(ToGrpcStatus(s));
  }
  auto done = [reply = std::move(reply)](absl::StatusOr<std::string> result) {
    reply(ToGrpcStatus(result.status()));
  };
  serving::ModelControl& control = core_.model_control();
  if (load) {
    control.Load(request.model_name(), std::move(done));
  } else {
    control.Unload(request.model_name(), std::move(done));
  }
}

void GrpcInferenceService::Infer(Context* context, const inference::ModelInferRequest& request,
                                 inference::ModelInferResponse& response, Reply reply) const {
  Caller caller;
  if (grpc::Status s = Authorize(context, auth::Scope::kInfer, request.model_name(), &caller);
      !s.ok()) {
    return reply(s);
  }
  absl::StatusOr<core::InferRequest> decoded = DecodeModelInferRequest(request);
  if (!decoded.ok()) return reply(ToGrpcStatus(decoded.status()));
  if (grpc::Status s = ChargeCaller(context, caller, *decoded); !s.ok()) return reply(s);
  if (absl::Status s =
          ApplyDeadline(context->deadline(), std::chrono::system_clock::now(), *decoded);
      !s.ok()) {
    return reply(ToGrpcStatus(s));
  }
  for (const auto& [name, value] : context->client_metadata()) {
    if (name.starts_with("x-")) {
      decoded->headers.emplace_back(std::string(name.data(), name.size()),
                                    std::string(value.data(), value.size()));
    }
  }
  std::optional<PendingPayload> payload =
      options_.payload_log ? options_.payload_log->Sample(*decoded) : std::nullopt;
  // `response` lives until `reply` runs; the core calls back exactly once.
  core_.InferAsync(*std::move(decoded),
                   [&response, reply = std::move(reply), payload_log = options_.payload_log,
                    payload = std::move(payload)](absl::StatusOr<core::InferResponse> result) {
                     if (!result.ok()) return reply(ToGrpcStatus(result.status()));
                     if (payload) payload_log->Record(*payload, *result);
                     EncodeModelInferResponse(*result, response);
                     reply(grpc::Status::OK);
                   });
}

}  // namespace strata::api
