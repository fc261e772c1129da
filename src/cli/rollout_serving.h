// The rollout controller of `strata serve`: a RolloutManager over the split
// endpoints, whose candidates are ready when the core serves their version,
// with its state files in --state-dir (docs/serving.md: Rollouts).
#ifndef STRATA_CLI_ROLLOUT_SERVING_H_
#define STRATA_CLI_ROLLOUT_SERVING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/mutex.h"
#include "serving/experiment/outcome_window.h"
#include "serving/experiment/thompson_router.h"
#include "serving/rollout/quality_source.h"
#include "serving/rollout/rollout_manager.h"
#include "serving/server_core.h"
#include "serving/split_endpoint.h"

namespace strata::cli {

struct RolloutServeFlags {
  std::string state_dir;   // empty: <repository>/.strata/rollouts
  int64_t tick_ms = 1000;  // how often rollouts are judged
  // The pre-traffic checks (`strata check`, docs/checks.md) a candidate
  // passes before it gets traffic, run against this server's REST port.
  bool checks = true;
  std::string check_key_file;  // an API key for the checks when keys are on
  double check_rate = 50;      // load check: requests per second
  int64_t check_ms = 2000;     // load check: duration
  double check_p99_ms = 100;   // load check: the objective
};

// This server's REST base URL once it listens ("http://127.0.0.1:8000");
// nullopt before that.
using SelfUrl = std::function<std::optional<std::string>()>;

// Null when there is no split endpoint. `core` must outlive the manager.
// `outcomes` (feedback joined per arm; may be null) feeds the quality gate.
absl::StatusOr<std::unique_ptr<serving::RolloutManager>> StartRollouts(
    const RolloutServeFlags& flags, const std::string& repository, const serving::ServerCore& core,
    SelfUrl self_url, std::shared_ptr<const serving::OutcomeWindow> outcomes,
    std::vector<std::shared_ptr<serving::SplitEndpoint>> splits);

// The quality gate's source: each arm's feedback since the step began
// (mean loss: 1 - accuracy, absolute error or -reward), none below one
// outcome.
class FeedbackQualitySource : public serving::QualitySource {
 public:
  explicit FeedbackQualitySource(std::shared_ptr<const serving::OutcomeWindow> outcomes)
      : outcomes_(std::move(outcomes)) {}
  std::optional<serving::QualityStats> Quality(const serving::QualityQuery& query) const override;

 private:
  std::shared_ptr<const serving::OutcomeWindow> outcomes_;
};

// The checks of `strata check` against the candidate version on this server:
// OK when they pass, or when the version ships no samples.json (skipped,
// logged); FailedPrecondition naming each failed check otherwise.
serving::CandidateCheck PreTrafficCheck(const RolloutServeFlags& flags,
                                        const std::string& repository, SelfUrl self_url);

// Splits of `policy: thompson`: their ThompsonRouter ticked every `tick` on
// a thread of its own, with the rewards joined since the routing started.
// Stops (joins) on destruction.
class ThompsonRouting {
 public:
  ThompsonRouting(std::unique_ptr<serving::ThompsonRouter> router, std::chrono::milliseconds tick);
  ~ThompsonRouting();
  ThompsonRouting(const ThompsonRouting&) = delete;
  ThompsonRouting& operator=(const ThompsonRouting&) = delete;

 private:
  void Loop();

  const std::unique_ptr<serving::ThompsonRouter> router_;
  const std::chrono::milliseconds tick_;
  const serving::OutcomeWindow::Clock::time_point since_;
  core::Mutex mutex_;
  core::CondVar stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace strata::cli

#endif  // STRATA_CLI_ROLLOUT_SERVING_H_
