// DrainList holds the versions taken out of service until their in-flight
// requests finish: each request holds a reference to its version, so a
// version whose only reference is this list's is idle and is destroyed, its
// memory returned to the system (malloc_trim). Not thread-safe: the
// lifecycle's executor owns it.
#ifndef STRATA_SERVING_LIFECYCLE_DRAIN_LIST_H_
#define STRATA_SERVING_LIFECYCLE_DRAIN_LIST_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "serving/lifecycle/time_source.h"
#include "serving/server_metrics.h"

namespace strata::serving {

class ServedFeatures;

// A loaded version: its queue in front of the backend's model, and metrics.
struct LoadedVersion {
  std::shared_ptr<ModelMetrics> metrics;
  std::shared_ptr<runtime::Model> model;
  std::shared_ptr<const ServedFeatures> features;  // null: no features.yaml
};

class DrainList {
 public:
  explicit DrainList(TimeSource& time) : time_(time) {}

  // Takes `version` out of service; `what` names it in the log.
  void Add(std::string what, LoadedVersion version);

  // Destroys the versions nothing else refers to any more.
  void Reap();

  // Reaps until the list is empty or `timeout` has passed; what still has
  // requests in flight stays on the list and is logged.
  void WaitFor(std::chrono::milliseconds timeout);

  bool empty() const { return draining_.empty(); }

 private:
  struct Draining {
    std::string what;
    LoadedVersion version;
  };

  TimeSource& time_;
  std::vector<Draining> draining_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_DRAIN_LIST_H_
