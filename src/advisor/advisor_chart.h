// RenderAdvisorChart draws the advisor's chart as a standalone SVG document
// (open it in a browser): on the left the peakedness-cardinality map with
// the regions where each plan wins and the workload's point on it; on the
// right the coverage curve (share of requests taken by the top K keys) with
// the chosen K marked, and optionally the curve in hindsight, dashed. Pure function; thread-safe.
#ifndef STRATA_ADVISOR_ADVISOR_CHART_H_
#define STRATA_ADVISOR_ADVISOR_CHART_H_

#include <string>

#include "advisor/cost_model.h"
#include "advisor/coverage_curve.h"
#include "advisor/plan_map.h"

namespace strata::advisor {

struct ChartInput {
  std::string title;  // e.g. the endpoint's name
  const PlanMap* map = nullptr;
  double cardinality = 0;  // the workload's point
  double peakedness = 0;
  const CoverageCurve* coverage = nullptr;  // expected on new traffic
  const Recommendation* recommendation = nullptr;
  const CoverageCurve* observed = nullptr;  // in hindsight; optional
};

std::string RenderAdvisorChart(const ChartInput& input);

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_ADVISOR_CHART_H_
