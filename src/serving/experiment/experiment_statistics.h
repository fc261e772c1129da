// The statistics of the experiment report (`strata experiment report`):
// 95% intervals for a proportion (Wilson), a mean (Student's t) and an AUC
// (Hanley and McNeil's standard error), and the tests of a difference
// between two arms: the two-proportion z-test for accuracies and Welch's
// t-test for means, each with its two-sided p-value. Pure; thread-safe.
#ifndef STRATA_SERVING_EXPERIMENT_EXPERIMENT_STATISTICS_H_
#define STRATA_SERVING_EXPERIMENT_EXPERIMENT_STATISTICS_H_

#include <cstdint>

namespace strata::serving {

struct Interval {
  double estimate = 0;
  double low = 0;
  double high = 0;
};

struct TestResult {
  double statistic = 0;      // z or t
  double p_value = 1;        // two-sided
  bool significant = false;  // p_value < 0.05
};

// `successes` out of `n` (n > 0), Wilson score interval at 95%.
Interval WilsonInterval(uint64_t successes, uint64_t n);
// The mean of n values with sample variance `variance`: mean ± t(0.975, n-1)
// * sqrt(variance / n). A single value gets a zero-width interval.
Interval MeanInterval(double mean, double variance, uint64_t n);
// AUC with Hanley-McNeil's standard error for `positives` and `negatives`
// (normal approximation, clamped to [0, 1]).
Interval AucInterval(double auc, uint64_t positives, uint64_t negatives);

// H0: equal proportions; pooled two-proportion z-test.
TestResult TwoProportionZTest(uint64_t successes_a, uint64_t n_a, uint64_t successes_b,
                              uint64_t n_b);
// H0: equal means; Welch's t-test with Welch-Satterthwaite degrees of
// freedom. REQUIRES: n_a, n_b >= 2.
TestResult WelchTTest(double mean_a, double variance_a, uint64_t n_a, double mean_b,
                      double variance_b, uint64_t n_b);

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_EXPERIMENT_STATISTICS_H_
