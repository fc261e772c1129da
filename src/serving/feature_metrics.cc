#include "serving/feature_metrics.h"

namespace strata::serving {
namespace {

// Seconds, recorded in nanoseconds; fine below a millisecond, where lookups
// from memory sit.
const HistogramBounds kFeatureBuckets = {
    .bounds = {0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
               0.01, 0.025, 0.05, 0.1, 0.25, 1.0},
    .unit = 1e9};

void Add(StripedCounter* counter, int64_t n) {
  if (n > 0) counter->Add(static_cast<uint64_t>(n));
}

}  // namespace

void FeatureSeries::RecordImputed(const std::vector<int64_t>& imputed) const {
  for (size_t f = 0; f < imputed.size() && f < imputed_.size(); ++f) Add(imputed_[f], imputed[f]);
}

void FeatureSeries::RecordLookup(const features::LookupReport& report,
                                 std::chrono::nanoseconds took) const {
  for (size_t t = 0; t < tables_.size(); ++t) {
    if (t < report.found.size()) Add(tables_[t].found, report.found[t]);
    if (t < report.missing.size()) Add(tables_[t].missing, report.missing[t]);
    if (t < report.stale.size()) Add(tables_[t].stale, report.stale[t]);
  }
  lookup_->Observe(took);
}

void FeatureSeries::RecordUnavailable(int64_t rows) const {
  for (const TableSeries& table : tables_) Add(table.unavailable, rows);
}

void FeatureSeries::RecordStage(std::chrono::nanoseconds took) const { stage_->Observe(took); }

void FeatureSeries::RecordDegraded(Degraded why) const {
  (why == Degraded::kDeadline ? deadline_ : store_error_)->Add();
}

FeatureMetrics::FeatureMetrics()
    : imputed_("strata_feature_imputed_total",
               "Rows whose feature input was missing and imputed, by model and feature"),
      lookups_("strata_feature_lookups_total",
               "Entity rows looked up in feature tables, by table and result"),
      lookup_("strata_feature_lookup_duration_seconds",
              "Feature table lookups of one request (all its tables)"),
      stage_("strata_feature_stage_duration_seconds",
             "The feature stage of one request: lookups and transformations"),
      degraded_("strata_feature_degraded_requests_total",
                "Requests answered with imputed table features, by why"),
      log_lines_("strata_feature_log_lines_total",
                 "Lines of the served-feature log, written or dropped (queue full)"),
      log_written_(log_lines_.OwnedCounter({{"result", "written"}})),
      log_dropped_(log_lines_.OwnedCounter({{"result", "dropped"}})) {}

std::shared_ptr<const FeatureSeries> FeatureMetrics::ForModel(
    const std::string& model, const features::FeatureDefinition& definition) {
  auto series = std::make_shared<FeatureSeries>();
  for (const features::Feature& f : definition.features) {
    series->imputed_.push_back(&imputed_.OwnedCounter({{"model", model}, {"feature", f.name}}));
  }
  for (const features::FeatureTable& t : definition.tables) {
    auto result = [&](const char* r) {
      return &lookups_.OwnedCounter({{"table", t.name}, {"result", r}});
    };
    series->tables_.push_back(
        {result("found"), result("missing"), result("stale"), result("unavailable")});
  }
  series->lookup_ = &lookup_.OwnedHistogram({{"model", model}}, kFeatureBuckets);
  series->stage_ = &stage_.OwnedHistogram({{"model", model}}, kFeatureBuckets);
  series->store_error_ = &degraded_.OwnedCounter({{"model", model}, {"why", "store_error"}});
  series->deadline_ = &degraded_.OwnedCounter({{"model", model}, {"why", "deadline"}});
  return series;
}

void FeatureMetrics::RecordLogLine(bool written) { (written ? log_written_ : log_dropped_).Add(); }

std::vector<prometheus::MetricFamily> FeatureMetrics::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  for (const LockFreeFamily* family :
       {&imputed_, &lookups_, &degraded_, &log_lines_, &lookup_, &stage_}) {
    if (std::optional<prometheus::MetricFamily> collected = family->Collect()) {
      families.push_back(std::move(*collected));
    }
  }
  return families;
}

}  // namespace strata::serving
