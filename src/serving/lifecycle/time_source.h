// TimeSource is the lifecycle's seam for time (LevelDB's Env idea): what
// the time is, and waiting. The server uses the steady clock; tests use
// testing::FakeTimeSource, whose waits advance its time without sleeping.
// Implementations are thread-safe.
#ifndef STRATA_SERVING_LIFECYCLE_TIME_SOURCE_H_
#define STRATA_SERVING_LIFECYCLE_TIME_SOURCE_H_

#include <chrono>

namespace strata::serving {

class TimeSource {
 public:
  using Clock = std::chrono::steady_clock;

  virtual ~TimeSource() = default;
  virtual Clock::time_point Now() const = 0;
  // Blocks the caller for `duration` (of this source's time).
  virtual void SleepFor(Clock::duration duration) = 0;
};

// The steady clock and std::this_thread::sleep_for. Never destroyed.
TimeSource& RealTimeSource();

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_TIME_SOURCE_H_
