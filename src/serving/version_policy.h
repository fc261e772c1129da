// Chooses which versions of a model should be served ("aspired") from the
// complete versions on disk, the model's version policy, and the versions
// that labels or a pinned default keep alive. Pure function; thread-safe.
#ifndef STRATA_SERVING_VERSION_POLICY_H_
#define STRATA_SERVING_VERSION_POLICY_H_

#include <cstdint>
#include <set>
#include <vector>

#include "runtime/model_config.h"

namespace strata::serving {

// `complete` is ascending. Returns an ascending list, a subset of `complete`.
std::vector<int64_t> AspiredVersions(const runtime::LifecycleConfig& lifecycle,
                                     const std::vector<int64_t>& complete,
                                     const std::set<int64_t>& keep);

}  // namespace strata::serving

#endif  // STRATA_SERVING_VERSION_POLICY_H_
