// RolloutJudge decides what a rollout does next from the current step's
// window: the candidate and the stable arm over the SAME window (the step,
// restarted at each step), each gate answering pass, fail or not enough
// data (docs/serving.md: Rollouts). A pure decision object in the style of
// serving/batch_queue.h: no clock, no threads; it is handed the step's
// elapsed time. Immutable; thread-safe.
//
//   any gate fails                      -> roll back (at once, whatever the step's time)
//   step shorter than its minimum time,
//   or fewer candidate requests than
//   its minimum, or a gate without
//   enough data                         -> hold (never a roll back)
//   every gate passes                   -> the next step, or promote after the
//                                          last step (or before a last step of 100)
#ifndef STRATA_SERVING_ROLLOUT_ROLLOUT_JUDGE_H_
#define STRATA_SERVING_ROLLOUT_ROLLOUT_JUDGE_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "serving/rollout/rollout_spec.h"
#include "serving/rollout/window_stats.h"

namespace strata::serving {

enum class Gate { kError, kLatency, kQuality };
enum class GateVerdict { kPass, kFail, kNotEnoughData };
enum class RolloutDecision { kHold, kAdvance, kPromote, kRollBack };

std::string_view GateName(Gate gate);
std::string_view GateVerdictName(GateVerdict verdict);
std::string_view RolloutDecisionName(RolloutDecision decision);

struct GateResult {
  Gate gate = Gate::kError;
  GateVerdict verdict = GateVerdict::kNotEnoughData;
  std::string detail;  // the figures it compared, for people
};

// Both arms over the step's window; quality is nullopt without data.
struct RolloutWindow {
  ArmWindowStats stable;
  ArmWindowStats candidate;
  std::optional<QualityStats> stable_quality;
  std::optional<QualityStats> candidate_quality;
};

struct Judgement {
  RolloutDecision decision = RolloutDecision::kHold;
  std::vector<GateResult> gates;
  std::string reason;  // why it holds, or which gate failed
};

// The gates one at a time (RolloutJudge runs those the options turn on).
GateResult JudgeErrors(const GateOptions& options, const RolloutWindow& window);
GateResult JudgeLatency(const GateOptions& options, const RolloutWindow& window);
GateResult JudgeQuality(const GateOptions& options, const RolloutWindow& window);

class RolloutJudge {
 public:
  RolloutJudge(std::vector<RolloutStep> steps, GateOptions gates)
      : steps_(std::move(steps)), gates_(gates) {}

  // REQUIRES: step < steps().size().
  Judgement Judge(size_t step, std::chrono::milliseconds elapsed,
                  const RolloutWindow& window) const;

  const std::vector<RolloutStep>& steps() const { return steps_; }

 private:
  // The verdicts of the gates that are on.
  std::vector<GateResult> RunGates(const RolloutWindow& window) const;
  // The decision once the step's minimums are met and no gate failed.
  RolloutDecision Pass(size_t step) const;

  std::vector<RolloutStep> steps_;
  GateOptions gates_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROLLOUT_ROLLOUT_JUDGE_H_
