#include "serving/experiment/experiment_metrics.h"

#include <cmath>

namespace strata::serving {
namespace {

prometheus::Family<prometheus::Counter>& Counter(prometheus::Registry& r, const std::string& name,
                                                 const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

prometheus::Family<prometheus::Gauge>& Gauge(prometheus::Registry& r, const std::string& name,
                                             const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

void SetIfNumber(prometheus::Family<prometheus::Gauge>& family, const prometheus::Labels& labels,
                 double value) {
  if (!std::isnan(value)) family.Add(labels).Set(value);
}

}  // namespace

ExperimentMetrics::ExperimentMetrics(prometheus::Registry& r)
    : joined_(Counter(r, "strata_feedback_joined_total", "Feedback joined to its prediction")),
      unmatched_(Counter(r, "strata_feedback_unmatched_total",
                         "Feedback whose request id is unknown or expired")),
      outcomes_(Gauge(r, "strata_feedback_outcomes", "Outcomes joined per arm and version")),
      accuracy_(Gauge(r, "strata_feedback_accuracy", "Share of labelled rows predicted right")),
      log_loss_(Gauge(r, "strata_feedback_log_loss", "Mean log loss of labelled rows")),
      auc_(Gauge(r, "strata_feedback_auc", "AUC of labelled rows (binary probability)")),
      mean_absolute_error_(Gauge(r, "strata_feedback_mean_absolute_error",
                                 "Mean absolute error of a regressor's labelled rows")),
      mean_reward_(Gauge(r, "strata_feedback_mean_reward", "Mean reward")),
      shadow_requests_(Counter(r, "strata_shadow_requests_total", "Requests copied to a shadow")),
      shadow_dropped_(Counter(r, "strata_shadow_dropped_total",
                              "Requests not copied to a shadow, by reason: queue_full, "
                              "primary_busy, over_budget")),
      shadow_errors_(Counter(r, "strata_shadow_errors_total", "Shadow calls that failed")),
      shadow_rows_(Counter(r, "strata_shadow_rows_total", "Rows compared with a shadow")),
      shadow_disagreeing_(Counter(r, "strata_shadow_disagreeing_rows_total",
                                  "Rows whose predicted class differs from the shadow's")),
      score_difference_(prometheus::BuildHistogram()
                            .Name("strata_shadow_score_difference")
                            .Help("Largest |primary - shadow| score difference per row")
                            .Register(r)) {}

void ExperimentMetrics::Unmatched(const std::string& endpoint) {
  unmatched_.Add({{"endpoint", endpoint}}).Increment();
}

void ExperimentMetrics::Joined(const std::string& endpoint, const ArmOutcomes& arm) {
  joined_.Add({{"endpoint", endpoint}}).Increment();
  const prometheus::Labels labels = {
      {"endpoint", endpoint}, {"arm", arm.arm}, {"version", arm.version}};
  const OutcomeSums& s = arm.sums;
  outcomes_.Add(labels).Set(static_cast<double>(s.labels + s.regression_labels + s.rewards));
  if (s.labels > 0) {
    const auto n = static_cast<double>(s.labels);
    accuracy_.Add(labels).Set(static_cast<double>(s.correct) / n);
    log_loss_.Add(labels).Set(s.log_loss_sum / n);
    SetIfNumber(auc_, labels, s.Auc());
  }
  if (s.regression_labels > 0) {
    mean_absolute_error_.Add(labels).Set(s.abs_error_sum /
                                         static_cast<double>(s.regression_labels));
  }
  if (s.rewards > 0) mean_reward_.Add(labels).Set(s.reward_sum / static_cast<double>(s.rewards));
}

prometheus::Counter& ExperimentMetrics::Shadow(const std::string& endpoint,
                                               const std::string& shadow, ShadowEvent event) {
  const prometheus::Labels labels = {{"endpoint", endpoint}, {"shadow", shadow}};
  auto dropped = [&](const char* reason) -> prometheus::Counter& {
    prometheus::Labels with_reason = labels;
    with_reason.emplace("reason", reason);
    return shadow_dropped_.Add(with_reason);
  };
  switch (event) {
    case ShadowEvent::kSent:
      return shadow_requests_.Add(labels);
    case ShadowEvent::kQueueFull:
      return dropped("queue_full");
    case ShadowEvent::kPrimaryBusy:
      return dropped("primary_busy");
    case ShadowEvent::kOverBudget:
      return dropped("over_budget");
    case ShadowEvent::kError:
      break;
  }
  return shadow_errors_.Add(labels);
}

void ExperimentMetrics::Agreement(const std::string& endpoint, const std::string& primary,
                                  const std::string& shadow,
                                  const std::vector<RowAgreement>& rows) {
  const prometheus::Labels labels = {
      {"endpoint", endpoint}, {"primary", primary}, {"shadow", shadow}};
  prometheus::Histogram& histogram = score_difference_.Add(
      labels, prometheus::Histogram::BucketBoundaries(std::begin(kScoreDifferenceBounds),
                                                      std::end(kScoreDifferenceBounds)));
  double disagreeing = 0;
  for (const RowAgreement& row : rows) {
    histogram.Observe(row.score_difference);
    disagreeing += row.class_differs ? 1 : 0;
  }
  shadow_rows_.Add(labels).Increment(static_cast<double>(rows.size()));
  shadow_disagreeing_.Add(labels).Increment(disagreeing);
}

}  // namespace strata::serving
