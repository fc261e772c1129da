#include "api/auth/tenant_rate_limiter.h"

namespace strata::api::auth {

void TenantRateLimiter::Configure(const std::map<std::string, TenantLimit>& limits,
                                  TokenBucket::Clock::time_point now) {
  core::MutexLock lock(mutex_);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = limits.contains(it->first) ? std::next(it) : buckets_.erase(it);
  }
  for (const auto& [tenant, limit] : limits) {
    auto found = buckets_.find(tenant);
    if (found == buckets_.end()) {
      buckets_.emplace(tenant, TokenBucket(limit.rows_per_second, limit.burst, now));
    } else if (found->second.rows_per_second() != limit.rows_per_second ||
               found->second.burst() != limit.burst) {
      found->second.Reconfigure(limit.rows_per_second, limit.burst, now);
    }
  }
}

std::optional<TenantRateLimiter::Charge> TenantRateLimiter::Take(
    const std::string& tenant, double rows, TokenBucket::Clock::time_point now) {
  core::MutexLock lock(mutex_);
  auto found = buckets_.find(tenant);
  if (found == buckets_.end()) return std::nullopt;
  TokenBucket& bucket = found->second;
  return Charge{bucket.Take(rows, now), {bucket.rows_per_second(), bucket.burst()}};
}

}  // namespace strata::api::auth
