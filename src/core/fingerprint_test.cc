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

// Issue 11 item 8: 1 MB keys were kept whole in sketches and the key log.
TEST(BoundedKeyTest, ShortKeysAreUnchanged) {
  const std::string row_key = R"({"user_id":7,"product_id":42})";
  EXPECT_EQ(BoundedKey(row_key), row_key);
  EXPECT_EQ(BoundedKey(""), "");
  const std::string longest(kMaxKeyBytes, 'k');
  EXPECT_EQ(BoundedKey(longest), longest);
  EXPECT_FALSE(IsKeyFingerprintMarker(row_key));
  EXPECT_FALSE(IsKeyFingerprintMarker(FingerprintHex(Fingerprint64(row_key))));
}

TEST(BoundedKeyTest, LongKeyBecomesAFixedSizeMarker) {
  const std::string just_over(kMaxKeyBytes + 1, 'k');
  const std::string megabyte = "{\"id\":\"" + std::string(1 << 20, 'x') + "\"}";
  for (const std::string& key : {just_over, megabyte}) {
    const std::string bounded = BoundedKey(key);
    EXPECT_EQ(bounded.size(), kKeyMarkerBytes);
    EXPECT_EQ(bounded, KeyFingerprintMarker(key));
    EXPECT_TRUE(IsKeyFingerprintMarker(bounded));
    EXPECT_TRUE(bounded.starts_with("\"key-fingerprint:")) << bounded;
    EXPECT_EQ(bounded.back(), '"');
  }
  // Deterministic, and different keys (even of one length) differ.
  EXPECT_EQ(BoundedKey(megabyte), BoundedKey(std::string(megabyte)));
  std::string other = megabyte;
  other[other.size() / 2] = 'y';
  EXPECT_NE(BoundedKey(other), BoundedKey(megabyte));
  EXPECT_NE(BoundedKey(just_over), BoundedKey(std::string(kMaxKeyBytes + 2, 'k')));
}

TEST(BoundedKeyTest, MarkerNeverEqualsAShortKeysText) {
  // Row key texts are JSON objects, content keys bare hex: a marker (a JSON
  // string) is neither, and a short key is never rewritten, so no short key
  // can take a long key's place. Markers are short keys themselves: bounding
  // one again leaves it unchanged.
  const std::string marker = BoundedKey(std::string(1000, 'z'));
  EXPECT_NE(marker.front(), '{');
  EXPECT_EQ(marker.find_first_not_of("0123456789abcdef"), 0u);
  EXPECT_LE(kKeyMarkerBytes, kMaxKeyBytes);
  EXPECT_EQ(BoundedKey(marker), marker);
}

}  // namespace
}  // namespace strata::core
