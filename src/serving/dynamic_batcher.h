// DynamicBatcher decorates a runtime::Model with a bounded request queue and
// `instances` worker threads. With batching on, queued requests of the same
// shape are merged along the batch dimension, run as one batch, and their
// outputs split back to each caller in order; with batching off each request
// runs on its own. Requests whose deadline passes while queued are answered
// DEADLINE_EXCEEDED without running; a full queue answers RESOURCE_EXHAUSTED
// at once. With `adaptive` set, an AdaptiveBatchPolicy sets the queue's batch
// size and delay from the arrivals and the batches' run times, and a request
// predicted to miss the latency objective is answered RESOURCE_EXHAUSTED at
// once instead of queued. It knows nothing of versions or
// protocols. Thread-safe.
#ifndef STRATA_SERVING_DYNAMIC_BATCHER_H_
#define STRATA_SERVING_DYNAMIC_BATCHER_H_

#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "runtime/model.h"
#include "serving/adaptive_batch_policy.h"
#include "serving/batch_queue.h"

namespace strata::serving {

struct DynamicBatcherOptions {
  BatchQueueOptions queue;
  int instances = 1;
  // Adaptive batching (queue.batching must be on); its max_batch_size is the
  // model's.
  std::optional<AdaptiveBatchOptions> adaptive;
};

// How long each phase of one batch took: merging the requests' inputs into
// the batch, running the model, and splitting its outputs back.
struct BatchPhases {
  int64_t rows = 0;
  Clock::duration input{0}, infer{0}, output{0};
};

// Observers for metrics; each may be empty. Called from the caller's and the
// worker threads; on_batch before the batch's requests are answered.
// on_queue_depth is called under the queue's lock, so the last depth
// reported is the queue's depth (keep it cheap). on_in_flight counts requests
// as they enter the batcher (+1) and as they leave it answered (-n: run,
// expired or abandoned); on_running counts batches as they start and finish.
struct DynamicBatcherHooks {
  std::function<void(size_t depth)> on_queue_depth;
  std::function<void(int delta)> on_in_flight;
  std::function<void(int delta)> on_running;
  std::function<void(Clock::duration waited)> on_dequeue;
  std::function<void(const BatchPhases& batch)> on_batch;
  // The adaptive policy's limits: at start and after each batch.
  std::function<void(const BatchLimits& limits)> on_limits;
};

class DynamicBatcher : public runtime::Model {
 public:
  DynamicBatcher(std::shared_ptr<runtime::Model> model, DynamicBatcherOptions options,
                 DynamicBatcherHooks hooks = {});
  // Stops the workers after the running batches; still-queued requests are
  // answered UNAVAILABLE.
  ~DynamicBatcher() override;

  // Queues and waits.
  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override;

  void RunAsync(std::vector<core::Tensor> inputs, RunOptions options, RunCallback done) override;

  size_t queue_depth() const;

 private:
  // Admits `request` to the queue, or says why not (RESOURCE_EXHAUSTED: the
  // queue is full or the request would miss the latency objective).
  absl::Status Enqueue(QueuedRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void WorkerLoop();
  // `batch` left the queue to run.
  void Started(const std::vector<QueuedRequest>& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void RunBatch(std::vector<QueuedRequest> batch);
  // Hands the adaptive policy's current limits to the queue; returns them.
  BatchLimits ApplyLimits() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Hands a finished batch to the adaptive policy and applies its limits.
  void Adapt(const BatchObservation& batch);
  // `requests` left the batcher: answered, expired or abandoned.
  void Left(size_t requests) const;

  const std::shared_ptr<runtime::Model> model_;
  const DynamicBatcherHooks hooks_;
  mutable core::Mutex mutex_;
  core::CondVar wake_;
  BatchQueue queue_ ABSL_GUARDED_BY(mutex_);
  std::optional<AdaptiveBatchPolicy> policy_ ABSL_GUARDED_BY(mutex_);
  std::chrono::nanoseconds objective_{0};  // set once, in the constructor
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_DYNAMIC_BATCHER_H_
