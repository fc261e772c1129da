// GrpcInferenceService answers the KServe v2 gRPC service
// `inference.GRPCInferenceService` from a ServerCore, the same core the REST
// frontend calls. It uses gRPC's callback API: a call waiting for its batch
// holds no thread, and the core may answer on any thread. Every RPC is
// registered raw (bytes in, bytes out) and parses its own request, so a
// message that does not parse is answered INVALID_ARGUMENT naming the RPC
// (gRPC's typed handlers answer an empty UNIMPLEMENTED). Thread-safe; the
// core it borrows must outlive it.
#ifndef STRATA_API_GRPC_INFERENCE_SERVICE_H_
#define STRATA_API_GRPC_INFERENCE_SERVICE_H_

#include <functional>
#include <string_view>

#include "api/access_guard.h"
#include "api/payload_log.h"
#include "grpcpp/grpcpp.h"
#include "inference.grpc.pb.h"
#include "serving/server_core.h"

namespace strata::api {

struct GrpcServiceOptions {
  // Model control (RepositoryIndex, RepositoryModelLoad/Unload): off unless
  // asked for, since it changes what the server serves; PERMISSION_DENIED.
  bool control_api = false;
  // With --admin-port the control API is served on the REST admin listener
  // only: the control RPCs answer PERMISSION_DENIED saying so.
  bool control_on_admin_port = false;
  // API keys (`authorization: Bearer <key>` metadata) and tenants' rate
  // limits; null: every RPC is open. ServerLive and ServerReady always are.
  const AccessGuard* guard = nullptr;
  // A sample of inference calls, redacted per field (`--payload-log`); null:
  // none.
  std::shared_ptr<PayloadLog> payload_log = nullptr;
};

// OK when the call's `authorization` metadata holds a key `guard` lets use
// `scope` on `model` (nullopt: no model; "*": every model), or when `guard`
// is null; else UNAUTHENTICATED (no or a wrong key) or PERMISSION_DENIED.
// With `caller`, an admitted key and its tenant go there. Shared by every
// strata gRPC service.
grpc::Status AuthorizeGrpcCall(const AccessGuard* guard, const grpc::ServerContextBase& context,
                               auth::Scope scope, std::optional<std::string_view> model,
                               Caller* caller = nullptr);

namespace internal {
using G = inference::GRPCInferenceService;
// Every RPC of the service, registered raw.
using RawInferenceService = G::WithRawCallbackMethod_ServerLive<
    G::WithRawCallbackMethod_ServerReady<G::WithRawCallbackMethod_ModelReady<
        G::WithRawCallbackMethod_ServerMetadata<G::WithRawCallbackMethod_ModelMetadata<
            G::WithRawCallbackMethod_ModelInfer<G::WithRawCallbackMethod_ModelConfig<
                G::WithRawCallbackMethod_ModelStatistics<G::WithRawCallbackMethod_RepositoryIndex<
                    G::WithRawCallbackMethod_RepositoryModelLoad<
                        G::WithRawCallbackMethod_RepositoryModelUnload<G::Service>>>>>>>>>>>;
}  // namespace internal

class GrpcInferenceService final : public internal::RawInferenceService {
 public:
  explicit GrpcInferenceService(serving::ServerCore& core, GrpcServiceOptions options = {})
      : core_(core), options_(options) {}

  using Context = grpc::CallbackServerContext;
  using Bytes = grpc::ByteBuffer;
  grpc::ServerUnaryReactor* ServerLive(Context* c, const Bytes* in, Bytes* out) override;
  grpc::ServerUnaryReactor* ServerReady(Context* c, const Bytes* in, Bytes* out) override;
  grpc::ServerUnaryReactor* ModelReady(Context* c, const Bytes* in, Bytes* out) override;
  grpc::ServerUnaryReactor* ServerMetadata(Context* c, const Bytes* in, Bytes* out) override;
  grpc::ServerUnaryReactor* ModelMetadata(Context* c, const Bytes* in, Bytes* out) override;
  grpc::ServerUnaryReactor* ModelConfig(Context* c, const Bytes* in, Bytes* out) override;
  grpc::ServerUnaryReactor* ModelStatistics(Context* c, const Bytes* in, Bytes* out) override;
  grpc::ServerUnaryReactor* RepositoryIndex(Context* c, const Bytes* in, Bytes* out) override;
  // Load and unload run on the model manager's lifecycle thread; the call
  // finishes when the manager is done (an unload, once the versions drained).
  grpc::ServerUnaryReactor* RepositoryModelLoad(Context* c, const Bytes* in, Bytes* out) override;
  grpc::ServerUnaryReactor* RepositoryModelUnload(Context* c, const Bytes* in, Bytes* out) override;
  // Decodes the request, passes the call's deadline on as the request
  // timeout, and finishes the call when the core answers.
  grpc::ServerUnaryReactor* ModelInfer(Context* c, const Bytes* in, Bytes* out) override;

 private:
  // Finishes a call once; called on any thread.
  using Reply = std::function<void(grpc::Status)>;

  grpc::Status Readiness(const inference::ModelReadyRequest& request,
                         inference::ModelReadyResponse& response) const;
  grpc::Status Metadata(const inference::ModelMetadataRequest& request,
                        inference::ModelMetadataResponse& response) const;
  grpc::Status Config(const inference::ModelConfigRequest& request,
                      inference::ModelConfigResponse& response) const;
  grpc::Status Statistics(const inference::ModelStatisticsRequest& request,
                          inference::ModelStatisticsResponse& response) const;
  grpc::Status Index(const inference::RepositoryIndexRequest& request,
                     inference::RepositoryIndexResponse& response) const;
  void Infer(Context* context, const inference::ModelInferRequest& request,
             inference::ModelInferResponse& response, Reply reply) const;

  // PERMISSION_DENIED unless the control API is on.
  grpc::Status CheckControlAllowed() const;

  // OK when the call's key may use `scope` on `model` (nullopt: no model;
  // "*": every model), with the key and its tenant in `caller`; else
  // UNAUTHENTICATED or PERMISSION_DENIED.
  grpc::Status Authorize(const Context* context, auth::Scope scope,
                         std::optional<std::string_view> model, Caller* caller = nullptr) const;
  // OK when the tenant's and the key's rate limits admit the request's rows
  // (or they have none); else RESOURCE_EXHAUSTED naming the limit. The
  // x-ratelimit-* and retry-after values go into the call's trailing
  // metadata.
  grpc::Status ChargeCaller(Context* context, const Caller& caller,
                            const core::InferRequest& request) const;

  // RepositoryModelLoad and RepositoryModelUnload: checks the call, then runs
  // `action` (ModelControl::Load or Unload) and replies when it is done.
  template <typename Request>
  void RunRepositoryAction(const Request& request, bool load, Reply reply) const;

  serving::ServerCore& core_;
  const GrpcServiceOptions options_;
};

// The gRPC status for `status`: the codes are the same, the message is kept.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The RPCs strata serves, by name, for error messages.
std::string_view ServedRpcNames();

}  // namespace strata::api

#endif  // STRATA_API_GRPC_INFERENCE_SERVICE_H_
