// The strata_rollout_* families of /metrics, from the rollouts' views:
// state (one series per state, 1 for the current one), step, weight, the
// last verdict of each gate, and roll backs.
#ifndef STRATA_SERVING_ROLLOUT_ROLLOUT_METRICS_H_
#define STRATA_SERVING_ROLLOUT_ROLLOUT_METRICS_H_

#include <vector>

#include "prometheus/metric_family.h"
#include "serving/rollout/rollout_control.h"

namespace strata::serving {

std::vector<prometheus::MetricFamily> RolloutMetricFamilies(const std::vector<RolloutView>& views);

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROLLOUT_ROLLOUT_METRICS_H_
