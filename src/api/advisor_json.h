// JSON bodies of the advisor endpoints:
//
//   GET /v2/advisor                     {"endpoints": [summary, ...]}
//   GET /v2/advisor/{endpoint}[?top=N]  summary + "top" keys + "coverage"
//   GET /v2/advisor/{endpoint}/snapshot the binary WorkloadSnapshot that
//                                       `strata advise --server` reads
//
// A summary:
//   {"endpoint": "purchase", "seconds": 12.5, "requests": 120000,
//    "requests_per_second": 9600, "distinct_keys": 40312, "distinct_exact": false,
//    "entropy_bits": 13.1, "peakedness": 0.14, "unseen_share": 0.31,
//    "hashed_keys": false, "sketch_bytes": 4194304,
//    "figures": {"model_us_per_row": 41.2, ...}}
// "hashed_keys" is true for a model's own endpoint, whose keys are the
// fingerprints of the rows' inputs (16 hex digits) rather than key columns.
// "top" lists the heaviest keys, heaviest first: {"key": {...}, "count": n,
// "error": e} (count is an upper bound, count - error a lower bound; a key is
// the JSON object of its key columns). "coverage" is the share of requests
// taken by the top K keys, observed ("share") and forecast for new traffic
// ("expected", Good-Turing), at K = 1, 10, 100, ... up to the distinct keys.
// Pure functions; thread-safe.
#ifndef STRATA_API_ADVISOR_JSON_H_
#define STRATA_API_ADVISOR_JSON_H_

#include <cstddef>
#include <string>
#include <vector>

#include "advisor/workload_snapshot.h"
#include "advisor/workload_stats.h"

namespace strata::api {

struct LiveWorkloadView {
  const advisor::WorkloadSnapshot* snapshot = nullptr;  // endpoint, seconds, figures
  const advisor::WorkloadStats* stats = nullptr;
  size_t sketch_bytes = 0;
};

// One endpoint with its `top` heaviest keys and the coverage curve.
std::string EncodeLiveWorkload(const LiveWorkloadView& view, size_t top);
// Summaries of several endpoints.
std::string EncodeLiveWorkloadIndex(const std::vector<LiveWorkloadView>& views);

}  // namespace strata::api

#endif  // STRATA_API_ADVISOR_JSON_H_
