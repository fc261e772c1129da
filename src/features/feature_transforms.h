// The arithmetic of the transformations that is more than one expression
// (private to src/features; docs/features.md states each rule). Pure,
// allocation-free functions.
#ifndef STRATA_FEATURES_FEATURE_TRANSFORMS_H_
#define STRATA_FEATURES_FEATURE_TRANSFORMS_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "features/feature_value.h"

namespace strata::features {

inline constexpr uint64_t kFnvOffset = 14695981039346656037ull;
inline constexpr uint64_t kFnvPrime = 1099511628211ull;

// FNV-1a 64 over `bytes`, continuing from `hash`.
uint64_t Fnv1a64(std::string_view bytes, uint64_t hash = kFnvOffset);

// Adds 1 to out[FNV-1a 64(token) % out.size()] per token of `text`: tokens
// are the runs between ASCII whitespace, ASCII letters lowercased.
void HashTokens(std::string_view text, std::span<float> out);

// Reads `text` whole as a decimal number (std::from_chars: no leading '+'
// or spaces; "nan" and "inf" read as themselves); false when it is not one.
bool ParseNumber(std::string_view text, double& x);

// The UTC hour (0..23) of a finite unix time in seconds.
double HourOfDay(double seconds);

// How many of the ascending `boundaries` are <= x (0..size()).
size_t Bucketize(double x, const std::vector<double>& boundaries);

// The text a value is matched (vocabulary) or hashed (cross, hash_buckets)
// as: a string's bytes, an integer's decimal digits, a double's shortest
// round-trip decimal ("3" for 3.0, so 3 and 3.0 agree). REQUIRES: not
// missing; `buffer` outlives the view.
std::string_view CanonicalText(const FeatureValue& value, std::span<char, 32> buffer);

// A double result as the float it becomes: ±infinity (and anything beyond
// the float range) clamped to ±FLT_MAX. REQUIRES: not NaN.
inline float ToFiniteFloat(double value) {
  constexpr double kMax = std::numeric_limits<float>::max();
  return static_cast<float>(std::clamp(value, -kMax, kMax));
}

}  // namespace strata::features

#endif  // STRATA_FEATURES_FEATURE_TRANSFORMS_H_
