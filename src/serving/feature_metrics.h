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
// ServedFeatures; requests never look series up by name. Thread-safe.
#ifndef STRATA_SERVING_FEATURE_METRICS_H_
#define STRATA_SERVING_FEATURE_METRICS_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "features/feature_definition.h"
#include "features/feature_lookup.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

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
    prometheus::Counter *found, *missing, *stale, *unavailable;
  };
  std::vector<prometheus::Counter*> imputed_;  // per feature
  std::vector<TableSeries> tables_;            // per table
  prometheus::Histogram* lookup_ = nullptr;
  prometheus::Histogram* stage_ = nullptr;
  prometheus::Counter* store_error_ = nullptr;
  prometheus::Counter* deadline_ = nullptr;
};

class FeatureMetrics {
 public:
  explicit FeatureMetrics(prometheus::Registry& registry);

  // The series of `model` under `definition` (its features and tables).
  std::shared_ptr<const FeatureSeries> ForModel(const std::string& model,
                                                const features::FeatureDefinition& definition);

  void RecordLogLine(bool written);

 private:
  prometheus::Family<prometheus::Counter>& imputed_;
  prometheus::Family<prometheus::Counter>& lookups_;
  prometheus::Family<prometheus::Histogram>& lookup_;
  prometheus::Family<prometheus::Histogram>& stage_;
  prometheus::Family<prometheus::Counter>& degraded_;
  prometheus::Family<prometheus::Counter>& log_lines_;
  prometheus::Counter& log_written_;
  prometheus::Counter& log_dropped_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_FEATURE_METRICS_H_
