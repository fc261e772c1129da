// Must not compile under the thread-safety check: a guarded member read
// without its mutex. The `thread_safety_catches_missing_lock` test expects
// clang's error, which shows that the annotations of core/mutex.h are live
// (not expanded to nothing) and that the check's flags catch a missing lock.
#include "core/mutex.h"

namespace strata {

class Counter {
 public:
  void Increment() {
    core::MutexLock lock(mutex_);
    ++count_;
  }
  int count() const { return count_; }  // the missing lock

 private:
  mutable core::Mutex mutex_;
  int count_ ABSL_GUARDED_BY(mutex_) = 0;
};

int Read(const Counter& counter) { return counter.count(); }

}  // namespace strata
