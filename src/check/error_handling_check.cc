#include "check/checks.h"
#include "check/malformed_requests.h"
#include "fmt/format.h"

namespace strata::check {

CheckResult RunErrorHandlingCheck(KserveClient& client, const CheckInputs& inputs) {
  CheckResult result;
  result.kind = CheckKind::kErrorHandling;
  const std::vector<MalformedRequest> set = MalformedRequests(inputs.samples.samples[0].inputs);
  std::vector<std::string> wrong;
  double refused = 0;
  for (const MalformedRequest& m : set) {
    absl::StatusOr<api::HttpResponse> r = client.Infer(m.body, m.headers);
    if (r.ok() && r->status >= 400 && r->status < 500) {
      ++refused;
    } else {
      wrong.push_back(r.ok() ? fmt::format("{} got {}", m.name, r->status)
                             : fmt::format("{}: {}", m.name, std::string(r.status().message())));
    }
  }
  const absl::Status ready = client.CheckReady();
  result.figures = {{"requests", static_cast<double>(set.size())}, {"refused_4xx", refused}};
  if (!wrong.empty() || !ready.ok()) {
    result.status = CheckStatus::kFail;
    result.reason =
        fmt::format("{}{}{}", fmt::join(wrong, "; "), wrong.empty() || ready.ok() ? "" : "; ",
                    ready.ok() ? "" : "not ready afterwards: " + ready.ToString());
    return result;
  }
  result.status = CheckStatus::kPass;
  result.reason = fmt::format("{} malformed requests refused with 4xx; still ready", set.size());
  return result;
}

}  // namespace strata::check
