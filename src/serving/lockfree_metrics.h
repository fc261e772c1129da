// Series that a request records without a lock and without sharing a cache
// line with other threads: a counter, two kinds of gauge and a histogram,
// each read at scrape time (LockFreeFamily, serving/lockfree_family.h,
// exposes them to /metrics in prometheus-cpp's types). Recording is a relaxed
// atomic add or store; reading sums the stripes (serving/striped_cells.h).
// All are thread-safe.
#ifndef STRATA_SERVING_LOCKFREE_METRICS_H_
#define STRATA_SERVING_LOCKFREE_METRICS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "prometheus/client_metric.h"
#include "serving/striped_cells.h"

namespace strata::serving {

// A count that only grows (a Prometheus counter).
class StripedCounter {
 public:
  void Add(uint64_t n = 1) { cells_.Add(0, n); }
  uint64_t Value() const { return cells_.Sum(0); }

 private:
  StripedCells cells_{1};
};

// A level that goes up and down by steps (requests in flight): the sum of
// every Add so far (a Prometheus gauge).
class LevelGauge {
 public:
  void Add(int64_t delta) { cells_.Add(0, static_cast<uint64_t>(delta)); }
  int64_t Value() const { return static_cast<int64_t>(cells_.Sum(0)); }

 private:
  StripedCells cells_{1};
};

// A value that is set (a queue's depth, a ratio): the last Set wins.
class ValueGauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A histogram's upper bounds as /metrics shows them, and how many recorded
// units make one shown unit (1e9 for seconds recorded in nanoseconds; 1 for
// rows). A value falls in the first bucket whose bound is at least the
// value, as in prometheus-cpp.
struct HistogramBounds {
  std::vector<double> bounds;  // ascending; +Inf is implied
  double unit = 1;
};

// A Prometheus histogram over integer units: per bucket a count, and the
// sum in units, so recording is two relaxed adds.
class LockFreeHistogram {
 public:
  explicit LockFreeHistogram(const HistogramBounds& bounds);

  void Observe(uint64_t units) {
    cells_.Add(BucketOf(units), 1);
    cells_.Add(sum_cell_, units);
  }
  void Observe(std::chrono::nanoseconds took) {
    Observe(static_cast<uint64_t>(took.count() < 0 ? 0 : took.count()));
  }

  // Cumulative counts, the count and the sum (in shown units).
  prometheus::ClientMetric::Histogram Read() const;

 private:
  size_t BucketOf(uint64_t units) const;

  const std::vector<double> shown_bounds_;
  const double unit_;
  std::vector<uint64_t> bounds_;  // in units
  const size_t sum_cell_;         // after the buckets and +Inf
  StripedCells cells_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LOCKFREE_METRICS_H_
