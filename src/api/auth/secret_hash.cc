#include "api/auth/secret_hash.h"

#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/rand.h"

namespace strata::api::auth {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Hex(const uint8_t* bytes, size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kHexDigits[bytes[i] >> 4]);
    out.push_back(kHexDigits[bytes[i] & 0xf]);
  }
  return out;
}

}  // namespace

Digest Sha256(std::string_view bytes) {
  // Fetched once: OpenSSL 3 looks EVP_sha256() up in its providers on every
  // use, under a lock, which cost more than the digest of a short secret.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  Digest digest{};
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, kSha256, nullptr);
  return digest;
}

std::string DigestHex(const Digest& digest) { return Hex(digest.data(), digest.size()); }

std::optional<Digest> ParseDigestHex(std::string_view hex) {
  Digest digest{};
  if (hex.size() != digest.size() * 2) return std::nullopt;
  for (size_t i = 0; i < digest.size(); ++i) {
    const int high = HexValue(hex[2 * i]);
    const int low = HexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return digest;
}

bool DigestsEqual(const Digest& a, const Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<std::string> NewSecret() {
  uint8_t random[20];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("OpenSSL's random generator failed");
  }
  return "sk_" + Hex(random, sizeof(random));
}

}  // namespace strata::api::auth
