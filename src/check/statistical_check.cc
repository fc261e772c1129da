#include <algorithm>

#include "check/checks.h"
#include "fmt/format.h"

namespace strata::check {
namespace {

// The scores of every held-out request: all elements of the reference's
// output. Error names the first request that failed.
absl::StatusOr<std::vector<double>> CollectScores(KserveClient& client, const CheckInputs& inputs,
                                                  double& answered) {
  std::vector<double> scores;
  const std::string& output = inputs.reference->output;
  for (size_t i = 0; i < inputs.heldout.size(); ++i) {
    absl::StatusOr<api::HttpResponse> r = client.Infer(inputs.heldout[i]);
    if (!r.ok()) return r.status();
    if (r->status != 200) {
      return absl::InternalError(
          fmt::format("held-out row {}: HTTP {}: {}", i, r->status, r->body.substr(0, 300)));
    }
    ++answered;
    absl::StatusOr<std::vector<JsonTensor>> outputs = ParseTensors(r->body, "outputs");
    if (!outputs.ok()) return outputs.status();
    const auto found = std::find_if(outputs->begin(), outputs->end(),
                                    [&](const JsonTensor& t) { return t.name == output; });
    if (found == outputs->end()) {
      return absl::NotFoundError(fmt::format("held-out row {}: no output '{}'", i, output));
    }
    scores.insert(scores.end(), found->data.begin(), found->data.end());
  }
  return scores;
}

}  // namespace

CheckResult RunStatisticalCheck(KserveClient& client, const CheckInputs& inputs, double psi_max) {
  CheckResult result;
  result.kind = CheckKind::kStatistical;
  if (!inputs.reference || inputs.heldout.empty()) {
    result.reason = inputs.statistical_missing.empty() ? "the held-out file has no rows"
                                                       : inputs.statistical_missing;
    return result;
  }
  double answered = 0;
  absl::StatusOr<std::vector<double>> scores = CollectScores(client, inputs, answered);
  absl::StatusOr<double> psi =
      scores.ok() ? PopulationStabilityIndex(*inputs.reference, *scores) : scores.status();
  result.figures = {{"rows", static_cast<double>(inputs.heldout.size())}, {"answered", answered}};
  if (!psi.ok()) {
    result.status = CheckStatus::kFail;
    result.reason = std::string(psi.status().message());
    return result;
  }
  result.figures.push_back({"psi", *psi});
  result.figures.push_back({"psi_max", psi_max});
  const bool pass = *psi <= psi_max;
  result.status = pass ? CheckStatus::kPass : CheckStatus::kFail;
  result.reason = fmt::format("PSI {:.4f} of '{}' over {} held-out request(s) is {} {:g}", *psi,
                              inputs.reference->output, inputs.heldout.size(),
                              pass ? "within" : "above", psi_max);
  return result;
}

}  // namespace strata::check
