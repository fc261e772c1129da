// InlinePolicy decides where one request to a model runs: on the thread that
// received it (an HTTP I/O thread or a gRPC callback thread), with no hand-off
// to a worker and back, or through the model's queue and worker threads (the
// DynamicBatcher). A pure decision object handed the model's execution state:
// no threads, no clock. Thread-compatible.
//
// A request runs inline only when all of these hold:
//  - the model does not batch (the batcher must see requests to merge them);
//  - nothing of this model is queued or running in the batcher (whoever waits
//    goes first, and the queue keeps its bound and its deadlines);
//  - an execution slot is free (fewer than `instances` runs in progress);
//  - the model's recent run time is known (it has run once through the
//    queue: its warm-up, or its first request) and at most `inline_bound`,
//    so that an I/O thread is never held by a slow model (its other
//    connections wait meanwhile).
// Otherwise the request is queued exactly as before.
#ifndef STRATA_SERVING_INLINE_POLICY_H_
#define STRATA_SERVING_INLINE_POLICY_H_

#include <chrono>

namespace strata::serving {

enum class ExecutionRoute {
  kInline,  // run on the calling thread, now
  kQueue,   // hand to the model's queue and workers
};

struct InlinePolicyOptions {
  bool batching = false;
  int instances = 1;
  // A model whose recent run took longer than this is always queued.
  std::chrono::nanoseconds inline_bound = std::chrono::microseconds(500);
};

// What the policy is handed for one decision.
struct ExecutionState {
  int running = 0;                         // runs in progress, inline and on workers
  int queued = 0;                          // requests handed to the batcher and not yet answered
  std::chrono::nanoseconds recent_run{0};  // smoothed run time; 0 before any run
};

class InlinePolicy {
 public:
  explicit InlinePolicy(InlinePolicyOptions options) : options_(options) {}

  ExecutionRoute Decide(const ExecutionState& state) const;

  // The smoothed run time after one more run took `sample` (an exponential
  // moving average with weight 1/8 on the new sample; the first sample is
  // taken as is).
  static std::chrono::nanoseconds Smooth(std::chrono::nanoseconds recent,
                                         std::chrono::nanoseconds sample);

  const InlinePolicyOptions& options() const { return options_; }

 private:
  InlinePolicyOptions options_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_INLINE_POLICY_H_
