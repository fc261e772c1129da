#include "advisor/zipf_distribution.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace strata::advisor {
namespace {

constexpr double kExactRanks = 100;

// Euler-Maclaurin: sum_{r=a+1}^{b} f(r) ~ integral_a^b f + (f(b) - f(a))/2
// + (f'(b) - f'(a))/12.
template <typename F, typename Integral, typename Derivative>
double TailSum(double a, double b, F f, Integral integral, Derivative df) {
  return integral(b) - integral(a) + (f(b) - f(a)) / 2 + (df(b) - df(a)) / 12;
}

}  // namespace

double GeneralizedHarmonic(double k, double s) {
  k = std::floor(k);
  double sum = 0;
  const double exact = std::min(k, kExactRanks);
  for (double r = 1; r <= exact; r += 1) sum += std::pow(r, -s);
  if (k <= kExactRanks) return sum;
  const bool one = std::abs(1 - s) < 1e-9;
  return sum + TailSum(
                   kExactRanks, k, [s](double x) { return std::pow(x, -s); },
                   [s, one](double x) { return one ? std::log(x) : std::pow(x, 1 - s) / (1 - s); },
                   [s](double x) { return -s * std::pow(x, -s - 1); });
}

double GeneralizedHarmonicLog(double k, double s) {
  k = std::floor(k);
  double sum = 0;
  const double exact = std::min(k, kExactRanks);
  for (double r = 2; r <= exact; r += 1) sum += std::pow(r, -s) * std::log(r);
  if (k <= kExactRanks) return sum;
  const bool one = std::abs(1 - s) < 1e-9;
  return sum + TailSum(
                   kExactRanks, k, [s](double x) { return std::pow(x, -s) * std::log(x); },
                   [s, one](double x) {
                     const double lx = std::log(x);
                     if (one) return lx * lx / 2;
                     return std::pow(x, 1 - s) * ((1 - s) * lx - 1) / ((1 - s) * (1 - s));
                   },
                   [s](double x) { return std::pow(x, -s - 1) * (1 - s * std::log(x)); });
}

ZipfDistribution::ZipfDistribution(double keys, double exponent)
    : keys_(std::max(1.0, std::floor(keys))),
      exponent_(std::max(0.0, exponent)),
      harmonic_(GeneralizedHarmonic(keys_, exponent_)) {}

ZipfDistribution ZipfDistribution::WithPeakedness(double keys, double peakedness) {
  peakedness = std::clamp(peakedness, 0.0, 1.0);
  double lo = 0, hi = 16;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    if (ZipfDistribution(keys, mid).Peakedness() < peakedness) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return ZipfDistribution(keys, (lo + hi) / 2);
}

double ZipfDistribution::Coverage(double k) const {
  if (k <= 0) return 0;
  if (k >= keys_) return 1;
  const double whole = std::floor(k);
  double share = GeneralizedHarmonic(whole, exponent_);
  share += (k - whole) * std::pow(whole + 1, -exponent_);  // part of the next key
  return std::min(1.0, share / harmonic_);
}

double ZipfDistribution::EntropyBits() const {
  const double weighted_log = GeneralizedHarmonicLog(keys_, exponent_);
  const double nats = std::log(harmonic_) + exponent_ * weighted_log / harmonic_;
  return std::max(0.0, nats / std::log(2.0));
}

double ZipfDistribution::Peakedness() const {
  if (keys_ <= 1) return 0;
  return std::clamp(1.0 - EntropyBits() / std::log2(keys_), 0.0, 1.0);
}

CoverageCurve ZipfDistribution::Curve() const {
  std::vector<CoveragePoint> points;
  for (double k : LogGrid(keys_)) points.push_back({.keys = k, .share = Coverage(k)});
  return CoverageCurve(std::move(points));
}

}  // namespace strata::advisor
