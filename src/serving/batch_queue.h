// BatchQueue holds the requests waiting for one model version and decides,
// for a given time, which of them run together next. It has no threads and
// no clock of its own: the caller passes `now`, so tests drive it with any
// time they like. Not thread-safe; DynamicBatcher guards it with a mutex.
#ifndef STRATA_SERVING_BATCH_QUEUE_H_
#define STRATA_SERVING_BATCH_QUEUE_H_

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/model.h"

namespace strata::serving {

using Clock = std::chrono::steady_clock;

struct QueuedRequest {
  std::vector<core::Tensor> inputs;
  int64_t rows = 1;       // the batch dimension of the inputs
  std::string batch_key;  // see BatchKey(); only equal keys merge
  Clock::time_point enqueued;
  std::optional<Clock::time_point> deadline;
  runtime::Model::RunCallback done;
};

struct BatchQueueOptions {
  bool batching = false;  // false: every request runs on its own
  int64_t max_batch_size = 1;
  Clock::duration max_queue_delay{0};
  std::vector<int64_t> preferred_batch_sizes;  // ascending
  size_t max_queue_size = 1024;
};

class BatchQueue {
 public:
  explicit BatchQueue(BatchQueueOptions options) : options_(std::move(options)) {}

  // RESOURCE_EXHAUSTED when the queue is full; `request` is then untouched.
  absl::Status Push(QueuedRequest& request);

  struct Decision {
    std::vector<QueuedRequest> batch;    // run these now, in this order
    std::vector<QueuedRequest> expired;  // deadline passed while queued
    // When `batch` is empty: when to decide again (nullopt: on next Push).
    std::optional<Clock::time_point> wake_at;
  };

  // Removes expired requests, then takes the next batch if one is due: the
  // oldest request with the following requests of the same batch key, up to
  // max_batch_size rows. A batch is due when it is full, when it reaches the
  // largest preferred size it can, or when its oldest request has waited
  // max_queue_delay.
  Decision Next(Clock::time_point now);

  size_t size() const { return queue_.size(); }

  // Replaces the batch size and queue delay (an AdaptiveBatchPolicy's
  // limits); the next Next() uses them. max_batch_size >= 1.
  void SetLimits(int64_t max_batch_size, Clock::duration max_queue_delay);

  // Removes and returns every queued request (at shutdown).
  std::vector<QueuedRequest> TakeAll();

 private:
  BatchQueueOptions options_;
  std::deque<QueuedRequest> queue_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_BATCH_QUEUE_H_
