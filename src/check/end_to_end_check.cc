#include "check/checks.h"
#include "check/prometheus_text.h"
#include "fmt/format.h"

namespace strata::check {
namespace {

constexpr std::string_view kRequestsMetric = "strata_inference_requests_total";

double AnsweredBy(const std::vector<CheckResult>& earlier) {
  double answered = 0;
  for (const CheckResult& r : earlier) {
    for (const Figure& f : r.figures) {
      if (f.name == "answered") answered += f.value;
    }
  }
  return answered;
}

}  // namespace

std::optional<double> ScrapeRequestCount(KserveClient& client, const CheckTarget& target,
                                         std::string& why) {
  absl::StatusOr<api::HttpResponse> r = client.Get("/metrics");
  if (!r.ok() || r->status != 200) {
    why = r.ok() ? fmt::format("the server has no Prometheus /metrics (HTTP {})", r->status)
                 : fmt::format("the server has no Prometheus /metrics ({})",
                               std::string(r.status().message()));
    return std::nullopt;
  }
  std::map<std::string, std::string> labels = {{"model", target.model}};
  if (!target.version.empty()) labels["version"] = target.version;
  std::optional<double> count = SumSeries(r->body, kRequestsMetric, labels);
  if (!count) {
    why = fmt::format("/metrics has no {} series for model '{}'", kRequestsMetric, target.model);
  }
  return count;
}

CheckResult RunEndToEndCheck(KserveClient& client, const CheckTarget& target,
                             std::optional<double> before, const std::string& why,
                             const std::vector<CheckResult>& earlier) {
  CheckResult result;
  result.kind = CheckKind::kEndToEnd;
  if (!before) {
    result.reason = why;
    return result;
  }
  std::string after_why;
  const std::optional<double> after = ScrapeRequestCount(client, target, after_why);
  const double sent = AnsweredBy(earlier);
  if (!after) {
    result.status = CheckStatus::kFail;
    result.reason = after_why;
    return result;
  }
  const double recorded = *after - *before;
  result.figures = {{"answered", sent}, {"recorded", recorded}};
  result.status = recorded >= sent ? CheckStatus::kPass : CheckStatus::kFail;
  result.reason =
      fmt::format("{} recorded {:g} requests for '{}' while the checks had {:g} answered",
                  kRequestsMetric, recorded, target.model, sent);
  return result;
}

}  // namespace strata::check
