#include "serving/model_repository.h"

#include <algorithm>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/library_error.h"
#include "serving/model_config_parser.h"
#include "serving/version_scanner.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace fs = std::filesystem;

std::vector<int64_t> ModelRepository::ListVersions(const fs::path& model_dir) {
  return ListVersionDirectories(model_dir);
}

ServedModel ModelRepository::LoadModel(const fs::path& model_dir,
                                       const runtime::BackendRegistry& backends) {
  ServedModel served;
  served.name = model_dir.filename().string();
  served.versions = ListVersions(model_dir);

  absl::StatusOr<runtime::ModelConfig> config =
      LoadModelConfig(model_dir / "config.yaml", served.name);
  if (!config.ok()) {
    served.reason = std::string(config.status().message());
    return served;
  }
  served.config = *std::move(config);
  const runtime::Backend* backend = backends.Find(served.config.backend);
  if (backend == nullptr) {
    served.reason = fmt::format(
        "unknown backend '{}' in config.yaml; available backends: {}",
        served.config.backend, fmt::join(backends.Names(), ", "));
    return served;
  }
  served.platform = backend->platform;
  if (served.versions.empty()) {
    served.reason = fmt::format(
        "no version directory (an integer-named directory such as {}/1)",
        model_dir.string());
    return served;
  }
  const int64_t version = served.versions.back();
  const fs::path version_dir = model_dir / std::to_string(version);
  absl::StatusOr<std::unique_ptr<runtime::Model>> model =
      backend->factory(served.config, version_dir);
  if (!model.ok()) {
    const std::string detail = runtime::LibraryDetail(model.status());
    served.reason = fmt::format("version {} failed to load: {}{}{}", version,
                                std::string(model.status().message()),
                                detail.empty() ? "" : ": ", detail);
    return served;
  }
  served.version = version;
  served.model = std::shared_ptr<runtime::Model>(*std::move(model));
  return served;
}

absl::StatusOr<std::vector<ServedModel>> ModelRepository::LoadAll(
    const fs::path& root, const runtime::BackendRegistry& backends) {
  const fs::path models_dir = root / "models";
  std::error_code ec;
  if (!fs::is_directory(models_dir, ec)) {
    return absl::NotFoundError(fmt::format(
        "model repository {} has no 'models' directory; expected "
        "{}/models/<name>/config.yaml",
        root.string(), root.string()));
  }
  std::vector<fs::path> model_dirs;
  for (const fs::directory_entry& entry : fs::directory_iterator(models_dir, ec)) {
    if (entry.is_directory()) model_dirs.push_back(entry.path());
  }
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot list {}: {}", models_dir.string(), ec.message()));
  }
  std::sort(model_dirs.begin(), model_dirs.end());
  std::vector<ServedModel> models;
  for (const fs::path& dir : model_dirs) {
    ServedModel served = LoadModel(dir, backends);
    if (served.ready()) {
      spdlog::info("model '{}' version {} ready ({})", served.name,
                   served.version, served.platform);
    } else {
      spdlog::error("model '{}' is not ready: {}", served.name, served.reason);
    }
    models.push_back(std::move(served));
  }
  return models;
}

}  // namespace strata::serving
