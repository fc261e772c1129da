#include "serving/execution_slots.h"

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

void ExecutionSlots::Started() {
  core::MutexLock lock(mutex_);
  ++state_.running;
}

void ExecutionSlots::Release(std::chrono::nanoseconds took) {
  core::MutexLock lock(mutex_);
  --state_.running;
  state_.recent_run = InlinePolicy::Smooth(state_.recent_run, took);
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
