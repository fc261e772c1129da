// InlineFirstModel decorates a runtime::Model with its DynamicBatcher and
// runs a request on the calling thread when the InlinePolicy allows it (no
// batching, nothing queued, a slot free, a fast model): no hand-off to a
// worker thread and back, which on a busy machine costs more than a small
// model's run. Every other request goes through the batcher unchanged, with
// its queue bound, deadlines and workers. Both kinds of run are counted
// together (ExecutionSlots) and report the same hooks, so the metrics do
// not tell them apart. Knows nothing of versions or
// protocols. Thread-safe.
#ifndef STRATA_SERVING_INLINE_FIRST_MODEL_H_
#define STRATA_SERVING_INLINE_FIRST_MODEL_H_

#include <memory>

#include "runtime/model.h"
#include "serving/dynamic_batcher.h"
#include "serving/execution_slots.h"

namespace strata::serving {

class InlineFirstModel : public runtime::Model {
 public:
  InlineFirstModel(std::shared_ptr<runtime::Model> model, DynamicBatcherOptions options,
                   DynamicBatcherHooks hooks = {},
                   std::chrono::nanoseconds inline_bound = InlinePolicyOptions{}.inline_bound);

  // Through the batcher (warm-up and tests), waiting for the answer.
  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override;

  // Inline when the policy allows, else queued; `done` is called exactly
  // once, on the calling thread for an inline run.
  void RunAsync(std::vector<core::Tensor> inputs, RunOptions options, RunCallback done) override;

  ExecutionState state() const { return slots_->state(); }

 private:
  void RunInline(std::vector<core::Tensor> inputs, RunOptions options, RunCallback done);

  const std::shared_ptr<runtime::Model> model_;
  const DynamicBatcherHooks hooks_;
  const std::shared_ptr<ExecutionSlots> slots_;
  std::unique_ptr<DynamicBatcher> batcher_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_INLINE_FIRST_MODEL_H_
