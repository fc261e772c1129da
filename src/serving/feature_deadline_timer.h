// FeatureDeadlineTimer runs a callback when a feature lookup's deadline
// passes, on its own thread: the feature stage arms it only for a lookup
// still waiting for its store (a Redis table on the store's threads), and
// whichever of the lookup and the deadline comes first answers the request.
// An entry costs a few dozen bytes until its deadline, whatever the lookup
// holds (callbacks capture weak references). Thread-safe.
#ifndef STRATA_SERVING_FEATURE_DEADLINE_TIMER_H_
#define STRATA_SERVING_FEATURE_DEADLINE_TIMER_H_

#include <chrono>
#include <functional>
#include <queue>
#include <thread>
#include <vector>

#include "core/mutex.h"

namespace strata::serving {

class FeatureDeadlineTimer {
 public:
  using Clock = std::chrono::steady_clock;

  FeatureDeadlineTimer();
  ~FeatureDeadlineTimer();  // runs nothing still pending
  FeatureDeadlineTimer(const FeatureDeadlineTimer&) = delete;
  FeatureDeadlineTimer& operator=(const FeatureDeadlineTimer&) = delete;

  // Calls `fire` on the timer's thread once `deadline` has passed.
  void At(Clock::time_point deadline, std::function<void()> fire);

 private:
  struct Entry {
    Clock::time_point deadline;
    std::function<void()> fire;
    bool operator>(const Entry& other) const { return deadline > other.deadline; }
  };
  void Loop();

  core::Mutex mutex_;
  core::CondVar changed_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> entries_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_FEATURE_DEADLINE_TIMER_H_
