// ExperimentMetrics writes what Experiments measures into /metrics:
//
//   strata_feedback_joined_total{endpoint}       feedback joined to a prediction
//   strata_feedback_unmatched_total{endpoint}    feedback for an unknown or expired id
//   strata_feedback_outcomes{endpoint,arm,version}            outcomes joined so far
//   strata_feedback_accuracy / _log_loss / _auc / _mean_absolute_error /
//   strata_feedback_mean_reward{endpoint,arm,version}         the figures so far
//   strata_shadow_requests_total / _errors_total{endpoint,shadow}
//   strata_shadow_dropped_total{endpoint,shadow,reason}   queue_full, primary_busy, over_budget
//   strata_shadow_rows_total / _disagreeing_rows_total{endpoint,primary,shadow}
//   strata_shadow_score_difference{endpoint,primary,shadow}   histogram of |primary - shadow|
//
// Thread-safe (prometheus-cpp's families are).
#ifndef STRATA_SERVING_EXPERIMENT_EXPERIMENT_METRICS_H_
#define STRATA_SERVING_EXPERIMENT_EXPERIMENT_METRICS_H_

#include <string>
#include <vector>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "serving/experiment/agreement.h"
#include "serving/experiment/experiments.h"

namespace strata::serving {

class ExperimentMetrics {
 public:
  explicit ExperimentMetrics(prometheus::Registry& registry);

  void Unmatched(const std::string& endpoint);
  // After a join: the arm's figures from its sums.
  void Joined(const std::string& endpoint, const ArmOutcomes& arm);
  // The counter of `event` for this endpoint's shadow (a reference that
  // stays valid: callers keep it).
  prometheus::Counter& Shadow(const std::string& endpoint, const std::string& shadow,
                              ShadowEvent event);
  void Agreement(const std::string& endpoint, const std::string& primary, const std::string& shadow,
                 const std::vector<RowAgreement>& rows);

 private:
  prometheus::Family<prometheus::Counter>& joined_;
  prometheus::Family<prometheus::Counter>& unmatched_;
  prometheus::Family<prometheus::Gauge>& outcomes_;
  prometheus::Family<prometheus::Gauge>& accuracy_;
  prometheus::Family<prometheus::Gauge>& log_loss_;
  prometheus::Family<prometheus::Gauge>& auc_;
  prometheus::Family<prometheus::Gauge>& mean_absolute_error_;
  prometheus::Family<prometheus::Gauge>& mean_reward_;
  prometheus::Family<prometheus::Counter>& shadow_requests_;
  prometheus::Family<prometheus::Counter>& shadow_dropped_;
  prometheus::Family<prometheus::Counter>& shadow_errors_;
  prometheus::Family<prometheus::Counter>& shadow_rows_;
  prometheus::Family<prometheus::Counter>& shadow_disagreeing_;
  prometheus::Family<prometheus::Histogram>& score_difference_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_EXPERIMENT_METRICS_H_
