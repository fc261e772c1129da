#include "api/rest_handler.h"

#include <future>

#include "api/http_status.h"
#include "api/kserve_json_codec.h"
#include "fmt/format.h"

namespace strata::api {
namespace {

HttpReply Json(int status, std::string body) {
  return {status, std::move(body), "application/json", {}};
}

HttpReply Error(int status, std::string_view message) {
  return Json(status, EncodeError(message));
}

HttpReply FromStatus(const absl::Status& status) {
  return Error(HttpStatusFromCode(status.code()), std::string(status.message()));
}

HttpReply MethodNotAllowed(const HttpRequestView& request, std::string_view allowed) {
  HttpReply reply = Error(405, fmt::format("method {} is not allowed on {}; use {}",
                                           request.method, request.target, allowed));
  reply.headers.emplace_back("Allow", std::string(allowed));
  return reply;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
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
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string_view::npos) end = target.size();
    if (end > start) segments.push_back(PercentDecode(target.substr(start, end - start)));
    start = end + 1;
  }
  return segments;
}

void RestHandler::Handle(const HttpRequestView& request,
                         ReplyCallback done) const {
  if (std::optional<HttpReply> reply = Route(request, done)) {
    done(*std::move(reply));
  }
}

HttpReply RestHandler::HandleForTest(const HttpRequestView& request) const {
  std::promise<HttpReply> promise;
  Handle(request, [&promise](HttpReply reply) { promise.set_value(std::move(reply)); });
  return promise.get_future().get();
}

std::optional<HttpReply> RestHandler::Route(const HttpRequestView& request,
                                            ReplyCallback& done) const {
  const std::vector<std::string> segments = SplitPath(request.target);
  if (segments.empty() || segments[0] != "v2") {
    return Error(404, fmt::format("no such endpoint: {}; the API lives under /v2",
                                  request.target));
  }
  if (segments.size() == 1) {
    if (request.method != "GET") return MethodNotAllowed(request, "GET");
    return Json(200, EncodeServerMetadata(core_.name(), core_.version(),
                                          core_.extensions()));
  }
  if (segments[1] == "health" && segments.size() == 3) {
    if (request.method != "GET") return MethodNotAllowed(request, "GET");
    if (segments[2] == "live") return Json(200, R"({"live":true})");
    if (segments[2] == "ready") {
      return core_.Ready() ? Json(200, R"({"ready":true})")
                           : Json(503, R"({"ready":false})");
    }
  }
  if (segments[1] == "models" && segments.size() >= 3) {
    return ModelRoute(request, segments, done);
  }
  return Error(404, fmt::format("no such endpoint: {}", request.target));
}

std::optional<HttpReply> RestHandler::ModelRoute(
    const HttpRequestView& request, const std::vector<std::string>& segments,
    ReplyCallback& done) const {
  // v2/models/{m}[/versions/{v}][/ready|/infer]
  std::string model = segments[2];
  std::string version;
  size_t next = 3;
  if (segments.size() >= 5 && segments[3] == "versions") {
    version = segments[4];
    next = 5;
  }
  const std::string_view action = next < segments.size() ? std::string_view(segments[next]) : "";
  if (next + (action.empty() ? 0 : 1) != segments.size()) {
    return Error(404, fmt::format("no such endpoint: {}", request.target));
  }
  if (action == "infer") {
    if (request.method != "POST") return MethodNotAllowed(request, "POST");
    return Infer(request, std::move(model), std::move(version), done);
  }
  if (request.method != "GET") return MethodNotAllowed(request, "GET");
  if (action != "" && action != "ready") {
    return Error(404, fmt::format("no such endpoint: {}", request.target));
  }
  absl::StatusOr<const serving::ServedModel*> found = core_.FindModel(model, version);
  if (!found.ok()) return FromStatus(found.status());
  if (action == "ready") {
    return Json((*found)->ready() ? 200 : 503, EncodeModelReady(**found));
  }
  return Json(200, EncodeModelMetadata(**found));
}

std::optional<HttpReply> RestHandler::Infer(const HttpRequestView& request,
                                            std::string model,
                                            std::string version,
                                            ReplyCallback& done) const {
  if (!request.content_encoding.empty() && request.content_encoding != "identity") {
    return Error(415, fmt::format("Content-Encoding '{}' is not supported; send "
                                  "the request body uncompressed",
                                  request.content_encoding));
  }
  if (!request.inference_header_size.empty()) {
    return Error(400,
                 "the binary tensor extension (Inference-Header-Content-Length) "
                 "is not supported yet; send JSON tensors");
  }
  absl::StatusOr<core::InferRequest> decoded = DecodeInferRequest(request.body);
  if (!decoded.ok()) return FromStatus(decoded.status());
  decoded->model_name = std::move(model);
  decoded->model_version = std::move(version);
  core_.InferAsync(*std::move(decoded),
                   [done = std::move(done)](absl::StatusOr<core::InferResponse> response) {
                     if (!response.ok()) return done(FromStatus(response.status()));
                     done(Json(200, EncodeInferResponse(*response)));
                   });
  return std::nullopt;
}

}  // namespace strata::api
