// ModelRepository reads a model repository on disk and loads its models:
//
//   <root>/models/<name>/config.yaml     the declared signature and backend
//   <root>/models/<name>/<version>/      an integer-named version directory
//
// Each model loads its highest version. A model whose config or artifact is
// broken is kept, not ready, with the reason; the others load regardless.
// Functions are thread-compatible; the returned ServedModels are immutable.
#ifndef STRATA_SERVING_MODEL_REPOSITORY_H_
#define STRATA_SERVING_MODEL_REPOSITORY_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/backend_registry.h"
#include "runtime/model.h"
#include "runtime/model_config.h"

namespace strata::serving {

class ModelMetrics;

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
  // Why not ready; for a ready version, a note on its state (kept serving
  // as the last known good), else empty.
  std::string reason;

  bool ready() const { return model != nullptr; }
};

class ModelRepository {
 public:
  // Loads every model under `root`/models. Error only when the directory
  // itself cannot be read.
  static absl::StatusOr<std::vector<ServedModel>> LoadAll(
      const std::filesystem::path& root,
      const runtime::BackendRegistry& backends);

  // Loads the model in `model_dir`; never fails, see ServedModel::reason.
  static ServedModel LoadModel(const std::filesystem::path& model_dir,
                               const runtime::BackendRegistry& backends);

  // Integer-named subdirectories of `model_dir`, ascending.
  static std::vector<int64_t> ListVersions(
      const std::filesystem::path& model_dir);
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_MODEL_REPOSITORY_H_
