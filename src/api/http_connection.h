// A keep-alive HTTP/1.1 client connection to one server, for tools that send
// many requests (`strata check`): any method, headers and body, a per-request
// timeout, and one reconnect when the server closed an idle connection.
// Not thread-safe: one connection per thread.
#ifndef STRATA_API_HTTP_CONNECTION_H_
#define STRATA_API_HTTP_CONNECTION_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "api/http_client.h"

namespace strata::api {

struct HttpClientRequest {
  std::string method = "GET";
  std::string target;  // "/v2/health/ready"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class HttpConnection {
 public:
  // `url` is "http://HOST:PORT". Nothing is connected until the first Send.
  static absl::StatusOr<std::unique_ptr<HttpConnection>> Create(std::string_view url,
                                                                std::chrono::milliseconds timeout);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Error when the server cannot be reached or does not answer in time.
  absl::StatusOr<HttpResponse> Send(const HttpClientRequest& request);

  struct State;  // opaque: the socket and its buffer

 private:
  explicit HttpConnection(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace strata::api

#endif  // STRATA_API_HTTP_CONNECTION_H_
