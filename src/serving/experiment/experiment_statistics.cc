#include "serving/experiment/experiment_statistics.h"

#include <algorithm>
#include <cmath>

#include "boost/math/distributions/normal.hpp"
#include "boost/math/distributions/students_t.hpp"
#include "serving/rollout/rollout_statistics.h"

namespace strata::serving {
namespace {

constexpr double kZ = 1.959963984540054;  // the normal's 97.5% quantile

double TwoSidedNormalP(double z) {
  const boost::math::normal normal;
  return 2 * boost::math::cdf(boost::math::complement(normal, std::fabs(z)));
}

}  // namespace

Interval WilsonInterval(uint64_t successes, uint64_t n) {
  const auto count = static_cast<double>(n);
  const double p = static_cast<double>(successes) / count;
  const double z2 = kZ * kZ;
  const double center = (p + z2 / (2 * count)) / (1 + z2 / count);
  const double half =
      kZ * std::sqrt(p * (1 - p) / count + z2 / (4 * count * count)) / (1 + z2 / count);
  return {.estimate = p, .low = center - half, .high = center + half};
}

Interval MeanInterval(double mean, double variance, uint64_t n) {
  if (n < 2) return {.estimate = mean, .low = mean, .high = mean};
  const boost::math::students_t t(static_cast<double>(n - 1));
  const double half =
      boost::math::quantile(t, 0.975) * std::sqrt(variance / static_cast<double>(n));
  return {.estimate = mean, .low = mean - half, .high = mean + half};
}

Interval AucInterval(double auc, uint64_t positives, uint64_t negatives) {
  const double q1 = auc / (2 - auc);
  const double q2 = 2 * auc * auc / (1 + auc);
  const auto np = static_cast<double>(positives);
  const auto nn = static_cast<double>(negatives);
  const double variance =
      (auc * (1 - auc) + (np - 1) * (q1 - auc * auc) + (nn - 1) * (q2 - auc * auc)) / (np * nn);
  const double half = kZ * std::sqrt(std::max(0.0, variance));
  return {.estimate = auc, .low = std::max(0.0, auc - half), .high = std::min(1.0, auc + half)};
}

TestResult TwoProportionZTest(uint64_t successes_a, uint64_t n_a, uint64_t successes_b,
                              uint64_t n_b) {
  // The pooled z a rollout's error gate uses too; 0 when both arms are all
  // right or all wrong (no difference).
  TestResult r;
  r.statistic = TwoProportionZ(static_cast<int64_t>(successes_a), static_cast<int64_t>(n_a),
                               static_cast<int64_t>(successes_b), static_cast<int64_t>(n_b));
  if (r.statistic == 0) return r;
  r.p_value = TwoSidedNormalP(r.statistic);
  r.significant = r.p_value < 0.05;
  return r;
}

TestResult WelchTTest(double mean_a, double variance_a, uint64_t n_a, double mean_b,
                      double variance_b, uint64_t n_b) {
  const double va = variance_a / static_cast<double>(n_a);
  const double vb = variance_b / static_cast<double>(n_b);
  TestResult r;
  if (va + vb == 0) return r;
  r.statistic = (mean_a - mean_b) / std::sqrt(va + vb);
  const double df =
      (va + vb) * (va + vb) /
      (va * va / static_cast<double>(n_a - 1) + vb * vb / static_cast<double>(n_b - 1));
  const boost::math::students_t t(df);
  r.p_value = 2 * boost::math::cdf(boost::math::complement(t, std::fabs(r.statistic)));
  r.significant = r.p_value < 0.05;
  return r;
}

}  // namespace strata::serving
