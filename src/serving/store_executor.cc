#include "serving/store_executor.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

namespace strata::serving {

struct StoreExecutor::Queue {
  explicit Queue(size_t max) : max(max) {}

  // Runs tasks until stopped with nothing left to run.
  void Work() {
    std::unique_lock lock(mutex);
    while (true) {
      wake.wait(lock, [this] { return stop || !tasks.empty(); });
      if (tasks.empty()) return;
      std::function<void()> task = std::move(tasks.front());
      tasks.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // what it holds goes before the lock is taken again
      lock.lock();
    }
  }

  const size_t max;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::function<void()>> tasks;  // guarded by mutex
  bool stop = false;                        // guarded by mutex
};

StoreExecutor::StoreExecutor(StoreExecutorOptions options)
    : queue_(std::make_shared<Queue>(std::max<size_t>(1, options.max_queue))) {
  const int threads = std::max(1, options.threads);
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([queue = queue_] { queue->Work(); });
  }
}

void StoreExecutor::Stop() {
  {
    std::lock_guard lock(queue_->mutex);
    queue_->stop = true;
  }
  queue_->wake.notify_all();
  for (std::thread& t : threads_) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // this thread returns into Work(), which holds the queue
    } else {
      t.join();
    }
  }
  threads_.clear();
}

bool StoreExecutor::Submit(std::function<void()> task) {
  {
    std::lock_guard lock(queue_->mutex);
    if (queue_->stop || queue_->tasks.size() >= queue_->max) return false;
    queue_->tasks.push_back(std::move(task));
  }
  queue_->wake.notify_one();
  return true;
}

size_t StoreExecutor::queued() const {
  std::lock_guard lock(queue_->mutex);
  return queue_->tasks.size();
}

}  // namespace strata::serving
