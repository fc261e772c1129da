#include "check/output_match.h"

#include <cmath>

#include "gtest/gtest.h"

namespace strata::check {
namespace {

JsonTensor Probability(std::vector<double> data) {
  const auto rows = static_cast<int64_t>(data.size());
  return JsonTensor{"probability", "FP32", {rows}, std::move(data)};
}

TEST(OutputMatchTest, WithinToleranceMatches) {
  EXPECT_FALSE(FindMismatch({Probability({0.5, 0.25})}, {Probability({0.500001, 0.25})}, 1e-5));
}

TEST(OutputMatchTest, NamesTheOutputRowAndElement) {
  const JsonTensor expected{"logits", "FP32", {2, 3}, {0, 1, 2, 3, 4, 5}};
  JsonTensor actual = expected;
  actual.data[4] = 40;
  const auto mismatch = FindMismatch({expected}, {actual}, 1e-5);
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->output, "logits");
  EXPECT_NE(mismatch->what.find("row 1 element 1"), std::string::npos) << mismatch->what;
  EXPECT_NE(mismatch->what.find("got 40"), std::string::npos) << mismatch->what;
}

TEST(OutputMatchTest, ToleranceIsRelativeForLargeValues) {
  EXPECT_FALSE(FindMismatch({Probability({1000})}, {Probability({1000.005})}, 1e-5));
  EXPECT_TRUE(FindMismatch({Probability({1000})}, {Probability({1000.05})}, 1e-5));
}

TEST(OutputMatchTest, MissingOutputAndOtherShapeAndNanFail) {
  EXPECT_EQ(FindMismatch({Probability({1})}, {}, 1e-5)->what, "missing from the response");
  EXPECT_TRUE(FindMismatch({Probability({1, 2})}, {Probability({1})}, 1e-5));
  EXPECT_TRUE(FindMismatch({Probability({1})}, {Probability({std::nan("")})}, 1e-5));
}

TEST(OutputMatchTest, ExtraActualOutputsAreIgnored) {
  const JsonTensor extra{"margin", "FP32", {1}, {7}};
  EXPECT_FALSE(FindMismatch({Probability({1})}, {extra, Probability({1})}, 1e-5));
}

}  // namespace
}  // namespace strata::check
