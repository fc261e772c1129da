#include "serving/feature_deadline_timer.h"

namespace strata::serving {

FeatureDeadlineTimer::FeatureDeadlineTimer() : thread_([this] { Loop(); }) {}

FeatureDeadlineTimer::~FeatureDeadlineTimer() {
  {
    core::MutexLock lock(mutex_);
    stopping_ = true;
  }
  changed_.Signal();
  thread_.join();
}

void FeatureDeadlineTimer::At(Clock::time_point deadline, std::function<void()> fire) {
  bool earliest = false;
  {
    core::MutexLock lock(mutex_);
    earliest = entries_.empty() || deadline < entries_.top().deadline;
    entries_.push({deadline, std::move(fire)});
  }
  if (earliest) changed_.Signal();
}

void FeatureDeadlineTimer::Loop() {
  core::MutexLock lock(mutex_);
  while (!stopping_) {
    if (entries_.empty()) {
      changed_.Wait(mutex_);
      continue;
    }
    if (Clock::now() < entries_.top().deadline) {
      changed_.WaitUntil(mutex_, entries_.top().deadline);
      continue;
    }
    std::function<void()> fire = entries_.top().fire;
    entries_.pop();
    mutex_.Unlock();
    fire();
    mutex_.Lock();
  }
}

}  // namespace strata::serving
