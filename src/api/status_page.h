// The human status page at GET / : one HTML page (no scripts, no external
// assets) with the server's models (versions, readiness, requests, mean
// latency), its endpoints (plan, readiness, table version, cache), the live
// workload of each sketched endpoint (requests, distinct keys, entropy,
// peakedness, a bar of the share the top 10 / 100 / 1000 keys take), the
// rollouts of split endpoints (state, step, weight, gates), and
// experiments (feedback per arm, shadow agreement), and
// links to the machine-readable views (/metrics, /v2/advisor, /v2/models/stats).
// Pure function of the core's state; thread-safe.
#ifndef STRATA_API_STATUS_PAGE_H_
#define STRATA_API_STATUS_PAGE_H_

#include <string>

#include "serving/experiment/experiments.h"
#include "serving/rollout/rollout_control.h"
#include "serving/server_core.h"

namespace strata::api {

// `rollouts` and `experiments` may be null (no split endpoint; no endpoint
// has feedback or a shadow).
std::string RenderStatusPage(const serving::ServerCore& core,
                             const serving::RolloutControl* rollouts = nullptr,
                             const serving::Experiments* experiments = nullptr);

}  // namespace strata::api

#endif  // STRATA_API_STATUS_PAGE_H_
