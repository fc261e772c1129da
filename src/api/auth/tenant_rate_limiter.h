// TenantRateLimiter holds one TokenBucket per tenant with a limit and
// charges requests to it by rows. Handed `now`, like TokenBucket.
// Thread-safe.
#ifndef STRATA_API_AUTH_TENANT_RATE_LIMITER_H_
#define STRATA_API_AUTH_TENANT_RATE_LIMITER_H_

#include <map>
#include <optional>
#include <string>

#include "api/auth/key_set.h"
#include "api/auth/token_bucket.h"
#include "core/mutex.h"

namespace strata::api::auth {

class TenantRateLimiter {
 public:
  // Sets the limits (from a keys file): a tenant that keeps its limit keeps
  // its bucket's rows; one without a limit loses its bucket.
  void Configure(const std::map<std::string, TenantLimit>& limits,
                 TokenBucket::Clock::time_point now);

  struct Charge {
    TokenBucket::Decision decision;
    TenantLimit limit;
  };
  // nullopt when `tenant` has no limit (everything is admitted).
  std::optional<Charge> Take(const std::string& tenant, double rows,
                             TokenBucket::Clock::time_point now);

 private:
  core::Mutex mutex_;
  std::map<std::string, TokenBucket> buckets_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace strata::api::auth

#endif  // STRATA_API_AUTH_TENANT_RATE_LIMITER_H_
