// ExecutionSlots counts one model version's runs in progress (inline and on
// the batcher's workers) and its requests in the batcher, and asks the
// InlinePolicy where each new request runs. The model's `instances` bound
// holds for both kinds of run together: a worker waits for a slot that an
// inline run holds (at most one inline run: the policy's bound). Thread-safe.
#ifndef STRATA_SERVING_EXECUTION_SLOTS_H_
#define STRATA_SERVING_EXECUTION_SLOTS_H_

#include <chrono>

#include "core/mutex.h"
#include "serving/inline_policy.h"

namespace strata::serving {

class ExecutionSlots {
 public:
  explicit ExecutionSlots(InlinePolicyOptions options) : policy_(options) {}

  // Where a new request runs. kInline: the caller holds a slot and must
  // Release() it after the run; kQueue: the caller hands the request to the
  // batcher and calls LeftQueue() once it is answered.
  ExecutionRoute Admit();

  // A worker's run: waits until a slot is free and takes it.
  void Acquire();

  // A run ended after `took`; frees its slot.
  void Release(std::chrono::nanoseconds took);

  // A request handed to the batcher was answered (run, expired or refused).
  void LeftQueue();

  ExecutionState state() const;

 private:
  const InlinePolicy policy_;
  mutable core::Mutex mutex_;
  core::CondVar freed_;
  ExecutionState state_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXECUTION_SLOTS_H_
