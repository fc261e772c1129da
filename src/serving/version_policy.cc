#include "serving/version_policy.h"

#include <algorithm>

namespace strata::serving {

std::vector<int64_t> AspiredVersions(const runtime::LifecycleConfig& lifecycle,
                                     const std::vector<int64_t>& complete,
                                     const std::set<int64_t>& keep) {
  using Policy = runtime::LifecycleConfig::Policy;
  std::set<int64_t> aspired;
  switch (lifecycle.policy) {
    case Policy::kAll:
      aspired.insert(complete.begin(), complete.end());
      break;
    case Policy::kLatest: {
      const size_t n = std::min(complete.size(), static_cast<size_t>(lifecycle.latest));
      aspired.insert(complete.end() - static_cast<ptrdiff_t>(n), complete.end());
      break;
    }
    case Policy::kSpecific:
      for (int64_t v : lifecycle.specific) {
        if (std::binary_search(complete.begin(), complete.end(), v)) aspired.insert(v);
      }
      break;
  }
  for (int64_t v : keep) {
    if (std::binary_search(complete.begin(), complete.end(), v)) aspired.insert(v);
  }
  return {aspired.begin(), aspired.end()};
}

}  // namespace strata::serving
