#include "cli/byte_size.h"

#include "gtest/gtest.h"

namespace strata::cli {
namespace {

TEST(ByteSizeTest, ParsesPlainAndSuffixed) {
  EXPECT_EQ(ParseByteSize("1048576"), 1048576u);
  EXPECT_EQ(ParseByteSize("64MiB"), 64u << 20);
  EXPECT_EQ(ParseByteSize("2K"), 2048u);
  EXPECT_EQ(ParseByteSize("1GB"), 1u << 30);
}

TEST(ByteSizeTest, RejectsGarbage) {
  EXPECT_FALSE(ParseByteSize("").has_value());
  EXPECT_FALSE(ParseByteSize("MiB").has_value());
  EXPECT_FALSE(ParseByteSize("12XB").has_value());
  EXPECT_FALSE(ParseByteSize("-5").has_value());
}

}  // namespace
}  // namespace strata::cli
