#include "runtime/torchscript/torchscript_backend.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "runtime/signature_check.h"
#include "runtime/torchscript/blas_threads.h"
#include "runtime/torchscript/torchscript_model.h"
#include "spdlog/spdlog.h"

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

// Caps OpenBLAS's threads at the model's share of the cores, and says so.
void CoordinateBlasThreads(const ModelConfig& config, int threads) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int instances = config.scheduling.instances;
  const int want = BlasThreadsFor(threads, instances, cores);
  const BlasThreadsChoice choice = ApplyBlasThreads(want);
  using Source = BlasThreadsChoice::Source;
  if (choice.source == Source::kEnvironment) {
    spdlog::info("model '{}': OpenBLAS threads {} from OPENBLAS_NUM_THREADS (strata would use {})",
                 config.name, choice.threads, want);
  } else if (choice.source == Source::kSet && choice.changed) {
    spdlog::info("model '{}': OpenBLAS threads set to {} (threads {}, instances {}, {} cores; {})",
                 config.name, choice.threads, threads, instances, cores, choice.blas);
  }
}

absl::StatusOr<std::unique_ptr<Model>> LoadTorchScriptModel(
    const ModelConfig& config, const std::filesystem::path& version_dir) {
  STRATA_ASSIGN_OR_RETURN(TorchScriptModel::Options options, ParseOptions(config, version_dir));
  CoordinateBlasThreads(config, options.threads);
  return TorchScriptModel::Create(std::move(options));
}

}  // namespace

Backend TorchScriptBackend() {
  return Backend{"torchscript", "pytorch_torchscript", &LoadTorchScriptModel};
}

}  // namespace strata::runtime
