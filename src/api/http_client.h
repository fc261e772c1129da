// A minimal blocking HTTP/1.1 client for strata's own command-line tools
// (e.g. `strata model rollback`) to call a running server. One request per
// connection. Thread-safe (no shared state).
#ifndef STRATA_API_HTTP_CLIENT_H_
#define STRATA_API_HTTP_CLIENT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace strata::api {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// `url` is "http://HOST:PORT" (a trailing slash is allowed); `target` the
// path. Error when the server cannot be reached.
absl::StatusOr<HttpResponse> HttpRequest(std::string_view method, std::string_view url,
                                         std::string_view target, std::string_view body);

}  // namespace strata::api

#endif  // STRATA_API_HTTP_CLIENT_H_
