// PlanMap is the peakedness-cardinality map: for a grid of key-space sizes
// (log scale) and peakedness values, the plan the cost model recommends for
// a Zipf workload of that shape, at one request rate. It shows where static,
// hybrid and dynamic serving each win under the endpoint's own cost figures
// and budgets. A value type.
#ifndef STRATA_ADVISOR_PLAN_MAP_H_
#define STRATA_ADVISOR_PLAN_MAP_H_

#include <vector>

#include "advisor/cost_model.h"

namespace strata::advisor {

struct PlanMapOptions {
  double min_log10_keys = 1;
  double max_log10_keys = 10;
  int columns = 36;
  int rows = 24;  // peakedness from 0 to 1
};

class PlanMap {
 public:
  static PlanMap Compute(const CostModel& model, double requests_per_second,
                         const PlanMapOptions& options);

  const PlanMapOptions& options() const { return options_; }
  // cells()[row][column]; row 0 is peakedness near 0.
  const std::vector<std::vector<Plan>>& cells() const { return cells_; }
  // The cell's plan for the point (log10 keys, peakedness).
  Plan At(double log10_keys, double peakedness) const;

 private:
  PlanMapOptions options_;
  std::vector<std::vector<Plan>> cells_;
};

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_PLAN_MAP_H_
