// RateLimiter holds one TokenBucket per tenant and per API key with a limit
// and charges a request's rows to both of its caller's buckets at once: a
// request is admitted only when each bucket that applies holds its rows,
// and a refused request takes nothing from either. Handed `now`, like
// TokenBucket. Thread-safe (one mutex, so the two charges are atomic).
#ifndef STRATA_API_AUTH_RATE_LIMITER_H_
#define STRATA_API_AUTH_RATE_LIMITER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/auth/key_set.h"
#include "api/auth/token_bucket.h"
#include "core/mutex.h"

namespace strata::api::auth {

// Whose limit a bucket is.
enum class LimitHolder { kTenant, kKey };

std::string_view LimitHolderName(LimitHolder holder);  // "tenant", "key"

class RateLimiter {
 public:
  // Sets the limits (from a keys file): a tenant or key that keeps its limit
  // keeps its bucket's rows; one without a limit loses its bucket.
  void Configure(const std::map<std::string, RateLimit>& tenants,
                 const std::map<std::string, RateLimit>& keys, TokenBucket::Clock::time_point now);

  // One bucket's part in a charge.
  struct BucketCharge {
    LimitHolder holder;
    TokenBucket::Decision decision;
    RateLimit limit;
  };
  struct Charge {
    bool admitted = true;
    // The buckets that apply (the tenant's, then the key's); empty: no limit.
    std::vector<BucketCharge> buckets;
    // The bucket that refused the request; nullopt when admitted.
    std::optional<BucketCharge> refused_by;
  };
  Charge Take(const std::string& tenant, const std::string& key_id, double rows,
              TokenBucket::Clock::time_point now);

 private:
  static void ConfigureBuckets(const std::map<std::string, RateLimit>& limits,
                               std::map<std::string, TokenBucket>& buckets,
                               TokenBucket::Clock::time_point now);

  core::Mutex mutex_;
  std::map<std::string, TokenBucket> tenants_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, TokenBucket> keys_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace strata::api::auth

#endif  // STRATA_API_AUTH_RATE_LIMITER_H_
