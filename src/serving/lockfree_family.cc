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

}  // namespace

LockFreeFamily::LockFreeFamily(std::string name, std::string help)
    : name_(std::move(name)), help_(std::move(help)) {}

void LockFreeFamily::Add(const prometheus::Labels& labels, Series series) {
  std::vector<prometheus::ClientMetric::Label> label;
  for (const auto& [name, value] : labels) label.push_back({name, value});  // sorted by name
  core::MutexLock lock(mutex_);
  series_.emplace_back(std::move(label), series);
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
