#include "serving/lockfree_family.h"

namespace strata::serving {
namespace {

struct Typed {
  prometheus::MetricType type;
  prometheus::ClientMetric metric;
};

// One series' value, in the ClientMetric field its type reads.
Typed Read(LockFreeFamily::Series series) {
  Typed out{};
  if (const auto* counter = std::get_if<const StripedCounter*>(&series)) {
    out.type = prometheus::MetricType::Counter;
    out.metric.counter.value = static_cast<double>((*counter)->Value());
  } else if (const auto* level = std::get_if<const LevelGauge*>(&series)) {
    out.type = prometheus::MetricType::Gauge;
    out.metric.gauge.value = static_cast<double>((*level)->Value());
  } else if (const auto* value = std::get_if<const ValueGauge*>(&series)) {
    out.type = prometheus::MetricType::Gauge;
    out.metric.gauge.value = (*value)->Value();
  } else {
    out.type = prometheus::MetricType::Histogram;
    out.metric.histogram = std::get<const LockFreeHistogram*>(series)->Read();
  }
  return out;
}

std::vector<prometheus::ClientMetric::Label> LabelsOf(const prometheus::Labels& labels) {
  std::vector<prometheus::ClientMetric::Label> label;
  for (const auto& [name, value] : labels) label.push_back({name, value});  // sorted by name
  return label;
}

}  // namespace

LockFreeFamily::LockFreeFamily(std::string name, std::string help)
    : name_(std::move(name)), help_(std::move(help)) {}

void LockFreeFamily::Add(const prometheus::Labels& labels, Series series) {
  std::vector<prometheus::ClientMetric::Label> label = LabelsOf(labels);
  core::MutexLock lock(mutex_);
  series_.emplace_back(std::move(label), series);
}

StripedCounter& LockFreeFamily::OwnedCounter(const prometheus::Labels& labels) {
  core::MutexLock lock(mutex_);
  std::unique_ptr<StripedCounter>& owned = counters_[labels];
  if (owned == nullptr) {
    owned = std::make_unique<StripedCounter>();
    series_.emplace_back(LabelsOf(labels), owned.get());
  }
  return *owned;
}

LockFreeHistogram& LockFreeFamily::OwnedHistogram(const prometheus::Labels& labels,
                                                  const HistogramBounds& bounds) {
  core::MutexLock lock(mutex_);
  std::unique_ptr<LockFreeHistogram>& owned = histograms_[labels];
  if (owned == nullptr) {
    owned = std::make_unique<LockFreeHistogram>(bounds);
    series_.emplace_back(LabelsOf(labels), owned.get());
  }
  return *owned;
}

void LockFreeFamily::Remove(Series series) {
  core::MutexLock lock(mutex_);
  std::erase_if(series_, [&series](const auto& entry) { return entry.second == series; });
}

std::optional<prometheus::MetricFamily> LockFreeFamily::Collect() const {
  core::MutexLock lock(mutex_);
  if (series_.empty()) return std::nullopt;
  prometheus::MetricFamily family{.name = name_, .help = help_, .type = {}, .metric = {}};
  family.metric.reserve(series_.size());
  for (const auto& [label, series] : series_) {
    Typed typed = Read(series);
    family.type = typed.type;
    typed.metric.label = label;
    family.metric.push_back(std::move(typed.metric));
  }
  return family;
}

}  // namespace strata::serving
