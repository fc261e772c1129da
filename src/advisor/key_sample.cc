#include "advisor/key_sample.h"

#include <algorithm>
#include <cstdint>

namespace strata::advisor {

KeySample::KeySample(size_t capacity) : capacity_(std::max<size_t>(capacity, 2)) {
  counts_.reserve(capacity_);
}

void KeySample::Evict() {
  counts_.erase(largest_.top());
  largest_.pop();
  full_ = true;
}

void KeySample::Add(uint64_t fingerprint, uint64_t weight) {
  // Most keys of a long stream fall above the threshold: refuse them before
  // touching the map (every retained key is below it).
  if (full_ && fingerprint > largest_.top()) return;
  if (auto it = counts_.find(fingerprint); it != counts_.end()) {
    it->second += weight;
    return;
  }
  if (counts_.size() >= capacity_) {
    full_ = true;
    if (fingerprint >= largest_.top()) return;
    Evict();
  }
  counts_.emplace(fingerprint, weight);
  largest_.push(fingerprint);
}

void KeySample::Merge(const KeySample& other) {
  // A key retained by one side only is below that side's threshold; the
  // other side, had it seen the key, kept it unless its own threshold is
  // lower. So only keys below both thresholds have complete counts.
  uint64_t limit = UINT64_MAX;
  if (full_ && !largest_.empty()) limit = largest_.top();
  if (other.full_ && !other.largest_.empty()) {
    limit = std::min(limit, other.largest_.top());
  }
  full_ = full_ || other.full_;
  for (const auto& [fingerprint, count] : other.counts_) {
    if (auto it = counts_.find(fingerprint); it != counts_.end()) {
      it->second += count;
    } else {
      counts_.emplace(fingerprint, count);
      largest_.push(fingerprint);
    }
  }
  while (!largest_.empty() && largest_.top() > limit) Evict();
  while (counts_.size() > capacity_) Evict();
}

double KeySample::threshold() const {
  if (!full_ || largest_.empty()) return 1.0;
  return (static_cast<double>(largest_.top()) + 1.0) / 18446744073709551616.0;
}

std::vector<std::pair<uint64_t, uint64_t>> KeySample::Counts() const {
  std::vector<std::pair<uint64_t, uint64_t>> out(counts_.begin(), counts_.end());
  if (full_ && !largest_.empty()) {
    const uint64_t top = largest_.top();
    std::erase_if(out, [top](const auto& e) { return e.first == top; });
  }
  return out;
}

size_t KeySample::MemoryBytes() const {
  // flat_hash_map slots plus control bytes, and the heap.
  return counts_.capacity() * (sizeof(std::pair<uint64_t, uint64_t>) + 1) +
         capacity_ * sizeof(uint64_t);
}

void KeySample::EncodeTo(ByteWriter& out) const {
  out.U64(capacity_);
  out.U8(full_ ? 1 : 0);
  out.U64(counts_.size());
  for (const auto& [fingerprint, count] : counts_) {
    out.U64(fingerprint);
    out.U64(count);
  }
}

std::optional<KeySample> KeySample::DecodeFrom(ByteReader& in) {
  constexpr uint64_t kMaxCapacity = 1 << 24;
  uint64_t capacity, size;
  uint8_t full;
  if (!in.U64(capacity) || !in.U8(full) || !in.U64(size) || capacity < 2 ||
      capacity > kMaxCapacity || size > capacity || full > 1) {
    return std::nullopt;
  }
  KeySample sample(capacity);
  sample.full_ = full == 1;
  for (uint64_t i = 0; i < size; ++i) {
    uint64_t fingerprint, count;
    if (!in.U64(fingerprint) || !in.U64(count) ||
        !sample.counts_.emplace(fingerprint, count).second) {
      return std::nullopt;
    }
    sample.largest_.push(fingerprint);
  }
  return sample;
}

}  // namespace strata::advisor
