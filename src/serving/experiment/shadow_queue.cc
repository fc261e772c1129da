#include "serving/experiment/shadow_queue.h"

#include <pthread.h>
#include <sched.h>

namespace strata::serving {
namespace {

// Moves the calling thread to SCHED_IDLE; false when the kernel refuses.
bool RunAtIdlePriority() {
  sched_param param{};
  param.sched_priority = 0;
  return pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) == 0;
}

}  // namespace

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
  idle_priority_.store(RunAtIdlePriority(), std::memory_order_relaxed);
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
