// RolloutControl is what the frontends' rollout routes (and `strata
// rollout`) may do to the rollouts of split endpoints: start one, read its
// status, pause, resume, abort or promote it (docs/serving.md: Rollouts).
// Calls answer at once; the ramp itself moves on the controller's timer.
// Implementations are thread-safe.
#ifndef STRATA_SERVING_ROLLOUT_ROLLOUT_CONTROL_H_
#define STRATA_SERVING_ROLLOUT_ROLLOUT_CONTROL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/metric_family.h"
#include "serving/rollout/rollout_judge.h"
#include "serving/rollout/rollout_state.h"

namespace strata::serving {

enum class RolloutAction { kPause, kResume, kAbort, kPromote };

// A start as the wire gives it: texts that RolloutSpec's parsers read.
struct RolloutRequest {
  std::string endpoint;
  std::string candidate;  // model@version
  std::string steps;      // empty: the default ramp
  std::vector<std::string> gates;
  std::string load_timeout;  // empty: the default
};

// One rollout as status calls show it.
struct RolloutView {
  RolloutState state;
  double weight = 0;              // the candidate's share now, percent
  std::optional<Judgement> last;  // the last judgement of the current step
  ArmWindowStats stable_window;   // the current step's window, latencies dropped
  ArmWindowStats candidate_window;
  int64_t rollbacks = 0;  // of this endpoint since the server started
};

class RolloutControl {
 public:
  virtual ~RolloutControl() = default;

  // NOT_FOUND: no such split endpoint; FAILED_PRECONDITION: it has no
  // `stable` arm, or a rollout is already active; INVALID_ARGUMENT: a text
  // does not parse.
  virtual absl::StatusOr<RolloutView> Start(const RolloutRequest& request) = 0;
  // NOT_FOUND when the endpoint has had no rollout.
  virtual absl::StatusOr<RolloutView> Status(const std::string& endpoint) const = 0;
  // FAILED_PRECONDITION when the action does not apply to the status.
  virtual absl::StatusOr<RolloutView> Act(const std::string& endpoint, RolloutAction action) = 0;
  virtual std::vector<RolloutView> List() const = 0;
  // The strata_rollout_* families for /metrics.
  virtual std::vector<prometheus::MetricFamily> CollectMetrics() const = 0;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROLLOUT_ROLLOUT_CONTROL_H_
