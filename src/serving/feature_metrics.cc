#include "serving/feature_metrics.h"

namespace strata::serving {
namespace {

using std::chrono::duration;

// Seconds; fine below a millisecond, where lookups from memory sit.
const prometheus::Histogram::BucketBoundaries kFeatureBuckets = {
    0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
    0.0025,   0.005,   0.01,     0.025,   0.05,   0.1,     0.25,   1.0};

void Add(prometheus::Counter* counter, int64_t n) {
  if (n > 0) counter->Increment(static_cast<double>(n));
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
  lookup_->Observe(duration<double>(took).count());
}

void FeatureSeries::RecordUnavailable(int64_t rows) const {
  for (const TableSeries& table : tables_) Add(table.unavailable, rows);
}

void FeatureSeries::RecordStage(std::chrono::nanoseconds took) const {
  stage_->Observe(duration<double>(took).count());
}

void FeatureSeries::RecordDegraded(Degraded why) const {
  (why == Degraded::kDeadline ? deadline_ : store_error_)->Increment();
}

FeatureMetrics::FeatureMetrics(prometheus::Registry& registry)
    : imputed_(prometheus::BuildCounter()
                   .Name("strata_feature_imputed_total")
                   .Help("Rows whose feature input was missing and imputed, by model and feature")
                   .Register(registry)),
      lookups_(prometheus::BuildCounter()
                   .Name("strata_feature_lookups_total")
                   .Help("Entity rows looked up in feature tables, by table and result")
                   .Register(registry)),
      lookup_(prometheus::BuildHistogram()
                  .Name("strata_feature_lookup_duration_seconds")
                  .Help("Feature table lookups of one request (all its tables)")
                  .Register(registry)),
      stage_(prometheus::BuildHistogram()
                 .Name("strata_feature_stage_duration_seconds")
                 .Help("The feature stage of one request: lookups and transformations")
                 .Register(registry)),
      degraded_(prometheus::BuildCounter()
                    .Name("strata_feature_degraded_requests_total")
                    .Help("Requests answered with imputed table features, by why")
                    .Register(registry)),
      log_lines_(prometheus::BuildCounter()
                     .Name("strata_feature_log_lines_total")
                     .Help("Lines of the served-feature log, written or dropped (queue full)")
                     .Register(registry)),
      log_written_(log_lines_.Add({{"result", "written"}})),
      log_dropped_(log_lines_.Add({{"result", "dropped"}})) {}

std::shared_ptr<const FeatureSeries> FeatureMetrics::ForModel(
    const std::string& model, const features::FeatureDefinition& definition) {
  auto series = std::make_shared<FeatureSeries>();
  for (const features::Feature& f : definition.features) {
    series->imputed_.push_back(&imputed_.Add({{"model", model}, {"feature", f.name}}));
  }
  for (const features::FeatureTable& t : definition.tables) {
    auto result = [&](const char* r) { return &lookups_.Add({{"table", t.name}, {"result", r}}); };
    series->tables_.push_back(
        {result("found"), result("missing"), result("stale"), result("unavailable")});
  }
  series->lookup_ = &lookup_.Add({{"model", model}}, kFeatureBuckets);
  series->stage_ = &stage_.Add({{"model", model}}, kFeatureBuckets);
  series->store_error_ = &degraded_.Add({{"model", model}, {"why", "store_error"}});
  series->deadline_ = &degraded_.Add({{"model", model}, {"why", "deadline"}});
  return series;
}

void FeatureMetrics::RecordLogLine(bool written) {
  (written ? log_written_ : log_dropped_).Increment();
}

}  // namespace strata::serving
