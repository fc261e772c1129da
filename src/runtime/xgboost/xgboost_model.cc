#include "runtime/xgboost/xgboost_model.h"

#include <xgboost/c_api.h>

#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "runtime/library_error.h"
#include "runtime/signature_check.h"

namespace strata::runtime {
namespace {

struct BoosterDeleter {
  void operator()(void* booster) const { XGBoosterFree(booster); }
};
using BoosterPtr = std::unique_ptr<void, BoosterDeleter>;

// XGBoost's last error on this thread, without the "[hh:mm:ss] file:line: "
// prefix and the stack trace it may carry.
std::string LastError() {
  std::string_view error = XGBGetLastError();
  if (size_t cut = error.find("\nStack trace"); cut != error.npos) {
    error = error.substr(0, cut);
  }
  if (error.starts_with('[')) {
    if (size_t end = error.find("] "); end != error.npos) {
      error.remove_prefix(end + 2);
    }
    if (size_t end = error.find(": ");
        end != error.npos && error.substr(0, end).find(' ') == error.npos) {
      error.remove_prefix(end + 2);  // "./src/c_api/c_api.cc:1073"
    }
  }
  while (!error.empty() && (error.back() == '\n' || error.back() == ' ' || error.back() == ':')) {
    error.remove_suffix(1);
  }
  return std::string(error);
}

absl::StatusOr<BoosterPtr> LoadBooster(const XGBoostModel::Options& options) {
  const std::string& name = options.config.name;
  void* handle = nullptr;
  if (XGBoosterCreate(nullptr, 0, &handle) != 0) {
    return absl::InternalError(
        fmt::format("model '{}': cannot create an XGBoost booster: {}", name, LastError()));
  }
  BoosterPtr booster(handle);
  if (XGBoosterLoadModel(handle, options.artifact.c_str()) != 0) {
    return WithLibraryDetail(
        absl::InvalidArgumentError(fmt::format("model '{}': cannot load {} as an XGBoost model",
                                               name, options.artifact.string())),
        LastError());
  }
  const std::string threads = std::to_string(options.threads);
  if (XGBoosterSetParam(handle, "nthread", threads.c_str()) != 0) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}': cannot set nthread={}: {}", name, threads, LastError()));
  }
  return booster;
}

std::string PredictConfig(bool margin) {
  // Every key is required by XGBoost 1.7's in-place prediction; type 0 is
  // the objective's transformed value, 1 the raw margin. NaN marks missing.
  return fmt::format(R"({{"type": {}, "training": false, "iteration_begin": 0, )"
                     R"("iteration_end": 0, "strict_shape": false, "cache_id": 0, )"
                     R"("missing": NaN}})",
                     margin ? 1 : 0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> XGBoostModel::Create(Options options) {
  const ModelConfig& config = options.config;
  STRATA_RETURN_IF_ERROR(CheckTreeModelSignature(config, "xgboost"));
  STRATA_ASSIGN_OR_RETURN(BoosterPtr booster, LoadBooster(options));

  bst_ulong num_features = 0;
  if (XGBoosterGetNumFeature(booster.get(), &num_features) != 0) {
    return absl::InternalError(
        fmt::format("model '{}': cannot read the feature count: {}", config.name, LastError()));
  }
  const TensorSpec& input = config.inputs[0];
  if (static_cast<int64_t>(num_features) != input.shape[1]) {
    return absl::FailedPreconditionError(fmt::format(
        "model '{}': model expects {} features but config.yaml declares {} "
        "(input '{}' {})",
        config.name, num_features, input.shape[1], input.name, core::ShapeToString(input.shape)));
  }

  const int64_t batch = config.max_batch_size > 0 ? 2 : 1;
  std::unique_ptr<XGBoostModel> model(
      new XGBoostModel(std::move(options), booster.release(), static_cast<int64_t>(num_features)));
  // The first prediction configures the booster; doing it here, on one
  // thread, is what makes concurrent Run() calls safe afterwards.
  STRATA_ASSIGN_OR_RETURN(std::vector<core::Tensor> dry_inputs,
                          MakeDryRunInputs(model->config_, batch));
  STRATA_ASSIGN_OR_RETURN(std::vector<core::Tensor> dry_outputs, model->Run(dry_inputs));
  STRATA_RETURN_IF_ERROR(CheckOutputsMatch(model->config_, dry_outputs));
  return model;
}

XGBoostModel::XGBoostModel(Options options, void* booster, int64_t num_features)
    : config_(std::move(options.config)),
      booster_(booster),
      num_features_(num_features),
      predict_config_(PredictConfig(options.margin)) {}

XGBoostModel::~XGBoostModel() { XGBoosterFree(booster_); }

absl::StatusOr<std::vector<core::Tensor>> XGBoostModel::Run(std::span<const core::Tensor> inputs) {
  if (inputs.size() != 1) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' takes 1 input, got {}", config_.name, inputs.size()));
  }
  const core::Tensor& x = inputs[0];
  if (x.dtype != core::DataType::kFp32 || x.shape.size() != 2 || x.shape[0] < 0 ||
      x.shape[1] != num_features_ ||
      x.data.size() != static_cast<size_t>(x.shape[0] * num_features_) * sizeof(float)) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' input '{}' must be FP32 [N,{}] with matching data; got "
                    "{} {} with {} bytes",
                    config_.name, x.name, num_features_, core::DataTypeName(x.dtype),
                    core::ShapeToString(x.shape), x.data.size()));
  }
  const int64_t rows = x.shape[0];
  const TensorSpec& spec = config_.outputs[0];
  core::Shape declared = spec.shape;
  for (int64_t& dim : declared) {
    if (dim < 0) dim = rows;
  }
  if (rows == 0) {
    return std::vector<core::Tensor>{
        core::Tensor::Zeros(spec.name, core::DataType::kFp32, declared)};
  }

  const std::string array =
      fmt::format(R"({{"data": [{}, true], "shape": [{}, {}], "strides": null, )"
                  R"("typestr": "<f4", "version": 3}})",
                  reinterpret_cast<uintptr_t>(x.data.data()), rows, num_features_);
  const bst_ulong* out_shape = nullptr;
  bst_ulong out_dim = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDense(booster_, array.c_str(), predict_config_.c_str(), nullptr,
                                &out_shape, &out_dim, &result) != 0) {
    return absl::InternalError(
        fmt::format("model '{}': XGBoost prediction failed: {}", config_.name, LastError()));
  }

  // XGBoost's shape is [N] for one output group and [N, K] for K groups;
  // the declared rank wins when the element counts agree ([N] vs [N, 1]).
  core::Shape xgb_shape(out_shape, out_shape + out_dim);
  const int64_t count = core::ElementCount(xgb_shape).value_or(0);
  core::Shape shape = core::ElementCount(declared) == count ? declared : xgb_shape;
  core::Tensor out{spec.name, core::DataType::kFp32, std::move(shape), {}};
  out.data.resize(static_cast<size_t>(count) * sizeof(float));
  std::memcpy(out.data.data(), result, out.data.size());
  std::vector<core::Tensor> outputs;
  outputs.push_back(std::move(out));
  return outputs;
}

}  // namespace strata::runtime
