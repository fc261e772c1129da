#include "api/auth/key_lookup.h"

#include <string>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace strata::api::auth {
namespace {

KeySet Keys(int count) {
  KeySet set;
  for (int i = 0; i < count; ++i) {
    set.keys.push_back({.id = fmt::format("k{}", i),
                        .tenant = "t",
                        .secret_sha256 = Sha256(fmt::format("sk_{}", i)),
                        .scopes = {Scope::kInfer},
                        .models = {"*"}});
  }
  return set;
}

TEST(KeyLookupTest, FindsTheKeyOfASecretAndRemembersIt) {
  const KeyLookup lookup(Keys(3));
  const ApiKey* first = lookup.Find("sk_1");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->id, "k1");
  EXPECT_EQ(lookup.remembered(), 1u);
  EXPECT_EQ(lookup.Find("sk_1"), first);  // from the table now
  EXPECT_EQ(lookup.remembered(), 1u);
  EXPECT_EQ(lookup.Find("sk_2")->id, "k2");
  EXPECT_EQ(lookup.remembered(), 2u);
}

TEST(KeyLookupTest, AWrongTokenIsNeitherFoundNorRemembered) {
  const KeyLookup lookup(Keys(2));
  ASSERT_NE(lookup.Find("sk_0"), nullptr);
  // A prefix, an extension and a near miss of a remembered token.
  for (const char* wrong : {"sk_", "sk_00", "sk_9", "SK_0", ""}) {
    EXPECT_EQ(lookup.Find(wrong), nullptr) << wrong;
  }
  EXPECT_EQ(lookup.remembered(), 1u);
}

TEST(KeyLookupTest, TheTableIsBoundedByTheKeySet) {
  const KeyLookup lookup(Keys(4));
  for (int i = 0; i < 1000; ++i) lookup.Find(fmt::format("sk_wrong_{}", i));
  EXPECT_EQ(lookup.remembered(), 0u);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) ASSERT_NE(lookup.Find(fmt::format("sk_{}", i)), nullptr);
  }
  EXPECT_EQ(lookup.remembered(), 4u);
}

TEST(KeyLookupTest, NoKeysFindNothing) {
  const KeyLookup lookup(KeySet{});
  EXPECT_EQ(lookup.Find("sk_0"), nullptr);
  EXPECT_EQ(lookup.remembered(), 0u);
}

}  // namespace
}  // namespace strata::api::auth
