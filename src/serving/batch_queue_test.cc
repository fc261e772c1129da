#include "serving/batch_queue.h"

#include "gtest/gtest.h"
#include "serving/tensor_batching.h"

namespace strata::serving {
namespace {

using std::chrono::microseconds;
const Clock::time_point kT0 = Clock::time_point() + std::chrono::hours(1);

// A request of `rows` rows of width `width`, tagged with `tag` as its value.
QueuedRequest Request(int64_t rows, float tag, Clock::time_point enqueued = kT0,
                      int64_t width = 2) {
  QueuedRequest r;
  core::Tensor x = core::Tensor::Zeros("x", core::DataType::kFp32, {rows, width});
  for (float& v : x.MutableAs<float>()) v = tag;
  r.rows = rows;
  r.inputs.push_back(std::move(x));
  r.batch_key = BatchKey(r.inputs);
  r.enqueued = enqueued;
  r.done = [](absl::StatusOr<std::vector<core::Tensor>>) {};
  return r;
}

BatchQueueOptions Batching(int64_t max_batch, int64_t delay_us,
                           std::vector<int64_t> preferred = {}) {
  return {.batching = true,
          .max_batch_size = max_batch,
          .max_queue_delay = microseconds(delay_us),
          .preferred_batch_sizes = std::move(preferred),
          .max_queue_size = 100};
}

std::vector<float> Tags(const std::vector<QueuedRequest>& batch) {
  std::vector<float> tags;
  for (const QueuedRequest& r : batch) tags.push_back(r.inputs[0].As<float>()[0]);
  return tags;
}

void Push(BatchQueue& queue, QueuedRequest r) { ASSERT_TRUE(queue.Push(r).ok()); }

TEST(BatchQueueTest, FullBatchRunsAtOnce) {
  BatchQueue queue(Batching(4, 1000));
  for (float tag : {1, 2, 3, 4, 5}) Push(queue, Request(1, tag));
  BatchQueue::Decision d = queue.Next(kT0);
  EXPECT_EQ(Tags(d.batch), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BatchQueueTest, PartialBatchWaitsForTheDelay) {
  BatchQueue queue(Batching(8, 500));
  Push(queue, Request(1, 1, kT0));
  Push(queue, Request(2, 2, kT0 + microseconds(100)));
  BatchQueue::Decision d = queue.Next(kT0 + microseconds(499));
  EXPECT_TRUE(d.batch.empty());
  ASSERT_TRUE(d.wake_at.has_value());
  EXPECT_EQ(*d.wake_at, kT0 + microseconds(500));
  d = queue.Next(kT0 + microseconds(500));
  EXPECT_EQ(Tags(d.batch), (std::vector<float>{1, 2}));
  EXPECT_EQ(queue.size(), 0u);
}

TEST(BatchQueueTest, RowsCountTowardsTheMaximum) {
  BatchQueue queue(Batching(4, 1000));
  Push(queue, Request(3, 1));
  Push(queue, Request(2, 2));  // 3 + 2 > 4: batch is full with one request
  BatchQueue::Decision d = queue.Next(kT0);
  EXPECT_EQ(Tags(d.batch), (std::vector<float>{1}));
}

TEST(BatchQueueTest, PreferredSizeRunsWithoutWaiting) {
  BatchQueue queue(Batching(16, 1000, {2, 4}));
  for (float tag : {1, 2, 3, 4, 5}) Push(queue, Request(1, tag));
  BatchQueue::Decision d = queue.Next(kT0);
  EXPECT_EQ(Tags(d.batch), (std::vector<float>{1, 2, 3, 4}));  // largest preferred
  d = queue.Next(kT0);  // one left, below every preferred size: wait
  EXPECT_TRUE(d.batch.empty());
  EXPECT_TRUE(d.wake_at.has_value());
}

TEST(BatchQueueTest, DifferentShapesNeverMerge) {
  BatchQueue queue(Batching(8, 0));
  Push(queue, Request(1, 1, kT0, 2));
  Push(queue, Request(1, 2, kT0, 3));
  Push(queue, Request(1, 3, kT0, 2));
  BatchQueue::Decision d = queue.Next(kT0);
  EXPECT_EQ(Tags(d.batch), (std::vector<float>{1, 3}));
  d = queue.Next(kT0);
  EXPECT_EQ(Tags(d.batch), (std::vector<float>{2}));
}

TEST(BatchQueueTest, ExpiredRequestsAreDroppedNotRun) {
  BatchQueue queue(Batching(8, 1000));
  QueuedRequest late = Request(1, 1);
  late.deadline = kT0 + microseconds(50);
  Push(queue, std::move(late));
  Push(queue, Request(1, 2));
  BatchQueue::Decision d = queue.Next(kT0 + microseconds(10));
  EXPECT_TRUE(d.batch.empty());
  EXPECT_EQ(*d.wake_at, kT0 + microseconds(50));  // wakes for the deadline
  d = queue.Next(kT0 + microseconds(60));
  EXPECT_EQ(Tags(d.expired), (std::vector<float>{1}));
  EXPECT_TRUE(d.batch.empty());
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BatchQueueTest, FullQueueRejects) {
  BatchQueueOptions options = Batching(8, 1000);
  options.max_queue_size = 2;
  BatchQueue queue(options);
  Push(queue, Request(1, 1));
  Push(queue, Request(1, 2));
  QueuedRequest third = Request(1, 3);
  absl::Status s = queue.Push(third);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(third.inputs.size(), 1u);  // untouched, so the caller can answer it
}

TEST(BatchQueueTest, BatchingOffRunsOneAtATime) {
  BatchQueueOptions options;
  options.max_batch_size = 8;  // batching stays off
  BatchQueue queue(options);
  Push(queue, Request(1, 1));
  Push(queue, Request(1, 2));
  EXPECT_EQ(Tags(queue.Next(kT0).batch), (std::vector<float>{1}));
  EXPECT_EQ(Tags(queue.Next(kT0).batch), (std::vector<float>{2}));
}

}  // namespace
}  // namespace strata::serving
