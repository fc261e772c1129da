#include "runtime/torchscript/torchscript_backend.h"

#include <filesystem>
#include <string>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "runtime/signature_check.h"
#include "runtime/torchscript/torchscript_model.h"

namespace strata::runtime {
namespace {

absl::StatusOr<TorchScriptModel::Options> ParseOptions(const ModelConfig& config,
                                                       const std::filesystem::path& version_dir) {
  TorchScriptModel::Options options;
  options.config = config;

  STRATA_ASSIGN_OR_RETURN(options.artifact, ArtifactPath(config, version_dir, "model.pt"));
  STRATA_ASSIGN_OR_RETURN(options.threads, ThreadsParameter(config));
  return options;
}

absl::StatusOr<std::unique_ptr<Model>> LoadTorchScriptModel(
    const ModelConfig& config, const std::filesystem::path& version_dir) {
  STRATA_ASSIGN_OR_RETURN(TorchScriptModel::Options options, ParseOptions(config, version_dir));
  return TorchScriptModel::Create(std::move(options));
}

}  // namespace

Backend TorchScriptBackend() {
  return Backend{"torchscript", "pytorch_torchscript", &LoadTorchScriptModel};
}

}  // namespace strata::runtime
