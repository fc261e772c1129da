// The JSON of feedback and experiment reports, as pure codecs:
//
//   POST /v2/models/{endpoint}/feedback
//     {"id": "r1", "label": 1}                 one outcome (or "reward": 0.3;
//     {"id": "r1", "row": 2, "label": 0}       "row": one row of the prediction)
//     {"feedback": [{...}, {...}]}             many (at most kMaxFeedbackItems)
//
//   GET /v2/models/{endpoint}/experiment        ExperimentReport: per arm and
//     version the sums and figures, per shadow pair the agreement.
//
// DecodeExperimentReport reads the report back (the CLI's
// `strata experiment report`). Thread-safe.
#ifndef STRATA_API_EXPERIMENT_JSON_H_
#define STRATA_API_EXPERIMENT_JSON_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "serving/experiment/experiments.h"

namespace strata::api {

inline constexpr size_t kMaxFeedbackItems = 10000;

struct FeedbackBody {
  std::vector<serving::Feedback> items = {};
  bool list = false;  // the {"feedback": [...]} form
};

// INVALID_ARGUMENT for malformed JSON, an item without a string id, with
// both or neither of label and reward, a non-numeric label or reward, a
// negative row, or too many items.
absl::StatusOr<FeedbackBody> DecodeFeedback(std::string_view body);

// {"joined": n, "unmatched": m, "errors": [the first few messages]}.
std::string EncodeFeedbackCounts(size_t joined, size_t unmatched,
                                 const std::vector<std::string>& errors);

std::string EncodeExperimentReport(const serving::ExperimentReport& report);

// The report's feedback part, as the CLI reads it back.
struct ExperimentFigures {
  std::string endpoint = {};
  serving::FeedbackTask task = serving::FeedbackTask::kClassification;
  uint64_t joined = 0;
  uint64_t unmatched = 0;
  std::vector<serving::ArmFigures> arms = {};
};
absl::StatusOr<ExperimentFigures> DecodeExperimentReport(std::string_view json);

}  // namespace strata::api

#endif  // STRATA_API_EXPERIMENT_JSON_H_
