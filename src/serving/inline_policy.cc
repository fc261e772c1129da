#include "serving/inline_policy.h"

#include <algorithm>

namespace strata::serving {

ExecutionRoute InlinePolicy::Decide(const ExecutionState& state) const {
  if (options_.batching) return ExecutionRoute::kQueue;
  if (state.queued > 0) return ExecutionRoute::kQueue;
  if (state.running >= std::max(1, options_.instances)) return ExecutionRoute::kQueue;
  if (state.recent_run.count() == 0) return ExecutionRoute::kQueue;  // not measured yet
  if (state.recent_run > options_.inline_bound) return ExecutionRoute::kQueue;
  return ExecutionRoute::kInline;
}

std::chrono::nanoseconds InlinePolicy::Smooth(std::chrono::nanoseconds recent,
                                              std::chrono::nanoseconds sample) {
  if (recent.count() == 0) return sample;
  return recent + (sample - recent) / 8;
}

}  // namespace strata::serving
