// SHA-256 of API key secrets (OpenSSL's libcrypto) and the constant-time
// comparison of two digests. Pure and thread-safe.
#ifndef STRATA_API_AUTH_SECRET_HASH_H_
#define STRATA_API_AUTH_SECRET_HASH_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace strata::api::auth {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::string_view bytes);

// Lowercase hex, 64 characters.
std::string DigestHex(const Digest& digest);

// nullopt unless `hex` is 64 hex digits (any case).
std::optional<Digest> ParseDigestHex(std::string_view hex);

// True when equal; takes the same time whatever the contents (CRYPTO_memcmp).
bool DigestsEqual(const Digest& a, const Digest& b);

// A new secret: "sk_" and 40 hex digits of randomness (RAND_bytes);
// INTERNAL when the random generator fails.
absl::StatusOr<std::string> NewSecret();

}  // namespace strata::api::auth

#endif  // STRATA_API_AUTH_SECRET_HASH_H_
