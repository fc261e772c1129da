#include "serving/saturation_meter.h"

#include <algorithm>
#include <cmath>

namespace strata::serving {

SaturationMeter::SaturationMeter(Clock::time_point now, std::chrono::nanoseconds smoothing)
    : smoothing_seconds_(std::max(1e-9, std::chrono::duration<double>(smoothing).count())),
      last_(now) {}

void SaturationMeter::SetCapacity(int instances, size_t queue_bound, Clock::time_point now) {
  Advance(now);
  instances_ = std::max(1, instances);
  queue_bound_ = std::max<size_t>(1, queue_bound);
}

void SaturationMeter::SetQueueDepth(size_t depth, Clock::time_point now) {
  Advance(now);
  depth_ = depth;
}

void SaturationMeter::AddRunning(int delta, Clock::time_point now) {
  Advance(now);
  running_ = std::max(0, running_ + delta);
}

double SaturationMeter::Ratio(Clock::time_point now) {
  Advance(now);
  return std::min(1.0, std::max(mean_queue_ratio_, mean_busy_ratio_));
}

void SaturationMeter::Advance(Clock::time_point now) {
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  const double weight = 1 - std::exp(-elapsed / smoothing_seconds_);
  const double queue_ratio = static_cast<double>(depth_) / static_cast<double>(queue_bound_);
  const double busy_ratio = static_cast<double>(running_) / instances_;
  mean_queue_ratio_ += weight * (std::min(1.0, queue_ratio) - mean_queue_ratio_);
  mean_busy_ratio_ += weight * (std::min(1.0, busy_ratio) - mean_busy_ratio_);
  last_ = now;
}

}  // namespace strata::serving
