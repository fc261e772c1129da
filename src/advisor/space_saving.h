// SpaceSaving finds the heaviest keys of a stream and their counts in a
// fixed number of counters (Metwally, Agrawal, El Abbadi, "Efficient
// computation of frequent and top-k elements in data streams", 2005). Each
// monitored key has a count that overestimates its true count by at most
// its `error`; a key that is not monitored occurred at most min_count()
// times. When fewer distinct keys than counters have been seen, every
// count is exact. Keys are identified by their 64-bit fingerprint; the
// bytes are kept for reporting, at most core::kMaxKeyBytes of them (a
// longer key is kept as its fingerprint marker, core::BoundedKey), so the
// memory is bounded whatever the keys. Updates cost O(log capacity).
// Not thread-safe: callers serialise access.
#ifndef STRATA_ADVISOR_SPACE_SAVING_H_
#define STRATA_ADVISOR_SPACE_SAVING_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "advisor/byte_codec.h"

namespace strata::advisor {

struct HeavyHitter {
  std::string key;
  uint64_t fingerprint = 0;
  uint64_t count = 0;  // an upper bound of the true count
  uint64_t error = 0;  // count - error is a lower bound
};

class SpaceSaving {
 public:
  // REQUIRES: capacity >= 1.
  explicit SpaceSaving(size_t capacity);

  void Add(uint64_t fingerprint, std::string_view key, uint64_t weight = 1);
  // Folds `other` in: counts of common keys add up, and keys that one side
  // does not monitor get that side's min_count() as extra error.
  void Merge(const SpaceSaving& other);
  // Folds in a summary of a disjoint set of keys (a shard of a stream
  // partitioned by key), exactly. REQUIRES: the union fits the capacity.
  void MergeDisjoint(const SpaceSaving& other);

  // The monitored keys, heaviest first.
  std::vector<HeavyHitter> Top() const;

  // No unmonitored key occurred more often than this: the smallest
  // monitored count once every counter is in use (else 0), or what merged
  // disjoint summaries guaranteed.
  uint64_t min_count() const;

  void EncodeTo(ByteWriter& out) const;
  static std::optional<SpaceSaving> DecodeFrom(ByteReader& in);
  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }
  size_t MemoryBytes() const;

 private:
  void Insert(HeavyHitter entry);
  void SiftDown(size_t position);
  void SiftUp(size_t position);
  void Swap(size_t a, size_t b);
  bool Less(size_t a, size_t b) const;

  size_t capacity_;
  uint64_t floor_ = 0;  // from MergeDisjoint()
  std::vector<HeavyHitter> entries_;
  // A min-heap of (count, index into entries_), with the count copied in so
  // that sifting reads one contiguous array; and each entry's place in it.
  struct Slot {
    uint64_t count;
    uint32_t entry;
  };
  std::vector<Slot> heap_;
  std::vector<uint32_t> position_;
  absl::flat_hash_map<uint64_t, uint32_t> index_;  // fingerprint -> entry
};

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_SPACE_SAVING_H_
