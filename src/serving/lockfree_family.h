// LockFreeFamily shows lock-free series (serving/lockfree_metrics.h) on
// /metrics as one Prometheus family: a name, a help text, a type and one
// series per label set, in prometheus-cpp's types, so that the text is the
// same as a prometheus::Family's. Series are added and removed under a mutex
// when a version loads or unloads, never on a request's path; Collect reads
// them under the same mutex, so no series is read after its Remove returns.
// A family may also own series of its own (OwnedCounter, OwnedHistogram):
// found by their labels, made at the first call and kept as long as the
// family, as prometheus::Family::Add does. Thread-safe.
#ifndef STRATA_SERVING_LOCKFREE_FAMILY_H_
#define STRATA_SERVING_LOCKFREE_FAMILY_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/mutex.h"
#include "prometheus/labels.h"
#include "prometheus/metric_family.h"
#include "serving/lockfree_metrics.h"

namespace strata::serving {

class LockFreeFamily {
 public:
  // One series; its kind sets the family's type (counter, gauge, histogram).
  using Series = std::variant<const StripedCounter*, const LevelGauge*, const ValueGauge*,
                              const LockFreeHistogram*>;

  LockFreeFamily(std::string name, std::string help);

  // REQUIRES: `series` stays alive until Remove(series) returns; every
  // series of a family is of one kind.
  void Add(const prometheus::Labels& labels, Series series);
  void Remove(Series series);

  // The family's own series for `labels`. Not for a request's path (a
  // mutex and a search): callers find it once and keep the reference.
  StripedCounter& OwnedCounter(const prometheus::Labels& labels);
  LockFreeHistogram& OwnedHistogram(const prometheus::Labels& labels,
                                    const HistogramBounds& bounds);

  // The family with every series' value now; nullopt while it has no series
  // (prometheus-cpp leaves an empty family out of /metrics).
  std::optional<prometheus::MetricFamily> Collect() const;

 private:
  const std::string name_, help_;
  mutable core::Mutex mutex_;
  std::vector<std::pair<std::vector<prometheus::ClientMetric::Label>, Series>> series_
      ABSL_GUARDED_BY(mutex_);
  std::map<prometheus::Labels, std::unique_ptr<StripedCounter>> counters_ ABSL_GUARDED_BY(mutex_);
  std::map<prometheus::Labels, std::unique_ptr<LockFreeHistogram>> histograms_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LOCKFREE_FAMILY_H_
