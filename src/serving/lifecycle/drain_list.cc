#include "serving/lifecycle/drain_list.h"

#include <malloc.h>

#include "spdlog/spdlog.h"

namespace strata::serving {

void DrainList::Add(std::string what, LoadedVersion version) {
  draining_.push_back({std::move(what), std::move(version)});
}

void DrainList::Reap() {
  bool freed = false;
  for (auto it = draining_.begin(); it != draining_.end();) {
    // Only this list still refers to the model: nothing is in flight on it.
    if (it->version.model.use_count() == 1) {
      it->version.model.reset();
      it->version.metrics.reset();
      spdlog::info("unloaded {}", it->what);
      it = draining_.erase(it);
      freed = true;
    } else {
      ++it;
    }
  }
  if (freed) malloc_trim(0);  // give the freed memory back to the system
}

void DrainList::WaitFor(std::chrono::milliseconds timeout) {
  const TimeSource::Clock::time_point deadline = time_.Now() + timeout;
  Reap();
  while (!draining_.empty() && time_.Now() < deadline) {
    time_.SleepFor(std::chrono::milliseconds(2));
    Reap();
  }
  for (const Draining& d : draining_) {
    spdlog::warn("{} still has requests in flight after {} ms; it will unload when they finish",
                 d.what, timeout.count());
  }
}

}  // namespace strata::serving
