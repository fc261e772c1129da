#include "serving/drain_sequence.h"

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = DrainSequence::Clock;
using Phase = DrainSequence::Phase;

const Clock::time_point kSignal{seconds(500)};

DrainSequence Sequence() { return DrainSequence({.delay = seconds(5), .timeout = seconds(30)}); }

TEST(DrainSequenceTest, ServesUntilAsked) {
  DrainSequence drain = Sequence();
  const DrainSequence::Decision d = drain.Next(kSignal, 3);
  EXPECT_EQ(d.phase, Phase::kServing);
  EXPECT_FALSE(d.close_listeners);
}

TEST(DrainSequenceTest, KeepsTheListenersOpenForTheDelay) {
  DrainSequence drain = Sequence();
  EXPECT_TRUE(drain.Begin(kSignal));
  const DrainSequence::Decision d = drain.Next(kSignal + milliseconds(4999), 0);
  EXPECT_EQ(d.phase, Phase::kDelaying);
  EXPECT_FALSE(d.close_listeners);
  EXPECT_EQ(d.wake_at, kSignal + seconds(5));
}

TEST(DrainSequenceTest, ClosesOnceAfterTheDelayThenWaitsForInFlight) {
  DrainSequence drain = Sequence();
  drain.Begin(kSignal);
  const DrainSequence::Decision closing = drain.Next(kSignal + seconds(5), 2);
  EXPECT_EQ(closing.phase, Phase::kFinishing);
  EXPECT_TRUE(closing.close_listeners);
  EXPECT_EQ(closing.wake_at, kSignal + seconds(35));
  const DrainSequence::Decision still = drain.Next(kSignal + seconds(6), 1);
  EXPECT_EQ(still.phase, Phase::kFinishing);
  EXPECT_FALSE(still.close_listeners);
  const DrainSequence::Decision done = drain.Next(kSignal + seconds(7), 0);
  EXPECT_EQ(done.phase, Phase::kDone);
  EXPECT_FALSE(done.timed_out);
}

TEST(DrainSequenceTest, NothingInFlightEndsRightAfterClosing) {
  DrainSequence drain = Sequence();
  drain.Begin(kSignal);
  const DrainSequence::Decision d = drain.Next(kSignal + seconds(5), 0);
  EXPECT_TRUE(d.close_listeners);
  EXPECT_EQ(d.phase, Phase::kDone);
}

TEST(DrainSequenceTest, TheTimeoutCutsOffWhatIsLeft) {
  DrainSequence drain = Sequence();
  drain.Begin(kSignal);
  drain.Next(kSignal + seconds(5), 4);
  const DrainSequence::Decision d = drain.Next(kSignal + seconds(35), 4);
  EXPECT_EQ(d.phase, Phase::kDone);
  EXPECT_TRUE(d.timed_out);
}

TEST(DrainSequenceTest, ASecondSignalEndsTheDelay) {
  DrainSequence drain = Sequence();
  EXPECT_TRUE(drain.Begin(kSignal));
  EXPECT_FALSE(drain.Begin(kSignal + seconds(1)));
  const DrainSequence::Decision d = drain.Next(kSignal + seconds(1), 1);
  EXPECT_TRUE(d.close_listeners);
  EXPECT_EQ(d.phase, Phase::kFinishing);
}

}  // namespace
}  // namespace strata::serving
