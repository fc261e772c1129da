// An Executor runs the lifecycle's work one task at a time, in the order it
// was posted, and between tasks calls a tick that does the periodic work
// (repository polls, reaping drained versions) and says when it is due
// again. ModelManager is handed one: ThreadExecutor in the server (one
// lifecycle thread), testing::InlineExecutor in tests (tasks run on the
// caller's thread, ticks when the test says). Thread-safe.
#ifndef STRATA_SERVING_LIFECYCLE_EXECUTOR_H_
#define STRATA_SERVING_LIFECYCLE_EXECUTOR_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace strata::serving {

class Executor {
 public:
  using Task = std::function<void()>;
  // Does the periodic work; returns when to be called again (nullopt: only
  // after the next task).
  using Tick = std::function<std::optional<std::chrono::steady_clock::time_point>()>;

  virtual ~Executor() = default;
  // Runs `task` after the tasks posted before it.
  virtual void Post(Task task) = 0;
  // Starts calling `tick`; tasks posted before Start() run after it.
  virtual void Start(Tick tick) = 0;
  // Stops and waits for the running task; tasks not yet run are dropped.
  // REQUIRES: not called from a task.
  virtual void Stop() = 0;
};

// One thread that runs the tasks and sleeps until the next tick is due.
class ThreadExecutor : public Executor {
 public:
  ThreadExecutor() = default;
  ~ThreadExecutor() override { Stop(); }

  void Post(Task task) override;
  void Start(Tick tick) override;
  void Stop() override;

 private:
  void Loop(Tick tick);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> tasks_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::thread thread_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_EXECUTOR_H_
