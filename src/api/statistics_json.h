// Encodes model statistics as JSON in the shape of Triton's statistics
// extension (GET /v2/models[/{m}[/versions/{v}]]/stats), so tools written
// for Triton read strata's. Pure function; thread-safe.
#ifndef STRATA_API_STATISTICS_JSON_H_
#define STRATA_API_STATISTICS_JSON_H_

#include <string>
#include <vector>

#include "serving/server_metrics.h"

namespace strata::api {

// {"model_stats": [{"name", "version", "last_inference", "inference_count",
//   "execution_count", "inference_stats": {...}, "batch_stats": [...]}]}
std::string EncodeStatistics(const std::vector<serving::ModelStatistics>& stats);

}  // namespace strata::api

#endif  // STRATA_API_STATISTICS_JSON_H_
