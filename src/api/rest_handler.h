// RestHandler answers one KServe v2 REST request: it routes the path, calls
// the ServerCore and encodes the answer. It knows HTTP semantics but no
// sockets, so it is tested without a network. Thread-safe (stateless apart
// from the core it borrows, which must outlive it; it changes the core only
// through the control routes).
#ifndef STRATA_API_REST_HANDLER_H_
#define STRATA_API_REST_HANDLER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/access_guard.h"
#include "api/audit_log.h"
#include "api/body_budget.h"
#include "api/payload_log.h"
#include "serving/experiment/experiments.h"
#include "serving/rollout/rollout_control.h"
#include "serving/server_core.h"

namespace strata::api {

struct HttpRequestView {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // path and optional query string
  std::string_view body;
  std::string_view content_encoding;       // Content-Encoding header
  std::string_view inference_header_size;  // Inference-Header-Content-Length
  std::string_view accept_encoding = {};   // Accept-Encoding header
  std::string_view authorization = {};     // Authorization header
  size_t max_body_bytes = 64 << 20;        // limit for an inflated body
  // The body's share of the server's body budget, which an inflated body
  // grows (503 when it cannot); null: only max_body_bytes bounds it.
  BodyReservation* body_reservation = nullptr;
  // The client's "address:port", for the audit log; empty when unknown.
  std::string_view remote_address = {};
  // Headers whose names start with "x-" (any case): passed to the core.
  std::vector<std::pair<std::string_view, std::string_view>> app_headers = {};
};

struct HttpReply {
  int status = 200;
  std::string body;
  // A literal (every content type strata answers with is one): the view
  // outlives the reply.
  std::string_view content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // For the access log: the model and version that answered, if any.
  std::string model_name = {};
  std::string model_version = {};
  std::string arm = {};  // a split endpoint's arm that answered
};

// Which routes a listener serves: all of them, or (with --admin-port) the
// public ones on the main port and /metrics, the status page and the control
// API on the admin port. Health probes are served on both.
enum class RestListener { kAll, kPublic, kAdmin };

struct RestHandlerOptions {
  // Model and table control (/v2/repository/...): off unless asked for,
  // since it changes what the server serves.
  bool control_api = false;
  RestListener listener = RestListener::kAll;
  // API keys, scopes and tenants' rate limits; null: every route is open.
  // Must outlive the handler.
  const AccessGuard* guard = nullptr;
  // Every control call (/v2/repository/...) is recorded here when set
  // (`--audit-log`); must outlive the handler.
  std::shared_ptr<AuditLog> audit_log = nullptr;
  // The rollouts of split endpoints (v2/repository/endpoints/{E}/rollout/...,
  // a section of the status page, strata_rollout_* in /metrics); null: none.
  // Must outlive the handler.
  serving::RolloutControl* rollouts = nullptr;
  // Feedback and experiment reports (/v2/models/{e}/feedback, /experiment);
  // null: no endpoint takes feedback. Must outlive the handler.
  const serving::Experiments* experiments = nullptr;
  // A sample of inference requests and responses, redacted per field
  // (`--payload-log`); null: none.
  std::shared_ptr<PayloadLog> payload_log = nullptr;
};

class RestHandler {
 public:
  explicit RestHandler(serving::ServerCore& core, RestHandlerOptions options = {})
      : core_(core), options_(options) {}

  // Answers `request` by calling `done` exactly once, on any thread
  // (possibly before Handle returns). The view's strings must stay valid
  // until `done` is called.
  using ReplyCallback = std::function<void(HttpReply)>;
  void Handle(const HttpRequestView& request, ReplyCallback done) const;

  // Synchronous form for tests: waits for the reply.
  HttpReply HandleForTest(const HttpRequestView& request) const;

 private:
  // nullopt when the request went to the core, which answers via `done`.
  std::optional<HttpReply> Route(const HttpRequestView& request, ReplyCallback& done) const;
  // The refusal when this listener does not serve the route, or the key may
  // not use it; else nullopt, with the key and its tenant in `caller`.
  std::optional<HttpReply> Admit(const HttpRequestView& request,
                                 const std::vector<std::string>& segments, Caller& caller) const;
  std::optional<HttpReply> ModelRoute(const HttpRequestView& request,
                                      const std::vector<std::string>& segments,
                                      const Caller& caller, ReplyCallback& done) const;
  std::optional<HttpReply> Infer(const HttpRequestView& request, std::string model,
                                 std::string version, const Caller& caller,
                                 ReplyCallback& done) const;
  HttpReply Metrics() const;

  HttpReply AdvisorRoute(const HttpRequestView& request,
                         const std::vector<std::string>& segments) const;
  // ControlRoute, recording the call and its answer in the audit log.
  std::optional<HttpReply> AuditedControlRoute(const HttpRequestView& request,
                                               const std::vector<std::string>& segments,
                                               ReplyCallback& done) const;
  std::optional<HttpReply> ControlRoute(const HttpRequestView& request,
                                        const std::vector<std::string>& segments,
                                        ReplyCallback& done) const;
  // v2/repository/endpoints/{E}/rollout/...: a split endpoint's rollout.
  HttpReply RolloutRoute(const HttpRequestView& request,
                         const std::vector<std::string>& segments) const;
  // v2/repository/tables/...: the same routes for followed tables.
  std::optional<HttpReply> TableControlRoute(const HttpRequestView& request,
                                             const std::vector<std::string>& segments,
                                             ReplyCallback& done) const;

  serving::ServerCore& core_;
  const RestHandlerOptions options_;
};

// Splits "/v2/models/a%20b/ready?x=1" into {"v2","models","a b","ready"},
// percent-decoding each segment and dropping the query string.
std::vector<std::string> SplitPath(std::string_view target);

}  // namespace strata::api

#endif  // STRATA_API_REST_HANDLER_H_
