// ModelControl is what the frontends' control routes (the repository index,
// load, unload, labels, default, rollback) may do to the served models, and
// no more: they never reach the lifecycle itself. The operations run on the
// lifecycle's executor, one at a time; `done` gets a human-readable result
// there. Implementations are thread-safe.
#ifndef STRATA_SERVING_LIFECYCLE_MODEL_CONTROL_H_
#define STRATA_SERVING_LIFECYCLE_MODEL_CONTROL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "serving/lifecycle/version_status.h"

namespace strata::serving {

class ModelControl {
 public:
  using ControlCallback = std::function<void(absl::StatusOr<std::string>)>;

  virtual ~ModelControl() = default;

  // Every version of every model the repository shows, with its state.
  virtual std::vector<VersionStatus> Index() const = 0;
  // Runs one repository scan now and waits for it.
  virtual void SyncNow() = 0;

  // Re-reads the model from disk and loads what its policy asks for,
  // retrying versions that failed before.
  virtual void Load(std::string name, ControlCallback done) = 0;
  // Unloads every version (until Load) and waits for them to drain.
  virtual void Unload(std::string name, ControlCallback done) = 0;
  // Points `label` at `version` (loading it if needed); version 0 removes it.
  virtual void SetLabel(std::string name, std::string label, int64_t version,
                        ControlCallback done) = 0;
  // Pins unversioned calls to `version`; 0 follows the newest ready again.
  virtual void SetDefault(std::string name, int64_t version, ControlCallback done) = 0;
  // Makes the previous default version (the last known good) the default
  // again, pinned, loading it if needed.
  virtual void Rollback(std::string name, ControlCallback done) = 0;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_MODEL_CONTROL_H_
