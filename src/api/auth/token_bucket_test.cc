#include "api/auth/token_bucket.h"

#include "api/auth/rate_limiter.h"
#include "gtest/gtest.h"

namespace strata::api::auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
const TokenBucket::Clock::time_point kStart{seconds(1000)};

TEST(TokenBucketTest, AdmitsTheBurstThenRefusesWithTheTimeToWait) {
  TokenBucket bucket(100, 256, kStart);
  const TokenBucket::Decision first = bucket.Take(256, kStart);
  EXPECT_TRUE(first.admitted);
  EXPECT_EQ(first.remaining, 0);
  EXPECT_EQ(first.until_full, milliseconds(2560));
  const TokenBucket::Decision second = bucket.Take(10, kStart);
  EXPECT_FALSE(second.admitted);
  ASSERT_TRUE(second.retry_after);
  EXPECT_EQ(*second.retry_after, milliseconds(100));
  EXPECT_TRUE(bucket.Take(10, kStart + milliseconds(100)).admitted);
}

TEST(TokenBucketTest, ARefusedRequestTakesNothing) {
  TokenBucket bucket(0, 10, kStart);
  EXPECT_FALSE(bucket.Take(11, kStart).admitted);
  EXPECT_TRUE(bucket.Take(10, kStart).admitted);
}

TEST(TokenBucketTest, NeverRefillsBeyondTheBurst) {
  TokenBucket bucket(1000, 5, kStart);
  EXPECT_TRUE(bucket.Take(5, kStart).admitted);
  EXPECT_EQ(bucket.Take(0, kStart + seconds(60)).remaining, 5);
}

TEST(TokenBucketTest, ARequestLargerThanTheBurstOrAtRateZeroNeverFits) {
  TokenBucket bucket(100, 10, kStart);
  const TokenBucket::Decision big = bucket.Take(11, kStart);
  EXPECT_FALSE(big.admitted);
  EXPECT_FALSE(big.retry_after);
  TokenBucket still(0, 10, kStart);
  EXPECT_TRUE(still.Take(10, kStart).admitted);
  EXPECT_FALSE(still.Take(1, kStart + seconds(3600)).retry_after);
}

TEST(TokenBucketTest, ReconfigureKeepsTheRowsHeldUpToTheNewBurst) {
  TokenBucket bucket(0, 100, kStart);
  EXPECT_TRUE(bucket.Take(40, kStart).admitted);
  bucket.Reconfigure(0, 50, kStart);
  EXPECT_EQ(bucket.Take(0, kStart).remaining, 50);
  bucket.Reconfigure(0, 1000, kStart);
  EXPECT_EQ(bucket.Take(0, kStart).remaining, 50);
}

TEST(RateLimiterTest, ChargesEachTenantItsOwnBucket) {
  RateLimiter limiter;
  limiter.Configure({{"a", {0, 10}}, {"b", {0, 5}}}, {}, kStart);
  EXPECT_TRUE(limiter.Take("a", "", 10, kStart).admitted);
  EXPECT_FALSE(limiter.Take("a", "", 1, kStart).admitted);
  EXPECT_TRUE(limiter.Take("b", "", 5, kStart).admitted);
  EXPECT_TRUE(limiter.Take("c", "", 1000, kStart).buckets.empty());  // no limit
  // A reload that keeps a's limit keeps a's empty bucket; b loses its limit.
  limiter.Configure({{"a", {0, 10}}}, {}, kStart);
  EXPECT_FALSE(limiter.Take("a", "", 1, kStart).admitted);
  EXPECT_TRUE(limiter.Take("b", "", 100, kStart).buckets.empty());
}

TEST(RateLimiterTest, ChargesTheKeyAndItsTenantAndNamesTheOneThatRefuses) {
  RateLimiter limiter;
  limiter.Configure({{"shop", {0, 10}}}, {{"k1", {0, 4}}}, kStart);
  RateLimiter::Charge first = limiter.Take("shop", "k1", 4, kStart);
  EXPECT_TRUE(first.admitted);
  ASSERT_EQ(first.buckets.size(), 2u);
  EXPECT_EQ(first.buckets[0].decision.remaining, 6);  // the tenant's
  EXPECT_EQ(first.buckets[1].decision.remaining, 0);  // the key's
  RateLimiter::Charge by_key = limiter.Take("shop", "k1", 1, kStart);
  EXPECT_FALSE(by_key.admitted);
  ASSERT_TRUE(by_key.refused_by.has_value());
  EXPECT_EQ(by_key.refused_by->holder, LimitHolder::kKey);
  // The refusal took nothing from the tenant: k2 (no limit of its own) has
  // the tenant's 6 rows left.
  EXPECT_TRUE(limiter.Take("shop", "k2", 6, kStart).admitted);
  RateLimiter::Charge by_tenant = limiter.Take("shop", "k2", 1, kStart);
  EXPECT_FALSE(by_tenant.admitted);
  EXPECT_EQ(by_tenant.refused_by->holder, LimitHolder::kTenant);
}

TEST(RateLimiterTest, ARequestTheKeyRefusesGivesTheTenantsRowsBack) {
  RateLimiter limiter;
  limiter.Configure({{"shop", {0, 10}}}, {{"small", {0, 2}}}, kStart);
  EXPECT_FALSE(limiter.Take("shop", "small", 3, kStart).admitted);  // the key refuses
  EXPECT_TRUE(limiter.Take("shop", "other", 10, kStart).admitted);  // the tenant is full
}

}  // namespace
}  // namespace strata::api::auth
