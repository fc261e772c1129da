// KeyLookup finds the API key whose secret a bearer token is. A token seen
// for the first time is hashed (SHA-256) and compared with every key's hash
// in constant time, the time not telling which key, or how much of a hash,
// matched. A token that matched is remembered, so a client sending the same
// key on every request pays one hash-table lookup and one constant-time
// comparison of the token (CRYPTO_memcmp) instead. Only tokens that matched
// enter the table: it never holds more entries than the key set has keys,
// and a wrong token always takes the full comparison. A KeyLookup belongs to
// one KeySet: a reloaded keys file builds a new one, so a revoked key's token
// is forgotten at once. It decides only which key a token is; expiry, scopes
// and models are checked on every request (auth/authorizer.h).
// Thread-safe.
#ifndef STRATA_API_AUTH_KEY_LOOKUP_H_
#define STRATA_API_AUTH_KEY_LOOKUP_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "api/auth/key_set.h"
#include "core/mutex.h"

namespace strata::api::auth {

class KeyLookup {
 public:
  explicit KeyLookup(KeySet keys) : keys_(std::move(keys)) {}
  ~KeyLookup();
  KeyLookup(const KeyLookup&) = delete;
  KeyLookup& operator=(const KeyLookup&) = delete;

  // The key whose secret `token` is, or null.
  const ApiKey* Find(std::string_view token) const;

  // Tokens remembered; at most keys().keys.size().
  size_t remembered() const;

 private:
  // Equal tokens in constant time for a given length.
  struct TokenEq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const;
  };
  struct TokenHash {
    using is_transparent = void;
    size_t operator()(std::string_view token) const {
      return absl::Hash<std::string_view>{}(token);
    }
  };

  const ApiKey* Compare(std::string_view token) const;

  const KeySet keys_;
  mutable core::SharedMutex mutex_;
  // token -> index into keys_.keys
  mutable absl::flat_hash_map<std::string, size_t, TokenHash, TokenEq> matched_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace strata::api::auth

#endif  // STRATA_API_AUTH_KEY_LOOKUP_H_
