// The five checks a model version passes before it takes traffic. Each
// sends its requests through `client` and returns one result; a check that
// sends inference requests reports how many were answered 200 as its
// "answered" figure, which the end-to-end check looks for in /metrics.
// Each is in its own .cc file. Thread-compatible: a client per thread.
#ifndef STRATA_CHECK_CHECKS_H_
#define STRATA_CHECK_CHECKS_H_

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

// End-to-end: the server's request count grew by at least the answered
// requests of `earlier` since `before` was scraped; skipped when
// `before` is nullopt (`why` says why).
CheckResult RunEndToEndCheck(KserveClient& client, const CheckTarget& target,
                             std::optional<double> before, const std::string& why,
                             const std::vector<CheckResult>& earlier);

}  // namespace strata::check

#endif  // STRATA_CHECK_CHECKS_H_
