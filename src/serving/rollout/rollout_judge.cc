#include "serving/rollout/rollout_judge.h"

#include "fmt/format.h"
#include "serving/rollout/rollout_statistics.h"

namespace strata::serving {
namespace {

double Rate(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

}  // namespace

std::string_view GateName(Gate gate) {
  switch (gate) {
    case Gate::kError:
      return "error";
    case Gate::kLatency:
      return "latency";
    case Gate::kQuality:
      return "quality";
  }
  return "unknown";
}

std::string_view GateVerdictName(GateVerdict verdict) {
  switch (verdict) {
    case GateVerdict::kPass:
      return "pass";
    case GateVerdict::kFail:
      return "fail";
    case GateVerdict::kNotEnoughData:
      return "not_enough_data";
  }
  return "unknown";
}

std::string_view RolloutDecisionName(RolloutDecision decision) {
  switch (decision) {
    case RolloutDecision::kHold:
      return "hold";
    case RolloutDecision::kAdvance:
      return "advance";
    case RolloutDecision::kPromote:
      return "promote";
    case RolloutDecision::kRollBack:
      return "roll_back";
  }
  return "unknown";
}

GateResult JudgeErrors(const GateOptions& options, const RolloutWindow& window) {
  const ArmWindowStats& c = window.candidate;
  const ArmWindowStats& s = window.stable;
  const double pc = Rate(c.errors, c.requests);
  const double ps = Rate(s.errors, s.requests);
  const double z = TwoProportionZ(c.errors, c.requests, s.errors, s.requests);
  GateResult result{
      .gate = Gate::kError,
      .verdict = GateVerdict::kPass,
      .detail = fmt::format("candidate {}/{} errors ({:.2f}%), stable {}/{} "
                            "({:.2f}%), z {:.2f}",
                            c.errors, c.requests, 100 * pc, s.errors, s.requests, 100 * ps, z)};
  if (c.requests < options.min_samples || s.requests < options.min_samples) {
    result.verdict = GateVerdict::kNotEnoughData;
  } else if (z > options.z_critical && pc - ps >= options.error_min_diff) {
    result.verdict = GateVerdict::kFail;
  }
  return result;
}

GateResult JudgeLatency(const GateOptions& options, const RolloutWindow& window) {
  const std::vector<double>& c = window.candidate.latency_ms;
  const std::vector<double>& s = window.stable.latency_ms;
  const double p99c = Quantile(c, 0.99);
  const double p99s = Quantile(s, 0.99);
  const double ratio = p99s > 0 ? p99c / p99s : 0;
  const double z = MannWhitneyZ(c, s);
  GateResult result{.gate = Gate::kLatency,
                    .verdict = GateVerdict::kPass,
                    .detail = fmt::format("p99 candidate {:.3f} ms, stable {:.3f} ms (ratio "
                                          "{:.2f}); rank test z {:.2f} over {} and {} samples",
                                          p99c, p99s, ratio, z, c.size(), s.size())};
  const auto min = static_cast<size_t>(options.min_samples);
  if (c.size() < min || s.size() < min) {
    result.verdict = GateVerdict::kNotEnoughData;
  } else if (ratio > options.latency_p99_ratio && p99c - p99s >= options.latency_min_diff_ms &&
             z > options.z_critical) {
    result.verdict = GateVerdict::kFail;
  }
  return result;
}

GateResult JudgeQuality(const GateOptions& options, const RolloutWindow& window) {
  GateResult result{
      .gate = Gate::kQuality, .verdict = GateVerdict::kNotEnoughData, .detail = "no quality data"};
  if (!window.candidate_quality || !window.stable_quality) return result;
  const QualityStats& c = *window.candidate_quality;
  const QualityStats& s = *window.stable_quality;
  const double z = WelchZ(c, s);
  result.detail = fmt::format("mean loss candidate {:.4f} over {}, stable {:.4f} over {}, z {:.2f}",
                              c.mean_loss, c.count, s.mean_loss, s.count, z);
  if (c.count < options.min_samples || s.count < options.min_samples) return result;
  const bool worse =
      z > options.z_critical && c.mean_loss - s.mean_loss >= options.quality_min_diff;
  result.verdict = worse ? GateVerdict::kFail : GateVerdict::kPass;
  return result;
}

std::vector<GateResult> RolloutJudge::RunGates(const RolloutWindow& window) const {
  std::vector<GateResult> results;
  if (gates_.error) results.push_back(JudgeErrors(gates_, window));
  if (gates_.latency) results.push_back(JudgeLatency(gates_, window));
  if (gates_.quality) results.push_back(JudgeQuality(gates_, window));
  return results;
}

RolloutDecision RolloutJudge::Pass(size_t step) const {
  const bool last = step + 1 >= steps_.size();
  if (last || steps_[step + 1].weight >= 100) return RolloutDecision::kPromote;
  return RolloutDecision::kAdvance;
}

Judgement RolloutJudge::Judge(size_t step, std::chrono::milliseconds elapsed,
                              const RolloutWindow& window) const {
  Judgement judgement{.decision = RolloutDecision::kHold, .gates = RunGates(window), .reason = ""};
  for (const GateResult& gate : judgement.gates) {
    if (gate.verdict != GateVerdict::kFail) continue;
    judgement.decision = RolloutDecision::kRollBack;
    judgement.reason = fmt::format("gate {} failed: {}", GateName(gate.gate), gate.detail);
    return judgement;
  }
  const RolloutStep& current = steps_[step];
  if (elapsed < current.min_duration || window.candidate.requests < current.min_requests) {
    judgement.reason =
        fmt::format("step {} at {}%: {} of {} ms, {} of {} candidate requests", step + 1,
                    current.weight, elapsed.count(), current.min_duration.count(),
                    window.candidate.requests, current.min_requests);
    return judgement;
  }
  for (const GateResult& gate : judgement.gates) {
    if (gate.verdict != GateVerdict::kNotEnoughData) continue;
    judgement.reason =
        fmt::format("gate {} has not enough data yet: {}", GateName(gate.gate), gate.detail);
    return judgement;
  }
  judgement.decision = Pass(step);
  judgement.reason = fmt::format("step {} at {}%: every gate passed", step + 1, current.weight);
  return judgement;
}

}  // namespace strata::serving
