// ArmWindow counts one arm's requests of a split endpoint over one window:
// requests, errors, and a reservoir sample of the successful requests'
// latencies (Vitter's algorithm R over kReservoir slots), so its memory is
// fixed whatever the traffic. A new window is a new ArmWindow. Record() is
// lock-free (relaxed atomics) and safe from any number of threads; Read()
// may run at the same time and then sees a slightly stale sample.
#ifndef STRATA_SERVING_ROLLOUT_ARM_WINDOW_H_
#define STRATA_SERVING_ROLLOUT_ARM_WINDOW_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "serving/rollout/window_stats.h"

namespace strata::serving {

class ArmWindow {
 public:
  static constexpr size_t kReservoir = 1024;

  ArmWindow();

  // One request answered: `ok` or not, after `latency_ms`.
  void Record(bool ok, double latency_ms);
  ArmWindowStats Read() const;

 private:
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> successes_{0};
  std::array<std::atomic<float>, kReservoir> samples_;  // -1: not written yet
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROLLOUT_ARM_WINDOW_H_
