// SaturationMeter measures how close one model version is to its limits:
// the larger of queue depth over the queue's bound and running batches over
// `instances`, each a time-weighted mean (exponential, time constant
// `smoothing`), so that one scrape sees the recent load rather than one
// instant. 0 is idle; 1 is saturated (every instance busy all the time, or
// the queue full). It has no clock of its own: every call is handed `now`,
// so tests drive it with any time they like. Not thread-safe; ModelMetrics
// guards it with a mutex.
#ifndef STRATA_SERVING_SATURATION_METER_H_
#define STRATA_SERVING_SATURATION_METER_H_

#include <chrono>
#include <cstddef>

namespace strata::serving {

class SaturationMeter {
 public:
  using Clock = std::chrono::steady_clock;

  SaturationMeter(Clock::time_point now, std::chrono::nanoseconds smoothing);

  // The limits the ratios are taken against; a bound of 0 counts as 1.
  void SetCapacity(int instances, size_t queue_bound, Clock::time_point now);
  // The queue holds `depth` requests from now on.
  void SetQueueDepth(size_t depth, Clock::time_point now);
  // `delta` batches started (positive) or finished (negative) now.
  void AddRunning(int delta, Clock::time_point now);

  // max(mean queue depth / queue bound, mean running / instances) as of now,
  // at most 1.
  double Ratio(Clock::time_point now);

 private:
  // Moves both means forward to `now`, with the values held since last_.
  void Advance(Clock::time_point now);

  const double smoothing_seconds_;
  Clock::time_point last_;
  int instances_ = 1;
  size_t queue_bound_ = 1;
  size_t depth_ = 0;
  int running_ = 0;
  double mean_queue_ratio_ = 0;
  double mean_busy_ratio_ = 0;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_SATURATION_METER_H_
