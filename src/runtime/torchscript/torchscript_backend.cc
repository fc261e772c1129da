#include "runtime/torchscript/torchscript_backend.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "runtime/dense/dense_model.h"
#include "runtime/signature_check.h"
#include "runtime/torchscript/blas_threads.h"
#include "runtime/torchscript/torchscript_model.h"
#include "spdlog/spdlog.h"

namespace strata::runtime {
namespace {

enum class Engine { kDenseOrLibTorch, kDense, kLibTorch };

absl::StatusOr<Engine> EngineParameter(const ModelConfig& config) {
  auto it = config.parameters.find("engine");
  if (it == config.parameters.end()) return Engine::kDenseOrLibTorch;
  if (it->second == "dense") return Engine::kDense;
  if (it->second == "libtorch") return Engine::kLibTorch;
  return absl::InvalidArgumentError(
      fmt::format("model '{}' parameter 'engine' must be 'dense' or 'libtorch', got '{}'",
                  config.name, it->second));
}

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

// Seven rows (or the declared batch) of values in [-2, 2) from a fixed seed.
absl::StatusOr<std::vector<core::Tensor>> ProbeInputs(const ModelConfig& config) {
  STRATA_ASSIGN_OR_RETURN(std::vector<core::Tensor> inputs, MakeDryRunInputs(config, 7));
  std::mt19937 random(17);
  std::uniform_real_distribution<float> value(-2.0f, 2.0f);
  for (core::Tensor& input : inputs) {
    for (float& x : input.MutableAs<float>()) x = value(random);
  }
  return inputs;
}

// UNIMPLEMENTED unless every output agrees within kDenseTolerance.
absl::Status CheckAgreement(const std::vector<core::Tensor>& libtorch,
                            const std::vector<core::Tensor>& dense) {
  for (size_t i = 0; i < libtorch.size(); ++i) {
    if (i >= dense.size() || dense[i].shape != libtorch[i].shape ||
        dense[i].data.size() != libtorch[i].data.size()) {
      return absl::UnimplementedError(fmt::format(
          "the dense engine's output '{}' has another shape than LibTorch's", libtorch[i].name));
    }
    const std::span<const float> want = libtorch[i].As<float>(), got = dense[i].As<float>();
    const double difference = dense::MaxScaledDifference(want, got);
    if (!(difference <= dense::kDenseTolerance)) {
      return absl::UnimplementedError(
          fmt::format("the dense engine's output '{}' differs from LibTorch's by {:.3g} (scaled) "
                      "on probe inputs",
                      libtorch[i].name, difference));
    }
  }
  return absl::OkStatus();
}

// The dense engine's model for `libtorch`'s graph, checked against LibTorch
// on probe inputs; UNIMPLEMENTED with the reason when the engine cannot run it.
// By default (`engine` unset) a network over kDenseDefaultMaxWeights stays
// on LibTorch (FAILED_PRECONDITION with the reason).
absl::StatusOr<std::unique_ptr<dense::DenseModel>> DenseModelFor(const ModelConfig& config,
                                                                 TorchScriptModel& libtorch,
                                                                 Engine engine) {
  STRATA_ASSIGN_OR_RETURN(dense::DenseNetwork network, libtorch.AsDenseNetwork());
  const int64_t weights = dense::WeightCount(network);
  if (engine == Engine::kDenseOrLibTorch && weights > dense::kDenseDefaultMaxWeights) {
    return absl::FailedPreconditionError(
        fmt::format("its {} weights are over the dense engine's default bound of {} (OpenBLAS "
                    "wins on batches of a model this large; engine: dense forces the engine)",
                    weights, dense::kDenseDefaultMaxWeights));
  }
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<dense::DenseModel> model,
                          dense::DenseModel::Create(config, std::move(network)));
  STRATA_ASSIGN_OR_RETURN(std::vector<core::Tensor> probe, ProbeInputs(config));
  STRATA_ASSIGN_OR_RETURN(std::vector<core::Tensor> want, libtorch.Run(probe));
  STRATA_ASSIGN_OR_RETURN(std::vector<core::Tensor> got, model->Run(probe));
  STRATA_RETURN_IF_ERROR(CheckAgreement(want, got));
  return model;
}

absl::StatusOr<std::unique_ptr<Model>> LoadTorchScriptModel(
    const ModelConfig& config, const std::filesystem::path& version_dir) {
  STRATA_ASSIGN_OR_RETURN(TorchScriptModel::Options options, ParseOptions(config, version_dir));
  STRATA_ASSIGN_OR_RETURN(const Engine engine, EngineParameter(config));
  CoordinateBlasThreads(config, options.threads);
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<TorchScriptModel> libtorch,
                          TorchScriptModel::Create(std::move(options)));
  if (engine == Engine::kLibTorch) return libtorch;
  const std::string version = version_dir.filename().string();
  absl::StatusOr<std::unique_ptr<dense::DenseModel>> dense =
      DenseModelFor(config, *libtorch, engine);
  if (dense.ok()) {
    spdlog::info("model '{}' ({}): on the dense engine ({})", config.name, version,
                 dense::Describe((*dense)->network()));
    return std::move(*dense);
  }
  if (engine == Engine::kDense) {
    return absl::FailedPreconditionError(fmt::format(
        "model '{}': engine: dense, but {}", config.name, std::string(dense.status().message())));
  }
  spdlog::info("model '{}' ({}): {}; running it on LibTorch", config.name, version,
               std::string(dense.status().message()));
  return libtorch;
}

}  // namespace

Backend TorchScriptBackend() {
  return Backend{"torchscript", "pytorch_torchscript", &LoadTorchScriptModel};
}

}  // namespace strata::runtime
