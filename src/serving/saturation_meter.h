// SaturationMeter measures how close one model version is to its limits:
// the larger of queue depth over the queue's bound and running batches over
// `instances`, each a time-weighted mean (exponential, time constant
// `smoothing`), so that one scrape sees the recent load rather than one
// instant. 0 is idle; 1 is saturated (every instance busy all the time, or
// the queue full). It has no clock of its own: every call is handed `now`,
// so tests drive it with any time they like.
//
// The events (SetCapacity, SetQueueDepth, AddRunning) come on requests'
// paths and are lock-free: each adds to the integral over time of the queue's
// depth and of the running batches (relaxed atomic adds, striped per thread).
// Ratio, at scrape time, takes the mean of each level since its last call
// from those integrals and moves the exponential means by it.
// Thread-safe, except that Ratio takes one caller at a time.
#ifndef STRATA_SERVING_SATURATION_METER_H_
#define STRATA_SERVING_SATURATION_METER_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "serving/striped_cells.h"

namespace strata::serving {

class SaturationMeter {
 public:
  using Clock = std::chrono::steady_clock;

  SaturationMeter(Clock::time_point now, std::chrono::nanoseconds smoothing);

  // The limits the ratios are taken against; a bound of 0 counts as 1. The
  // next Ratio takes them for the whole time since the previous one.
  void SetCapacity(int instances, size_t queue_bound, Clock::time_point now);
  // The queue holds `depth` requests from now on.
  void SetQueueDepth(size_t depth, Clock::time_point now);
  // `delta` batches started (positive) or finished (negative) now.
  void AddRunning(int delta, Clock::time_point now);

  // max(mean queue depth / queue bound, mean running / instances) as of now,
  // at most 1. REQUIRES: no other call of Ratio is in progress.
  double Ratio(Clock::time_point now);

 private:
  // A level that changes by steps and its integral over time: per stripe,
  // the level and the offset such that the integral up to t is the sums'
  // offset + level × t (nanoseconds since origin_, modulo 2^64: only
  // differences of the integral are used).
  class LevelArea {
   public:
    void Add(int64_t delta, uint64_t at);
    uint64_t Area(uint64_t at) const;

   private:
    StripedCells cells_{2};  // [0] level, [1] offset
  };
  uint64_t Since(Clock::time_point now) const;
  // The mean of `level` over (last_, now], from its integral; updates `last`.
  double MeanSince(const LevelArea& level, uint64_t& last_area, uint64_t at, uint64_t span) const;

  const Clock::time_point origin_;
  const double smoothing_seconds_;
  std::atomic<int> instances_{1};
  std::atomic<size_t> queue_bound_{1};
  std::atomic<int64_t> depth_{0};  // the last depth set
  LevelArea queue_, running_;

  // Ratio's own state (one caller at a time).
  uint64_t last_ = 0;
  uint64_t last_queue_area_ = 0, last_running_area_ = 0;
  double mean_queue_ratio_ = 0;
  double mean_busy_ratio_ = 0;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_SATURATION_METER_H_
