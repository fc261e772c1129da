// Authorize decides whether the credential in an `Authorization` header may
// use `scope` on `model`: the decision both frontends ask, handed the keys
// and `now`, so tests need no clock and no files. Which key a token is comes
// from KeyLookup (a constant-time comparison with every key's hash, or a
// token already matched); expiry, scope and model are checked on every call.
// Thread-safe.
#ifndef STRATA_API_AUTH_AUTHORIZER_H_
#define STRATA_API_AUTH_AUTHORIZER_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "api/auth/key_lookup.h"
#include "api/auth/key_set.h"

namespace strata::api::auth {

enum class AuthOutcome {
  kAllowed,
  kMissing,       // 401: no credential
  kMalformed,     // 401: not `Bearer <token>`
  kUnknownKey,    // 401: no key has this secret
  kExpired,       // 401
  kMissingScope,  // 403
  kModelDenied,   // 403: the key may not call this model or endpoint
};

struct AuthDecision {
  AuthOutcome outcome = AuthOutcome::kMissing;
  std::string key_id;  // when a key matched
  std::string tenant;  // when a key matched
  std::string message;

  bool allowed() const { return outcome == AuthOutcome::kAllowed; }
  // 401 or 403 when refused, 200 when allowed.
  int http_status() const;
  // The `reason` label of strata_auth_failures_total: missing, malformed,
  // unknown_key, expired, scope, model.
  std::string_view reason() const;
};

// `model`: nullopt when the route names no model; "*" when it concerns every
// model (statistics of all, the repository index).
AuthDecision Authorize(const KeyLookup& keys, std::string_view authorization, Scope scope,
                       std::optional<std::string_view> model,
                       std::chrono::system_clock::time_point now);

}  // namespace strata::api::auth

#endif  // STRATA_API_AUTH_AUTHORIZER_H_
