#include "check/checks.h"
#include "check/open_loop_load.h"
#include "fmt/format.h"

namespace strata::check {

CheckResult RunLoadCheck(const CheckTarget& target, const CheckInputs& inputs,
                         const CheckOptions& options) {
  std::vector<std::string> bodies;
  for (const Sample& s : inputs.samples.samples) bodies.push_back(s.request_body);
  const LoadOutcome out = RunOpenLoopLoad(target, bodies,
                                          LoadPlan{.rate = options.rate,
                                                   .duration = options.duration,
                                                   .connections = options.connections,
                                                   .request_timeout = options.request_timeout});
  const double p50 = Percentile(out.latencies_ms, 0.5);
  const double p99 = Percentile(out.latencies_ms, 0.99);
  CheckResult result;
  result.kind = CheckKind::kLoad;
  result.figures = {{"rate", options.rate},
                    {"sent", static_cast<double>(out.sent)},
                    {"answered", static_cast<double>(out.latencies_ms.size())},
                    {"errors", static_cast<double>(out.errors)},
                    {"not_sent", static_cast<double>(out.not_sent)},
                    {"p50_ms", p50},
                    {"p99_ms", p99},
                    {"p99_objective_ms", options.p99_ms}};
  if (out.errors > 0 || out.not_sent > 0) {
    result.status = CheckStatus::kFail;
    result.reason = fmt::format("{} error(s), {} not sent in time; first: {}", out.errors,
                                out.not_sent, out.first_error);
  } else if (p99 > options.p99_ms) {
    result.status = CheckStatus::kFail;
    result.reason = fmt::format("p99 {:.2f} ms above the objective {:g} ms at {:g} req/s", p99,
                                options.p99_ms, options.rate);
  } else {
    result.status = CheckStatus::kPass;
    result.reason = fmt::format("{} requests at {:g} req/s: p99 {:.2f} ms within {:g} ms", out.sent,
                                options.rate, p99, options.p99_ms);
  }
  return result;
}

}  // namespace strata::check
