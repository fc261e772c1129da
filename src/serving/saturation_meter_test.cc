#include "serving/saturation_meter.h"

#include <cmath>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = SaturationMeter::Clock;

const Clock::time_point kStart{seconds(1000)};

TEST(SaturationMeterTest, IdleIsZero) {
  SaturationMeter meter(kStart, seconds(2));
  meter.SetCapacity(2, 100, kStart);
  EXPECT_EQ(meter.Ratio(kStart + seconds(60)), 0);
}

TEST(SaturationMeterTest, EveryInstanceBusyForLongIsSaturated) {
  SaturationMeter meter(kStart, seconds(2));
  meter.SetCapacity(2, 100, kStart);
  meter.AddRunning(2, kStart);
  EXPECT_NEAR(meter.Ratio(kStart + seconds(60)), 1.0, 1e-6);
}

TEST(SaturationMeterTest, HalfTheInstancesBusyIsOneHalf) {
  SaturationMeter meter(kStart, seconds(2));
  meter.SetCapacity(4, 100, kStart);
  meter.AddRunning(2, kStart);
  EXPECT_NEAR(meter.Ratio(kStart + seconds(60)), 0.5, 1e-6);
}

TEST(SaturationMeterTest, BusyHalfTheTimeAveragesToAboutOneHalf) {
  SaturationMeter meter(kStart, seconds(2));
  meter.SetCapacity(1, 100, kStart);
  Clock::time_point now = kStart;
  for (int i = 0; i < 600; ++i) {  // 10 ms busy, 10 ms idle, for 12 s
    meter.AddRunning(1, now);
    now += milliseconds(10);
    meter.AddRunning(-1, now);
    now += milliseconds(10);
  }
  EXPECT_NEAR(meter.Ratio(now), 0.5, 0.01);
}

TEST(SaturationMeterTest, TheQueueCountsAgainstItsBound) {
  SaturationMeter meter(kStart, seconds(2));
  meter.SetCapacity(8, 100, kStart);
  meter.SetQueueDepth(75, kStart);
  meter.AddRunning(1, kStart);  // 1/8 busy: the queue is the larger
  EXPECT_NEAR(meter.Ratio(kStart + seconds(60)), 0.75, 1e-6);
}

TEST(SaturationMeterTest, FollowsAChangeWithinAFewTimeConstants) {
  SaturationMeter meter(kStart, seconds(2));
  meter.SetCapacity(1, 100, kStart);
  meter.AddRunning(1, kStart);
  EXPECT_NEAR(meter.Ratio(kStart + seconds(2)), 1 - std::exp(-1.0), 1e-6);
  EXPECT_NEAR(meter.Ratio(kStart + seconds(30)), 1.0, 1e-6);  // a scrape before the change
  meter.AddRunning(-1, kStart + seconds(30));
  EXPECT_LT(meter.Ratio(kStart + seconds(40)), 0.01);
}

// Ratio sees the mean of the levels since its previous call (the events leave
// only integrals): a scrape after a long interval weighs all of it alike.
TEST(SaturationMeterTest, TakesTheMeanSinceThePreviousRatio) {
  SaturationMeter meter(kStart, seconds(2));
  meter.SetCapacity(1, 100, kStart);
  meter.AddRunning(1, kStart);
  meter.AddRunning(-1, kStart + seconds(30));
  EXPECT_NEAR(meter.Ratio(kStart + seconds(40)), 0.75, 1e-3);
}

TEST(SaturationMeterTest, NeverAboveOne) {
  SaturationMeter meter(kStart, seconds(2));
  meter.SetCapacity(1, 10, kStart);
  meter.SetQueueDepth(50, kStart);
  meter.AddRunning(3, kStart);
  EXPECT_LE(meter.Ratio(kStart + seconds(60)), 1.0);
}

}  // namespace
}  // namespace strata::serving
