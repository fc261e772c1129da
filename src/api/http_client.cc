#include "api/http_client.h"

#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "fmt/format.h"

namespace strata::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

struct Endpoint {
  std::string host;
  std::string port;
};

absl::StatusOr<Endpoint> ParseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return absl::InvalidArgumentError(
        fmt::format("server URL '{}' must look like http://127.0.0.1:8000", url));
  }
  url.remove_prefix(kScheme.size());
  while (url.ends_with('/')) url.remove_suffix(1);
  const size_t colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == url.size()) {
    return absl::InvalidArgumentError(
        fmt::format("server URL needs a host and a port, e.g. http://127.0.0.1:8000"));
  }
  return Endpoint{std::string(url.substr(0, colon)), std::string(url.substr(colon + 1))};
}

}  // namespace

absl::StatusOr<HttpResponse> HttpRequest(std::string_view method, std::string_view url,
                                         std::string_view target, std::string_view body) {
  absl::StatusOr<Endpoint> endpoint = ParseUrl(url);
  if (!endpoint.ok()) return endpoint.status();
  boost::asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  const auto addresses = resolver.resolve(endpoint->host, endpoint->port, ec);
  if (!ec) stream.connect(addresses, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot reach strata at {}: {} (is it running?)", url, ec.message()));
  }
  http::request<http::string_body> request{http::string_to_verb(std::string(method)),
                                           std::string(target), 11};
  request.set(http::field::host, endpoint->host);
  request.set(http::field::content_type, "application/json");
  request.body() = std::string(body);
  request.prepare_payload();
  http::write(stream, request, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  if (!ec) http::read(stream, buffer, response, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("request to {}{} failed: {}", url, target, ec.message()));
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return HttpResponse{static_cast<int>(response.result_int()), std::move(response.body())};
}

}  // namespace strata::api
