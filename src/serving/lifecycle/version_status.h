// One line of the repository index: a version (or a model-level problem)
// and its state. A value type.
#ifndef STRATA_SERVING_LIFECYCLE_VERSION_STATUS_H_
#define STRATA_SERVING_LIFECYCLE_VERSION_STATUS_H_

#include <string>

#include "serving/version_state.h"

namespace strata::serving {

struct VersionStatus {
  std::string model;
  std::string version;  // empty for a model-level problem
  VersionState state = VersionState::kUnavailable;
  std::string reason;  // why not ready; for a ready version, a note (last known good)
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_VERSION_STATUS_H_
