// The five checks a model version passes before it takes traffic. Each
// sends its requests through `client` and returns one result; a check that
// sends inference requests reports how many were answered 200 as its
// "answered" figure, which the end-to-end check looks for in /metrics.
// Each is in its own .cc file. Thread-compatible: a client per thread.
#ifndef STRATA_CHECK_CHECKS_H_
#define STRATA_CHECK_CHECKS_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "check/check_inputs.h"
#include "check/check_report.h"
#include "check/kserve_client.h"

namespace strata::check {

// Functional: every sample's answer matches its expected outputs within the
// tolerance; a failure names the sample, the output, the row and element.
CheckResult RunFunctionalCheck(KserveClient& client, const CheckInputs& inputs);

// Statistical: the scores of the held-out rows against the reference
// histogram; passes when PSI <= psi_max.
CheckResult RunStatisticalCheck(KserveClient& client, const CheckInputs& inputs, double psi_max);

// Error handling: every malformed request is answered 4xx, and the server
// and the model are still ready afterwards.
CheckResult RunErrorHandlingCheck(KserveClient& client, const CheckInputs& inputs);

// Load: an open-loop load of the samples; passes when every request is
// answered 200 and p99 <= the objective.
CheckResult RunLoadCheck(const CheckTarget& target, const CheckInputs& inputs,
                         const CheckOptions& options);

// The `strata_inference_requests_total` count for the model (and version),
// or nullopt with `why` set when the server exposes no such series.
std::optional<double> ScrapeRequestCount(KserveClient& client, const CheckTarget& target,
                                         std::string& why);

// Where the server's records stood before the checks: its request count
// (nullopt with `why` set when it has none) and the access log's size
// (nullopt when no log is given).
struct RecordsBefore {
  std::optional<double> requests;
  std::string why;
  std::optional<uintmax_t> log_bytes;
};

// The access log's size now; nullopt when `log` is empty or unreadable.
std::optional<uintmax_t> AccessLogSize(const std::filesystem::path& log);

// The lines appended to `log` since `from` bytes that name the model's
// routes (`/v2/models/<model>/`).
std::optional<double> LoggedRequests(const std::filesystem::path& log, uintmax_t from,
                                     const std::string& model);

// End-to-end: the server's request count grew, and its access log (when
// given) gained lines, by at least the answered requests of `earlier`;
// skipped when neither is available (`before.why` says why).
CheckResult RunEndToEndCheck(KserveClient& client, const CheckTarget& target,
                             const CheckOptions& options, const RecordsBefore& before,
                             const std::vector<CheckResult>& earlier);

}  // namespace strata::check

#endif  // STRATA_CHECK_CHECKS_H_
