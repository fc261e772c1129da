#include "advisor/space_saving.h"

#include <algorithm>

#include "core/fingerprint.h"

namespace strata::advisor {

SpaceSaving::SpaceSaving(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {
  entries_.reserve(capacity_);
  heap_.reserve(capacity_);
  position_.reserve(capacity_);
  index_.reserve(capacity_);
}

bool SpaceSaving::Less(size_t a, size_t b) const { return heap_[a].count < heap_[b].count; }

void SpaceSaving::Swap(size_t a, size_t b) {
  std::swap(heap_[a], heap_[b]);
  position_[heap_[a].entry] = static_cast<uint32_t>(a);
  position_[heap_[b].entry] = static_cast<uint32_t>(b);
}

// A 4-ary heap: a node's four children share one cache line, and a
// replaced minimum (which sinks past every counter tied at the minimum)
// crosses half as many levels as in a binary heap.
void SpaceSaving::SiftDown(size_t position) {
  for (;;) {
    const size_t first = 4 * position + 1;
    const size_t last = std::min(first + 4, heap_.size());
    size_t smallest = position;
    for (size_t child = first; child < last; ++child) {
      if (Less(child, smallest)) smallest = child;
    }
    if (smallest == position) return;
    Swap(position, smallest);
    position = smallest;
  }
}

void SpaceSaving::SiftUp(size_t position) {
  while (position > 0) {
    const size_t parent = (position - 1) / 4;
    if (!Less(position, parent)) return;
    Swap(position, parent);
    position = parent;
  }
}

namespace {

// What a counter keeps of `key`: its bytes, or the marker of a long key.
std::string_view KeptText(std::string_view key, std::string& marker) {
  if (key.size() <= core::kMaxKeyBytes) return key;
  marker = core::KeyFingerprintMarker(key);
  return marker;
}

}  // namespace

void SpaceSaving::Add(uint64_t fingerprint, std::string_view key, uint64_t weight) {
  if (auto it = index_.find(fingerprint); it != index_.end()) {
    const uint32_t place = position_[it->second];
    entries_[it->second].count += weight;
    heap_[place].count += weight;
    SiftDown(place);
    return;
  }
  std::string marker;
  key = KeptText(key, marker);
  if (entries_.size() < capacity_) {
    const auto entry = static_cast<uint32_t>(entries_.size());
    entries_.push_back(
        {.key = std::string(key), .fingerprint = fingerprint, .count = weight, .error = 0});
    heap_.push_back({.count = weight, .entry = entry});
    position_.push_back(static_cast<uint32_t>(heap_.size() - 1));
    index_.emplace(fingerprint, entry);
    SiftUp(heap_.size() - 1);
    return;
  }
  // Replace the least counted key: the newcomer inherits its count as error.
  const uint32_t entry = heap_[0].entry;
  HeavyHitter& victim = entries_[entry];
  index_.erase(victim.fingerprint);
  victim.error = victim.count;
  victim.count += weight;
  if (key.size() > victim.key.capacity()) {
    victim.key = std::string(key);  // exact capacity: no doubling beyond the bound
  } else {
    victim.key.assign(key.data(), key.size());
  }
  victim.fingerprint = fingerprint;
  index_.emplace(fingerprint, entry);
  heap_[0].count = victim.count;
  SiftDown(0);
}

void SpaceSaving::Merge(const SpaceSaving& other) {
  const uint64_t own_min = min_count(), other_min = other.min_count();
  absl::flat_hash_map<uint64_t, HeavyHitter> merged;
  for (const HeavyHitter& h : entries_) {
    HeavyHitter& m = merged[h.fingerprint];
    m = h;
    m.count += other_min;
    m.error += other_min;
  }
  for (const HeavyHitter& h : other.entries_) {
    auto [it, inserted] = merged.try_emplace(h.fingerprint, h);
    if (inserted) {
      it->second.count += own_min;
      it->second.error += own_min;
    } else {
      // Both sides monitor it: replace the other side's assumed min_count.
      it->second.count += h.count - other_min;
      it->second.error += h.error - other_min;
    }
  }
  std::vector<HeavyHitter> all;
  all.reserve(merged.size());
  for (auto& [fingerprint, h] : merged) all.push_back(std::move(h));
  std::sort(all.begin(), all.end(),
            [](const HeavyHitter& a, const HeavyHitter& b) { return a.count > b.count; });
  if (all.size() > capacity_) all.resize(capacity_);
  entries_.clear();
  heap_.clear();
  position_.clear();
  index_.clear();
  for (HeavyHitter& h : all) {
    const auto entry = static_cast<uint32_t>(entries_.size());
    index_.emplace(h.fingerprint, entry);
    heap_.push_back({.count = h.count, .entry = entry});
    entries_.push_back(std::move(h));
    position_.push_back(entry);
  }
  // Sorted descending; a min-heap needs the reverse order.
  for (size_t i = heap_.size() / 4 + 1; i-- > 0;) SiftDown(i);
}

std::vector<HeavyHitter> SpaceSaving::Top() const {
  std::vector<HeavyHitter> top = entries_;
  std::sort(top.begin(), top.end(), [](const HeavyHitter& a, const HeavyHitter& b) {
    return a.count != b.count ? a.count > b.count : a.fingerprint < b.fingerprint;
  });
  return top;
}

uint64_t SpaceSaving::min_count() const {
  if (entries_.size() < capacity_ || heap_.empty()) return floor_;
  return std::max(floor_, heap_[0].count);
}

void SpaceSaving::Insert(HeavyHitter entry) {
  const auto index = static_cast<uint32_t>(entries_.size());
  index_.emplace(entry.fingerprint, index);
  heap_.push_back({.count = entry.count, .entry = index});
  position_.push_back(static_cast<uint32_t>(heap_.size() - 1));
  entries_.push_back(std::move(entry));
  SiftUp(heap_.size() - 1);
}

void SpaceSaving::MergeDisjoint(const SpaceSaving& other) {
  floor_ = std::max(floor_, other.min_count());
  for (const HeavyHitter& h : other.entries_) {
    if (entries_.size() < capacity_) Insert(h);
  }
}

size_t SpaceSaving::MemoryBytes() const {
  size_t bytes = capacity_ * (sizeof(HeavyHitter) + sizeof(Slot) + sizeof(uint32_t) +
                              sizeof(uint64_t) + sizeof(uint32_t) + 1);
  for (const HeavyHitter& h : entries_) {
    if (h.key.capacity() > 15) bytes += h.key.capacity();
  }
  return bytes;
}

void SpaceSaving::EncodeTo(ByteWriter& out) const {
  out.U64(capacity_);
  out.U64(floor_);
  out.U64(entries_.size());
  for (const HeavyHitter& h : entries_) {
    out.U64(h.fingerprint);
    out.U64(h.count);
    out.U64(h.error);
    out.Bytes(h.key);
  }
}

std::optional<SpaceSaving> SpaceSaving::DecodeFrom(ByteReader& in) {
  constexpr uint64_t kMaxCapacity = 1 << 24, kMaxKey = 1 << 20;
  uint64_t capacity, floor, size;
  if (!in.U64(capacity) || !in.U64(floor) || !in.U64(size) || capacity == 0 ||
      capacity > kMaxCapacity || size > capacity) {
    return std::nullopt;
  }
  SpaceSaving s(capacity);
  s.floor_ = floor;
  for (uint64_t i = 0; i < size; ++i) {
    HeavyHitter h;
    if (!in.U64(h.fingerprint) || !in.U64(h.count) || !in.U64(h.error) ||
        !in.Bytes(h.key, kMaxKey) || h.error > h.count || s.index_.contains(h.fingerprint)) {
      return std::nullopt;
    }
    h.key = core::BoundedKey(std::move(h.key));
    s.Insert(std::move(h));
  }
  return s;
}

}  // namespace strata::advisor
