// GrpcRolloutService answers strata's own gRPC service
// `strata.control.v1.Rollouts` (proto/strata_control.proto): the rollouts of
// split endpoints, the same calls as the REST routes
// /v2/repository/endpoints/{E}/rollout/... (api/rollout_json.h) with the
// same rules: the control API must be on (and not moved to the admin port),
// the caller's key needs the `control` scope on the endpoint, and every
// call is a line of the audit log (`endpoints.rollout.ACTION`). Calls
// answer at once (RolloutControl's ramp moves on its own timer).
// Thread-safe; the RolloutControl it borrows must outlive it.
#ifndef STRATA_API_GRPC_ROLLOUT_SERVICE_H_
#define STRATA_API_GRPC_ROLLOUT_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/access_guard.h"
#include "api/audit_log.h"
#include "grpcpp/grpcpp.h"
#include "serving/rollout/rollout_control.h"
#include "strata_control.grpc.pb.h"

namespace strata::api {

struct GrpcRolloutServiceOptions {
  bool control_api = false;            // off: PERMISSION_DENIED
  bool control_on_admin_port = false;  // on: PERMISSION_DENIED, naming the admin port
  const AccessGuard* guard = nullptr;  // null: no API keys
  std::shared_ptr<AuditLog> audit_log = nullptr;
};

class GrpcRolloutService final : public strata::control::v1::Rollouts::CallbackService {
 public:
  // `rollouts` null: the server has no split endpoint; every call is
  // NOT_FOUND saying so.
  GrpcRolloutService(serving::RolloutControl* rollouts, GrpcRolloutServiceOptions options)
      : rollouts_(rollouts), options_(std::move(options)) {}

  using Context = grpc::CallbackServerContext;
  using Reply = strata::control::v1::RolloutStatus;
  using Request = strata::control::v1::RolloutRequest;
  grpc::ServerUnaryReactor* Start(Context* c, const strata::control::v1::StartRolloutRequest* in,
                                  Reply* out) override;
  grpc::ServerUnaryReactor* Status(Context* c, const Request* in, Reply* out) override;
  grpc::ServerUnaryReactor* Pause(Context* c, const Request* in, Reply* out) override;
  grpc::ServerUnaryReactor* Resume(Context* c, const Request* in, Reply* out) override;
  grpc::ServerUnaryReactor* Abort(Context* c, const Request* in, Reply* out) override;
  grpc::ServerUnaryReactor* Promote(Context* c, const Request* in, Reply* out) override;

 private:
  using Call = std::function<absl::StatusOr<serving::RolloutView>()>;

  // Checks the call may act on `endpoint`, runs `call`, encodes its view in
  // `out`, records the audit line, and finishes the call.
  grpc::ServerUnaryReactor* Answer(Context* c, std::string_view action, const std::string& endpoint,
                                   const Call& call, Reply* out);
  // OK when the control API is on here and the key may control `endpoint`.
  grpc::Status Allowed(const Context* c, const std::string& endpoint) const;
  grpc::ServerUnaryReactor* Act(Context* c, std::string_view action, const Request* in,
                                serving::RolloutAction what, Reply* out);

  serving::RolloutControl* const rollouts_;
  const GrpcRolloutServiceOptions options_;
};

// The wire form of a rollout's view: its key fields, and the whole view as
// the REST routes' JSON.
void EncodeRolloutStatus(const serving::RolloutView& view, strata::control::v1::RolloutStatus& out);

}  // namespace strata::api

#endif  // STRATA_API_GRPC_ROLLOUT_SERVICE_H_
