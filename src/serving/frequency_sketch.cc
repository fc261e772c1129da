#include "serving/frequency_sketch.h"

#include <algorithm>
#include <bit>

namespace strata::serving {
namespace {

constexpr uint64_t kSeeds[] = {0x9E3779B97F4A7C15ULL, 0xC2B2AE3D27D4EB4FULL, 0x165667B19E3779F9ULL,
                               0x85EBCA77C2B2AE63ULL};

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

FrequencySketch::Slots FrequencySketch::SlotsOf(uint64_t hash) const {
  Slots slots;
  const size_t row_words = (width_mask_ + 1) / 16;
  for (int row = 0; row < kRows; ++row) {
    const size_t index = Mix(hash, kSeeds[row]) & width_mask_;
    slots.word[row] = row * row_words + index / 16;
    slots.shift[row] = static_cast<int>(index % 16) * 4;
  }
  return slots;
}

bool FrequencySketch::InDoorkeeper(uint64_t hash) const {
  const size_t b1 = hash & doorkeeper_mask_, b2 = (hash >> 32) & doorkeeper_mask_;
  return (doorkeeper_[b1 / 64] >> (b1 % 64) & 1) && (doorkeeper_[b2 / 64] >> (b2 % 64) & 1);
}

void FrequencySketch::Record(uint64_t hash) {
  if (!InDoorkeeper(hash)) {
    // Doorkeeper: two bits from the two halves of the hash.
    const size_t b1 = hash & doorkeeper_mask_, b2 = (hash >> 32) & doorkeeper_mask_;
    doorkeeper_[b1 / 64] |= 1ULL << (b1 % 64);
    doorkeeper_[b2 / 64] |= 1ULL << (b2 % 64);
  } else {
    // Conservative update: raise only the counters at the minimum.
    const Slots slots = SlotsOf(hash);
    int low = 15;
    for (int row = 0; row < kRows; ++row) low = std::min(low, Counter(slots, row));
    if (low < 15) {
      for (int row = 0; row < kRows; ++row) {
        if (Counter(slots, row) == low) counters_[slots.word[row]] += 1ULL << slots.shift[row];
      }
    }
  }
  if (++recorded_ >= sample_size_) Halve();
}

int FrequencySketch::Estimate(uint64_t hash) const {
  const Slots slots = SlotsOf(hash);
  int low = 15;
  for (int row = 0; row < kRows; ++row) low = std::min(low, Counter(slots, row));
  return low + (InDoorkeeper(hash) ? 1 : 0);
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
