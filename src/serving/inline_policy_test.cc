#include "serving/inline_policy.h"

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

InlinePolicy Policy(bool batching = false, int instances = 1) {
  return InlinePolicy(
      {.batching = batching, .instances = instances, .inline_bound = microseconds(500)});
}

TEST(InlinePolicyTest, AFreeFastUnbatchedModelRunsInline) {
  EXPECT_EQ(Policy().Decide({}), ExecutionRoute::kInline);
  EXPECT_EQ(Policy().Decide({.recent_run = microseconds(500)}), ExecutionRoute::kInline);
}

TEST(InlinePolicyTest, ABatchingModelAlwaysQueues) {
  EXPECT_EQ(Policy(/*batching=*/true).Decide({}), ExecutionRoute::kQueue);
}

TEST(InlinePolicyTest, AnythingQueuedGoesFirst) {
  EXPECT_EQ(Policy(false, 4).Decide({.running = 0, .queued = 1}), ExecutionRoute::kQueue);
}

TEST(InlinePolicyTest, AllSlotsBusyQueues) {
  EXPECT_EQ(Policy(false, 2).Decide({.running = 1}), ExecutionRoute::kInline);
  EXPECT_EQ(Policy(false, 2).Decide({.running = 2}), ExecutionRoute::kQueue);
  EXPECT_EQ(Policy(false, 0).Decide({.running = 1}), ExecutionRoute::kQueue);  // at least one
}

TEST(InlinePolicyTest, ASlowModelNeverHoldsTheCallingThread) {
  EXPECT_EQ(Policy().Decide({.recent_run = microseconds(501)}), ExecutionRoute::kQueue);
}

TEST(InlinePolicyTest, SmoothTakesTheFirstSampleThenAnEighthOfEachChange) {
  EXPECT_EQ(InlinePolicy::Smooth(nanoseconds(0), nanoseconds(800)), nanoseconds(800));
  EXPECT_EQ(InlinePolicy::Smooth(nanoseconds(800), nanoseconds(1600)), nanoseconds(900));
  EXPECT_EQ(InlinePolicy::Smooth(nanoseconds(800), nanoseconds(0)), nanoseconds(700));
}

}  // namespace
}  // namespace strata::serving
