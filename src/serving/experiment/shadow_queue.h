// ShadowQueue runs shadow work on one thread of its own, with at most
// `capacity` jobs waiting: a job offered when the queue is full is dropped
// and counted, never waited on, so the request path that offers it is never
// held up. Jobs run one at a time, in order. Thread-safe.
#ifndef STRATA_SERVING_EXPERIMENT_SHADOW_QUEUE_H_
#define STRATA_SERVING_EXPERIMENT_SHADOW_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>

#include "core/mutex.h"

namespace strata::serving {

class ShadowQueue {
 public:
  using Job = std::function<void()>;

  // REQUIRES: capacity >= 1.
  explicit ShadowQueue(size_t capacity);
  // Stop().
  ~ShadowQueue();
  ShadowQueue(const ShadowQueue&) = delete;
  ShadowQueue& operator=(const ShadowQueue&) = delete;

  // Queues `job`; false (and counted as dropped) when the queue is full or
  // stopped. Never blocks on the jobs.
  bool TryPush(Job job);
  // Lets the running job finish, drops those waiting and joins the thread.
  // Idempotent.
  void Stop();

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  size_t capacity() const { return capacity_; }

 private:
  void Loop();

  const size_t capacity_;
  core::Mutex mutex_;
  core::CondVar ready_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::atomic<uint64_t> dropped_{0};
  std::thread worker_;  // last: starts once the members above exist
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_SHADOW_QUEUE_H_
