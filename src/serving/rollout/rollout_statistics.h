// The test statistics the rollout gates use, as plain functions of counts
// and samples: each returns a z score, positive when the candidate looks
// worse than the stable arm (more errors, slower, higher loss), so a gate
// compares it with one one-sided critical value (2.326 for alpha = 0.01).
#ifndef STRATA_SERVING_ROLLOUT_ROLLOUT_STATISTICS_H_
#define STRATA_SERVING_ROLLOUT_ROLLOUT_STATISTICS_H_

#include <cstdint>
#include <span>
#include <vector>

#include "serving/rollout/window_stats.h"

namespace strata::serving {

// The pooled two-proportion z test of "the candidate's error rate is
// higher": (p_c - p_s) / sqrt(p (1 - p) (1/n_c + 1/n_s)), p pooled. 0 when
// either arm has no request or the pooled rate is 0 or 1.
double TwoProportionZ(int64_t candidate_errors, int64_t candidate_requests, int64_t stable_errors,
                      int64_t stable_requests);

// The Mann-Whitney U test of "the candidate's values tend to be larger",
// in its normal approximation with the tie correction and no continuity
// correction: (U_c - n_c n_s / 2) / sigma. 0 when either sample is empty
// or every value is the same.
double MannWhitneyZ(std::span<const double> candidate, std::span<const double> stable);

// Welch's z of "the candidate's mean loss is higher":
// (m_c - m_s) / sqrt(v_c / n_c + v_s / n_s). 0 when a count is 0 or both
// variances are 0 and the means are equal.
double WelchZ(const QualityStats& candidate, const QualityStats& stable);

// The q-quantile (0 <= q <= 1) of `values` by the nearest-rank method; 0
// for no values.
double Quantile(std::vector<double> values, double q);

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROLLOUT_ROLLOUT_STATISTICS_H_
