// The calls a check makes to a KServe v2 server over REST: infer (JSON or
// any body), readiness and a plain GET. Adds the bearer token when there is
// one. Not thread-safe: one client per thread (each holds a keep-alive
// connection).
#ifndef STRATA_CHECK_KSERVE_CLIENT_H_
#define STRATA_CHECK_KSERVE_CLIENT_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "api/http_connection.h"
#include "check/check_target.h"

namespace strata::check {

class KserveClient {
 public:
  static absl::StatusOr<std::unique_ptr<KserveClient>> Create(const CheckTarget& target,
                                                              std::chrono::milliseconds timeout);

  // POST to the model version's infer route with these headers.
  absl::StatusOr<api::HttpResponse> Infer(
      std::string body, std::vector<std::pair<std::string, std::string>> headers = {
                            {"Content-Type", "application/json"}});

  absl::StatusOr<api::HttpResponse> Get(std::string target);

  // GET /v2/health/ready and the model version's ready route; OK when both
  // answer 200, else an error that says which did not.
  absl::Status CheckReady();

  // "/v2/models/<model>[/versions/<version>]"
  std::string ModelPath() const;

 private:
  KserveClient(CheckTarget target, std::unique_ptr<api::HttpConnection> connection);
  absl::StatusOr<api::HttpResponse> Send(api::HttpClientRequest request);

  CheckTarget target_;
  std::unique_ptr<api::HttpConnection> connection_;
};

}  // namespace strata::check

#endif  // STRATA_CHECK_KSERVE_CLIENT_H_
