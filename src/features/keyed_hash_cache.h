// KeyedHashCache remembers the keyed hashes (features/keyed_hash.h) of the
// keys a thread hashed last, so a key that repeats (request keys under a
// Zipf workload do) costs a table probe instead of an HMAC-SHA256.
// Direct-mapped: a key's slot is chosen by its fingerprint, and a key that
// lands on a taken slot replaces the entry there. Bounded: `slots` entries,
// each a key of at most kMaxKeyBytes (a longer key is never cached) and its
// digest, allocated once. The raw keys are held in this memory only, never
// written anywhere. Not thread-safe: each thread keeps its own
// (KeyedHasher does).
#ifndef STRATA_FEATURES_KEYED_HASH_CACHE_H_
#define STRATA_FEATURES_KEYED_HASH_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace strata::features {

class KeyedHashCache {
 public:
  // The longest key cached: row key texts such as {"user_id":12345} fit.
  static constexpr size_t kMaxKeyBytes = 48;
  // The digest bytes a KeyedHasher keeps (the first 16 of the HMAC).
  static constexpr size_t kDigestBytes = 16;
  using Digest = std::array<unsigned char, kDigestBytes>;

  // `slots` is rounded up to a power of two (at least 1).
  explicit KeyedHashCache(size_t slots);

  // The digest cached for `key`, or null.
  const Digest* Find(std::string_view key) const;
  // Caches `digest` for `key`, replacing the entry in its slot; a no-op for
  // a key longer than kMaxKeyBytes.
  void Insert(std::string_view key, const Digest& digest);
  // Forgets every entry (the memory stays).
  void Clear();

  size_t slots() const { return slots_.size(); }
  size_t MemoryBytes() const { return slots_.size() * sizeof(Slot); }

 private:
  struct Slot {
    uint64_t fingerprint = 0;
    uint8_t length = 0;
    bool used = false;
    std::array<char, kMaxKeyBytes> key{};
    Digest digest{};
  };

  size_t IndexOf(uint64_t fingerprint) const { return fingerprint & (slots_.size() - 1); }

  std::vector<Slot> slots_;
};

}  // namespace strata::features

#endif  // STRATA_FEATURES_KEYED_HASH_CACHE_H_
