// ExecutionSlots counts one model version's runs in progress (inline and on
// the batcher's workers) and its requests in the batcher, and asks the
// InlinePolicy where each new request runs. An inline run starts only while
// fewer than `instances` runs are in progress; a worker never waits for an
// inline run to end (making it wait cost about a fifth of the throughput at 16
// connections with `instances: 1` in bench/lean_path_bench.py), so at most
// `instances` inline runs overlap the `instances` worker runs. Thread-safe.
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

  // A worker's run starts (it does not wait: see above).
  void Started();

  // A run ended after `took`; frees its slot.
  void Release(std::chrono::nanoseconds took);

  // A request handed to the batcher was answered (run, expired or refused).
  void LeftQueue();

  ExecutionState state() const;

 private:
  const InlinePolicy policy_;
  mutable core::Mutex mutex_;
  ExecutionState state_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXECUTION_SLOTS_H_
