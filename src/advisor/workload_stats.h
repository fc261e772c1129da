// WorkloadStats describes the request distribution of one endpoint: how
// many requests, how many distinct keys, how peaked (entropy), and how much
// of the traffic the heaviest keys take (the coverage curve). It is what a
// WorkloadSketch estimates and what the cost model reads. A value type.
#ifndef STRATA_ADVISOR_WORKLOAD_STATS_H_
#define STRATA_ADVISOR_WORKLOAD_STATS_H_

#include <cstdint>
#include <vector>

#include "advisor/coverage_curve.h"
#include "advisor/space_saving.h"

namespace strata::advisor {

struct WorkloadStats {
  uint64_t requests = 0;  // keys observed (one per row)
  double distinct_keys = 0;
  bool distinct_exact = false;  // counted, not estimated
  double entropy_bits = 0;      // of the observed key distribution
  // 1 - entropy / log2(distinct keys): 0 for a flat workload, towards 1 as
  // a few keys take all requests.
  double peakedness = 0;
  // Share of requests that were a key's first occurrence (Good-Turing: the
  // chance that the next request asks for a key never seen before).
  double unseen_share = 0;
  // Requests per second while the sketch was filled; 0 when unknown.
  double requests_per_second = 0;
  // Share of the observed requests taken by the top K keys (in hindsight).
  CoverageCurve coverage;
  // Share of *future* requests from the same distribution that the K keys
  // most requested so far will take: the counts of rarely seen keys are
  // corrected by Good-Turing ((r+1) N_{r+1} / N_r), so the curve ends at
  // 1 - unseen_share. This is the hit rate a table of those keys can expect.
  CoverageCurve expected_coverage;
  std::vector<HeavyHitter> top;  // heaviest first
};

// 1 - entropy / log2(cardinality), clamped to [0, 1]; 0 for cardinality <= 1.
double Peakedness(double entropy_bits, double cardinality);

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_WORKLOAD_STATS_H_
