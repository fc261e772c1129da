#include "check/kserve_client.h"

#include "fmt/format.h"

namespace strata::check {

absl::StatusOr<std::unique_ptr<KserveClient>> KserveClient::Create(
    const CheckTarget& target, std::chrono::milliseconds timeout) {
  absl::StatusOr<std::unique_ptr<api::HttpConnection>> connection =
      api::HttpConnection::Create(target.url, timeout);
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<KserveClient>(new KserveClient(target, *std::move(connection)));
}

KserveClient::KserveClient(CheckTarget target, std::unique_ptr<api::HttpConnection> connection)
    : target_(std::move(target)), connection_(std::move(connection)) {}

std::string KserveClient::ModelPath() const {
  std::string path = "/v2/models/" + target_.model;
  if (!target_.version.empty()) path += "/versions/" + target_.version;
  return path;
}

absl::StatusOr<api::HttpResponse> KserveClient::Send(api::HttpClientRequest request) {
  if (!target_.bearer_token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + target_.bearer_token);
  }
  return connection_->Send(request);
}

absl::StatusOr<api::HttpResponse> KserveClient::Infer(
    std::string body, std::vector<std::pair<std::string, std::string>> headers) {
  return Send(api::HttpClientRequest{.method = "POST",
                                     .target = ModelPath() + "/infer",
                                     .headers = std::move(headers),
                                     .body = std::move(body)});
}

absl::StatusOr<api::HttpResponse> KserveClient::Get(std::string target) {
  api::HttpClientRequest request;
  request.target = std::move(target);
  return Send(std::move(request));
}

absl::Status KserveClient::CheckReady() {
  for (const std::string& route : {std::string("/v2/health/ready"), ModelPath() + "/ready"}) {
    absl::StatusOr<api::HttpResponse> r = Get(route);
    if (!r.ok()) return r.status();
    if (r->status != 200) {
      return absl::UnavailableError(fmt::format("{} answered {}", route, r->status));
    }
  }
  return absl::OkStatus();
}

}  // namespace strata::check
