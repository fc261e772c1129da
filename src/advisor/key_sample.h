// KeySample keeps the `capacity` distinct keys with the smallest 64-bit
// fingerprints (a bottom-k sample) and the exact count of each. Because the
// admission threshold only ever falls, a key that is in the sample at the
// end has been in it since its first occurrence, so its count is exact; and
// because fingerprints are uniform, the sample is a uniform sample of the
// distinct keys, each included with probability threshold(). That makes it
// an unbiased window on the long tail that heavy-hitter counters cannot see.
// Not thread-safe: callers serialise access.
#ifndef STRATA_ADVISOR_KEY_SAMPLE_H_
#define STRATA_ADVISOR_KEY_SAMPLE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "advisor/byte_codec.h"

namespace strata::advisor {

class KeySample {
 public:
  // REQUIRES: capacity >= 2.
  explicit KeySample(size_t capacity);

  void Add(uint64_t fingerprint, uint64_t weight = 1);
  // Keeps the `capacity` smallest fingerprints of both samples; counts of a
  // key in both add up (each side saw all of its own occurrences).
  void Merge(const KeySample& other);

  // True while every distinct key seen is in the sample.
  bool complete() const { return !full_; }
  // The inclusion probability of a key: 1 while complete, else the largest
  // retained fingerprint as a fraction of 2^64. The key at the threshold is
  // not part of the estimating sample (see Counts()).
  double threshold() const;
  // fingerprint -> exact count of the keys strictly below the threshold (all
  // keys while complete).
  std::vector<std::pair<uint64_t, uint64_t>> Counts() const;
  void EncodeTo(ByteWriter& out) const;
  static std::optional<KeySample> DecodeFrom(ByteReader& in);

  size_t size() const { return counts_.size(); }
  size_t capacity() const { return capacity_; }
  size_t MemoryBytes() const;

 private:
  void Evict();

  size_t capacity_;
  bool full_ = false;  // an admission has been refused or a key evicted
  absl::flat_hash_map<uint64_t, uint64_t> counts_;
  std::priority_queue<uint64_t> largest_;  // the retained fingerprints
};

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_KEY_SAMPLE_H_
