// The human status page at GET / : one HTML page (no scripts, no external
// assets) with the server's models (versions, readiness, requests, mean
// latency), its endpoints (plan, readiness, table version, cache), the live
// workload of each sketched endpoint (requests, distinct keys, entropy,
// peakedness, a bar of the share the top 10 / 100 / 1000 keys take), the
// experiments (feedback per arm, shadow agreement), and
// links to the machine-readable views (/metrics, /v2/advisor, /v2/models/stats).
// Pure function of the core's state; thread-safe.
#ifndef STRATA_API_STATUS_PAGE_H_
#define STRATA_API_STATUS_PAGE_H_

#include <string>

#include "serving/experiment/experiments.h"
#include "serving/server_core.h"

namespace strata::api {

// `experiments` may be null (no endpoint has feedback or a shadow).
std::string RenderStatusPage(const serving::ServerCore& core,
                             const serving::Experiments* experiments = nullptr);

}  // namespace strata::api

#endif  // STRATA_API_STATUS_PAGE_H_
