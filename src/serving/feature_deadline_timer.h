// FeatureDeadlineTimer runs a callback when a feature lookup's deadline
// passes, on its own thread: the feature stage arms it only for a lookup
// still waiting for its store (a Redis table on the store's threads), and
// whichever of the lookup and the deadline comes first answers the request.
// An entry costs a few dozen bytes until its deadline, whatever the lookup
// holds (callbacks capture weak references). Thread-safe.
//
// The thread wakes at most once per `slack` and then fires every entry that
// is due: at 10,000 requests a second, each with its own deadline a few
// microseconds after the previous one's, it wakes ~1,000 times a second
// (slack 1 ms), not 10,000 times (one wake-up per request, each a context
// switch on the cores the requests need). A callback runs no earlier than
// its deadline and at most `slack` (plus the scheduler's delay) after it.
#ifndef STRATA_SERVING_FEATURE_DEADLINE_TIMER_H_
#define STRATA_SERVING_FEATURE_DEADLINE_TIMER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <queue>
#include <thread>
#include <vector>

#include "core/mutex.h"

namespace strata::serving {

class FeatureDeadlineTimer {
 public:
  using Clock = std::chrono::steady_clock;

  explicit FeatureDeadlineTimer(Clock::duration slack = std::chrono::milliseconds(1));
  ~FeatureDeadlineTimer();  // runs nothing still pending
  FeatureDeadlineTimer(const FeatureDeadlineTimer&) = delete;
  FeatureDeadlineTimer& operator=(const FeatureDeadlineTimer&) = delete;

  // Calls `fire` on the timer's thread once `deadline` has passed.
  void At(Clock::time_point deadline, std::function<void()> fire);

  // How many times the thread has woken to fire due entries (for tests and
  // the benchmark's evidence).
  uint64_t rounds() const;

 private:
  struct Entry {
    Clock::time_point deadline;
    std::function<void()> fire;
    bool operator>(const Entry& other) const { return deadline > other.deadline; }
  };
  void Loop();
  // Takes every entry due at `now`, earliest first. REQUIRES: mutex_ held.
  std::vector<std::function<void()>> TakeDue(Clock::time_point now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const Clock::duration slack_;
  mutable core::Mutex mutex_;
  core::CondVar changed_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> entries_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  uint64_t rounds_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_FEATURE_DEADLINE_TIMER_H_
