#include "serving/execution_slots.h"

#include <algorithm>

namespace strata::serving {

ExecutionRoute ExecutionSlots::Admit() {
  core::MutexLock lock(mutex_);
  const ExecutionRoute route = policy_.Decide(state_);
  if (route == ExecutionRoute::kInline) {
    ++state_.running;
  } else {
    ++state_.queued;
  }
  return route;
}

void ExecutionSlots::Acquire() {
  const int slots = std::max(1, policy_.options().instances);
  core::MutexLock lock(mutex_);
  while (state_.running >= slots) freed_.Wait(mutex_);
  ++state_.running;
}

void ExecutionSlots::Release(std::chrono::nanoseconds took) {
  {
    core::MutexLock lock(mutex_);
    --state_.running;
    state_.recent_run = InlinePolicy::Smooth(state_.recent_run, took);
  }
  freed_.Signal();
}

void ExecutionSlots::LeftQueue() {
  core::MutexLock lock(mutex_);
  --state_.queued;
}

ExecutionState ExecutionSlots::state() const {
  core::MutexLock lock(mutex_);
  return state_;
}

}  // namespace strata::serving
