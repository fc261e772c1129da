// Experiments holds, per endpoint with feedback or a shadow, what the
// experiment report and the rollout gate read: the recent predictions by
// request id (PredictionLog), the feedback joined to them per arm and
// version (OutcomeSums, and LossBuckets behind OutcomeWindow), and the
// agreement of each (primary, shadow) pair. The endpoints are declared
// before serving (Add); after that every method is thread-safe, each
// endpoint behind a lock of its own. /metrics gets the same figures once
// AttachMetrics is called (the strata_feedback_* and strata_shadow_*
// families, serving/experiment/experiment_metrics.h).
#ifndef STRATA_SERVING_EXPERIMENT_EXPERIMENTS_H_
#define STRATA_SERVING_EXPERIMENT_EXPERIMENTS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "serving/experiment/agreement.h"
#include "serving/experiment/outcome_sums.h"
#include "serving/experiment/outcome_window.h"
#include "serving/experiment/prediction_log.h"

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

namespace strata::serving {

class ExperimentMetrics;

struct FeedbackOptions {
  PredictionLogOptions log = {};
  FeedbackTask task = FeedbackTask::kClassification;
};

// One outcome for a prediction: a label or a reward (exactly one), for one
// row (`row`) or every row of the prediction.
struct Feedback {
  std::string id = {};
  std::optional<size_t> row = {};
  std::optional<double> label = {};
  std::optional<double> reward = {};
};

struct ArmOutcomes {
  std::string arm = {};  // empty outside a split
  std::string version = {};
  OutcomeSums sums = {};
};

// The score-difference histogram's upper bounds (the last bucket is +Inf).
inline constexpr double kScoreDifferenceBounds[] = {0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0};

struct ShadowPairStats {
  std::string primary = {};  // "arm@version", or the version outside a split
  std::string shadow = {};   // "model@version" ("model@live" for a table's live model)
  uint64_t rows = 0;
  uint64_t disagreeing_rows = 0;
  double score_difference_sum = 0;
  // Rows per bucket of kScoreDifferenceBounds, then the +Inf bucket; not
  // cumulative.
  std::vector<uint64_t> score_difference_buckets =
      std::vector<uint64_t>(std::size(kScoreDifferenceBounds) + 1);
};

// One shadow target's traffic: copies sent, not made (`dropped`, the sum of
// the three reasons after it), failed.
struct ShadowTraffic {
  std::string shadow = {};
  uint64_t requests = 0;
  uint64_t dropped = 0;
  uint64_t queue_full = 0;    // the shadow's queue was full
  uint64_t primary_busy = 0;  // shed: the endpoint had too many requests in flight
  uint64_t over_budget = 0;   // shed: the shadow had used its CPU share
  uint64_t errors = 0;
};

enum class ShadowEvent { kSent, kQueueFull, kPrimaryBusy, kOverBudget, kError };

inline constexpr size_t kShadowEventCount = 5;
static_assert(static_cast<size_t>(ShadowEvent::kError) + 1 == kShadowEventCount);

// The counters of one shadow target's copies, bumped without a lock on the
// request path (Experiments::CountShadow).
struct ShadowCounters {
  std::string endpoint = {};
  std::string shadow = {};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> queue_full{0};
  std::atomic<uint64_t> primary_busy{0};
  std::atomic<uint64_t> over_budget{0};
  std::atomic<uint64_t> errors{0};
  // Each event's /metrics counter, looked up in its family on the event's
  // first count and kept (a family lookup takes the family's mutex).
  std::array<std::atomic<prometheus::Counter*>, kShadowEventCount> metric{};
};

struct ExperimentReport {
  std::string endpoint = {};
  bool feedback = false;  // feedback is enabled
  FeedbackTask task = FeedbackTask::kClassification;
  uint64_t predictions_kept = 0;
  uint64_t feedback_joined = 0;
  uint64_t feedback_unmatched = 0;
  std::vector<ArmOutcomes> arms = {};
  std::vector<ShadowTraffic> shadow_traffic = {};
  std::vector<ShadowPairStats> shadows = {};
};

class Experiments : public OutcomeWindow {
 public:
  Experiments();
  ~Experiments() override;
  Experiments(const Experiments&) = delete;
  Experiments& operator=(const Experiments&) = delete;

  // Declares `endpoint`, with feedback when `feedback` is set. REQUIRES:
  // called before serving; a second Add of a name turns feedback on.
  void Add(const std::string& endpoint, std::optional<FeedbackOptions> feedback);
  // Registers the /metrics families in `registry` (the first call only).
  void AttachMetrics(prometheus::Registry& registry);

  bool HasFeedback(std::string_view endpoint) const;
  // The endpoints declared, by name.
  std::vector<std::string> Endpoints() const;

  // Keeps `response`'s scores under `id` for later feedback (endpoints with
  // feedback; others and responses without numeric outputs are ignored).
  void RecordPrediction(std::string_view endpoint, std::string_view id,
                        const core::InferResponse& response) const;
  // Joins `feedback` to its prediction. NOT_FOUND (counted as unmatched)
  // for an unknown or expired id or a row the prediction does not have;
  // NOT_FOUND for an endpoint without feedback.
  absl::Status Join(std::string_view endpoint, const Feedback& feedback) const;

  void RecordShadow(std::string_view endpoint, const std::string& primary,
                    const std::string& shadow, const std::vector<RowAgreement>& rows) const;
  // The counters of `shadow`'s copies of `endpoint`, created on the first
  // call and alive as long as this; null for an endpoint not declared.
  ShadowCounters* ShadowCountersFor(std::string_view endpoint, const std::string& shadow) const;
  // Counts `event` without taking any lock the shadow's thread takes (the
  // request path calls it on every request of a shadowed endpoint).
  void CountShadow(ShadowCounters& counters, ShadowEvent event) const;

  // NOT_FOUND for an endpoint that has neither feedback nor a shadow.
  absl::StatusOr<ExperimentReport> Report(std::string_view endpoint) const;

  WindowOutcome Since(std::string_view endpoint, std::string_view arm,
                      Clock::time_point since) const override;

 private:
  struct EndpointState;
  EndpointState* Find(std::string_view endpoint) const;

  std::map<std::string, std::unique_ptr<EndpointState>, std::less<>> endpoints_;  // fixed by Add
  std::unique_ptr<ExperimentMetrics> metrics_;  // null until AttachMetrics
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_EXPERIMENTS_H_
