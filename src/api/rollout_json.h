// The rollout control routes' JSON (docs/serving.md: Rollouts):
//
//   POST v2/repository/endpoints/{E}/rollout/start
//        {"candidate": "m@2", "steps": "5:60s:200,100", "gates": ["error", "latency:2"],
//         "load_timeout": "60s"}                      (only candidate is required)
//   GET|POST v2/repository/endpoints/{E}/rollout[/status]
//   POST v2/repository/endpoints/{E}/rollout/{pause|resume|abort|promote}
//
// each answered with the rollout's view. A pure codec and router over a
// RolloutControl: HTTP status numbers and JSON text, no sockets. Thread-safe.
#ifndef STRATA_API_ROLLOUT_JSON_H_
#define STRATA_API_ROLLOUT_JSON_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "serving/rollout/rollout_control.h"

namespace strata::api {

// The start body of endpoint `endpoint`.
absl::StatusOr<serving::RolloutRequest> DecodeRolloutRequest(std::string_view body,
                                                             std::string endpoint);
std::string EncodeRolloutView(const serving::RolloutView& view);

struct RolloutAnswer {
  int status = 200;
  std::string body;  // JSON
};

// Answers a route whose segments start v2/repository/endpoints.
RolloutAnswer AnswerRolloutRoute(serving::RolloutControl& rollouts, std::string_view method,
                                 const std::vector<std::string>& segments, std::string_view body);

}  // namespace strata::api

#endif  // STRATA_API_ROLLOUT_JSON_H_
