#include "advisor/zipf_sampler.h"

#include <algorithm>
#include <cmath>

namespace strata::advisor {
namespace {

// log1p(x) / x, stable near 0.
double Helper1(double x) {
  if (std::abs(x) > 1e-8) return std::log1p(x) / x;
  return 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

// expm1(x) / x, stable near 0.
double Helper2(double x) {
  if (std::abs(x) > 1e-8) return std::expm1(x) / x;
  return 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x));
}

}  // namespace

ZipfSampler::ZipfSampler(uint64_t keys, double exponent, uint64_t seed)
    : keys_(std::max<uint64_t>(keys, 1)), exponent_(exponent), random_(seed) {
  h_integral_x1_ = HIntegral(1.5) - 1;
  h_integral_keys_ = HIntegral(static_cast<double>(keys_) + 0.5);
  s_ = 2 - HIntegralInverse(HIntegral(2.5) - H(2));
}

double ZipfSampler::H(double x) const { return std::exp(-exponent_ * std::log(x)); }

double ZipfSampler::HIntegral(double x) const {
  const double log_x = std::log(x);
  return Helper2((1 - exponent_) * log_x) * log_x;
}

double ZipfSampler::HIntegralInverse(double x) const {
  double t = x * (1 - exponent_);
  if (t < -1) t = -1;
  return std::exp(Helper1(t) * x);
}

uint64_t ZipfSampler::Next() {
  for (;;) {
    const double u = h_integral_keys_ + uniform_(random_) * (h_integral_x1_ - h_integral_keys_);
    const double x = HIntegralInverse(u);
    double k = std::floor(x + 0.5);
    k = std::clamp(k, 1.0, static_cast<double>(keys_));
    if (k - x <= s_ || u >= HIntegral(k + 0.5) - H(k)) {
      return static_cast<uint64_t>(k);
    }
  }
}

}  // namespace strata::advisor
