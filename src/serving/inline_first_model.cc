#include "serving/inline_first_model.h"

#include "core/buffer_pool.h"

namespace strata::serving {
namespace {

// What the batcher's workers run: the model, counted among the runs in
// progress.
class SlotHoldingModel : public runtime::Model {
 public:
  SlotHoldingModel(std::shared_ptr<runtime::Model> model, std::shared_ptr<ExecutionSlots> slots)
      : model_(std::move(model)), slots_(std::move(slots)) {}

  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override {
    slots_->Started();
    const Clock::time_point start = Clock::now();
    absl::StatusOr<std::vector<core::Tensor>> outputs = model_->Run(inputs);
    slots_->Release(Clock::now() - start);
    return outputs;
  }

 private:
  const std::shared_ptr<runtime::Model> model_;
  const std::shared_ptr<ExecutionSlots> slots_;
};

int64_t RowsOf(const std::vector<core::Tensor>& inputs) {
  return inputs.empty() || inputs[0].shape.empty() ? 1 : inputs[0].shape[0];
}

}  // namespace

InlineFirstModel::InlineFirstModel(std::shared_ptr<runtime::Model> model,
                                   DynamicBatcherOptions options, DynamicBatcherHooks hooks,
                                   std::chrono::nanoseconds inline_bound)
    : model_(std::move(model)),
      hooks_(hooks),
      slots_(
          std::make_shared<ExecutionSlots>(InlinePolicyOptions{.batching = options.queue.batching,
                                                               .instances = options.instances,
                                                               .inline_bound = inline_bound})),
      batcher_(std::make_unique<DynamicBatcher>(std::make_shared<SlotHoldingModel>(model_, slots_),
                                                std::move(options), std::move(hooks))) {}

absl::StatusOr<std::vector<core::Tensor>> InlineFirstModel::Run(
    std::span<const core::Tensor> inputs) {
  return batcher_->Run(inputs);
}

void InlineFirstModel::RunAsync(std::vector<core::Tensor> inputs, RunOptions options,
                                RunCallback done) {
  if (slots_->Admit() == ExecutionRoute::kInline) {
    return RunInline(std::move(inputs), options, std::move(done));
  }
  batcher_->RunAsync(
      std::move(inputs), options,
      [slots = slots_, done = std::move(done)](absl::StatusOr<std::vector<core::Tensor>> outputs) {
        slots->LeftQueue();
        done(std::move(outputs));
      });
}

// The same hooks, in the same order, as the batcher reports for a lone
// request that waited no time in its queue.
void InlineFirstModel::RunInline(std::vector<core::Tensor> inputs, RunOptions options,
                                 RunCallback done) {
  const Clock::time_point start = Clock::now();
  if (hooks_.on_in_flight) hooks_.on_in_flight(1);
  if (options.deadline && *options.deadline <= start) {
    slots_->Release(Clock::duration::zero());
    if (hooks_.on_in_flight) hooks_.on_in_flight(-1);
    return done(absl::DeadlineExceededError(
        "the request's deadline passed while it waited in the queue; it was "
        "not run (raise the 'timeout' parameter or reduce the load)"));
  }
  if (hooks_.on_running) hooks_.on_running(1);
  if (hooks_.on_dequeue) hooks_.on_dequeue(Clock::duration::zero());
  absl::StatusOr<std::vector<core::Tensor>> outputs = model_->Run(inputs);
  const Clock::duration took = Clock::now() - start;
  slots_->Release(took);
  if (hooks_.on_batch) hooks_.on_batch({.rows = RowsOf(inputs), .infer = took});
  if (hooks_.on_running) hooks_.on_running(-1);
  if (hooks_.on_in_flight) hooks_.on_in_flight(-1);
  // The run is over and nothing else holds these inputs: their storage goes
  // back for the next request this thread decodes (core/buffer_pool.h).
  core::RecycleTensorData(inputs);
  done(std::move(outputs));
}

}  // namespace strata::serving
