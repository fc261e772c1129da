#include "serving/plans/split_assignment.h"

#include <algorithm>
#include <cmath>

#include "fmt/format.h"

namespace strata::serving {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t Fnv1a(uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= kFnvPrime;
  }
  return hash;
}

// splitmix64's finalizer: FNV's low bits are weak for short keys.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

absl::StatusOr<SplitAssignment> SplitAssignment::Create(const std::vector<double>& weights,
                                                        std::string salt) {
  double total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i]) || weights[i] < 0) {
      return absl::InvalidArgumentError(
          fmt::format("arm {} has weight {}; weights must be >= 0", i, weights[i]));
    }
    total += weights[i];
  }
  if (!(total > 0)) return absl::InvalidArgumentError("the arms' weights must sum to more than 0");
  // A boundary before a growing arm only falls and one after it only rises
  // (floor keeps both monotone); the last is exactly kBuckets.
  std::vector<uint32_t> ends;
  double cumulative = 0;
  for (double w : weights) {
    cumulative += w;
    ends.push_back(static_cast<uint32_t>(
        std::min<double>(kBuckets, std::floor(cumulative / total * kBuckets))));
  }
  for (size_t i = weights.size(); i-- > 0 && weights[i] == 0;) ends[i] = kBuckets;
  ends.back() = kBuckets;
  return SplitAssignment(std::move(ends), std::move(salt));
}

uint32_t SplitAssignment::Bucket(std::string_view key) const {
  uint64_t hash = Fnv1a(kFnvOffset, salt_);
  hash = Fnv1a(hash, std::string_view("\0", 1));
  hash = Fnv1a(hash, key);
  return static_cast<uint32_t>(Mix(hash) % kBuckets);
}

size_t SplitAssignment::ArmOfBucket(uint32_t bucket) const {
  return static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), bucket) - ends_.begin());
}

}  // namespace strata::serving
