#include "api/auth/bearer_token.h"

#include <string>

#include "gtest/gtest.h"

namespace strata::api::auth {
namespace {

using Kind = ParsedAuthorization::Kind;

TEST(ParseAuthorizationTest, ReadsABearerTokenInAnyCaseOfTheScheme) {
  for (const char* header :
       {"Bearer sk_abc", "bearer sk_abc", "BEARER   sk_abc", " Bearer sk_abc\t"}) {
    const ParsedAuthorization parsed = ParseAuthorization(header);
    EXPECT_EQ(parsed.kind, Kind::kBearer) << header;
    EXPECT_EQ(parsed.token, "sk_abc") << header;
  }
  EXPECT_EQ(ParseAuthorization("Bearer a+b/c-d.e_f~g==").token, "a+b/c-d.e_f~g==");
}

TEST(ParseAuthorizationTest, AnEmptyHeaderIsMissing) {
  EXPECT_EQ(ParseAuthorization("").kind, Kind::kMissing);
  EXPECT_EQ(ParseAuthorization("  \t ").kind, Kind::kMissing);
}

TEST(ParseAuthorizationTest, RefusesOtherSchemesAndBadTokens) {
  for (const char* header :
       {"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearersk_abc", "Bearer sk abc", "Bearer sk,abc",
        "Bearer =abc", "Bearer a=b", "Token sk_abc", "Bearer sk_\xff", "Bearer \"sk\""}) {
    EXPECT_EQ(ParseAuthorization(header).kind, Kind::kMalformed) << header;
  }
  const std::string nul("Bearer sk\0x", 11);
  EXPECT_EQ(ParseAuthorization(nul).kind, Kind::kMalformed);
}

TEST(ParseAuthorizationTest, RefusesOverlongTokens) {
  EXPECT_EQ(ParseAuthorization("Bearer " + std::string(kMaxTokenBytes, 'a')).kind, Kind::kBearer);
  EXPECT_EQ(ParseAuthorization("Bearer " + std::string(kMaxTokenBytes + 1, 'a')).kind,
            Kind::kMalformed);
}

}  // namespace
}  // namespace strata::api::auth
