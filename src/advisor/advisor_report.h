// AdvisorReport is everything `strata advise` found about one endpoint's
// workload and what it recommends; RenderText() lays it out for a terminal
// and RenderJson() for tools (one JSON object). Pure functions of a value
// type; thread-safe.
#ifndef STRATA_ADVISOR_ADVISOR_REPORT_H_
#define STRATA_ADVISOR_ADVISOR_REPORT_H_

#include <string>

#include "advisor/cost_model.h"
#include "advisor/workload_stats.h"

namespace strata::advisor {

struct AdvisorReport {
  std::string endpoint;
  std::string source;  // where the keys came from, for the heading
  WorkloadStats stats;
  WorkloadProfile profile;
  CostModelOptions options;
  Recommendation recommendation;
  double sample = 1;          // share of requests the keys represent
  bool keys_are_json = true;  // top keys are JSON texts (else plain strings)
};

std::string RenderText(const AdvisorReport& report);
std::string RenderJson(const AdvisorReport& report);

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_ADVISOR_REPORT_H_
