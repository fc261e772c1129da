// CostModel compares the three ways to serve an endpoint's workload --
// static (a table of the whole key space), hybrid (a table of the top K
// keys, the model for the rest) and dynamic (the model for every request) --
// from the workload's profile, the endpoint's cost figures and the budgets,
// and recommends one with its reason. For hybrid it searches the K with the
// lowest cost that meets the latency objective. Latencies of model answers
// are modelled as log-normal through the measured p50 and p99; costs are in
// relative units (one CPU core-hour = 1 by default). Immutable; thread-safe.
#ifndef STRATA_ADVISOR_COST_MODEL_H_
#define STRATA_ADVISOR_COST_MODEL_H_

#include <string>
#include <string_view>

#include "advisor/coverage_curve.h"
#include "advisor/workload_stats.h"

namespace strata::advisor {

// What one request costs in each layer (microseconds, bytes).
struct CostFigures {
  double model_us_per_row = 200;    // model CPU time per row
  double model_p50_us = 0;          // latency of a model answer; 0: model_us_per_row
  double model_p99_us = 0;          // 0: twice the p50
  double batch_us_per_row = 0;      // offline precompute per row; 0: model_us_per_row
  double lookup_us = 5;             // one table lookup, latency and CPU
  double bytes_per_entry = 64;      // one table entry: key, value, overhead
  double request_overhead_us = 30;  // protocol work every request pays
  double refresh_hours = 24;        // how often a table is rebuilt
};

struct Budgets {
  double memory_bytes = 8.0 * (1ULL << 30);
  double p99_objective_us = 0;  // 0: no objective
  // Static plans answer misses with the default; they qualify only when at
  // most this share of requests would get it.
  double max_default_share = 0.001;
};

struct Prices {
  double cpu_core_hour = 1.0;
  double memory_gb_hour = 0.125;  // about the cloud ratio of GB to vCPU
};

struct CostModelOptions {
  CostFigures figures;
  Budgets budgets;
  Prices prices;
  double default_requests_per_second = 1000;  // when the profile has none
};

// The workload as the cost model sees it.
struct WorkloadProfile {
  double cardinality = 0;  // the key space: declared, else distinct keys seen
  bool declared = false;   // the key space was declared, not observed
  double entropy_bits = 0;
  double peakedness = 0;  // relative to `cardinality`
  double unseen_share = 0;
  double requests_per_second = 0;
  // The hit rate a table of the top K keys can expect.
  CoverageCurve coverage;

  // From measured stats (their expected coverage); `declared_keys` > 0 names the whole key space.
  static WorkloadProfile FromStats(const WorkloadStats& stats, double declared_keys);
};

enum class Plan { kStatic, kHybrid, kDynamic };
std::string_view PlanName(Plan plan);

struct PlanEstimate {
  Plan plan = Plan::kDynamic;
  double table_keys = 0;  // entries precomputed (K for hybrid)
  double hit_rate = 0;    // share of requests answered by the table
  double p50_us = 0, p99_us = 0;
  double memory_bytes = 0;
  double cpu_seconds_per_million = 0;  // online plus amortised precompute
  double cost_per_hour = 0;            // at the profile's request rate
  bool feasible = true;
  std::string why_not;  // when not feasible
};

struct Recommendation {
  PlanEstimate static_plan, hybrid, dynamic;
  Plan chosen = Plan::kDynamic;
  std::string reason;
  double requests_per_second = 0;  // the rate the costs assume

  const PlanEstimate& Chosen() const;
};

class CostModel {
 public:
  explicit CostModel(CostModelOptions options) : options_(std::move(options)) {}

  Recommendation Recommend(const WorkloadProfile& profile) const;

  PlanEstimate Static(const WorkloadProfile& profile) const;
  // The best K: the cheapest that meets the latency objective.
  PlanEstimate Hybrid(const WorkloadProfile& profile) const;
  PlanEstimate HybridWith(const WorkloadProfile& profile, double keys) const;
  PlanEstimate Dynamic(const WorkloadProfile& profile) const;

  const CostModelOptions& options() const { return options_; }

 private:
  double Rate(const WorkloadProfile& profile) const;
  // Latency quantile q of a request that the table answers with
  // probability `hit_rate` and the model otherwise.
  double LatencyQuantile(double q, double hit_rate, double lookup_us) const;
  void Price(const WorkloadProfile& profile, PlanEstimate& plan) const;

  CostModelOptions options_;
};

// "1.5 GiB", "12 KiB"
std::string FormatBytes(double bytes);
// "850 µs", "2.1 ms"
std::string FormatMicros(double us);
// "1,234,567" or "1.2e9" when huge
std::string FormatCount(double n);

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_COST_MODEL_H_
