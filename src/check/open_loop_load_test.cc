#include "check/open_loop_load.h"

#include "gtest/gtest.h"

namespace strata::check {
namespace {

TEST(PercentileTest, NearestRank) {
  std::vector<double> values;
  for (int i = 100; i >= 1; --i) values.push_back(i);  // unsorted on purpose
  EXPECT_EQ(Percentile(values, 0.5), 50);
  EXPECT_EQ(Percentile(values, 0.99), 99);
  EXPECT_EQ(Percentile(values, 1.0), 100);
  EXPECT_EQ(Percentile(values, 0.0), 1);
  EXPECT_EQ(Percentile({7}, 0.99), 7);
  EXPECT_EQ(Percentile({}, 0.99), 0);
}

TEST(PercentileTest, OneSlowRequestInAHundredIsTheP99NotTheP50) {
  std::vector<double> values(99, 1.0);
  values.push_back(500);
  EXPECT_EQ(Percentile(values, 0.5), 1);
  EXPECT_EQ(Percentile(values, 0.99), 1);
  EXPECT_EQ(Percentile(values, 0.999), 500);
}

}  // namespace
}  // namespace strata::check
