// Fingerprint64 is a stable 64-bit hash of a byte string (the XXH64
// algorithm, seed 0): the same bytes give the same value in every process
// and build, so fingerprints can be written to files and compared later
// (hashed key logs, sketches). Not a cryptographic hash.
//
// BoundedKey caps the bytes one key may occupy wherever the server keeps or
// writes keys (workload sketches, the key log, the prediction cache): a key
// longer than kMaxKeyBytes is replaced by its fingerprint marker, a
// fixed-size text naming its 128-bit fingerprint. Pure functions;
// thread-safe.
#ifndef STRATA_CORE_FINGERPRINT_H_
#define STRATA_CORE_FINGERPRINT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace strata::core {

uint64_t Fingerprint64(std::string_view bytes, uint64_t seed = 0);

// The fingerprint as 16 lowercase hex digits.
std::string FingerprintHex(uint64_t fingerprint);

// The longest key kept as it is. Row keys such as {"user_id":7,"item":42}
// are far shorter; a longer one is almost always a payload sent as a key.
inline constexpr size_t kMaxKeyBytes = 128;

// The marker of `key`: the JSON string "key-fingerprint:<32 hex digits>",
// quotes included (kKeyMarkerBytes long), the digits being two independent
// 64-bit fingerprints of `key`. A marker is valid JSON wherever a row key
// text is (a key log's "key", an advisor report), and it is never a short
// key: row key texts are JSON objects and content keys bare hex digits.
inline constexpr size_t kKeyMarkerBytes = 50;
std::string KeyFingerprintMarker(std::string_view key);
bool IsKeyFingerprintMarker(std::string_view key);

// `key` itself when it is at most kMaxKeyBytes long, else its marker.
std::string BoundedKey(std::string key);

}  // namespace strata::core

#endif  // STRATA_CORE_FINGERPRINT_H_
