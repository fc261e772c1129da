#include "api/auth/rate_limiter.h"

namespace strata::api::auth {

std::string_view LimitHolderName(LimitHolder holder) {
  return holder == LimitHolder::kTenant ? "tenant" : "key";
}

void RateLimiter::ConfigureBuckets(const std::map<std::string, RateLimit>& limits,
                                   std::map<std::string, TokenBucket>& buckets,
                                   TokenBucket::Clock::time_point now) {
  for (auto it = buckets.begin(); it != buckets.end();) {
    it = limits.contains(it->first) ? std::next(it) : buckets.erase(it);
  }
  for (const auto& [name, limit] : limits) {
    auto found = buckets.find(name);
    if (found == buckets.end()) {
      buckets.emplace(name, TokenBucket(limit.rows_per_second, limit.burst, now));
    } else if (found->second.rows_per_second() != limit.rows_per_second ||
               found->second.burst() != limit.burst) {
      found->second.Reconfigure(limit.rows_per_second, limit.burst, now);
    }
  }
}

void RateLimiter::Configure(const std::map<std::string, RateLimit>& tenants,
                            const std::map<std::string, RateLimit>& keys,
                            TokenBucket::Clock::time_point now) {
  core::MutexLock lock(mutex_);
  ConfigureBuckets(tenants, tenants_, now);
  ConfigureBuckets(keys, keys_, now);
}

RateLimiter::Charge RateLimiter::Take(const std::string& tenant, const std::string& key_id,
                                      double rows, TokenBucket::Clock::time_point now) {
  auto find = [](std::map<std::string, TokenBucket>& buckets, const std::string& name) {
    auto found = buckets.find(name);
    return found == buckets.end() ? nullptr : &found->second;
  };
  core::MutexLock lock(mutex_);
  const std::pair<LimitHolder, TokenBucket*> applying[] = {
      {LimitHolder::kTenant, find(tenants_, tenant)}, {LimitHolder::kKey, find(keys_, key_id)}};
  Charge charge;
  TokenBucket* taken = nullptr;  // the tenant's, once it admitted the rows
  for (const auto& [holder, bucket] : applying) {
    if (bucket == nullptr) continue;
    const BucketCharge part{
        holder, bucket->Take(rows, now), {bucket->rows_per_second(), bucket->burst()}};
    charge.buckets.push_back(part);
    if (!part.decision.admitted) {
      charge.admitted = false;
      charge.refused_by = part;
      if (taken != nullptr) taken->Refund(rows);
      return charge;
    }
    taken = bucket;
  }
  return charge;
}

}  // namespace strata::api::auth
