#include "serving/adaptive_batch_policy.h"

#include <algorithm>
#include <functional>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;
using Clock = AdaptiveBatchPolicy::Clock;

// A simulated model: a batch of n rows costs fixed + per_row·n.
struct CostModel {
  microseconds fixed{200};
  microseconds per_row{30};
  nanoseconds operator()(int64_t rows) const { return fixed + per_row * rows; }
};

// A saturated server with one instance: there are always more requests
// queued than a batch takes, and a batch's oldest request waited for the
// batch that ran before it. Returns the batches' latencies (that wait plus
// the batch's run).
std::vector<nanoseconds> RunSaturated(AdaptiveBatchPolicy& policy, const CostModel& cost,
                                      int batches) {
  std::vector<nanoseconds> latencies;
  nanoseconds previous{0};
  for (int i = 0; i < batches; ++i) {
    const int64_t rows = policy.limits().max_batch_size;
    const BatchObservation batch{rows, cost(rows)};
    latencies.push_back(previous + batch.run);
    policy.OnBatch(batch);
    previous = batch.run;
  }
  return latencies;
}

AdaptiveBatchPolicy Policy(microseconds objective, int64_t max_batch_size) {
  return AdaptiveBatchPolicy({.latency_objective = objective, .max_batch_size = max_batch_size});
}

TEST(AdaptiveBatchPolicyTest, StartsSmallWithoutDelay) {
  AdaptiveBatchPolicy policy = Policy(microseconds(5000), 64);
  EXPECT_EQ(policy.limits().max_batch_size, 1);
  EXPECT_EQ(policy.limits().max_queue_delay, nanoseconds(0));
  EXPECT_FALSE(policy.PredictedRun(8).has_value());
}

TEST(AdaptiveBatchPolicyTest, FitsTheCostOfABatchAsFixedPlusPerRow) {
  AdaptiveBatchPolicy policy = Policy(microseconds(5000), 64);
  const CostModel cost;
  for (int64_t rows : {1, 4, 9, 16, 2, 30}) policy.OnBatch({rows, cost(rows)});
  EXPECT_NEAR(policy.PredictedRun(64)->count(), cost(64).count(), 1000);
  EXPECT_NEAR(policy.PredictedRun(1)->count(), cost(1).count(), 1000);
}

TEST(AdaptiveBatchPolicyTest, ConvergesToTheLargestBatchThatMeetsTheObjective) {
  AdaptiveBatchPolicy policy = Policy(microseconds(5000), 128);
  const CostModel cost;  // 2 · (200 + 30·n) µs <= 0.8 · 5000 µs  =>  n <= 60
  const std::vector<nanoseconds> latencies = RunSaturated(policy, cost, 400);
  EXPECT_GE(policy.limits().max_batch_size, 55);
  EXPECT_LE(policy.limits().max_batch_size, 60);
  // Once converged, every batch met the objective.
  EXPECT_TRUE(std::all_of(latencies.end() - 100, latencies.end(),
                          [](nanoseconds l) { return l <= microseconds(5000); }));
}

TEST(AdaptiveBatchPolicyTest, BacksOffMultiplicativelyOnAViolation) {
  AdaptiveBatchPolicy policy = Policy(microseconds(5000), 128);
  RunSaturated(policy, CostModel{}, 400);
  const int64_t before = policy.limits().max_batch_size;
  // Over its share of the objective (2 ms of 5): the model got slow.
  policy.OnBatch({before, microseconds(2500)});
  EXPECT_LE(policy.aimd_limit(), before * 9 / 10);
  EXPECT_LE(policy.limits().max_batch_size, before * 9 / 10);
  // ... and increases additively from there while the objective is met.
  const int64_t halved = policy.limits().max_batch_size;
  policy.OnBatch({halved, CostModel{}(halved)});
  EXPECT_EQ(policy.aimd_limit(), halved + 1);
  // Repeated misses keep cutting it, down to one row.
  for (int i = 0; i < 100; ++i) policy.OnBatch({policy.aimd_limit(), microseconds(2500)});
  EXPECT_EQ(policy.aimd_limit(), 1);
}

TEST(AdaptiveBatchPolicyTest, ShrinksTheBatchWhenTheModelGetsSlower) {
  AdaptiveBatchPolicy policy = Policy(microseconds(5000), 128);
  RunSaturated(policy, CostModel{}, 400);
  const CostModel slower{microseconds(400), microseconds(60)};  // n <= 26 fits
  const std::vector<nanoseconds> latencies = RunSaturated(policy, slower, 400);
  EXPECT_LE(policy.limits().max_batch_size, 26);
  EXPECT_GE(policy.limits().max_batch_size, 20);
  EXPECT_TRUE(std::all_of(latencies.end() - 100, latencies.end(),
                          [](nanoseconds l) { return l <= microseconds(5000); }));
}

// Requests that queue because the load exceeds what the model can do are not
// a reason to shrink the batch: only the batch's own run time is judged.
TEST(AdaptiveBatchPolicyTest, KeepsLargeBatchesWhenTheQueueIsLong) {
  AdaptiveBatchPolicy policy = Policy(microseconds(5000), 128);
  RunSaturated(policy, CostModel{}, 400);
  const int64_t before = policy.limits().max_batch_size;
  for (int i = 0; i < 50; ++i) policy.OnBatch({before, CostModel{}(before)});
  EXPECT_GE(policy.limits().max_batch_size, before);
}

// Under overload (requests already queued past the objective) smaller
// batches cannot help: the batch grows toward max_batch_size even though
// each batch runs over its share of the objective.
TEST(AdaptiveBatchPolicyTest, GrowsTowardTheMaximumUnderOverload) {
  AdaptiveBatchPolicy policy = Policy(microseconds(5000), 64);
  const CostModel slow{microseconds(3000), microseconds(10)};  // over the 2 ms share
  for (int i = 0; i < 100; ++i) {
    const int64_t rows = policy.limits().max_batch_size;
    policy.OnBatch({rows, slow(rows), microseconds(20000)});
  }
  EXPECT_TRUE(policy.overloaded());
  EXPECT_EQ(policy.limits().max_batch_size, 64);
  // Once the queue is short again the cost model applies: one row is all
  // that fits (and AIMD backs off from 64).
  for (int i = 0; i < 100; ++i) {
    const int64_t rows = policy.limits().max_batch_size;
    policy.OnBatch({rows, slow(rows), microseconds(100)});
  }
  EXPECT_FALSE(policy.overloaded());
  EXPECT_EQ(policy.limits().max_batch_size, 1);
}

TEST(AdaptiveBatchPolicyTest, NeverExceedsMaxBatchSize) {
  AdaptiveBatchPolicy policy = Policy(microseconds(100000), 16);
  const CostModel cheap{microseconds(10), microseconds(1)};
  for (int i = 0; i < 300; ++i) {
    RunSaturated(policy, cheap, 1);
    ASSERT_LE(policy.limits().max_batch_size, 16);
  }
  EXPECT_EQ(policy.limits().max_batch_size, 16);
}

TEST(AdaptiveBatchPolicyTest, DoesNotWaitWhenNoMoreRequestsAreLikelyInTime) {
  AdaptiveBatchPolicy policy = Policy(microseconds(5000), 64);
  RunSaturated(policy, CostModel{}, 400);
  Clock::time_point now{};
  for (int i = 0; i < 50; ++i) policy.OnArrival(now += std::chrono::milliseconds(10), 1);
  EXPECT_EQ(policy.limits().max_queue_delay, nanoseconds(0));
}

TEST(AdaptiveBatchPolicyTest, WaitsToFillTheBatchWhenRequestsArriveFast) {
  // 16 rows run in 680 µs: the objective leaves time to wait for them.
  AdaptiveBatchPolicy policy = Policy(microseconds(5000), 16);
  RunSaturated(policy, CostModel{}, 400);
  Clock::time_point now{};
  for (int i = 0; i < 50; ++i) policy.OnArrival(now += microseconds(10), 1);
  const BatchLimits limits = policy.limits();
  EXPECT_EQ(limits.max_batch_size, 16);
  EXPECT_GT(limits.max_queue_delay, nanoseconds(0));
  // About the time the rest of the batch takes to arrive, within what the
  // objective leaves after two runs.
  EXPECT_LE(limits.max_queue_delay, microseconds(10) * limits.max_batch_size);
  EXPECT_LE(limits.max_queue_delay + 2 * *policy.PredictedRun(limits.max_batch_size),
            microseconds(5000));
}

}  // namespace
}  // namespace strata::serving
