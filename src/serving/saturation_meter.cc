#include "serving/saturation_meter.h"

#include <algorithm>
#include <cmath>

namespace strata::serving {

SaturationMeter::SaturationMeter(Clock::time_point now, std::chrono::nanoseconds smoothing)
    : origin_(now),
      smoothing_seconds_(std::max(1e-9, std::chrono::duration<double>(smoothing).count())) {}

void SaturationMeter::LevelArea::Add(int64_t delta, uint64_t at) {
  const auto step = static_cast<uint64_t>(delta);
  cells_.Add(0, step);
  cells_.Add(1, 0 - step * at);  // the integral so far is unchanged at `at`
}

uint64_t SaturationMeter::LevelArea::Area(uint64_t at) const {
  return cells_.Sum(1) + cells_.Sum(0) * at;
}

uint64_t SaturationMeter::Since(Clock::time_point now) const {
  return now <= origin_ ? 0 : static_cast<uint64_t>((now - origin_).count());
}

void SaturationMeter::SetCapacity(int instances, size_t queue_bound, Clock::time_point) {
  instances_.store(std::max(1, instances), std::memory_order_relaxed);
  queue_bound_.store(std::max<size_t>(1, queue_bound), std::memory_order_relaxed);
}

void SaturationMeter::SetQueueDepth(size_t depth, Clock::time_point now) {
  const auto level = static_cast<int64_t>(depth);
  const int64_t before = depth_.exchange(level, std::memory_order_relaxed);
  queue_.Add(level - before, Since(now));
}

void SaturationMeter::AddRunning(int delta, Clock::time_point now) {
  running_.Add(delta, Since(now));
}

double SaturationMeter::MeanSince(const LevelArea& level, uint64_t& last_area, uint64_t at,
                                  uint64_t span) const {
  const uint64_t area = level.Area(at);
  // Signed: an event racing with this read may make the difference a little
  // negative.
  const auto grown = static_cast<int64_t>(area - last_area);
  last_area = area;
  return std::max<double>(0, static_cast<double>(grown) / static_cast<double>(span));
}

double SaturationMeter::Ratio(Clock::time_point now) {
  const uint64_t at = Since(now);
  if (at > last_) {
    const uint64_t span = at - last_;
    const double weight = 1 - std::exp(-static_cast<double>(span) * 1e-9 / smoothing_seconds_);
    const double queue_ratio = MeanSince(queue_, last_queue_area_, at, span) /
                               static_cast<double>(queue_bound_.load(std::memory_order_relaxed));
    const double busy_ratio = MeanSince(running_, last_running_area_, at, span) /
                              instances_.load(std::memory_order_relaxed);
    mean_queue_ratio_ += weight * (std::min(1.0, queue_ratio) - mean_queue_ratio_);
    mean_busy_ratio_ += weight * (std::min(1.0, busy_ratio) - mean_busy_ratio_);
    last_ = at;
  }
  return std::min(1.0, std::max(mean_queue_ratio_, mean_busy_ratio_));
}

}  // namespace strata::serving
