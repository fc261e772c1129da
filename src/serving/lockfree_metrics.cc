#include "serving/lockfree_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace strata::serving {

namespace {

// The largest count of units that is at most `bound` shown units, so that
// `units <= BoundInUnits(bound)` exactly when units / unit <= bound in
// double arithmetic, as prometheus-cpp places a value of units / unit.
uint64_t BoundInUnits(double bound, double unit) {
  const double guess = std::floor(bound * unit);
  if (guess < 0) return 0;
  if (guess >= 0x1p63) return std::numeric_limits<uint64_t>::max();
  auto units = static_cast<uint64_t>(guess);
  while (units > 0 && static_cast<double>(units) / unit > bound) --units;
  while (static_cast<double>(units + 1) / unit <= bound) ++units;
  return units;
}

}  // namespace

LockFreeHistogram::LockFreeHistogram(const HistogramBounds& bounds)
    : shown_bounds_(bounds.bounds),
      unit_(bounds.unit),
      sum_cell_(bounds.bounds.size() + 1),
      cells_(bounds.bounds.size() + 2) {
  bounds_.reserve(shown_bounds_.size());
  for (double bound : shown_bounds_) bounds_.push_back(BoundInUnits(bound, unit_));
}

size_t LockFreeHistogram::BucketOf(uint64_t units) const {
  return static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), units) -
                             bounds_.begin());
}

prometheus::ClientMetric::Histogram LockFreeHistogram::Read() const {
  prometheus::ClientMetric::Histogram h;
  h.bucket.reserve(shown_bounds_.size() + 1);
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= shown_bounds_.size(); ++i) {
    cumulative += cells_.Sum(i);
    h.bucket.push_back({.cumulative_count = cumulative,
                        .upper_bound = i < shown_bounds_.size()
                                           ? shown_bounds_[i]
                                           : std::numeric_limits<double>::infinity()});
  }
  h.sample_count = cumulative;
  h.sample_sum = static_cast<double>(cells_.Sum(sum_cell_)) / unit_;
  return h;
}

}  // namespace strata::serving
