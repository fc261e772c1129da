#include "advisor/plan_map.h"

#include <algorithm>
#include <cmath>

#include "advisor/zipf_distribution.h"

namespace strata::advisor {

PlanMap PlanMap::Compute(const CostModel& model, double requests_per_second,
                         const PlanMapOptions& options) {
  PlanMap map;
  map.options_ = options;
  map.cells_.assign(options.rows, std::vector<Plan>(options.columns, Plan::kDynamic));
  const double width = (options.max_log10_keys - options.min_log10_keys) / options.columns;
  for (int column = 0; column < options.columns; ++column) {
    const double keys = std::round(std::pow(10.0, options.min_log10_keys + (column + 0.5) * width));
    for (int row = 0; row < options.rows; ++row) {
      const double peakedness = (row + 0.5) / options.rows;
      const ZipfDistribution zipf = ZipfDistribution::WithPeakedness(keys, peakedness);
      WorkloadProfile profile;
      profile.cardinality = keys;
      profile.declared = true;
      profile.entropy_bits = zipf.EntropyBits();
      profile.peakedness = zipf.Peakedness();
      profile.requests_per_second = requests_per_second;
      profile.coverage = zipf.Curve();
      map.cells_[row][column] = model.Recommend(profile).chosen;
    }
  }
  return map;
}

Plan PlanMap::At(double log10_keys, double peakedness) const {
  const double width = (options_.max_log10_keys - options_.min_log10_keys) / options_.columns;
  const int column = std::clamp(static_cast<int>((log10_keys - options_.min_log10_keys) / width), 0,
                                options_.columns - 1);
  const int row = std::clamp(static_cast<int>(peakedness * options_.rows), 0, options_.rows - 1);
  return cells_[row][column];
}

}  // namespace strata::advisor
