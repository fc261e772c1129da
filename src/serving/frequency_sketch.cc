#include "serving/frequency_sketch.h"

#include <algorithm>
#include <bit>

namespace strata::serving {
namespace {

constexpr uint64_t kSeeds[] = {0x9E3779B97F4A7C15ULL, 0xC2B2AE3D27D4EB4FULL,
                               0x165667B19E3779F9ULL, 0x85EBCA77C2B2AE63ULL};

uint64_t Mix(uint64_t hash, uint64_t seed) {
  uint64_t h = (hash ^ seed) * 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  return h ^ (h >> 33);
}

}  // namespace

FrequencySketch::FrequencySketch(size_t expected_entries) {
  const size_t width = std::bit_ceil(std::max<size_t>(expected_entries, 64));
  width_mask_ = width - 1;
  counters_.assign(kRows * width / 16, 0);
  const size_t bits = std::bit_ceil(std::max<size_t>(4 * expected_entries, 512));
  doorkeeper_.assign(bits / 64, 0);
  doorkeeper_mask_ = bits - 1;
  sample_size_ = 10 * std::max<size_t>(expected_entries, 64);
}

size_t FrequencySketch::Word(uint64_t hash, int row) const {
  const size_t index = Mix(hash, kSeeds[row]) & width_mask_;
  return row * ((width_mask_ + 1) / 16) + index / 16;
}

int FrequencySketch::Shift(uint64_t hash, int row) const {
  return static_cast<int>((Mix(hash, kSeeds[row]) & width_mask_) % 16) * 4;
}

int FrequencySketch::Counter(uint64_t hash, int row) const {
  return static_cast<int>((counters_[Word(hash, row)] >> Shift(hash, row)) & 0xF);
}

void FrequencySketch::Record(uint64_t hash) {
  // Doorkeeper: two bits from the two halves of the hash.
  const size_t b1 = hash & doorkeeper_mask_, b2 = (hash >> 32) & doorkeeper_mask_;
  const uint64_t m1 = 1ULL << (b1 % 64), m2 = 1ULL << (b2 % 64);
  if ((doorkeeper_[b1 / 64] & m1) == 0 || (doorkeeper_[b2 / 64] & m2) == 0) {
    doorkeeper_[b1 / 64] |= m1;
    doorkeeper_[b2 / 64] |= m2;
  } else {
    // Conservative update: raise only the counters at the minimum.
    int low = 15;
    for (int row = 0; row < kRows; ++row) low = std::min(low, Counter(hash, row));
    if (low < 15) {
      for (int row = 0; row < kRows; ++row) {
        if (Counter(hash, row) == low) counters_[Word(hash, row)] += 1ULL << Shift(hash, row);
      }
    }
  }
  if (++recorded_ >= sample_size_) Halve();
}

int FrequencySketch::Estimate(uint64_t hash) const {
  int low = 15;
  for (int row = 0; row < kRows; ++row) low = std::min(low, Counter(hash, row));
  const size_t b1 = hash & doorkeeper_mask_, b2 = (hash >> 32) & doorkeeper_mask_;
  const bool seen = (doorkeeper_[b1 / 64] >> (b1 % 64) & 1) && (doorkeeper_[b2 / 64] >> (b2 % 64) & 1);
  return low + (seen ? 1 : 0);
}

void FrequencySketch::Halve() {
  // Halve every nibble at once: shift the word and drop the bit that each
  // nibble received from its neighbour.
  for (uint64_t& word : counters_) word = (word >> 1) & 0x7777777777777777ULL;
  std::fill(doorkeeper_.begin(), doorkeeper_.end(), 0);
  recorded_ /= 2;
}

size_t FrequencySketch::MemoryBytes() const {
  return (counters_.size() + doorkeeper_.size()) * sizeof(uint64_t);
}

}  // namespace strata::serving
