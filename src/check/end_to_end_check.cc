#include <chrono>
#include <fstream>
#include <thread>

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

std::optional<uintmax_t> AccessLogSize(const std::filesystem::path& log) {
  if (log.empty()) return std::nullopt;
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(log, error);
  if (error) return std::nullopt;
  return size;
}

std::optional<double> LoggedRequests(const std::filesystem::path& log, uintmax_t from,
                                     const std::string& model) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return std::nullopt;
  in.seekg(static_cast<std::streamoff>(from));
  const std::string route = fmt::format("/v2/models/{}/", model);
  double count = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find(route) != std::string::npos) ++count;
  }
  return count;
}

namespace {

// The /metrics half: nullopt when the server has no request count.
std::optional<bool> MetricsRecorded(KserveClient& client, const CheckTarget& target,
                                    const RecordsBefore& before, double sent, CheckResult& result) {
  if (!before.requests) return std::nullopt;
  std::string why;
  const std::optional<double> after = ScrapeRequestCount(client, target, why);
  if (!after) {
    result.reason = why;
    return false;
  }
  const double recorded = *after - *before.requests;
  result.figures.push_back({"recorded", recorded});
  result.reason =
      fmt::format("{} recorded {:g} requests for '{}' while the checks had {:g} answered",
                  kRequestsMetric, recorded, target.model, sent);
  return recorded >= sent;
}

// The access log half: nullopt when no log was given.
std::optional<bool> LogRecorded(const CheckTarget& target, const CheckOptions& options,
                                const RecordsBefore& before, double sent, CheckResult& result) {
  if (options.access_log.empty()) return std::nullopt;
  std::optional<double> logged;
  // A server writes a request's line just after answering it: wait a little.
  for (int i = 0; i < 20 && before.log_bytes; ++i) {
    logged = LoggedRequests(options.access_log, *before.log_bytes, target.model);
    if (!logged || *logged >= sent) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string& reason = result.reason;
  if (!reason.empty()) reason += "; ";
  if (!logged) {
    reason += fmt::format("cannot read the access log {}", options.access_log.string());
    return false;
  }
  result.figures.push_back({"logged", *logged});
  reason += fmt::format("the access log gained {:g} lines for '{}'", *logged, target.model);
  return *logged >= sent;
}

}  // namespace

CheckResult RunEndToEndCheck(KserveClient& client, const CheckTarget& target,
                             const CheckOptions& options, const RecordsBefore& before,
                             const std::vector<CheckResult>& earlier) {
  CheckResult result;
  result.kind = CheckKind::kEndToEnd;
  const double sent = AnsweredBy(earlier);
  result.figures = {{"answered", sent}};
  const std::optional<bool> metrics = MetricsRecorded(client, target, before, sent, result);
  const std::optional<bool> log = LogRecorded(target, options, before, sent, result);
  if (!metrics && !log) {
    result.figures.clear();
    result.reason = before.why;
    return result;
  }
  const bool passed = metrics.value_or(true) && log.value_or(true);
  result.status = passed ? CheckStatus::kPass : CheckStatus::kFail;
  return result;
}

}  // namespace strata::check
