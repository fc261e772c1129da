// What the rollout gates compare: one arm's statistics over a window (the
// current step of a rollout), and a quality figure per arm. Plain values.
#ifndef STRATA_SERVING_ROLLOUT_WINDOW_STATS_H_
#define STRATA_SERVING_ROLLOUT_WINDOW_STATS_H_

#include <cstdint>
#include <vector>

namespace strata::serving {

// One arm over one window: its requests, those that failed, and a bounded
// uniform sample of the successful requests' latencies in milliseconds.
struct ArmWindowStats {
  int64_t requests = 0;
  int64_t errors = 0;
  std::vector<double> latency_ms;  // a sample, at most ArmWindow::kReservoir
};

// One arm's prediction quality over a window: how many outcomes were
// joined, and the mean and variance of their loss (lower is better).
struct QualityStats {
  int64_t count = 0;
  double mean_loss = 0;
  double variance = 0;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROLLOUT_WINDOW_STATS_H_
