// StoreExecutor runs the calls to a store that can block (a Redis lookup
// waits for the network, and for its timeout when the server hangs) on a
// few threads of its own, behind a bounded queue, so that frontend I/O
// threads never wait for a store. Submit() never blocks: a full queue
// refuses the task. Thread-safe.
#ifndef STRATA_SERVING_STORE_EXECUTOR_H_
#define STRATA_SERVING_STORE_EXECUTOR_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace strata::serving {

struct StoreExecutorOptions {
  int threads = 4;
  size_t max_queue = 1024;  // tasks waiting for a thread
};

class StoreExecutor {
 public:
  explicit StoreExecutor(StoreExecutorOptions options);
  ~StoreExecutor() { Stop(); }

  // Refuses new tasks, runs every task still queued, and ends the threads.
  // Idempotent. When it runs on one of them (a task dropped the executor's
  // last owner), that thread finishes on its own.
  void Stop();

  StoreExecutor(const StoreExecutor&) = delete;
  StoreExecutor& operator=(const StoreExecutor&) = delete;

  // Queues `task` to run on one of the threads; false (and `task` dropped
  // unrun) when the queue is full.
  bool Submit(std::function<void()> task);

  size_t queued() const;

 private:
  struct Queue;  // shared with the threads, so they outlive the executor
  std::shared_ptr<Queue> queue_;
  std::vector<std::thread> threads_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_STORE_EXECUTOR_H_
