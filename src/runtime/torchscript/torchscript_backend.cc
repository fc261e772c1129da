#include "runtime/torchscript/torchscript_backend.h"

#include <filesystem>
#include <string>
#include <system_error>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "runtime/signature_check.h"
#include "runtime/torchscript/torchscript_model.h"

namespace strata::runtime {
namespace {

absl::StatusOr<TorchScriptModel::Options> ParseOptions(
    const ModelConfig& config, const std::filesystem::path& version_dir) {
  TorchScriptModel::Options options;
  options.config = config;

  std::string artifact = "model.pt";
  if (auto it = config.parameters.find("artifact");
      it != config.parameters.end()) {
    artifact = it->second;
  }
  const std::filesystem::path relative(artifact);
  if (relative.empty() || relative.is_absolute() ||
      *relative.lexically_normal().begin() == "..") {
    return absl::InvalidArgumentError(fmt::format(
        "model '{}' parameter 'artifact' must name a file inside the version "
        "directory, got '{}'",
        config.name, artifact));
  }
  options.artifact = version_dir / relative;
  std::error_code error;
  if (!std::filesystem::is_regular_file(options.artifact, error)) {
    return absl::NotFoundError(fmt::format("model '{}': {} does not exist",
                                           config.name,
                                           options.artifact.string()));
  }

  STRATA_ASSIGN_OR_RETURN(options.threads, IntParameter(config, "threads", 1));
  if (options.threads < 1) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' parameter 'threads' must be at least 1, got {}",
                    config.name, options.threads));
  }
  return options;
}

absl::StatusOr<std::unique_ptr<Model>> LoadTorchScriptModel(
    const ModelConfig& config, const std::filesystem::path& version_dir) {
  STRATA_ASSIGN_OR_RETURN(TorchScriptModel::Options options,
                          ParseOptions(config, version_dir));
  return TorchScriptModel::Create(std::move(options));
}

}  // namespace

Backend TorchScriptBackend() {
  return Backend{"torchscript", "pytorch_torchscript", &LoadTorchScriptModel};
}

}  // namespace strata::runtime
