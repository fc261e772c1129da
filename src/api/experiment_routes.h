// The REST routes of experiments, beside the model routes:
//
//   POST /v2/models/{endpoint}/feedback    outcomes joined to predictions
//   GET  /v2/models/{endpoint}/experiment  the ExperimentReport as JSON
//
// One outcome answers 200 {"joined": 1, ...} or 404 {"error": ...} when its
// id is unknown or expired; the list form answers 200 with the counts of
// joined and unmatched items (and the first few reasons). 400 for a
// malformed body, 404 for an endpoint without feedback. Thread-safe.
#ifndef STRATA_API_EXPERIMENT_ROUTES_H_
#define STRATA_API_EXPERIMENT_ROUTES_H_

#include <string>
#include <string_view>

#include "api/rest_handler.h"
#include "serving/experiment/experiments.h"

namespace strata::api {

// `experiments` may be null: no endpoint takes feedback.
HttpReply FeedbackReply(const serving::Experiments* experiments, const std::string& endpoint,
                        std::string_view body);
HttpReply ExperimentReply(const serving::Experiments* experiments, const std::string& endpoint);

}  // namespace strata::api

#endif  // STRATA_API_EXPERIMENT_ROUTES_H_
