#include "check/sample_set.h"

#include "gtest/gtest.h"

namespace strata::check {
namespace {

constexpr const char* kOne =
    R"({"request": {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2],)"
    R"( "data": [[1, 2], [3, 4]]}]},)"
    R"( "expected": {"outputs": [{"name": "y", "datatype": "FP32", "shape": [2], "data": [0.5, 1]}]},)"
    R"( "tolerance": 0.01})";

TEST(SampleSetTest, ReadsTheTrainersSamplesJson) {
  auto set = ParseSampleSet(kOne);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->samples.size(), 1u);
  EXPECT_EQ(set->tolerance, 0.01);
  EXPECT_EQ(set->samples[0].inputs[0].data, (std::vector<double>{1, 2, 3, 4}));  // flattened
  EXPECT_EQ(set->samples[0].expected[0].name, "y");
  EXPECT_NE(set->samples[0].request_body.find("\"inputs\""), std::string::npos);
}

TEST(SampleSetTest, ReadsAList) {
  const std::string sample = std::string(kOne).substr(0, std::string(kOne).rfind(',')) + "}";
  auto set = ParseSampleSet(R"({"samples": [)" + sample + "," + sample + "]}");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->samples.size(), 2u);
  EXPECT_FALSE(set->tolerance);
}

TEST(SampleSetTest, RefusesWhatItCannotCheck) {
  EXPECT_FALSE(ParseSampleSet("[]").ok());
  EXPECT_FALSE(ParseSampleSet(R"({"request": {"inputs": []}})").ok());
  EXPECT_FALSE(ParseSampleSet(R"({"samples": []})").ok());
  const auto negative =
      ParseSampleSet(std::string(kOne).replace(std::string(kOne).find("0.01"), 4, "-1"));
  EXPECT_FALSE(negative.ok());
}

}  // namespace
}  // namespace strata::check
