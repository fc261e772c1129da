#include "core/fingerprint.h"

#include <bit>
#include <cstring>

#include "fmt/format.h"

namespace strata::core {
namespace {

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

uint64_t Read64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;  // strata targets little-endian machines, as XXH64 specifies
}

uint32_t Read32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t Round(uint64_t acc, uint64_t input) {
  acc += input * kPrime2;
  acc = std::rotl(acc, 31);
  return acc * kPrime1;
}

uint64_t MergeRound(uint64_t acc, uint64_t value) {
  acc ^= Round(0, value);
  return acc * kPrime1 + kPrime4;
}

}  // namespace

uint64_t Fingerprint64(std::string_view bytes, uint64_t seed) {
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  uint64_t h;
  if (bytes.size() >= 32) {
    uint64_t v1 = seed + kPrime1 + kPrime2, v2 = seed + kPrime2, v3 = seed, v4 = seed - kPrime1;
    for (; p + 32 <= end; p += 32) {
      v1 = Round(v1, Read64(p));
      v2 = Round(v2, Read64(p + 8));
      v3 = Round(v3, Read64(p + 16));
      v4 = Round(v4, Read64(p + 24));
    }
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = MergeRound(h, v1);
    h = MergeRound(h, v2);
    h = MergeRound(h, v3);
    h = MergeRound(h, v4);
  } else {
    h = seed + kPrime5;
  }
  h += bytes.size();
  for (; p + 8 <= end; p += 8) {
    h ^= Round(0, Read64(p));
    h = std::rotl(h, 27) * kPrime1 + kPrime4;
  }
  if (p + 4 <= end) {
    h ^= static_cast<uint64_t>(Read32(p)) * kPrime1;
    h = std::rotl(h, 23) * kPrime2 + kPrime3;
    p += 4;
  }
  for (; p < end; ++p) {
    h ^= static_cast<uint64_t>(static_cast<unsigned char>(*p)) * kPrime5;
    h = std::rotl(h, 11) * kPrime1;
  }
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

std::string FingerprintHex(uint64_t fingerprint) { return fmt::format("{:016x}", fingerprint); }

namespace {
constexpr std::string_view kMarkerPrefix = "\"key-fingerprint:";
// A second seed makes the marker name 128 bits of the key.
constexpr uint64_t kSecondSeed = 0x6B65792D6D61726BULL;  // "key-mark"
}  // namespace

std::string KeyFingerprintMarker(std::string_view key) {
  return fmt::format("{}{:016x}{:016x}\"", kMarkerPrefix, Fingerprint64(key),
                     Fingerprint64(key, kSecondSeed));
}

bool IsKeyFingerprintMarker(std::string_view key) {
  return key.size() == kKeyMarkerBytes && key.starts_with(kMarkerPrefix) && key.back() == '"';
}

std::string BoundedKey(std::string key) {
  if (key.size() <= kMaxKeyBytes) return key;
  return KeyFingerprintMarker(key);
}

}  // namespace strata::core
