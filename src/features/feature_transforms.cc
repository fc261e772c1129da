#include "features/feature_transforms.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "fmt/format.h"

namespace strata::features {
namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

uint64_t Fnv1a64(std::string_view bytes, uint64_t hash) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= kFnvPrime;
  }
  return hash;
}

void HashTokens(std::string_view text, std::span<float> out) {
  const uint64_t buckets = out.size();
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsAsciiSpace(text[i])) ++i;
    if (i == text.size()) break;
    uint64_t hash = kFnvOffset;
    for (; i < text.size() && !IsAsciiSpace(text[i]); ++i) {
      unsigned char c = static_cast<unsigned char>(text[i]);
      if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
      hash ^= c;
      hash *= kFnvPrime;
    }
    out[hash % buckets] += 1.0f;
  }
}

bool ParseNumber(std::string_view text, double& x) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), x);
  return !text.empty() && error == std::errc() && end == text.data() + text.size();
}

double HourOfDay(double seconds) {
  double in_day = std::fmod(std::floor(seconds), 86400.0);
  if (in_day < 0) in_day += 86400.0;
  return std::floor(in_day / 3600.0);
}

size_t Bucketize(double x, const std::vector<double>& boundaries) {
  return static_cast<size_t>(std::upper_bound(boundaries.begin(), boundaries.end(), x) -
                             boundaries.begin());
}

std::string_view CanonicalText(const FeatureValue& value, std::span<char, 32> buffer) {
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  if (const auto* number = std::get_if<int64_t>(&value)) {
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), *number);
    return {buffer.data(), static_cast<size_t>(result.ptr - buffer.data())};
  }
  const double number = std::get<double>(value);
  const auto result = fmt::format_to_n(buffer.data(), buffer.size(), "{}", number);
  return {buffer.data(), std::min(result.size, buffer.size())};
}

}  // namespace strata::features
