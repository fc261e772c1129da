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

constexpr nanoseconds kFast = microseconds(20);

TEST(InlinePolicyTest, AFreeFastUnbatchedModelRunsInline) {
  EXPECT_EQ(Policy().Decide({.recent_run = kFast}), ExecutionRoute::kInline);
  EXPECT_EQ(Policy().Decide({.recent_run = microseconds(500)}), ExecutionRoute::kInline);
}

TEST(InlinePolicyTest, AnUnmeasuredModelQueues) {
  EXPECT_EQ(Policy().Decide({}), ExecutionRoute::kQueue);
}

TEST(InlinePolicyTest, ABatchingModelAlwaysQueues) {
  EXPECT_EQ(Policy(/*batching=*/true).Decide({.recent_run = kFast}), ExecutionRoute::kQueue);
}

TEST(InlinePolicyTest, AnythingQueuedGoesFirst) {
  EXPECT_EQ(Policy(false, 4).Decide({.running = 0, .queued = 1, .recent_run = kFast}),
            ExecutionRoute::kQueue);
}

TEST(InlinePolicyTest, AllSlotsBusyQueues) {
  EXPECT_EQ(Policy(false, 2).Decide({.running = 1, .recent_run = kFast}), ExecutionRoute::kInline);
  EXPECT_EQ(Policy(false, 2).Decide({.running = 2, .recent_run = kFast}), ExecutionRoute::kQueue);
  EXPECT_EQ(Policy(false, 0).Decide({.running = 1, .recent_run = kFast}),
            ExecutionRoute::kQueue);  // at least one
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
