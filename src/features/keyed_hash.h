// KeyedHasher replaces a raw identifier by a keyed hash (HMAC-SHA256 with a
// secret, OpenSSL's libcrypto), so logs can join on it without holding the
// identifier: the served-feature log (skew) writes entity keys this way, and
// `strata features skew` hashes the table's keys with the same secret to
// find them again. The live sketches and the key log hash every request's
// keys with it, so the keyed state (the secret's HMAC pads) is prepared once
// and each thread reuses its own copy: a call costs the hash of the key, not
// the set-up of OpenSSL's MAC. Thread-safe.
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
  // The secret's HMAC-SHA256 state, shared by copies of this hasher.
  class Prepared;

  std::string secret_;
  std::shared_ptr<const Prepared> prepared_;  // null if OpenSSL could not prepare it
};

}  // namespace strata::features

#endif  // STRATA_FEATURES_KEYED_HASH_H_
