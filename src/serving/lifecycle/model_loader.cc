#include "serving/lifecycle/model_loader.h"

#include "core/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/model_config_parser.h"
#include "serving/version_scanner.h"

namespace strata::serving {
namespace fs = std::filesystem;

absl::StatusOr<ModelSpec> ModelLoader::ReadSpec(const fs::path& model_dir,
                                                const std::string& name) const {
  STRATA_ASSIGN_OR_RETURN(runtime::ModelConfig config,
                          LoadModelConfig(model_dir / "config.yaml", name));
  const runtime::Backend* backend = backends_.Find(config.backend);
  if (backend == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("unknown backend '{}' in config.yaml; available backends: {}", config.backend,
                    fmt::join(backends_.Names(), ", ")));
  }
  return ModelSpec{std::move(config), backend->platform};
}

absl::StatusOr<std::unique_ptr<runtime::Model>> ModelLoader::LoadVersion(const ModelSpec& spec,
                                                                         const fs::path& model_dir,
                                                                         int64_t version,
                                                                         bool warm_up) const {
  const runtime::Backend* backend = backends_.Find(spec.config.backend);
  if (backend == nullptr) {
    return absl::FailedPreconditionError(
        fmt::format("backend '{}' is no longer registered", spec.config.backend));
  }
  const fs::path dir = model_dir / std::to_string(version);
  if (absl::Status verified = verifier_->Verify(dir); !verified.ok()) {
    return absl::Status(verified.code(), fmt::format("version {} failed to load: {}", version,
                                                     std::string(verified.message())));
  }
  absl::StatusOr<std::unique_ptr<runtime::Model>> model = backend->factory(spec.config, dir);
  if (!model.ok()) {
    absl::Status status(model.status().code(), fmt::format("version {} failed to load: {}", version,
                                                           std::string(model.status().message())));
    model.status().ForEachPayload(
        [&](absl::string_view url, const absl::Cord& payload) { status.SetPayload(url, payload); });
    return status;
  }
  if (warm_up) STRATA_RETURN_IF_ERROR(WarmUp(**model, spec.config, dir, warmup_reader_));
  return model;
}

absl::StatusOr<std::shared_ptr<const ServedFeatures>> ModelLoader::LoadFeatures(
    const ModelSpec& spec, const fs::path& model_dir, int64_t version) const {
  absl::StatusOr<std::shared_ptr<const ServedFeatures>> features = ServedFeatures::Load(
      model_dir / std::to_string(version), spec.config, spec.config.name, version, features_);
  if (!features.ok()) {
    return absl::Status(features.status().code(),
                        fmt::format("version {} failed to load: {}", version,
                                    std::string(features.status().message())));
  }
  return features;
}

absl::StatusOr<LoadedModel> ModelLoader::LoadNewest(const fs::path& model_dir,
                                                    const std::string& name,
                                                    int64_t version) const {
  STRATA_ASSIGN_OR_RETURN(ModelSpec spec, ReadSpec(model_dir, name));
  if (version == 0) {
    const std::vector<int64_t> versions = ListVersionDirectories(model_dir);
    if (versions.empty()) {
      return absl::NotFoundError(fmt::format(
          "no version directory (an integer-named directory such as {}/1)", model_dir.string()));
    }
    version = versions.back();
  }
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Model> model,
                          LoadVersion(spec, model_dir, version, /*warm_up=*/false));
  return LoadedModel{std::move(spec), version, std::move(model)};
}

}  // namespace strata::serving
