#include "serving/experiment/shadow_queue.h"

namespace strata::serving {

ShadowQueue::ShadowQueue(size_t capacity) : capacity_(capacity), worker_([this] { Loop(); }) {}

ShadowQueue::~ShadowQueue() { Stop(); }

bool ShadowQueue::TryPush(Job job) {
  {
    core::MutexLock lock(mutex_);
    if (!stopping_ && jobs_.size() < capacity_) {
      jobs_.push_back(std::move(job));
      ready_.Signal();
      return true;
    }
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void ShadowQueue::Stop() {
  {
    core::MutexLock lock(mutex_);
    stopping_ = true;
    jobs_.clear();
    ready_.SignalAll();
  }
  if (worker_.joinable()) worker_.join();
}

void ShadowQueue::Loop() {
  for (;;) {
    Job job;
    {
      core::MutexLock lock(mutex_);
      while (!stopping_ && jobs_.empty()) ready_.Wait(mutex_);
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace strata::serving
