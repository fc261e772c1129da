// ModelSnapshot is what readers see of one model: its ready versions, the
// not-ready view, labels, the default and the index lines. Immutable once
// built; published through an atomic pointer, so readers never block.
#ifndef STRATA_SERVING_LIFECYCLE_MODEL_SNAPSHOT_H_
#define STRATA_SERVING_LIFECYCLE_MODEL_SNAPSHOT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "serving/lifecycle/client_text.h"
#include "serving/lifecycle/model_versions.h"
#include "serving/lifecycle/version_status.h"
#include "serving/model_repository.h"

namespace strata::serving {

struct ModelSnapshot {
  std::map<int64_t, std::shared_ptr<const ServedModel>> ready;
  std::shared_ptr<const ServedModel> unavailable;  // when `ready` is empty
  std::map<std::string, int64_t, std::less<>> labels;
  int64_t default_version = 0;
  std::vector<VersionStatus> statuses;
};

// The snapshot of `versions` as they stand, its default being
// `versions.current_default`. Paths in reasons go through `client_text`.
std::shared_ptr<const ModelSnapshot> BuildSnapshot(const ModelVersions& versions,
                                                   const ClientText& client_text);

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_MODEL_SNAPSHOT_H_
