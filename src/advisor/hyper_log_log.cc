#include "advisor/hyper_log_log.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <limits>

namespace strata::advisor {
namespace {

// sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1), for the empty registers.
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0, z = x;
  for (;;) {
    x *= x;
    const double previous = z;
    z += x * y;
    y += y;
    if (z == previous) return z;
  }
}

// tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3, for the
// registers at the largest value.
double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0, z = 1.0 - x;
  for (;;) {
    x = std::sqrt(x);
    const double previous = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
    if (z == previous) return z / 3.0;
  }
}

}  // namespace

HyperLogLog::HyperLogLog(int precision)
    : precision_(std::clamp(precision, 4, 18)), registers_(size_t{1} << precision_, 0) {}

void HyperLogLog::Add(uint64_t fingerprint) {
  const size_t index = fingerprint >> (64 - precision_);
  const uint64_t rest = fingerprint << precision_;
  const int q = 64 - precision_;
  const int rank = rest == 0 ? q + 1 : std::min(std::countl_zero(rest), q) + 1;
  uint8_t& reg = registers_[index];
  if (rank > reg) reg = static_cast<uint8_t>(rank);
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  assert(other.precision_ == precision_);
  for (size_t i = 0; i < registers_.size(); ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

double HyperLogLog::Estimate() const {
  const int q = 64 - precision_;
  std::vector<double> histogram(q + 2, 0.0);
  for (uint8_t r : registers_) histogram[r] += 1.0;
  const double m = static_cast<double>(registers_.size());
  double z = m * Tau((m - histogram[q + 1]) / m);
  for (int k = q; k >= 1; --k) z = 0.5 * (z + histogram[k]);
  z += m * Sigma(histogram[0] / m);
  const double alpha_infinity = 0.5 / std::log(2.0);
  return alpha_infinity * m * m / z;
}

void HyperLogLog::EncodeTo(ByteWriter& out) const {
  out.U8(static_cast<uint8_t>(precision_));
  out.str().append(registers_.begin(), registers_.end());
}

std::optional<HyperLogLog> HyperLogLog::DecodeFrom(ByteReader& in) {
  uint8_t precision;
  if (!in.U8(precision) || precision < 4 || precision > 18) return std::nullopt;
  HyperLogLog hll(precision);
  std::string_view registers;
  if (!in.Raw(hll.registers_.size(), registers)) return std::nullopt;
  for (size_t i = 0; i < registers.size(); ++i) {
    const auto r = static_cast<uint8_t>(registers[i]);
    if (r > 64 - precision + 1) return std::nullopt;
    hll.registers_[i] = r;
  }
  return hll;
}

}  // namespace strata::advisor
