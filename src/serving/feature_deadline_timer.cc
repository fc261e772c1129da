#include "serving/feature_deadline_timer.h"

#include <algorithm>

namespace strata::serving {

FeatureDeadlineTimer::FeatureDeadlineTimer(Clock::duration slack)
    : slack_(slack), thread_([this] { Loop(); }) {}

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

uint64_t FeatureDeadlineTimer::rounds() const {
  core::MutexLock lock(mutex_);
  return rounds_;
}

std::vector<std::function<void()>> FeatureDeadlineTimer::TakeDue(Clock::time_point now) {
  std::vector<std::function<void()>> due;
  while (!entries_.empty() && entries_.top().deadline <= now) {
    due.push_back(entries_.top().fire);
    entries_.pop();
  }
  return due;
}

void FeatureDeadlineTimer::Loop() {
  core::MutexLock lock(mutex_);
  Clock::time_point last_round;  // the epoch: the first round need not wait
  while (!stopping_) {
    if (entries_.empty()) {
      changed_.Wait(mutex_);
      continue;
    }
    const Clock::time_point wake = std::max(entries_.top().deadline, last_round + slack_);
    const Clock::time_point now = Clock::now();
    if (now < wake) {
      changed_.WaitUntil(mutex_, wake);
      continue;
    }
    last_round = now;
    ++rounds_;
    std::vector<std::function<void()>> due = TakeDue(now);
    mutex_.Unlock();
    for (std::function<void()>& fire : due) fire();
    due.clear();  // what the callbacks held goes outside the lock
    mutex_.Lock();
  }
}

}  // namespace strata::serving
