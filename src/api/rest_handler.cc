#include "api/rest_handler.h"

#include <algorithm>
#include <cstdlib>
#include <future>
#include <variant>

#include "absl/strings/ascii.h"
#include "api/advisor_json.h"
#include "api/auth/route_access.h"
#include "api/binary_tensor_codec.h"
#include "api/control_json.h"
#include "api/endpoint_json.h"
#include "api/experiment_routes.h"
#include "api/grpc_codec.h"
#include "api/http_compression.h"
#include "api/http_status.h"
#include "api/kserve_json_codec.h"
#include "api/model_config_json.h"
#include "api/rollout_json.h"
#include "api/statistics_json.h"
#include "api/status_page.h"
#include "core/buffer_pool.h"
#include "fmt/format.h"
#include "prometheus/text_serializer.h"

namespace strata::api {
namespace {

HttpReply Json(int status, std::string body) {
  return {status, std::move(body), "application/json", {}};
}

HttpReply Error(int status, std::string_view message) { return Json(status, EncodeError(message)); }

HttpReply FromStatus(const absl::Status& status) {
  HttpReply reply = Error(HttpStatusFromCode(status.code()), std::string(status.message()));
  if (status.code() == absl::StatusCode::kResourceExhausted ||
      status.code() == absl::StatusCode::kUnavailable) {
    reply.headers.emplace_back("Retry-After", "1");
  }
  return reply;
}

HttpReply Statistics(const serving::ServerCore& core, const std::string& model,
                     const std::string& version) {
  absl::StatusOr<std::vector<serving::ModelStatistics>> stats = core.Statistics(model, version);
  if (!stats.ok()) return FromStatus(stats.status());
  return Json(200, EncodeStatistics(*stats));
}

HttpReply MethodNotAllowed(const HttpRequestView& request, std::string_view allowed) {
  HttpReply reply = Error(405, fmt::format("method {} is not allowed on {}; use {}", request.method,
                                           request.target, allowed));
  reply.headers.emplace_back("Allow", std::string(allowed));
  return reply;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The 200 answer to an inference: JSON, or JSON then blobs when outputs are
// binary, compressed when the client accepts it and the body is large.
HttpReply InferReply(const core::InferResponse& response, const BinaryOutputSelection& binary,
                     ContentEncoding encoding) {
  EncodedInferResponse encoded = EncodeBinaryInferResponse(response, binary);
  HttpReply reply = Json(200, std::move(encoded.body));
  if (encoded.has_blobs) {
    reply.content_type = "application/octet-stream";
    reply.headers.emplace_back("Inference-Header-Content-Length",
                               std::to_string(encoded.json_size));
  }
  if (encoding != ContentEncoding::kIdentity && reply.body.size() >= kMinCompressedResponseBytes) {
    reply.body = Compress(reply.body, encoding);
    reply.headers.emplace_back("Content-Encoding", std::string(ContentEncodingName(encoding)));
  }
  return reply;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> SplitPath(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string> segments;
  // One allocation for the vector, not one per doubling.
  segments.reserve(static_cast<size_t>(std::count(target.begin(), target.end(), '/')) + 1);
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string_view::npos) end = target.size();
    if (end > start) segments.push_back(PercentDecode(target.substr(start, end - start)));
    start = end + 1;
  }
  return segments;
}

void RestHandler::Handle(const HttpRequestView& request, ReplyCallback done) const {
  if (std::optional<HttpReply> reply = Route(request, done)) {
    done(*std::move(reply));
  }
}

HttpReply RestHandler::HandleForTest(const HttpRequestView& request) const {
  std::promise<HttpReply> promise;
  Handle(request, [&promise](HttpReply reply) { promise.set_value(std::move(reply)); });
  return promise.get_future().get();
}

namespace {

bool IsAdminRoute(const std::vector<std::string>& segments) {
  return segments.empty() || (segments.size() == 1 && segments[0] == "metrics") ||
         (segments.size() >= 2 && segments[0] == "v2" && segments[1] == "repository");
}

// A segment no route has, which a client can only mean as a path trick:
// dot segments (kept literal, never resolved) and, once decoded, a '/' or NUL.
bool HasOddSegment(const std::vector<std::string>& segments) {
  for (const std::string& segment : segments) {
    if (segment == "." || segment == ".." ||
        segment.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// The request's path without its query, as the client sent it (not decoded).
std::string PathOf(std::string_view target) {
  return std::string(target.substr(0, target.find('?')));
}

bool IsHealthRoute(const std::vector<std::string>& segments) {
  return segments.size() == 3 && segments[0] == "v2" && segments[1] == "health";
}

}  // namespace

std::optional<HttpReply> RestHandler::Admit(const HttpRequestView& request,
                                            const std::vector<std::string>& segments,
                                            Caller& caller) const {
  const bool admin = IsAdminRoute(segments);
  if ((options_.listener == RestListener::kPublic && admin) ||
      (options_.listener == RestListener::kAdmin && !admin && !IsHealthRoute(segments))) {
    return Error(404, fmt::format("no such endpoint on this port: {}; /metrics, the status page "
                                  "and /v2/repository are on the admin port, the rest on the "
                                  "main port",
                                  request.target));
  }
  if (options_.guard == nullptr) return std::nullopt;
  const auth::RouteAccess access = auth::RestRouteAccess(segments);
  if (access.open) return std::nullopt;
  const auth::AuthDecision decision =
      options_.guard->Authorize(request.authorization, access.scope, access.model);
  if (decision.allowed()) {
    caller = {decision.tenant, decision.key_id};
    return std::nullopt;
  }
  HttpReply reply = Error(decision.http_status(), decision.message);
  if (decision.http_status() == 401) {
    reply.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="strata")");
  }
  return reply;
}

HttpReply RestHandler::Metrics() const {
  std::vector<prometheus::MetricFamily> families = core_.CollectMetrics();
  if (options_.guard != nullptr) {
    std::vector<prometheus::MetricFamily> access = options_.guard->Collect();
    families.insert(families.end(), std::make_move_iterator(access.begin()),
                    std::make_move_iterator(access.end()));
  }
  if (options_.rollouts != nullptr) {
    std::vector<prometheus::MetricFamily> rollouts = options_.rollouts->CollectMetrics();
    families.insert(families.end(), std::make_move_iterator(rollouts.begin()),
                    std::make_move_iterator(rollouts.end()));
  }
  if (options_.payload_log != nullptr) {
    std::vector<prometheus::MetricFamily> payload = options_.payload_log->Collect();
    families.insert(families.end(), std::make_move_iterator(payload.begin()),
                    std::make_move_iterator(payload.end()));
  }
  return HttpReply{200,
                   prometheus::TextSerializer().Serialize(families),
                   "text/plain; version=0.0.4; charset=utf-8",
                   {}};
}

std::optional<HttpReply> RestHandler::Route(const HttpRequestView& request,
                                            ReplyCallback& done) const {
  const std::vector<std::string> segments = SplitPath(request.target);
  if (HasOddSegment(segments)) {
    return Error(400, fmt::format("{}: no route has a '.' or '..' segment, or a '/' or NUL "
                                  "encoded in a segment",
                                  PathOf(request.target)));
  }
  Caller caller;
  if (std::optional<HttpReply> refusal = Admit(request, segments, caller)) return refusal;
  if (segments.size() == 1 && segments[0] == "metrics") {
    if (request.method != "GET") return MethodNotAllowed(request, "GET");
    return Metrics();
  }
  if (segments.empty() && request.target.substr(0, request.target.find('?')) == "/") {
    if (request.method != "GET") return MethodNotAllowed(request, "GET");
    return HttpReply{200,
                     RenderStatusPage(core_, options_.rollouts, options_.experiments),
                     "text/html; charset=utf-8",
                     {}};
  }
  if (segments.empty() || segments[0] != "v2") {
    return Error(404, fmt::format("no such endpoint: {}; the API lives under /v2", request.target));
  }
  if (segments.size() == 1) {
    if (request.method != "GET") return MethodNotAllowed(request, "GET");
    return Json(200, EncodeServerMetadata(core_.name(), core_.version(), core_.extensions()));
  }
  if (segments[1] == "health" && segments.size() == 3) {
    if (request.method != "GET") return MethodNotAllowed(request, "GET");
    if (segments[2] == "live") return Json(200, R"({"live":true})");
    if (segments[2] == "ready") {
      const std::string not_ready = core_.NotReadyReason();
      return not_ready.empty() ? Json(200, R"({"ready":true})")
                               : Json(503, EncodeServerNotReady(not_ready));
    }
  }
  if (segments[1] == "repository") return AuditedControlRoute(request, segments, done);
  if (segments[1] == "advisor") return AdvisorRoute(request, segments);
  if (segments[1] == "models" && segments.size() == 3 && segments[2] == "stats") {
    if (request.method != "GET") return MethodNotAllowed(request, "GET");
    return Statistics(core_, "", "");
  }
  if (segments[1] == "models" && segments.size() >= 3) {
    return ModelRoute(request, segments, caller, done);
  }
  return Error(404, fmt::format("no such endpoint: {}", request.target));
}

namespace {

// The value of query parameter `name` in `target` ("" when absent).
std::string QueryParameter(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

}  // namespace

HttpReply RestHandler::AdvisorRoute(const HttpRequestView& request,
                                    const std::vector<std::string>& segments) const {
  // v2/advisor, v2/advisor/{endpoint}[?top=N], v2/advisor/{endpoint}/snapshot
  if (request.method != "GET") return MethodNotAllowed(request, "GET");
  if (segments.size() == 2) {
    std::vector<advisor::WorkloadSnapshot> snapshots;
    std::vector<advisor::WorkloadStats> stats;
    for (const std::string& name : core_.WorkloadEndpoints()) {
      absl::StatusOr<advisor::WorkloadSnapshot> snapshot =
          core_.LiveWorkload(name, /*with_sketch=*/false);
      absl::StatusOr<advisor::WorkloadStats> s = core_.LiveWorkloadStats(name);
      if (!snapshot.ok() || !s.ok()) continue;
      snapshots.push_back(*std::move(snapshot));
      stats.push_back(*std::move(s));
    }
    std::vector<LiveWorkloadView> views;
    for (size_t i = 0; i < snapshots.size(); ++i) {
      views.push_back({.snapshot = &snapshots[i],
                       .stats = &stats[i],
                       .sketch_bytes = core_.WorkloadSketchBytes(snapshots[i].endpoint)});
    }
    return Json(200, EncodeLiveWorkloadIndex(views));
  }
  const bool binary = segments.size() == 4 && segments[3] == "snapshot";
  if (segments.size() != 3 && !binary) {
    return Error(404, fmt::format("no such endpoint: {}; use /v2/advisor, "
                                  "/v2/advisor/{{endpoint}} or /v2/advisor/{{endpoint}}/snapshot",
                                  request.target));
  }
  const std::string& name = segments[2];
  // Only the binary form carries the sketch itself; the JSON view reads its
  // (cached) statistics.
  absl::StatusOr<advisor::WorkloadSnapshot> snapshot = core_.LiveWorkload(name, binary);
  if (!snapshot.ok()) return FromStatus(snapshot.status());
  if (binary) return {200, snapshot->Encode(), "application/octet-stream", {}};
  size_t top = 20;
  if (const std::string t = QueryParameter(request.target, "top"); !t.empty()) {
    char* end = nullptr;
    const long long n = std::strtoll(t.c_str(), &end, 10);
    if (end == t.c_str() || *end != '\0' || n < 0 || n > 100000) {
      return Error(400, fmt::format("query parameter top={} must be a number of keys from 0 "
                                    "to 100000",
                                    t));
    }
    top = static_cast<size_t>(n);
  }
  absl::StatusOr<advisor::WorkloadStats> stats = core_.LiveWorkloadStats(name);
  if (!stats.ok()) return FromStatus(stats.status());
  return Json(200, EncodeLiveWorkload({.snapshot = &*snapshot,
                                       .stats = &*stats,
                                       .sketch_bytes = core_.WorkloadSketchBytes(name)},
                                      top));
}

namespace {

// Takes `done` over, once the body has been checked (a refused body is
// answered through the returned reply, by the caller, with `done`): the
// control operation's message, or its error.
std::function<void(absl::StatusOr<std::string>)> ControlResult(RestHandler::ReplyCallback& done) {
  return [done = std::move(done)](absl::StatusOr<std::string> result) {
    if (!result.ok()) return done(FromStatus(result.status()));
    done(Json(200, EncodeMessage(*result)));
  };
}

HttpReply NoSuchAction(const std::string& action) {
  return Error(404, fmt::format("no such control action '{}'; use load, unload, rollback, "
                                "default or labels",
                                action));
}

}  // namespace

std::optional<HttpReply> RestHandler::AuditedControlRoute(const HttpRequestView& request,
                                                          const std::vector<std::string>& segments,
                                                          ReplyCallback& done) const {
  if (!options_.audit_log) return ControlRoute(request, segments, done);
  auto entry =
      std::make_shared<const AuditEntry>(DescribeControlCall(segments, request.remote_address));
  ReplyCallback audited = [audit = options_.audit_log, entry, done](HttpReply reply) {
    audit->Record(*entry, reply.status, reply.body);
    done(std::move(reply));
  };
  std::optional<HttpReply> reply = ControlRoute(request, segments, audited);
  if (reply) options_.audit_log->Record(*entry, reply->status, reply->body);
  return reply;
}

std::optional<HttpReply> RestHandler::ControlRoute(const HttpRequestView& request,
                                                   const std::vector<std::string>& segments,
                                                   ReplyCallback& done) const {
  // v2/repository/index, v2/repository/models/{m}/{load|unload|rollback|default|labels},
  // v2/repository/tables/index, v2/repository/tables/{t}/{the same actions}
  if (!options_.control_api) {
    return Error(403,
                 "the model control API is disabled; start strata serve with "
                 "--control-api to enable /v2/repository/...");
  }
  if (segments.size() >= 3 && segments[2] == "endpoints") return RolloutRoute(request, segments);
  if (request.method != "POST") return MethodNotAllowed(request, "POST");
  if (segments.size() >= 4 && segments[2] == "tables") {
    return TableControlRoute(request, segments, done);
  }
  serving::ModelControl& control = core_.model_control();
  if (segments.size() == 3 && segments[2] == "index") {
    absl::StatusOr<bool> ready_only = DecodeIndexRequest(request.body);
    if (!ready_only.ok()) return FromStatus(ready_only.status());
    control.SyncNow();
    return Json(200, EncodeIndex(control.Index(), *ready_only));
  }
  if (segments.size() != 5 || segments[2] != "models") {
    return Error(404, fmt::format("no such endpoint: {}", request.target));
  }
  std::string model = segments[3];
  const std::string& action = segments[4];
  if (absl::Status name = CheckControlName(model); !name.ok()) return FromStatus(name);
  if (action == "load" || action == "unload") {
    const bool load = action == "load";
    absl::Status body = CheckRepositoryBody(
        load ? RepositoryAction::kLoad : RepositoryAction::kUnload, request.body);
    if (!body.ok()) return FromStatus(body);
    (control.*(load ? &serving::ModelControl::Load : &serving::ModelControl::Unload))(
        std::move(model), ControlResult(done));
  } else if (action == "rollback") {
    control.Rollback(std::move(model), ControlResult(done));
  } else if (action == "default") {
    absl::StatusOr<int64_t> version = DecodeVersionBody(request.body);
    if (!version.ok()) return FromStatus(version.status());
    control.SetDefault(std::move(model), *version, ControlResult(done));
  } else if (action == "labels") {
    absl::StatusOr<LabelBody> label = DecodeLabelBody(request.body);
    if (!label.ok()) return FromStatus(label.status());
    control.SetLabel(std::move(model), label->label, label->version, ControlResult(done));
  } else {
    return NoSuchAction(action);
  }
  return std::nullopt;
}

HttpReply RestHandler::RolloutRoute(const HttpRequestView& request,
                                    const std::vector<std::string>& segments) const {
  if (options_.rollouts == nullptr) {
    return Error(404, "this server has no rollouts: it serves no split endpoint");
  }
  RolloutAnswer answer =
      AnswerRolloutRoute(*options_.rollouts, request.method, segments, request.body);
  return Json(answer.status, std::move(answer.body));
}

std::optional<HttpReply> RestHandler::TableControlRoute(const HttpRequestView& request,
                                                        const std::vector<std::string>& segments,
                                                        ReplyCallback& done) const {
  serving::TableControl& control = core_.table_control();
  if (segments.size() == 4 && segments[3] == "index") {
    absl::StatusOr<bool> ready_only = DecodeIndexRequest(request.body);
    if (!ready_only.ok()) return FromStatus(ready_only.status());
    return Json(200, EncodeTableIndex(control.Index(), *ready_only));
  }
  if (segments.size() != 5) return Error(404, fmt::format("no such endpoint: {}", request.target));
  std::string table = segments[3];
  const std::string& action = segments[4];
  if (absl::Status name = CheckControlName(table); !name.ok()) return FromStatus(name);
  if (action == "load" || action == "unload") {
    const bool load = action == "load";
    absl::Status body = CheckRepositoryBody(
        load ? RepositoryAction::kLoad : RepositoryAction::kUnload, request.body);
    if (!body.ok()) return FromStatus(body);
    (control.*(load ? &serving::TableControl::Load : &serving::TableControl::Unload))(
        std::move(table), ControlResult(done));
  } else if (action == "rollback") {
    control.Rollback(std::move(table), ControlResult(done));
  } else if (action == "default") {
    absl::StatusOr<int64_t> version = DecodeVersionBody(request.body);
    if (!version.ok()) return FromStatus(version.status());
    control.SetDefault(std::move(table), *version, ControlResult(done));
  } else if (action == "labels") {
    absl::StatusOr<LabelBody> label = DecodeLabelBody(request.body);
    if (!label.ok()) return FromStatus(label.status());
    control.SetLabel(std::move(table), label->label, label->version, ControlResult(done));
  } else {
    return NoSuchAction(action);
  }
  return std::nullopt;
}

std::optional<HttpReply> RestHandler::ModelRoute(const HttpRequestView& request,
                                                 const std::vector<std::string>& segments,
                                                 const Caller& caller, ReplyCallback& done) const {
  // v2/models/{m}[/versions/{v}][/ready|/infer|/config]; read as the access
  // check reads it (auth::ParseModelPath).
  auth::ModelPath path = auth::ParseModelPath(segments);
  std::string& model = path.model;
  std::string& version = path.version;
  const std::string_view action = path.action;
  if (!path.valid) {
    return Error(404, fmt::format("no such endpoint: {}", request.target));
  }
  if (action == "infer") {
    if (request.method != "POST") return MethodNotAllowed(request, "POST");
    return Infer(request, std::move(model), std::move(version), caller, done);
  }
  if (action == "feedback") {
    if (request.method != "POST") return MethodNotAllowed(request, "POST");
    return FeedbackReply(options_.experiments, model, request.body);
  }
  if (request.method != "GET") return MethodNotAllowed(request, "GET");
  if (action == "stats") return Statistics(core_, model, version);
  if (action == "experiment") return ExperimentReply(options_.experiments, model);
  if (action != "" && action != "ready" && action != "config") {
    return Error(404, fmt::format("no such endpoint: {}", request.target));
  }
  auto described = core_.Describe(model, version);
  if (!described.ok()) return FromStatus(described.status());
  if (const auto* d = std::get_if<serving::EndpointDescription>(&*described)) {
    if (action == "ready") return Json(d->ready ? 200 : 503, EncodeEndpointReady(*d));
    if (action == "config") {
      return Error(404, fmt::format("'{}' is a {} endpoint, not a model; it has no model "
                                    "configuration",
                                    model, serving::PlanName(d->plan)));
    }
    return Json(200, EncodeEndpointMetadata(*d));
  }
  const serving::ServedModel& served =
      *std::get<std::shared_ptr<const serving::ServedModel>>(*described);
  if (action == "config") {
    inference::ModelConfig config;
    EncodeModelConfig(served, config);
    return Json(200, ModelConfigToJson(config));
  }
  if (action == "ready") return Json(served.ready() ? 200 : 503, EncodeModelReady(served));
  return Json(200, EncodeModelMetadata(served));
}

std::optional<HttpReply> RestHandler::Infer(const HttpRequestView& request, std::string model,
                                            std::string version, const Caller& caller,
                                            ReplyCallback& done) const {
  absl::StatusOr<ContentEncoding> encoding = ParseContentEncoding(request.content_encoding);
  if (!encoding.ok()) return Error(415, std::string(encoding.status().message()));
  std::string inflated;
  std::string_view body = request.body;
  if (*encoding != ContentEncoding::kIdentity) {
    absl::StatusOr<std::string> decompressed =
        Decompress(body, *encoding, request.max_body_bytes, request.body_reservation);
    if (!decompressed.ok()) {
      if (decompressed.status().code() == absl::StatusCode::kUnavailable) {
        return FromStatus(decompressed.status());  // 503, Retry-After: the body budget
      }
      const bool too_large = decompressed.status().code() == absl::StatusCode::kResourceExhausted;
      return Error(too_large ? 413 : 400, std::string(decompressed.status().message()));
    }
    inflated = *std::move(decompressed);
    body = inflated;
  }
  absl::StatusOr<core::InferRequest> decoded =
      request.inference_header_size.empty()
          ? DecodeInferRequest(body)
          : DecodeBinaryInferRequest(body, request.inference_header_size);
  if (!decoded.ok()) return FromStatus(decoded.status());
  decoded->model_name = std::move(model);
  decoded->model_version = std::move(version);
  for (const auto& [name, value] : request.app_headers) {
    std::string lower(name);
    absl::AsciiStrToLower(&lower);
    decoded->headers.emplace_back(std::move(lower), std::string(value));
  }
  RateCharge charge;
  if (options_.guard != nullptr && !caller.tenant.empty()) {
    charge = options_.guard->Charge(caller, RequestRows(*decoded));
    if (!charge.admitted) {
      HttpReply refused = Error(429, charge.message);
      refused.headers = charge.Headers();
      return refused;
    }
  }
  const BinaryOutputSelection binary = BinaryOutputSelection::Of(*decoded);
  const ContentEncoding reply_encoding = NegotiateEncoding(request.accept_encoding);
  const bool has_id = decoded->has_id;  // echoed even when empty, whoever answers
  std::optional<PendingPayload> payload =
      options_.payload_log ? options_.payload_log->Sample(*decoded) : std::nullopt;
  core_.InferAsync(
      *std::move(decoded),
      [done = std::move(done), binary, reply_encoding, has_id, limit_headers = charge.Headers(),
       payload_log = options_.payload_log,
       payload = std::move(payload)](absl::StatusOr<core::InferResponse> response) {
        if (!response.ok()) return done(FromStatus(response.status()));
        if (payload) payload_log->Record(*payload, *response);
        response->has_id = response->has_id || has_id;
        HttpReply reply = InferReply(*response, binary, reply_encoding);
        core::RecycleTensorData(response->outputs);  // encoded: the next run's outputs take them
        reply.headers.insert(reply.headers.end(), limit_headers.begin(), limit_headers.end());
        reply.model_name = response->model_name;
        reply.model_version = response->model_version;
        auto arm = response->parameters.find("arm");
        if (arm != response->parameters.end() && std::holds_alternative<std::string>(arm->second)) {
          reply.arm = std::get<std::string>(arm->second);
          reply.headers.emplace_back("x-strata-arm", reply.arm);
        }
        done(std::move(reply));
      });
  return std::nullopt;
}

}  // namespace strata::api
