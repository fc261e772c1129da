// FeatureMetrics records what the feature stage of models with a
// features.yaml does (docs/features.md, "Serving with features"):
//
//   strata_feature_imputed_total{model,feature}         rows whose input was imputed
//   strata_feature_lookups_total{table,result}          rows looked up, by result:
//                                                       found, missing, stale, unavailable
//   strata_feature_lookup_duration_seconds{model}       the lookups of one request
//   strata_feature_stage_duration_seconds{model}        lookups and transformations
//   strata_feature_degraded_requests_total{model,why}   requests answered with imputed
//                                                       features: store_error, deadline
//   strata_feature_log_lines_total{result}              served-feature log lines:
//                                                       written, dropped
//
// A version's series are found once (ForModel) and kept by its
// ServedFeatures; requests never look series up by name, and record without
// a lock (serving/lockfree_metrics.h). Series live as long as the
// FeatureMetrics, shared by the versions of a model. Thread-safe.
#ifndef STRATA_SERVING_FEATURE_METRICS_H_
#define STRATA_SERVING_FEATURE_METRICS_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "features/feature_definition.h"
#include "features/feature_lookup.h"
#include "prometheus/metric_family.h"
#include "serving/lockfree_family.h"
#include "serving/lockfree_metrics.h"

namespace strata::serving {

// The series of one model's features; recording is lock-free.
class FeatureSeries {
 public:
  enum class Degraded { kStoreError, kDeadline };

  // Adds `imputed[f]` to feature f's counter.
  void RecordImputed(const std::vector<int64_t>& imputed) const;
  void RecordLookup(const features::LookupReport& report, std::chrono::nanoseconds took) const;
  // Every table of a lookup that did not finish (the deadline passed).
  void RecordUnavailable(int64_t rows) const;
  void RecordStage(std::chrono::nanoseconds took) const;
  void RecordDegraded(Degraded why) const;

 private:
  friend class FeatureMetrics;
  struct TableSeries {
    StripedCounter *found, *missing, *stale, *unavailable;
  };
  std::vector<StripedCounter*> imputed_;  // per feature
  std::vector<TableSeries> tables_;       // per table
  LockFreeHistogram* lookup_ = nullptr;
  LockFreeHistogram* stage_ = nullptr;
  StripedCounter* store_error_ = nullptr;
  StripedCounter* deadline_ = nullptr;
};

class FeatureMetrics {
 public:
  FeatureMetrics();

  // The series of `model` under `definition` (its features and tables).
  std::shared_ptr<const FeatureSeries> ForModel(const std::string& model,
                                                const features::FeatureDefinition& definition);

  void RecordLogLine(bool written);

  // Every family with a series, for /metrics.
  std::vector<prometheus::MetricFamily> Collect() const;

 private:
  LockFreeFamily imputed_;
  LockFreeFamily lookups_;
  LockFreeFamily lookup_;
  LockFreeFamily stage_;
  LockFreeFamily degraded_;
  LockFreeFamily log_lines_;
  StripedCounter& log_written_;
  StripedCounter& log_dropped_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_FEATURE_METRICS_H_
