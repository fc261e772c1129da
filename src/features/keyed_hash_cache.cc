#include "features/keyed_hash_cache.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/fingerprint.h"

namespace strata::features {

KeyedHashCache::KeyedHashCache(size_t slots) : slots_(std::bit_ceil(std::max<size_t>(slots, 1))) {}

const KeyedHashCache::Digest* KeyedHashCache::Find(std::string_view key) const {
  if (key.size() > kMaxKeyBytes) return nullptr;
  const uint64_t fingerprint = core::Fingerprint64(key);
  const Slot& slot = slots_[IndexOf(fingerprint)];
  if (!slot.used || slot.fingerprint != fingerprint || slot.length != key.size() ||
      std::memcmp(slot.key.data(), key.data(), key.size()) != 0) {
    return nullptr;
  }
  return &slot.digest;
}

void KeyedHashCache::Insert(std::string_view key, const Digest& digest) {
  if (key.size() > kMaxKeyBytes) return;
  const uint64_t fingerprint = core::Fingerprint64(key);
  Slot& slot = slots_[IndexOf(fingerprint)];
  slot.fingerprint = fingerprint;
  slot.length = static_cast<uint8_t>(key.size());
  slot.used = true;
  std::copy(key.begin(), key.end(), slot.key.begin());
  slot.digest = digest;
}

void KeyedHashCache::Clear() {
  for (Slot& slot : slots_) slot.used = false;
}

}  // namespace strata::features
