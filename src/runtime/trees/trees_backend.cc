#include "runtime/trees/trees_backend.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "runtime/library_error.h"
#include "runtime/signature_check.h"
#include "runtime/trees/tree_ensemble.h"
#include "runtime/trees/tree_predictor.h"
#include "spdlog/spdlog.h"

namespace strata::runtime {
namespace {

class TreesModel : public Model {
 public:
  TreesModel(ModelConfig config, trees::TreePredictor predictor, bool margin, int threads)
      : config_(std::move(config)),
        predictor_(std::move(predictor)),
        margin_(margin),
        threads_(threads) {}

  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override;

 private:
  absl::Status CheckInput(std::span<const core::Tensor> inputs) const;
  int64_t ValuesPerRow() const;
  core::Shape OutputShape(int64_t rows) const;
  void Predict(std::span<const float> features, int64_t rows, std::span<float> margins) const;
  const trees::TreeEnsemble& ensemble() const { return predictor_.ensemble(); }

  ModelConfig config_;
  trees::TreePredictor predictor_;
  bool margin_;
  int threads_;  // the `threads` parameter: walkers for a large batch
};

// Below this many rows a batch is walked on the calling thread only.
constexpr int64_t kRowsPerExtraThread = 8192;

// Splits a large batch into `threads_` row ranges walked at once; each row
// is still summed by one thread in tree order, so the answer is the same.
void TreesModel::Predict(std::span<const float> features, int64_t rows,
                         std::span<float> margins) const {
  const int64_t parts =
      std::min<int64_t>(threads_, std::max<int64_t>(1, rows / kRowsPerExtraThread));
  if (parts == 1) return predictor_.PredictMargins(features, rows, margins);
  const int64_t width = ensemble().num_features, groups = ensemble().num_groups;
  const int64_t per_part = (rows + parts - 1) / parts;
  std::vector<std::thread> walkers;
  for (int64_t part = parts - 1; part >= 0; --part) {
    const int64_t begin = part * per_part, count = std::min(per_part, rows - begin);
    if (count <= 0) continue;
    auto walk = [&, begin, count] {
      predictor_.PredictMargins(features.subspan(begin * width, count * width), count,
                                margins.subspan(begin * groups, count * groups));
    };
    if (part == 0) {
      walk();
    } else {
      walkers.emplace_back(walk);
    }
  }
  for (std::thread& walker : walkers) walker.join();
}

absl::Status TreesModel::CheckInput(std::span<const core::Tensor> inputs) const {
  return CheckOneFp32Matrix(inputs, ensemble().num_features, config_.name);
}

// The answer's values per row: one per output group, or one (a single
// group, or multi:softmax's class).
int64_t TreesModel::ValuesPerRow() const {
  const bool per_group =
      ensemble().num_groups > 1 && (margin_ || ensemble().objective != trees::Objective::kSoftmax);
  return per_group ? ensemble().num_groups : 1;
}

// XGBoost's shape ([N] for one value per row, [N, K] for K probabilities),
// with the declared rank winning when the element counts agree. Counts
// before building, so a call allocates one shape only.
core::Shape TreesModel::OutputShape(int64_t rows) const {
  const int64_t per_row = ValuesPerRow();
  const int64_t natural = rows * per_row;
  int64_t declared = 1;
  for (int64_t dim : config_.outputs[0].shape) declared *= dim < 0 ? rows : dim;
  if (declared != natural) {
    return per_row > 1 ? core::Shape{rows, per_row} : core::Shape{rows};
  }
  core::Shape shape = config_.outputs[0].shape;
  for (int64_t& dim : shape) {
    if (dim < 0) dim = rows;
  }
  return shape;
}

// The margins are walked straight into the output tensor's buffer, built in
// place in the answer, which then keeps the answer's floats (fewer for
// multi:softmax).
absl::StatusOr<std::vector<core::Tensor>> TreesModel::Run(std::span<const core::Tensor> inputs) {
  STRATA_RETURN_IF_ERROR(CheckInput(inputs));
  const int64_t rows = inputs[0].shape[0];
  std::vector<core::Tensor> outputs;
  outputs.reserve(1);
  core::Tensor& out = outputs.emplace_back(
      core::Tensor{config_.outputs[0].name, core::DataType::kFp32, OutputShape(rows), {}});
  out.data.resize(static_cast<size_t>(rows * ensemble().num_groups) * sizeof(float));
  const std::span<float> margins = out.MutableAs<float>();
  Predict(inputs[0].As<float>(), rows, margins);
  if (!margin_) trees::TransformMargins(ensemble(), rows, margins);
  out.data.resize(static_cast<size_t>(rows * ValuesPerRow()) * sizeof(float));
  return outputs;
}

absl::StatusOr<bool> MarginParameter(const ModelConfig& config) {
  auto it = config.parameters.find("output");
  if (it == config.parameters.end() || it->second == "probability") return false;
  if (it->second == "margin") return true;
  return absl::InvalidArgumentError(
      fmt::format("model '{}' parameter 'output' must be 'probability' or 'margin', got '{}'",
                  config.name, it->second));
}

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string_view WalkName(trees::TreeWalk walk) {
  switch (walk) {
    case trees::TreeWalk::kNodes:
      return "node walk";
    case trees::TreeWalk::kPerfectPortable:
      return "perfect layout, portable walk";
    case trees::TreeWalk::kPerfectAvx512:
      return "perfect layout, AVX-512 walk";
    case trees::TreeWalk::kAuto:
      break;
  }
  return "auto";
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadTreesModel(const ModelConfig& config,
                                                      const std::filesystem::path& version_dir) {
  STRATA_RETURN_IF_ERROR(CheckTreeModelSignature(config, "trees"));
  STRATA_ASSIGN_OR_RETURN(std::filesystem::path artifact,
                          ArtifactPath(config, version_dir, "model.json"));
  STRATA_ASSIGN_OR_RETURN(bool margin, MarginParameter(config));
  STRATA_ASSIGN_OR_RETURN(int threads, ThreadsParameter(config));
  STRATA_ASSIGN_OR_RETURN(std::string json, ReadFile(artifact));
  absl::StatusOr<trees::TreeEnsemble> ensemble = trees::ParseXGBoostJson(json);
  if (ensemble.status().code() == absl::StatusCode::kUnimplemented) {
    return absl::UnimplementedError(
        fmt::format("model '{}': {}", config.name, std::string(ensemble.status().message())));
  }
  if (!ensemble.ok()) {
    return WithLibraryDetail(
        absl::Status(ensemble.status().code(),
                     fmt::format("model '{}': cannot load {} as an XGBoost model", config.name,
                                 artifact.string())),
        std::string(ensemble.status().message()));
  }
  const int64_t declared = config.inputs[0].shape[1];
  if (declared != ensemble->num_features) {
    return absl::FailedPreconditionError(
        fmt::format("model '{}': model expects {} features but config.yaml declares {}",
                    config.name, ensemble->num_features, declared));
  }
  STRATA_ASSIGN_OR_RETURN(trees::TreePredictor predictor,
                          trees::TreePredictor::Create(*std::move(ensemble)));
  const std::string how =
      fmt::format("{}, {} trees, {}", predictor.ensemble().objective_name,
                  predictor.ensemble().roots.size(), WalkName(predictor.walk()));
  auto model = std::make_unique<TreesModel>(config, std::move(predictor), margin, threads);
  STRATA_ASSIGN_OR_RETURN(std::vector<core::Tensor> dry_inputs,
                          MakeDryRunInputs(config, config.max_batch_size > 0 ? 2 : 1));
  STRATA_ASSIGN_OR_RETURN(std::vector<core::Tensor> dry_outputs, model->Run(dry_inputs));
  STRATA_RETURN_IF_ERROR(CheckOutputsMatch(config, dry_outputs));
  spdlog::info("model '{}' ({}): on the tree engine ({})", config.name,
               version_dir.filename().string(), how);
  return model;
}

Backend TreesBackend() { return Backend{"trees", "strata_trees", &LoadTreesModel}; }

}  // namespace strata::runtime
