// ServedModel is one model version as readers see it (or a model's
// not-ready view), and ModelRepository lists a model's version
// directories. Loading lives in serving/lifecycle/model_loader.h.
// ServedModels are immutable once published.
#ifndef STRATA_SERVING_MODEL_REPOSITORY_H_
#define STRATA_SERVING_MODEL_REPOSITORY_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "runtime/model_config.h"
#include "serving/version_state.h"

namespace strata::serving {

class ModelMetrics;
class ServedFeatures;

// One model of the repository as the server serves it.
struct ServedModel {
  std::string name;
  std::vector<int64_t> versions;  // versions being served, ascending
  int64_t version = 0;            // the loaded version; 0 when none
  runtime::ModelConfig config;    // empty signature when config.yaml failed
  std::string platform;           // e.g. "pytorch_torchscript"
  // Declared before `model`, which may report to it, so it is destroyed after.
  std::shared_ptr<ModelMetrics> metrics;  // null when not ready
  std::shared_ptr<runtime::Model> model;  // null when not ready
  // The version's feature pipeline when its directory has a features.yaml
  // (serving/served_features.h): it then answers key-only requests.
  std::shared_ptr<const ServedFeatures> features;
  // Why not ready; for a ready version, a note on its state (kept serving
  // as the last known good), else empty.
  std::string reason;
  // For a not-ready view: the model was taken out of service on purpose,
  // through the control API (it is then not one the server must serve).
  bool unloaded = false;

  bool ready() const { return model != nullptr; }
  VersionState state() const {
    if (ready()) return VersionState::kReady;
    return unloaded ? VersionState::kUnloaded : VersionState::kUnavailable;
  }
};

class ModelRepository {
 public:
  // Integer-named subdirectories of `model_dir`, ascending.
  static std::vector<int64_t> ListVersions(const std::filesystem::path& model_dir);
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_MODEL_REPOSITORY_H_
