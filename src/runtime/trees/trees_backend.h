// The native tree engine as a backend (`backend: trees` in config.yaml): an
// XGBoost JSON model (`model.json`) loaded into a TreeEnsemble and walked
// without per-call setup. Its answers are bit-identical to XGBoost 1.7's for
// the objectives it expresses; a model it cannot express is refused with the
// reason (UNIMPLEMENTED), which lets XGBoostOrTrees() fall back. Parameters
// as the xgboost backend: `artifact`, `output: probability|margin`.
#ifndef STRATA_RUNTIME_TREES_TREES_BACKEND_H_
#define STRATA_RUNTIME_TREES_TREES_BACKEND_H_

#include <filesystem>
#include <memory>

#include "absl/status/statusor.h"
#include "runtime/backend_registry.h"
#include "runtime/model.h"
#include "runtime/model_config.h"

namespace strata::runtime {

Backend TreesBackend();

absl::StatusOr<std::unique_ptr<Model>> LoadTreesModel(const ModelConfig& config,
                                                      const std::filesystem::path& version_dir);

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_TREES_TREES_BACKEND_H_
