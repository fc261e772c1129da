#include "check/checks.h"
#include "check/output_match.h"
#include "fmt/format.h"

namespace strata::check {

CheckResult RunFunctionalCheck(KserveClient& client, const CheckInputs& inputs) {
  CheckResult result;
  result.kind = CheckKind::kFunctional;
  double answered = 0;
  const auto& samples = inputs.samples.samples;
  for (size_t i = 0; i < samples.size() && result.status != CheckStatus::kFail; ++i) {
    absl::StatusOr<api::HttpResponse> r = client.Infer(samples[i].request_body);
    if (!r.ok() || r->status != 200) {
      result.status = CheckStatus::kFail;
      result.reason = r.ok() ? fmt::format("sample {}: HTTP {}: {}", i, r->status, r->body)
                             : fmt::format("sample {}: {}", i, std::string(r.status().message()));
      break;
    }
    ++answered;
    absl::StatusOr<std::vector<JsonTensor>> outputs = ParseTensors(r->body, "outputs");
    if (!outputs.ok()) {
      result.status = CheckStatus::kFail;
      result.reason =
          fmt::format("sample {}: the answer: {}", i, std::string(outputs.status().message()));
    } else if (auto mismatch = FindMismatch(samples[i].expected, *outputs, inputs.tolerance)) {
      result.status = CheckStatus::kFail;
      result.reason = fmt::format("sample {} output '{}': {}", i, mismatch->output, mismatch->what);
    }
  }
  if (result.status != CheckStatus::kFail) {
    result.status = CheckStatus::kPass;
    result.reason =
        fmt::format("{} sample(s) match within tolerance {:g}", samples.size(), inputs.tolerance);
  }
  result.figures = {{"samples", static_cast<double>(samples.size())},
                    {"answered", answered},
                    {"tolerance", inputs.tolerance}};
  return result;
}

}  // namespace strata::check
