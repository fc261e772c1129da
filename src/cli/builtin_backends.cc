#include "cli/builtin_backends.h"

#include <filesystem>
#include <string>

#include "fmt/format.h"
#include "runtime/torchscript/torchscript_backend.h"
#include "runtime/trees/trees_backend.h"
#include "runtime/xgboost/xgboost_backend.h"
#include "spdlog/spdlog.h"

namespace strata::cli {
namespace {

// `backend: xgboost` runs on the native tree engine when it can express the
// model (bit-identical answers, no per-call setup) and on XGBoost otherwise,
// with the reason logged; `parameters: {engine: xgboost}` forces XGBoost.
absl::StatusOr<std::unique_ptr<runtime::Model>> LoadTreesOrXGBoost(
    const runtime::ModelConfig& config, const std::filesystem::path& version_dir) {
  auto engine = config.parameters.find("engine");
  if (engine != config.parameters.end() && engine->second != "trees" &&
      engine->second != "xgboost") {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' parameter 'engine' must be 'trees' or 'xgboost', got '{}'",
                    config.name, engine->second));
  }
  const runtime::Backend xgboost = runtime::XGBoostBackend();
  if (engine != config.parameters.end() && engine->second == "xgboost") {
    return xgboost.factory(config, version_dir);
  }
  absl::StatusOr<std::unique_ptr<runtime::Model>> trees =
      runtime::LoadTreesModel(config, version_dir);
  if (trees.ok() || trees.status().code() != absl::StatusCode::kUnimplemented) return trees;
  spdlog::info("model '{}' ({}): {}; running it on XGBoost", config.name,
               version_dir.filename().string(), std::string(trees.status().message()));
  return xgboost.factory(config, version_dir);
}

}  // namespace

runtime::BackendRegistry BuiltinBackends() {
  runtime::BackendRegistry registry;
  registry.Register(runtime::TorchScriptBackend());
  registry.Register(runtime::Backend{"xgboost", "xgboost_json", &LoadTreesOrXGBoost});
  registry.Register(runtime::TreesBackend());
  return registry;
}

}  // namespace strata::cli
