#include "serving/frequency_sketch.h"

#include <string>

#include "core/fingerprint.h"
#include "gtest/gtest.h"

namespace strata::serving {
namespace {

uint64_t H(int i) { return core::Fingerprint64("key" + std::to_string(i)); }

TEST(FrequencySketchTest, CountsAccesses) {
  FrequencySketch sketch(1000);
  for (int n = 0; n < 6; ++n) sketch.Record(H(1));
  sketch.Record(H(2));
  EXPECT_EQ(sketch.Estimate(H(1)), 6);  // 1 in the doorkeeper + 5 counted
  EXPECT_EQ(sketch.Estimate(H(2)), 1);  // only the doorkeeper
  EXPECT_EQ(sketch.Estimate(H(3)), 0);
}

TEST(FrequencySketchTest, SaturatesAtSixteen) {
  FrequencySketch sketch(1000);
  for (int n = 0; n < 100; ++n) sketch.Record(H(1));
  EXPECT_EQ(sketch.Estimate(H(1)), 16);
}

TEST(FrequencySketchTest, AgesOldAccesses) {
  FrequencySketch sketch(64);  // halves after 640 records
  for (int n = 0; n < 9; ++n) sketch.Record(H(1));
  EXPECT_EQ(sketch.Estimate(H(1)), 9);
  for (int i = 0; i < 640; ++i) sketch.Record(H(1000 + i));
  // 8 counted became 4, and the doorkeeper was cleared.
  EXPECT_EQ(sketch.Estimate(H(1)), 4);
}

TEST(FrequencySketchTest, OneHitWondersStayNearZero) {
  FrequencySketch sketch(10'000);
  for (int i = 0; i < 10'000; ++i) sketch.Record(H(i));
  int above_one = 0;
  for (int i = 0; i < 10'000; ++i) above_one += sketch.Estimate(H(i)) > 1;
  // Only the doorkeeper's false positives (a few percent) reach the counters.
  EXPECT_LT(above_one, 500);
}

}  // namespace
}  // namespace strata::serving
