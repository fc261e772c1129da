// ZipfSampler draws ranks 1..N with P(r) ~ r^-s in constant expected time
// by rejection-inversion (Hormann and Derflinger, "Rejection-inversion to
// generate variates from monotone discrete distributions", 1996), so N can
// be 10 million or more without a table. Used to generate workloads for
// tests, benchmarks and examples. Not thread-safe (one per thread).
#ifndef STRATA_ADVISOR_ZIPF_SAMPLER_H_
#define STRATA_ADVISOR_ZIPF_SAMPLER_H_

#include <cstdint>
#include <random>

namespace strata::advisor {

class ZipfSampler {
 public:
  // REQUIRES: keys >= 1, exponent > 0.
  ZipfSampler(uint64_t keys, double exponent, uint64_t seed);

  // A rank in [1, keys]; rank 1 is the most frequent.
  uint64_t Next();

 private:
  double H(double x) const;
  double HIntegral(double x) const;
  double HIntegralInverse(double x) const;

  uint64_t keys_;
  double exponent_;
  double h_integral_x1_, h_integral_keys_, s_;
  std::mt19937_64 random_;
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
};

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_ZIPF_SAMPLER_H_
