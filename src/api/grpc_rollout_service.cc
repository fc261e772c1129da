#include "api/grpc_rollout_service.h"

#include "api/grpc_inference_service.h"
#include "api/http_status.h"
#include "api/rollout_json.h"
#include "fmt/format.h"

namespace strata::api {
namespace {

// The body an audit line reads its message from.
std::string AuditBody(const grpc::Status& status) {
  if (status.ok()) return "{}";
  std::string escaped;
  for (char ch : status.error_message()) {
    if (ch == '"' || ch == '\\') escaped += '\\';
    escaped += static_cast<unsigned char>(ch) < 0x20 ? ' ' : ch;
  }
  return fmt::format(R"({{"error":"{}"}})", escaped);
}

// The HTTP status the REST route answers for `status`.
int AuditStatus(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    default:
      return HttpStatusFromCode(static_cast<absl::StatusCode>(status.error_code()));
  }
}

}  // namespace

void EncodeRolloutStatus(const serving::RolloutView& view,
                         strata::control::v1::RolloutStatus& out) {
  const serving::RolloutState& state = view.state;
  out.set_endpoint(state.spec.endpoint);
  out.set_status(std::string(serving::RolloutStatusName(state.status)));
  out.set_reason(state.reason);
  out.set_step(static_cast<uint32_t>(state.step));
  out.set_weight(view.weight);
  out.mutable_candidate()->set_model(state.spec.candidate.model);
  out.mutable_candidate()->set_version(state.spec.candidate.version);
  out.mutable_stable()->set_model(state.stable.model);
  out.mutable_stable()->set_version(state.stable.version);
  out.set_rollbacks(view.rollbacks);
  out.set_json(EncodeRolloutView(view));
}

grpc::Status GrpcRolloutService::Allowed(const Context* c, const std::string& endpoint) const {
  if (options_.control_on_admin_port) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "the control API is served on the admin port only (--admin-port): "
                        "POST /v2/repository/endpoints/{E}/rollout/... there");
  }
  if (!options_.control_api) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "the control API is disabled; start strata serve with --control-api to "
                        "enable strata.control.v1.Rollouts");
  }
  if (endpoint.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the request names no endpoint");
  }
  if (rollouts_ == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "this server has no rollouts: it serves no split endpoint");
  }
  return AuthorizeGrpcCall(options_.guard, *c, auth::Scope::kControl, endpoint);
}

grpc::ServerUnaryReactor* GrpcRolloutService::Answer(Context* c, std::string_view action,
                                                     const std::string& endpoint, const Call& call,
                                                     Reply* out) {
  grpc::Status status = Allowed(c, endpoint);
  if (status.ok()) {
    absl::StatusOr<serving::RolloutView> view = call();
    if (view.ok()) {
      EncodeRolloutStatus(*view, *out);
    } else {
      status = ToGrpcStatus(view.status());
    }
  }
  if (options_.audit_log != nullptr) {
    options_.audit_log->Record({.remote = c->peer(),
                                .action = fmt::format("endpoints.rollout.{}", action),
                                .target = endpoint},
                               AuditStatus(status), AuditBody(status));
  }
  grpc::ServerUnaryReactor* reactor = c->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* GrpcRolloutService::Start(
    Context* c, const strata::control::v1::StartRolloutRequest* in, Reply* out) {
  serving::RolloutRequest request{.endpoint = in->endpoint(),
                                  .candidate = in->candidate(),
                                  .steps = in->steps(),
                                  .gates = {in->gates().begin(), in->gates().end()},
                                  .load_timeout = in->load_timeout()};
  return Answer(
      c, "start", in->endpoint(), [&] { return rollouts_->Start(request); }, out);
}

grpc::ServerUnaryReactor* GrpcRolloutService::Status(Context* c, const Request* in, Reply* out) {
  return Answer(
      c, "status", in->endpoint(), [&] { return rollouts_->Status(in->endpoint()); }, out);
}

grpc::ServerUnaryReactor* GrpcRolloutService::Act(Context* c, std::string_view action,
                                                  const Request* in, serving::RolloutAction what,
                                                  Reply* out) {
  return Answer(
      c, action, in->endpoint(), [&] { return rollouts_->Act(in->endpoint(), what); }, out);
}

grpc::ServerUnaryReactor* GrpcRolloutService::Pause(Context* c, const Request* in, Reply* out) {
  return Act(c, "pause", in, serving::RolloutAction::kPause, out);
}

grpc::ServerUnaryReactor* GrpcRolloutService::Resume(Context* c, const Request* in, Reply* out) {
  return Act(c, "resume", in, serving::RolloutAction::kResume, out);
}

grpc::ServerUnaryReactor* GrpcRolloutService::Abort(Context* c, const Request* in, Reply* out) {
  return Act(c, "abort", in, serving::RolloutAction::kAbort, out);
}

grpc::ServerUnaryReactor* GrpcRolloutService::Promote(Context* c, const Request* in, Reply* out) {
  return Act(c, "promote", in, serving::RolloutAction::kPromote, out);
}

}  // namespace strata::api
