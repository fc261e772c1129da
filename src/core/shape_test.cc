#include "core/shape.h"

#include <limits>

#include "gtest/gtest.h"

namespace strata::core {
namespace {

TEST(ShapeTest, ElementCount) {
  EXPECT_EQ(ElementCount({}), 1);
  EXPECT_EQ(ElementCount({2, 3, 4}), 24);
  EXPECT_EQ(ElementCount({5, 0}), 0);
  EXPECT_FALSE(ElementCount({-1, 3}).has_value());
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  EXPECT_FALSE(ElementCount({big, 4}).has_value());
}

TEST(ShapeTest, MatchesWithVariableDims) {
  EXPECT_TRUE(ShapeMatches({-1, 30}, {7, 30}));
  EXPECT_FALSE(ShapeMatches({-1, 30}, {7, 29}));
  EXPECT_FALSE(ShapeMatches({-1, 30}, {30}));
  EXPECT_TRUE(ShapeMatches({2, 2}, {2, 2}));
}

TEST(ShapeTest, ToString) { EXPECT_EQ(ShapeToString({-1, 30}), "[-1,30]"); }

}  // namespace
}  // namespace strata::core
