// KeySet is what a keys file holds: API keys (a hashed secret, a tenant,
// scopes, the models and endpoints they may call, an expiry, and optionally a
// rate limit of its own) and the rate limits of tenants. ParseKeySet reads it from YAML text
// (docs/security.md):
//
//   keys:
//     - id: shop-frontend
//       tenant: shop
//       secret_sha256: 5e88...   # `strata keys hash` or `strata keys add`
//       scopes: [infer, metadata]
//       models: [purchase_gbdt]  # "*": every model and endpoint
//       expires: 2027-06-30T00:00:00Z   # optional; UTC
//       rate: {rows_per_second: 500, burst: 1000}   # optional; besides the tenant's
//   tenants:
//     shop: {rows_per_second: 5000, burst: 10000}
//
// Pure value types; thread-compatible.
#ifndef STRATA_API_AUTH_KEY_SET_H_
#define STRATA_API_AUTH_KEY_SET_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/auth/secret_hash.h"

namespace strata::api::auth {

enum class Scope { kInfer, kMetadata, kControl, kMetrics };

std::string_view ScopeName(Scope scope);
std::optional<Scope> ParseScope(std::string_view name);

struct RateLimit {
  double rows_per_second = 0;
  double burst = 0;  // the bucket's size, in rows
};

struct ApiKey {
  std::string id = {};
  std::string tenant = {};
  Digest secret_sha256 = {};
  std::vector<Scope> scopes = {};
  std::vector<std::string> models = {};  // "*" allows every model and endpoint
  std::optional<std::chrono::system_clock::time_point> expires = {};
  std::optional<RateLimit> rate = {};  // the key's own limit, charged with its tenant's

  bool HasScope(Scope scope) const;
  // `model` "*" asks for every model: only a key with "*" has that.
  bool AllowsModel(std::string_view model) const;
};

struct KeySet {
  std::vector<ApiKey> keys;
  std::map<std::string, RateLimit> limits;  // tenants without one: no limit

  // The keys' own limits, by key id.
  std::map<std::string, RateLimit> KeyLimits() const;
};

// INVALID_ARGUMENT naming the key and field that is wrong.
absl::StatusOr<KeySet> ParseKeySet(std::string_view yaml_text);

// "2027-06-30T00:00:00Z" or "2027-06-30" (midnight UTC).
std::optional<std::chrono::system_clock::time_point> ParseUtcTime(std::string_view text);

}  // namespace strata::api::auth

#endif  // STRATA_API_AUTH_KEY_SET_H_
