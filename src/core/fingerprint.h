// Fingerprint64 is a stable 64-bit hash of a byte string (the XXH64
// algorithm, seed 0): the same bytes give the same value in every process
// and build, so fingerprints can be written to files and compared later
// (hashed key logs, sketches). Not a cryptographic hash. Pure function;
// thread-safe.
#ifndef STRATA_CORE_FINGERPRINT_H_
#define STRATA_CORE_FINGERPRINT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace strata::core {

uint64_t Fingerprint64(std::string_view bytes, uint64_t seed = 0);

// The fingerprint as 16 lowercase hex digits.
std::string FingerprintHex(uint64_t fingerprint);

}  // namespace strata::core

#endif  // STRATA_CORE_FINGERPRINT_H_
