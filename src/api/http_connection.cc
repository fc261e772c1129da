#include "api/http_connection.h"

#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "fmt/format.h"

namespace strata::api {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

struct HttpConnection::State {
  std::string url;
  std::string host;
  std::string port;
  std::chrono::milliseconds timeout{0};
  boost::asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;
};

namespace {

// The body limit of a response: a check reads model answers, not files.
constexpr uint64_t kMaxResponseBytes = 64 << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<HttpConnection>> HttpConnection::Create(
    std::string_view url, std::chrono::milliseconds timeout) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = url;
  if (!rest.starts_with(kScheme)) {
    return absl::InvalidArgumentError(
        fmt::format("server URL '{}' must look like http://127.0.0.1:8000", url));
  }
  rest.remove_prefix(kScheme.size());
  while (rest.ends_with('/')) rest.remove_suffix(1);
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
    return absl::InvalidArgumentError(
        fmt::format("server URL '{}' needs a host and a port, e.g. http://127.0.0.1:8000", url));
  }
  auto state = std::make_unique<State>();
  state->url = std::string(url);
  state->host = std::string(rest.substr(0, colon));
  state->port = std::string(rest.substr(colon + 1));
  state->timeout = timeout;
  return std::unique_ptr<HttpConnection>(new HttpConnection(std::move(state)));
}

HttpConnection::HttpConnection(std::unique_ptr<State> state) : state_(std::move(state)) {}

HttpConnection::~HttpConnection() {
  beast::error_code ec;
  if (state_->connected) state_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

namespace {

beast::error_code Connect(HttpConnection::State& s) {
  beast::error_code ec;
  s.stream.close();
  s.buffer.clear();
  tcp::resolver resolver(s.ioc);
  const auto addresses = resolver.resolve(s.host, s.port, ec);
  if (ec) return ec;
  s.stream.expires_after(s.timeout);
  s.stream.connect(addresses, ec);
  s.connected = !ec;
  return ec;
}

// One exchange on the open connection; `ec` says why it failed.
HttpResponse Exchange(HttpConnection::State& s, const HttpClientRequest& r, beast::error_code& ec) {
  http::request<http::string_body> request{http::string_to_verb(r.method), r.target, 11};
  request.set(http::field::host, s.host);
  request.keep_alive(true);
  for (const auto& [name, value] : r.headers) request.set(name, value);
  request.body() = r.body;
  request.prepare_payload();
  s.stream.expires_after(s.timeout);
  http::write(s.stream, request, ec);
  if (ec) return {};
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  http::read(s.stream, s.buffer, parser, ec);
  if (ec) return {};
  if (!parser.get().keep_alive()) s.connected = false;
  return HttpResponse{static_cast<int>(parser.get().result_int()), std::move(parser.get().body())};
}

}  // namespace

absl::StatusOr<HttpResponse> HttpConnection::Send(const HttpClientRequest& request) {
  State& s = *state_;
  beast::error_code ec;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = !s.connected;
    if (fresh && (ec = Connect(s))) {
      return absl::UnavailableError(
          fmt::format("cannot reach {}: {} (is it running?)", s.url, ec.message()));
    }
    HttpResponse response = Exchange(s, request, ec);
    if (!ec) return response;
    s.connected = false;
    // A reused connection the server closed while idle is retried once on a
    // new one; a fresh connection's failure is the answer.
    if (fresh || ec == beast::error::timeout) break;
  }
  return absl::UnavailableError(
      fmt::format("request to {}{} failed: {}", s.url, request.target, ec.message()));
}

}  // namespace strata::api
