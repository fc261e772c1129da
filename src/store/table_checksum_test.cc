#include "store/table_checksum.h"

#include "gtest/gtest.h"

namespace strata::store {
namespace {

TEST(TableChecksumTest, OrderAndSplittingDoNotMatter) {
  TableChecksum all, first, second;
  all.Add("a", "1");
  all.Add("b", "2");
  second.Add("b", "2");
  first.Add("a", "1");
  first.Merge(second);
  EXPECT_EQ(all.ToString(), first.ToString());
  EXPECT_EQ(all.count(), 2);
}

TEST(TableChecksumTest, AnyChangeChangesIt) {
  TableChecksum a, b, c, d;
  a.Add("ab", "c");
  b.Add("a", "bc");
  c.Add("ab", "d");
  d.Add("ab", "c");
  d.Add("ab", "c");
  EXPECT_NE(a.ToString(), b.ToString());
  EXPECT_NE(a.ToString(), c.ToString());
  EXPECT_NE(a.ToString(), d.ToString());
}

}  // namespace
}  // namespace strata::store
