#include "core/fingerprint.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace strata::core {
namespace {

// Reference values of XXH64 with seed 0 (from libxxhash).
TEST(Fingerprint64Test, MatchesXxh64ReferenceValues) {
  EXPECT_EQ(Fingerprint64(""), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(Fingerprint64("abc"), 0x44BC2CF5AD770999ULL);
  EXPECT_EQ(Fingerprint64("user:123456"), 0xB98125DFE47540C9ULL);  // 8 + 3 bytes
  EXPECT_EQ(Fingerprint64("0123456789abcdef0123456789abcdef0123456789"),
            0xA76190C3ACF08A1CULL);  // a 32-byte stripe, a word, 2 bytes
}

TEST(Fingerprint64Test, EveryLengthPathDiffers) {
  // Lengths 0..70 exercise the 32-byte stripes, 8-byte words, the 4-byte
  // word and single bytes; no two prefixes may collide.
  const std::string text(70, 'x');
  std::set<uint64_t> seen;
  for (size_t n = 0; n <= text.size(); ++n) {
    seen.insert(Fingerprint64(std::string_view(text).substr(0, n)));
  }
  EXPECT_EQ(seen.size(), text.size() + 1);
}

TEST(Fingerprint64Test, HexIsSixteenDigits) {
  EXPECT_EQ(FingerprintHex(0xabcULL), "0000000000000abc");
}

}  // namespace
}  // namespace strata::core
