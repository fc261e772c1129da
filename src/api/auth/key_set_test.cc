#include "api/auth/key_set.h"

#include "gtest/gtest.h"

namespace strata::api::auth {
namespace {

const std::string kHash(64, 'a');

std::string Key(const std::string& extra) {
  return "keys:\n  - id: k1\n    tenant: shop\n    secret_sha256: " + kHash +
         "\n    scopes: [infer, metadata]\n    models: [m1]\n" + extra;
}

TEST(ParseKeySetTest, ReadsKeysAndRateLimits) {
  absl::StatusOr<KeySet> set =
      ParseKeySet(Key("    expires: 2027-06-30T12:00:00Z\n") +
                  "tenants:\n  shop: {rows_per_second: 100, burst: 256}\n");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->keys.size(), 1u);
  const ApiKey& key = set->keys[0];
  EXPECT_EQ(key.id, "k1");
  EXPECT_EQ(key.tenant, "shop");
  EXPECT_EQ(DigestHex(key.secret_sha256), kHash);
  EXPECT_TRUE(key.HasScope(Scope::kInfer));
  EXPECT_FALSE(key.HasScope(Scope::kControl));
  EXPECT_TRUE(key.AllowsModel("m1"));
  EXPECT_FALSE(key.AllowsModel("m2"));
  EXPECT_FALSE(key.AllowsModel("*"));
  EXPECT_EQ(key.expires, ParseUtcTime("2027-06-30T12:00:00Z"));
  EXPECT_EQ(set->limits.at("shop").rows_per_second, 100);
  EXPECT_EQ(set->limits.at("shop").burst, 256);
}

TEST(ParseKeySetTest, AKeyMayCarryItsOwnRate) {
  absl::StatusOr<KeySet> set = ParseKeySet(Key("    rate: {rows_per_second: 5, burst: 20}\n"));
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_TRUE(set->keys[0].rate.has_value());
  EXPECT_EQ(set->keys[0].rate->rows_per_second, 5);
  EXPECT_EQ(set->keys[0].rate->burst, 20);
  EXPECT_EQ(set->KeyLimits().at("k1").burst, 20);
  EXPECT_TRUE(ParseKeySet(Key("")).value().KeyLimits().empty());
  absl::StatusOr<KeySet> bad = ParseKeySet(Key("    rate: {rows_per_second: 5, burst: 0}\n"));
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("k1"), std::string_view::npos) << bad.status();
}

TEST(ParseKeySetTest, AStarAllowsEveryModel) {
  ApiKey key{.models = {"*"}};
  EXPECT_TRUE(key.AllowsModel("anything"));
  EXPECT_TRUE(key.AllowsModel("*"));
}

TEST(ParseKeySetTest, AnEmptyFileHasNoKeys) {
  absl::StatusOr<KeySet> set = ParseKeySet("keys: []\n");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->keys.empty());
}

TEST(ParseKeySetTest, RefusesWhatIsWrongNamingTheKey) {
  const std::pair<std::string, std::string> cases[] = {
      {Key("").replace(Key("").find(kHash), 64, "xyz"), "secret_sha256"},
      {Key("    expires: tomorrow\n"), "expires"},
      {Key("").replace(Key("").find("infer"), 5, "admin"), "unknown scope 'admin'"},
      {Key("") + Key("").substr(5), "used twice"},
      {"keys:\n  - id: k2\n    secret_sha256: " + kHash + "\n", "tenant is missing"},
      {Key("") + "tenants:\n  shop: {rows_per_second: -1, burst: 5}\n", "tenant 'shop'"},
      {"keys: [", "not YAML"},
  };
  for (const auto& [text, expected] : cases) {
    absl::StatusOr<KeySet> set = ParseKeySet(text);
    ASSERT_FALSE(set.ok()) << text;
    EXPECT_NE(set.status().message().find(expected), std::string::npos) << set.status() << " for\n"
                                                                        << text;
  }
}

TEST(ParseUtcTimeTest, ReadsDatesAndTimesInUtcOnly) {
  EXPECT_EQ(ParseUtcTime("1970-01-02"), std::chrono::system_clock::from_time_t(86400));
  EXPECT_EQ(ParseUtcTime("1970-01-01T00:01:00Z"), std::chrono::system_clock::from_time_t(60));
  EXPECT_FALSE(ParseUtcTime("1970-01-01T00:01:00+01:00"));
  EXPECT_FALSE(ParseUtcTime("1970-13-01"));
  EXPECT_FALSE(ParseUtcTime("soon"));
}

}  // namespace
}  // namespace strata::api::auth
