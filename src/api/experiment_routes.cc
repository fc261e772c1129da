#include "api/experiment_routes.h"

#include <vector>

#include "api/experiment_json.h"
#include "api/http_status.h"
#include "api/kserve_json_codec.h"
#include "fmt/format.h"

namespace strata::api {
namespace {

constexpr size_t kErrorsShown = 10;

HttpReply Reply(int status, std::string body) {
  return HttpReply{.status = status, .body = std::move(body), .headers = {}};
}

}  // namespace

HttpReply FeedbackReply(const serving::Experiments* experiments, const std::string& endpoint,
                        std::string_view body) {
  if (experiments == nullptr || !experiments->HasFeedback(endpoint)) {
    return Reply(
        404,
        EncodeError(fmt::format(
            "endpoint '{}' does not take feedback (endpoints file: feedback: {{...}})", endpoint)));
  }
  absl::StatusOr<FeedbackBody> decoded = DecodeFeedback(body);
  if (!decoded.ok()) return Reply(400, EncodeError(std::string(decoded.status().message())));
  size_t joined = 0;
  std::vector<std::string> errors;
  for (const serving::Feedback& item : decoded->items) {
    absl::Status s = experiments->Join(endpoint, item);
    if (s.ok()) {
      ++joined;
    } else if (errors.size() < kErrorsShown || !decoded->list) {
      errors.emplace_back(s.message());
    }
  }
  const size_t unmatched = decoded->items.size() - joined;
  if (!decoded->list && unmatched > 0) return Reply(404, EncodeError(errors.front()));
  return Reply(200, EncodeFeedbackCounts(joined, unmatched, errors));
}

HttpReply ExperimentReply(const serving::Experiments* experiments, const std::string& endpoint) {
  if (experiments == nullptr) {
    return Reply(404,
                 EncodeError(fmt::format(
                     "endpoint '{}' has no experiment: neither feedback nor a shadow", endpoint)));
  }
  absl::StatusOr<serving::ExperimentReport> report = experiments->Report(endpoint);
  if (!report.ok())
    return Reply(HttpStatusFromCode(report.status().code()),
                 EncodeError(std::string(report.status().message())));
  return Reply(200, EncodeExperimentReport(*report));
}

}  // namespace strata::api
