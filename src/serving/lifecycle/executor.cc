#include "serving/lifecycle/executor.h"

namespace strata::serving {

void ThreadExecutor::Post(Task task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_all();
}

void ThreadExecutor::Start(Tick tick) {
  thread_ = std::thread([this, tick = std::move(tick)] { Loop(tick); });
}

void ThreadExecutor::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ThreadExecutor::Loop(Tick tick) {
  std::optional<std::chrono::steady_clock::time_point> next = tick();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto ready = [this] { return stopping_ || !tasks_.empty(); };
    if (next) {
      wake_.wait_until(lock, *next, ready);
    } else {
      wake_.wait(lock, ready);
    }
    if (stopping_) break;
    std::deque<Task> tasks;
    tasks.swap(tasks_);
    lock.unlock();
    for (Task& task : tasks) task();
    next = tick();
    lock.lock();
  }
}

}  // namespace strata::serving
