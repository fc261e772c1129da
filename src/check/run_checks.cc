#include "check/run_checks.h"

#include "check/checks.h"
#include "fmt/format.h"

namespace strata::check {
namespace {

constexpr int64_t kMaxLoadRequests = 1'000'000;

absl::Status ValidateOptions(const CheckTarget& target, const CheckOptions& options) {
  if (target.model.empty()) return absl::InvalidArgumentError("a model name is required");
  if (!(options.rate > 0) || options.duration.count() <= 0 || options.connections <= 0) {
    return absl::InvalidArgumentError(
        "the load needs a rate > 0, a duration > 0 and connections > 0");
  }
  // The load keeps every latency: a million requests is 8 MB.
  if (options.rate * static_cast<double>(options.duration.count()) / 1e3 > kMaxLoadRequests) {
    return absl::InvalidArgumentError(
        fmt::format("the load is at most {} requests (--rate x --duration)", kMaxLoadRequests));
  }
  if (!(options.psi_max >= 0) || !(options.p99_ms > 0)) {
    return absl::InvalidArgumentError("--psi-max must be >= 0 and --p99-ms > 0");
  }
  if (options.tolerance && !(*options.tolerance >= 0)) {
    return absl::InvalidArgumentError("--tolerance must be >= 0");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CheckReport> RunChecks(const CheckTarget& target, const CheckOptions& options) {
  if (absl::Status s = ValidateOptions(target, options); !s.ok()) return s;
  absl::StatusOr<CheckInputs> inputs = ReadCheckInputs(target, options);
  if (!inputs.ok()) return inputs.status();
  absl::StatusOr<std::unique_ptr<KserveClient>> client =
      KserveClient::Create(target, options.request_timeout);
  if (!client.ok()) return client.status();
  if (absl::Status ready = (*client)->CheckReady(); !ready.ok()) {
    return absl::UnavailableError(
        fmt::format("{} is not ready to be checked: {}", target.url, std::string(ready.message())));
  }
  RecordsBefore before;
  before.requests = ScrapeRequestCount(**client, target, before.why);
  before.log_bytes = AccessLogSize(options.access_log);
  CheckReport report;
  report.url = target.url;
  report.model = target.model;
  report.version = target.version;
  report.results.push_back(RunFunctionalCheck(**client, *inputs));
  report.results.push_back(RunStatisticalCheck(**client, *inputs, options.psi_max));
  report.results.push_back(RunErrorHandlingCheck(**client, *inputs));
  report.results.push_back(RunLoadCheck(target, *inputs, options));
  report.results.push_back(RunEndToEndCheck(**client, target, options, before, report.results));
  return report;
}

}  // namespace strata::check
