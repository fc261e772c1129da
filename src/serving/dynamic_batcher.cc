#include "serving/dynamic_batcher.h"

#include <future>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "serving/tensor_batching.h"

namespace strata::serving {
namespace {

// Each request's share of the batch's outputs, in batch order.
absl::StatusOr<std::vector<std::vector<core::Tensor>>> SplitOutputs(
    absl::StatusOr<std::vector<core::Tensor>> outputs, std::span<const int64_t> rows) {
  if (!outputs.ok()) return outputs.status();
  if (rows.size() == 1) {
    std::vector<std::vector<core::Tensor>> one;
    one.push_back(*std::move(outputs));
    return one;
  }
  return SplitBatch(*outputs, rows);
}

int64_t RowsOf(const std::vector<QueuedRequest>& requests) {
  int64_t rows = 0;
  for (const QueuedRequest& request : requests) rows += request.rows;
  return rows;
}

}  // namespace

DynamicBatcher::DynamicBatcher(std::shared_ptr<runtime::Model> model, DynamicBatcherOptions options,
                               DynamicBatcherHooks hooks)
    : model_(std::move(model)), hooks_(std::move(hooks)), queue_(std::move(options.queue)) {
  if (options.adaptive) {
    core::MutexLock lock(mutex_);
    options.adaptive->instances = std::max(1, options.instances);
    objective_ = options.adaptive->latency_objective;
    policy_.emplace(*options.adaptive);
    const BatchLimits limits = policy_->limits();
    queue_.SetLimits(limits.max_batch_size, limits.max_queue_delay);
    if (hooks_.on_limits) hooks_.on_limits(limits);
  }
  for (int i = 0; i < std::max(1, options.instances); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

DynamicBatcher::~DynamicBatcher() {
  std::vector<QueuedRequest> abandoned;
  {
    core::MutexLock lock(mutex_);
    stopping_ = true;
    abandoned = queue_.TakeAll();
  }
  wake_.SignalAll();
  for (std::thread& worker : workers_) worker.join();
  Left(abandoned.size());
  for (QueuedRequest& request : abandoned) {
    request.done(absl::UnavailableError("the model was unloaded while the request was queued"));
  }
}

size_t DynamicBatcher::queue_depth() const {
  core::MutexLock lock(mutex_);
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

void DynamicBatcher::RunAsync(std::vector<core::Tensor> inputs, RunOptions options,
                              RunCallback done) {
  QueuedRequest request;
  request.rows = inputs.empty() || inputs[0].shape.empty() ? 1 : inputs[0].shape[0];
  request.batch_key = BatchKey(inputs);
  request.inputs = std::move(inputs);
  request.enqueued = Clock::now();
  request.deadline = options.deadline;
  request.done = std::move(done);
  absl::Status pushed;
  {
    core::MutexLock lock(mutex_);
    pushed = Enqueue(request);
    if (pushed.ok()) {
      if (hooks_.on_in_flight) hooks_.on_in_flight(1);
      if (hooks_.on_queue_depth) hooks_.on_queue_depth(queue_.size());
    }
  }
  if (!pushed.ok()) {
    request.done(pushed);
    return;
  }
  wake_.Signal();
}

absl::Status DynamicBatcher::Enqueue(QueuedRequest& request) {
  if (!policy_) return queue_.Push(request);
  const Admission admission = policy_->Admit(request.enqueued, request.rows);
  if (!admission.admit) {
    return absl::ResourceExhaustedError(fmt::format(
        "the request would take about {} µs, over the model's latency objective of {} µs "
        "({} rows queued); retry later",
        admission.predicted.count() / 1000, objective_.count() / 1000, policy_->queued_rows()));
  }
  STRATA_RETURN_IF_ERROR(queue_.Push(request));
  policy_->OnArrival(request.enqueued, request.rows);
  ApplyLimits();
  return absl::OkStatus();
}

void DynamicBatcher::WorkerLoop() {
  mutex_.Lock();
  while (!stopping_) {
    BatchQueue::Decision decision = queue_.Next(Clock::now());
    if (decision.batch.empty() && decision.expired.empty()) {
      if (decision.wake_at) {
        wake_.WaitUntil(mutex_, *decision.wake_at);
      } else {
        wake_.Wait(mutex_);
      }
      continue;
    }
    if (hooks_.on_queue_depth) hooks_.on_queue_depth(queue_.size());
    // Running from the moment it leaves the queue, so that the queue and the
    // instances never both miss it.
    if (!decision.batch.empty()) Started(decision.batch);
    if (policy_ && !decision.expired.empty()) {
      policy_->OnExpired(RowsOf(decision.expired));
      ApplyLimits();
    }
    mutex_.Unlock();
    if (!decision.batch.empty()) wake_.Signal();  // others may form a batch
    Left(decision.expired.size());
    for (QueuedRequest& request : decision.expired) {
      request.done(absl::DeadlineExceededError(
          "the request's deadline passed while it waited in the queue; it was "
          "not run (raise the 'timeout' parameter or reduce the load)"));
    }
    if (!decision.batch.empty()) RunBatch(std::move(decision.batch));
    mutex_.Lock();
  }
  mutex_.Unlock();
}

void DynamicBatcher::Started(const std::vector<QueuedRequest>& batch) {
  if (hooks_.on_running) hooks_.on_running(1);
  if (!policy_) return;
  policy_->OnStart(Clock::now(), RowsOf(batch));
  ApplyLimits();  // the backlog the limits depend on shrank
}

BatchLimits DynamicBatcher::ApplyLimits() {
  const BatchLimits limits = policy_->limits();
  queue_.SetLimits(limits.max_batch_size, limits.max_queue_delay);
  return limits;
}

void DynamicBatcher::Left(size_t requests) const {
  if (requests > 0 && hooks_.on_in_flight) hooks_.on_in_flight(-static_cast<int>(requests));
}

void DynamicBatcher::Adapt(const BatchObservation& batch) {
  BatchLimits limits;
  {
    core::MutexLock lock(mutex_);
    if (!policy_) return;
    policy_->OnBatch(batch);
    limits = ApplyLimits();
  }
  if (hooks_.on_limits) hooks_.on_limits(limits);
}

void DynamicBatcher::RunBatch(std::vector<QueuedRequest> batch) {
  const Clock::time_point start = Clock::now();
  if (hooks_.on_dequeue) {
    for (const QueuedRequest& request : batch) hooks_.on_dequeue(start - request.enqueued);
  }
  BatchPhases phases;
  std::vector<const std::vector<core::Tensor>*> parts;
  std::vector<int64_t> rows;
  for (const QueuedRequest& request : batch) {
    phases.rows += request.rows;
    parts.push_back(&request.inputs);
    rows.push_back(request.rows);
  }
  // A lone request runs on its own inputs; only a merged batch is copied.
  const std::vector<core::Tensor> merged =
      batch.size() == 1 ? std::vector<core::Tensor>{} : ConcatenateBatch(parts);
  const Clock::time_point input_done = Clock::now();
  absl::StatusOr<std::vector<core::Tensor>> outputs =
      model_->Run(batch.size() == 1 ? batch[0].inputs : merged);
  const Clock::time_point infer_done = Clock::now();
  absl::StatusOr<std::vector<std::vector<core::Tensor>>> pieces =
      SplitOutputs(std::move(outputs), rows);
  phases.input = input_done - start;
  phases.infer = infer_done - input_done;
  phases.output = Clock::now() - infer_done;
  if (hooks_.on_batch) hooks_.on_batch(phases);
  Adapt({phases.rows, std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start),
         std::chrono::duration_cast<std::chrono::nanoseconds>(start - batch[0].enqueued)});
  if (hooks_.on_running) hooks_.on_running(-1);
  Left(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (pieces.ok()) {
      batch[i].done(std::move((*pieces)[i]));
    } else {
      batch[i].done(pieces.status());
    }
  }
}

}  // namespace strata::serving
