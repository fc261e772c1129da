// KeyedHasher replaces a raw identifier by a keyed hash (HMAC-SHA256 with a
// secret, OpenSSL's libcrypto), so logs can join on it without holding the
// identifier: the served-feature log (skew) writes entity keys this way, and
// `strata features skew` hashes the table's keys with the same secret to
// find them again; the key log and the live workload sketches hash every
// key a keyed endpoint is asked for. HMAC's inner and outer hash states
// after the padded secret are computed once, so a hash costs two copies of
// a SHA-256 state and two short updates, not a fresh HMAC set-up per key.
// Thread-safe (copies share the read-only states).
#ifndef STRATA_FEATURES_KEYED_HASH_H_
#define STRATA_FEATURES_KEYED_HASH_H_

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace strata::features {

class KeyedHasher {
 public:
  explicit KeyedHasher(std::string secret);
  // Reads the secret from a file (its bytes, trailing newline dropped);
  // error when it is missing or shorter than 16 bytes.
  static absl::StatusOr<KeyedHasher> FromFile(const std::filesystem::path& file);

  // 32 lowercase hex digits: the first 16 bytes of HMAC-SHA256(secret, key).
  std::string Hash(std::string_view key) const;

 private:
  struct Pads;  // the inner and outer SHA-256 states (RFC 2104)
  std::shared_ptr<const Pads> pads_;
};

}  // namespace strata::features

#endif  // STRATA_FEATURES_KEYED_HASH_H_
