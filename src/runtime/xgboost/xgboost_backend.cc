#include "runtime/xgboost/xgboost_backend.h"

#include <filesystem>
#include <string>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "runtime/signature_check.h"
#include "runtime/xgboost/xgboost_model.h"

namespace strata::runtime {
namespace {

absl::StatusOr<XGBoostModel::Options> ParseOptions(const ModelConfig& config,
                                                   const std::filesystem::path& version_dir) {
  XGBoostModel::Options options;
  options.config = config;

  STRATA_ASSIGN_OR_RETURN(options.artifact, ArtifactPath(config, version_dir, "model.json"));
  STRATA_ASSIGN_OR_RETURN(options.threads, ThreadsParameter(config));

  if (auto it = config.parameters.find("output"); it != config.parameters.end()) {
    if (it->second == "margin") {
      options.margin = true;
    } else if (it->second != "probability") {
      return absl::InvalidArgumentError(
          fmt::format("model '{}' parameter 'output' must be 'probability' or 'margin', "
                      "got '{}'",
                      config.name, it->second));
    }
  }
  return options;
}

absl::StatusOr<std::unique_ptr<Model>> LoadXGBoostModel(const ModelConfig& config,
                                                        const std::filesystem::path& version_dir) {
  STRATA_ASSIGN_OR_RETURN(XGBoostModel::Options options, ParseOptions(config, version_dir));
  return XGBoostModel::Create(std::move(options));
}

}  // namespace

Backend XGBoostBackend() { return Backend{"xgboost", "xgboost_json", &LoadXGBoostModel}; }

}  // namespace strata::runtime
