#include "api/auth/authorizer.h"

#include "gtest/gtest.h"

namespace strata::api::auth {
namespace {

using std::chrono::hours;
using Clock = std::chrono::system_clock;

const Clock::time_point kNow = Clock::from_time_t(1'800'000'000);

KeySet Keys() {
  KeySet set;
  set.keys.push_back({.id = "reader",
                      .tenant = "shop",
                      .secret_sha256 = Sha256("sk_reader"),
                      .scopes = {Scope::kInfer, Scope::kMetadata},
                      .models = {"m1"}});
  set.keys.push_back({.id = "old",
                      .tenant = "shop",
                      .secret_sha256 = Sha256("sk_old"),
                      .scopes = {Scope::kInfer},
                      .models = {"*"},
                      .expires = kNow - hours(1)});
  set.keys.push_back({.id = "admin",
                      .tenant = "ops",
                      .secret_sha256 = Sha256("sk_admin"),
                      .scopes = {Scope::kControl, Scope::kMetrics, Scope::kMetadata},
                      .models = {"*"},
                      .expires = kNow + hours(1)});
  return set;
}

AuthOutcome Outcome(std::string_view header, Scope scope, std::optional<std::string_view> model) {
  return Authorize(KeyLookup(Keys()), header, scope, model, kNow).outcome;
}

TEST(AuthorizeTest, AllowsAKeyWithTheScopeAndModel) {
  const AuthDecision d =
      Authorize(KeyLookup(Keys()), "Bearer sk_reader", Scope::kInfer, "m1", kNow);
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.key_id, "reader");
  EXPECT_EQ(d.tenant, "shop");
  EXPECT_EQ(Outcome("Bearer sk_admin", Scope::kControl, "*"), AuthOutcome::kAllowed);
  EXPECT_EQ(Outcome("Bearer sk_admin", Scope::kMetrics, std::nullopt), AuthOutcome::kAllowed);
}

TEST(AuthorizeTest, NoWrongOrExpiredKeyIs401) {
  EXPECT_EQ(Outcome("", Scope::kInfer, "m1"), AuthOutcome::kMissing);
  EXPECT_EQ(Outcome("Basic x", Scope::kInfer, "m1"), AuthOutcome::kMalformed);
  EXPECT_EQ(Outcome("Bearer sk_readers", Scope::kInfer, "m1"), AuthOutcome::kUnknownKey);
  EXPECT_EQ(Outcome("Bearer sk_old", Scope::kInfer, "m1"), AuthOutcome::kExpired);
  for (const char* header : {"", "Basic x", "Bearer nope", "Bearer sk_old"}) {
    EXPECT_EQ(Authorize(KeyLookup(Keys()), header, Scope::kInfer, "m1", kNow).http_status(), 401);
  }
}

TEST(AuthorizeTest, AMissingScopeOrModelIs403) {
  const AuthDecision scope =
      Authorize(KeyLookup(Keys()), "Bearer sk_reader", Scope::kControl, "m1", kNow);
  EXPECT_EQ(scope.outcome, AuthOutcome::kMissingScope);
  EXPECT_EQ(scope.http_status(), 403);
  EXPECT_EQ(scope.reason(), "scope");
  const AuthDecision model =
      Authorize(KeyLookup(Keys()), "Bearer sk_reader", Scope::kInfer, "m2", kNow);
  EXPECT_EQ(model.outcome, AuthOutcome::kModelDenied);
  EXPECT_EQ(model.http_status(), 403);
  EXPECT_EQ(Outcome("Bearer sk_reader", Scope::kMetadata, "*"), AuthOutcome::kModelDenied);
}

TEST(AuthorizeTest, AKeyExpiresAtItsExpiry) {
  const KeyLookup keys(Keys());
  EXPECT_TRUE(Authorize(keys, "Bearer sk_admin", Scope::kMetrics, {},
                        kNow + hours(1) - std::chrono::seconds(1))
                  .allowed());
  EXPECT_EQ(Authorize(keys, "Bearer sk_admin", Scope::kMetrics, {}, kNow + hours(1)).outcome,
            AuthOutcome::kExpired);
}

// Regression: a remembered token (auth/key_lookup.h) says only which key it
// is; the key's expiry is still checked on every call.
TEST(AuthorizeTest, AnExpiredKeyIsRefusedEvenWhenItsTokenIsRemembered) {
  const KeyLookup keys(Keys());
  ASSERT_TRUE(Authorize(keys, "Bearer sk_admin", Scope::kMetrics, {}, kNow).allowed());
  ASSERT_EQ(keys.remembered(), 1u);
  const AuthDecision later =
      Authorize(keys, "Bearer sk_admin", Scope::kMetrics, {}, kNow + hours(2));
  EXPECT_EQ(later.outcome, AuthOutcome::kExpired);
  EXPECT_EQ(later.http_status(), 401);
}

TEST(AuthorizeTest, NoKeysAllowNothing) {
  EXPECT_EQ(Authorize(KeyLookup(KeySet{}), "Bearer sk_reader", Scope::kInfer, "m1", kNow).outcome,
            AuthOutcome::kUnknownKey);
}

}  // namespace
}  // namespace strata::api::auth
