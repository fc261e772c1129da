#include "advisor/cost_model.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"

namespace strata::advisor {
namespace {

constexpr double kZ99 = 2.3263478740408408;  // the standard normal's 99th percentile

// The standard normal quantile (Acklam's rational approximation, relative
// error below 1.2e-9).
double NormalQuantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  p = std::clamp(p, 1e-12, 1 - 1e-12);
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - 0.02425) return -NormalQuantile(1 - p);
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

std::string Percent(double share) {
  if (share >= 0.9995 && share < 1) return fmt::format("{:.2f}%", 100 * share);
  return fmt::format("{:.1f}%", 100 * share);
}

// Simpler plans win ties: fewer moving parts to run.
int Simplicity(Plan plan) {
  switch (plan) {
    case Plan::kDynamic:
      return 0;
    case Plan::kStatic:
      return 1;
    case Plan::kHybrid:
      return 2;
  }
  return 3;
}

}  // namespace

std::string_view PlanName(Plan plan) {
  switch (plan) {
    case Plan::kStatic:
      return "static";
    case Plan::kHybrid:
      return "hybrid";
    case Plan::kDynamic:
      return "dynamic";
  }
  return "?";
}

const PlanEstimate& Recommendation::Chosen() const {
  switch (chosen) {
    case Plan::kStatic:
      return static_plan;
    case Plan::kHybrid:
      return hybrid;
    case Plan::kDynamic:
      return dynamic;
  }
  return dynamic;
}

WorkloadProfile WorkloadProfile::FromStats(const WorkloadStats& stats, double declared_keys) {
  WorkloadProfile profile;
  profile.declared = declared_keys > 0;
  profile.cardinality =
      profile.declared ? std::max(declared_keys, stats.distinct_keys) : stats.distinct_keys;
  profile.entropy_bits = stats.entropy_bits;
  profile.peakedness = Peakedness(stats.entropy_bits, profile.cardinality);
  profile.unseen_share = stats.unseen_share;
  profile.requests_per_second = stats.requests_per_second;
  profile.coverage = stats.expected_coverage;
  return profile;
}

double CostModel::Rate(const WorkloadProfile& profile) const {
  return profile.requests_per_second > 0 ? profile.requests_per_second
                                         : options_.default_requests_per_second;
}

double CostModel::LatencyQuantile(double q, double hit_rate, double lookup_us) const {
  const CostFigures& f = options_.figures;
  const double base = f.request_overhead_us + lookup_us;
  if (q <= hit_rate) return base;
  const double p50 = f.model_p50_us > 0 ? f.model_p50_us : f.model_us_per_row;
  const double p99 = std::max(p50, f.model_p99_us > 0 ? f.model_p99_us : 2 * p50);
  const double t = (q - hit_rate) / (1 - hit_rate);
  const double sigma = (std::log(p99) - std::log(p50)) / kZ99;
  return base + p50 * std::exp(sigma * NormalQuantile(t));
}

void CostModel::Price(const WorkloadProfile& profile, PlanEstimate& plan) const {
  const CostFigures& f = options_.figures;
  const double rate = Rate(profile);
  const double batch_us = f.batch_us_per_row > 0 ? f.batch_us_per_row : f.model_us_per_row;
  const double lookup = plan.plan == Plan::kDynamic ? 0 : f.lookup_us;
  const double online_us =
      f.request_overhead_us + lookup +
      (plan.plan == Plan::kStatic ? 0 : (1 - plan.hit_rate) * f.model_us_per_row);
  const double requests_per_refresh = rate * f.refresh_hours * 3600;
  const double batch_seconds = plan.table_keys * batch_us / 1e6;
  plan.cpu_seconds_per_million = online_us + batch_seconds * 1e6 / requests_per_refresh;
  plan.p50_us = LatencyQuantile(0.5, plan.plan == Plan::kStatic ? 1 : plan.hit_rate, lookup);
  plan.p99_us = LatencyQuantile(0.99, plan.plan == Plan::kStatic ? 1 : plan.hit_rate, lookup);
  const double cores = plan.cpu_seconds_per_million * rate / 1e6;
  const double gigabytes = plan.memory_bytes / double(1ULL << 30);
  plan.cost_per_hour =
      cores * options_.prices.cpu_core_hour + gigabytes * options_.prices.memory_gb_hour;

  const Budgets& b = options_.budgets;
  std::vector<std::string> why;
  if (plan.memory_bytes > b.memory_bytes) {
    why.push_back(fmt::format("needs {} of table, over the {} budget",
                              FormatBytes(plan.memory_bytes), FormatBytes(b.memory_bytes)));
  }
  if (b.p99_objective_us > 0 && plan.p99_us > b.p99_objective_us) {
    why.push_back(fmt::format("p99 {} misses the {} objective", FormatMicros(plan.p99_us),
                              FormatMicros(b.p99_objective_us)));
  }
  if (plan.plan == Plan::kStatic && 1 - plan.hit_rate > b.max_default_share) {
    why.push_back(
        fmt::format("{} of requests would get the default (keys never seen; "
                    "declare the key space to precompute it all)",
                    Percent(1 - plan.hit_rate)));
  }
  plan.feasible = why.empty();
  plan.why_not = fmt::format("{}", fmt::join(why, "; "));
}

PlanEstimate CostModel::Static(const WorkloadProfile& profile) const {
  PlanEstimate plan;
  plan.plan = Plan::kStatic;
  plan.table_keys = profile.cardinality;
  plan.hit_rate = profile.declared ? 1.0 : std::clamp(1 - profile.unseen_share, 0.0, 1.0);
  plan.memory_bytes = plan.table_keys * options_.figures.bytes_per_entry;
  Price(profile, plan);
  return plan;
}

PlanEstimate CostModel::HybridWith(const WorkloadProfile& profile, double keys) const {
  PlanEstimate plan;
  plan.plan = Plan::kHybrid;
  plan.table_keys = keys;
  plan.hit_rate = profile.coverage.ShareAt(keys);
  plan.memory_bytes = keys * options_.figures.bytes_per_entry;
  Price(profile, plan);
  return plan;
}

PlanEstimate CostModel::Hybrid(const WorkloadProfile& profile) const {
  const double fit =
      std::floor(options_.budgets.memory_bytes / std::max(1.0, options_.figures.bytes_per_entry));
  const double max_keys = std::max(1.0, std::min(profile.cardinality, fit));
  PlanEstimate best;
  bool found = false;
  for (double k : LogGrid(max_keys, 40)) {
    PlanEstimate plan = HybridWith(profile, k);
    if (!plan.feasible) continue;
    if (!found || plan.cost_per_hour < best.cost_per_hour * (1 - 1e-9)) {
      best = std::move(plan);
      found = true;
    }
  }
  if (found) return best;
  return HybridWith(profile, max_keys);  // the most a table can do, infeasible
}

PlanEstimate CostModel::Dynamic(const WorkloadProfile& profile) const {
  PlanEstimate plan;
  plan.plan = Plan::kDynamic;
  Price(profile, plan);
  return plan;
}

namespace {

// The cheapest plan that meets the budgets; null when none does.
const PlanEstimate* Cheapest(const std::vector<const PlanEstimate*>& plans) {
  const PlanEstimate* cheapest = nullptr;
  for (const PlanEstimate* p : plans) {
    if (p->feasible && (cheapest == nullptr || p->cost_per_hour < cheapest->cost_per_hour)) {
      cheapest = p;
    }
  }
  return cheapest;
}

// The plan to recommend: a simpler plan within 5% of the cheapest wins; when
// nothing meets the budgets, the lowest p99 comes closest.
const PlanEstimate* Choose(const std::vector<const PlanEstimate*>& plans,
                           const PlanEstimate* cheapest) {
  const PlanEstimate* chosen = cheapest;
  if (cheapest != nullptr) {
    for (const PlanEstimate* p : plans) {
      if (p->feasible && Simplicity(p->plan) < Simplicity(chosen->plan) &&
          p->cost_per_hour <= cheapest->cost_per_hour * 1.05) {
        chosen = p;
      }
    }
    return chosen;
  }
  for (const PlanEstimate* p : plans) {
    if (chosen == nullptr || p->p99_us < chosen->p99_us) chosen = p;
  }
  return chosen;
}

// Why `r.chosen` was recommended, in a sentence or two.
std::string Explain(const Recommendation& r, const PlanEstimate& chosen, bool any_feasible,
                    const WorkloadProfile& profile) {
  const std::string shape =
      fmt::format("entropy {:.1f} bits over {} keys, peakedness {:.2f}", profile.entropy_bits,
                  FormatCount(profile.cardinality), profile.peakedness);
  const std::string saving = r.dynamic.cost_per_hour > 0
                                 ? fmt::format("{:.0f}% of dynamic's cost",
                                               100 * chosen.cost_per_hour / r.dynamic.cost_per_hour)
                                 : std::string("no model cost");
  if (!any_feasible) {
    return fmt::format(
        "no plan meets the budgets ({}); {} comes closest with p99 {}. Raise the "
        "memory budget, relax the objective or make the model faster",
        shape, PlanName(chosen.plan), FormatMicros(chosen.p99_us));
  }
  if (r.chosen == Plan::kStatic) {
    return fmt::format(
        "static: the whole key space ({} keys) fits in {} and {} of requests find "
        "their key, so every answer is a lookup (p99 {}) at {}; {}",
        FormatCount(r.static_plan.table_keys), FormatBytes(r.static_plan.memory_bytes),
        Percent(r.static_plan.hit_rate), FormatMicros(r.static_plan.p99_us), saving, shape);
  }
  if (r.chosen == Plan::kHybrid) {
    return fmt::format(
        "hybrid: the top {} keys ({} of the {}) take {} of requests; a {} "
        "table of them leaves the model {} of the traffic, at {} (p99 {}); {}",
        FormatCount(r.hybrid.table_keys),
        Percent(r.hybrid.table_keys / std::max(1.0, profile.cardinality)),
        profile.declared ? "key space" : "keys seen", Percent(r.hybrid.hit_rate),
        FormatBytes(r.hybrid.memory_bytes), Percent(1 - r.hybrid.hit_rate), saving,
        FormatMicros(r.hybrid.p99_us), shape);
  }
  std::string why;
  if (!r.static_plan.feasible) why = fmt::format("static fails: {}", r.static_plan.why_not);
  return fmt::format(
      "dynamic: a table does not pay for itself (the best hybrid, {} key{} covering "
      "{}, would cost {:.0f}% of dynamic){}; {}",
      FormatCount(r.hybrid.table_keys), r.hybrid.table_keys == 1 ? "" : "s",
      Percent(r.hybrid.hit_rate),
      r.dynamic.cost_per_hour > 0 ? 100 * r.hybrid.cost_per_hour / r.dynamic.cost_per_hour : 0,
      why.empty() ? "" : fmt::format(", and {}", why), shape);
}

}  // namespace

Recommendation CostModel::Recommend(const WorkloadProfile& profile) const {
  Recommendation r;
  r.requests_per_second = Rate(profile);
  r.static_plan = Static(profile);
  r.hybrid = Hybrid(profile);
  r.dynamic = Dynamic(profile);
  const std::vector<const PlanEstimate*> plans = {&r.dynamic, &r.static_plan, &r.hybrid};
  const PlanEstimate* cheapest = Cheapest(plans);
  const PlanEstimate* chosen = Choose(plans, cheapest);
  r.chosen = chosen->plan;
  r.reason = Explain(r, *chosen, cheapest != nullptr, profile);
  return r;
}

std::string FormatBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 5) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

std::string FormatMicros(double us) {
  if (us < 1000) return fmt::format("{:.0f} µs", us);
  if (us < 1e6) return fmt::format("{:.2f} ms", us / 1000);
  return fmt::format("{:.2f} s", us / 1e6);
}

std::string FormatCount(double n) {
  if (n >= 1e9) return fmt::format("{:.2g}", n);
  const std::string digits = fmt::format("{}", std::llround(n));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace strata::advisor
