#include "serving/dynamic_batcher.h"

#include <future>

#include "serving/tensor_batching.h"

namespace strata::serving {

DynamicBatcher::DynamicBatcher(std::shared_ptr<runtime::Model> model,
                               DynamicBatcherOptions options,
                               DynamicBatcherHooks hooks)
    : model_(std::move(model)),
      hooks_(std::move(hooks)),
      queue_(std::move(options.queue)) {
  for (int i = 0; i < std::max(1, options.instances); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

DynamicBatcher::~DynamicBatcher() {
  std::vector<QueuedRequest> abandoned;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    abandoned = queue_.TakeAll();
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  for (QueuedRequest& request : abandoned) {
    request.done(absl::UnavailableError("the model was unloaded while the request was queued"));
  }
}

size_t DynamicBatcher::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

absl::StatusOr<std::vector<core::Tensor>> DynamicBatcher::Run(
    std::span<const core::Tensor> inputs) {
  std::promise<absl::StatusOr<std::vector<core::Tensor>>> promise;
  RunAsync({inputs.begin(), inputs.end()}, {},
           [&promise](absl::StatusOr<std::vector<core::Tensor>> result) {
             promise.set_value(std::move(result));
           });
  return promise.get_future().get();
}

void DynamicBatcher::RunAsync(std::vector<core::Tensor> inputs,
                              RunOptions options, RunCallback done) {
  QueuedRequest request;
  request.rows = inputs.empty() || inputs[0].shape.empty() ? 1 : inputs[0].shape[0];
  request.batch_key = BatchKey(inputs);
  request.inputs = std::move(inputs);
  request.enqueued = Clock::now();
  request.deadline = options.deadline;
  request.done = std::move(done);
  absl::Status pushed;
  size_t depth = 0;
  {
    std::lock_guard lock(mutex_);
    pushed = queue_.Push(request);
    depth = queue_.size();
  }
  if (!pushed.ok()) {
    request.done(pushed);
    return;
  }
  if (hooks_.on_queue_depth) hooks_.on_queue_depth(depth);
  wake_.notify_one();
}

void DynamicBatcher::WorkerLoop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    BatchQueue::Decision decision = queue_.Next(Clock::now());
    const size_t depth = queue_.size();
    if (decision.batch.empty() && decision.expired.empty()) {
      if (decision.wake_at) {
        wake_.wait_until(lock, *decision.wake_at);
      } else {
        wake_.wait(lock);
      }
      continue;
    }
    lock.unlock();
    if (!decision.batch.empty()) wake_.notify_one();  // others may form a batch
    if (hooks_.on_queue_depth) hooks_.on_queue_depth(depth);
    for (QueuedRequest& request : decision.expired) {
      request.done(absl::DeadlineExceededError(
          "the request's deadline passed while it waited in the queue; it was "
          "not run (raise the 'timeout' parameter or reduce the load)"));
    }
    if (!decision.batch.empty()) RunBatch(std::move(decision.batch));
    lock.lock();
  }
}

void DynamicBatcher::RunBatch(std::vector<QueuedRequest> batch) {
  const Clock::time_point start = Clock::now();
  if (hooks_.on_dequeue) {
    for (const QueuedRequest& request : batch) hooks_.on_dequeue(start - request.enqueued);
  }
  int64_t total_rows = 0;
  for (const QueuedRequest& request : batch) total_rows += request.rows;

  if (batch.size() == 1) {
    absl::StatusOr<std::vector<core::Tensor>> outputs = model_->Run(batch[0].inputs);
    if (hooks_.on_batch) hooks_.on_batch(total_rows, Clock::now() - start);
    batch[0].done(std::move(outputs));
    return;
  }
  std::vector<const std::vector<core::Tensor>*> parts;
  std::vector<int64_t> rows;
  for (const QueuedRequest& request : batch) {
    parts.push_back(&request.inputs);
    rows.push_back(request.rows);
  }
  const std::vector<core::Tensor> merged = ConcatenateBatch(parts);
  absl::StatusOr<std::vector<core::Tensor>> outputs = model_->Run(merged);
  if (hooks_.on_batch) hooks_.on_batch(total_rows, Clock::now() - start);
  if (!outputs.ok()) {
    for (QueuedRequest& request : batch) request.done(outputs.status());
    return;
  }
  absl::StatusOr<std::vector<std::vector<core::Tensor>>> pieces = SplitBatch(*outputs, rows);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (pieces.ok()) {
      batch[i].done(std::move((*pieces)[i]));
    } else {
      batch[i].done(pieces.status());
    }
  }
}

}  // namespace strata::serving
