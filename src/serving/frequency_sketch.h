// FrequencySketch estimates how often each key was accessed recently, for
// the prediction cache's admission policy (TinyLFU: Einziger, Friedman and
// Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", 2017). A
// doorkeeper Bloom filter absorbs each key's first access, so one-hit
// wonders from the long tail never reach the count-min sketch behind it
// (4 rows of saturating 4-bit counters, conservative update). After
// `10 x expected_entries` recorded accesses every counter is halved and the
// doorkeeper cleared, so the estimate follows the recent past.
// Memory: about 2.5 bytes per expected entry. Not thread-safe: each cache
// shard owns one under its lock.
#ifndef STRATA_SERVING_FREQUENCY_SKETCH_H_
#define STRATA_SERVING_FREQUENCY_SKETCH_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace strata::serving {

class FrequencySketch {
 public:
  explicit FrequencySketch(size_t expected_entries);

  // Records one access of the key whose 64-bit hash is `hash`.
  void Record(uint64_t hash);
  // The key's recent access count, 0 to 16.
  int Estimate(uint64_t hash) const;

  size_t MemoryBytes() const;

 private:
  static constexpr int kRows = 4;

  // Where the counters of one key are: a word index and a nibble shift per
  // row.
  struct Slots {
    size_t word[kRows];
    int shift[kRows];
  };
  Slots SlotsOf(uint64_t hash) const;
  int Counter(const Slots& slots, int row) const {
    return static_cast<int>((counters_[slots.word[row]] >> slots.shift[row]) & 0xF);
  }
  bool InDoorkeeper(uint64_t hash) const;
  void Halve();

  size_t width_mask_;               // counters per row - 1 (a power of two - 1)
  std::vector<uint64_t> counters_;  // kRows rows of 16 nibbles per word
  std::vector<uint64_t> doorkeeper_;
  size_t doorkeeper_mask_;  // bits - 1
  uint64_t recorded_ = 0;
  uint64_t sample_size_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_FREQUENCY_SKETCH_H_
