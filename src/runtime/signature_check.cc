#include "runtime/signature_check.h"

#include "absl/strings/numbers.h"
#include "fmt/format.h"

namespace strata::runtime {

absl::StatusOr<std::vector<core::Tensor>> MakeDryRunInputs(const ModelConfig& config,
                                                           int64_t batch) {
  std::vector<core::Tensor> inputs;
  for (const TensorSpec& spec : config.inputs) {
    if (spec.dtype == core::DataType::kBytes) {
      return absl::UnimplementedError(fmt::format("cannot dry-run BYTES input '{}'", spec.name));
    }
    core::Shape shape = spec.shape;
    for (int64_t& dim : shape) {
      if (dim < 0) dim = batch;
    }
    inputs.push_back(core::Tensor::Zeros(spec.name, spec.dtype, shape));
  }
  return inputs;
}

absl::Status CheckOutputsMatch(const ModelConfig& config, std::span<const core::Tensor> outputs) {
  if (outputs.size() != config.outputs.size()) {
    return absl::FailedPreconditionError(
        fmt::format("model '{}' produces {} outputs but config.yaml declares {}", config.name,
                    outputs.size(), config.outputs.size()));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const TensorSpec& spec = config.outputs[i];
    const core::Tensor& out = outputs[i];
    if (out.dtype != spec.dtype) {
      return absl::FailedPreconditionError(
          fmt::format("model '{}' output '{}' is {} but config.yaml declares {}", config.name,
                      spec.name, core::DataTypeName(out.dtype), core::DataTypeName(spec.dtype)));
    }
    if (!core::ShapeMatches(spec.shape, out.shape)) {
      return absl::FailedPreconditionError(fmt::format(
          "model '{}' output '{}' has shape {} but config.yaml declares {}", config.name, spec.name,
          core::ShapeToString(out.shape), core::ShapeToString(spec.shape)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> IntParameter(const ModelConfig& config, std::string_view key, int fallback) {
  auto it = config.parameters.find(key);
  if (it == config.parameters.end()) return fallback;
  int value = 0;
  if (!absl::SimpleAtoi(it->second, &value)) {
    return absl::InvalidArgumentError(fmt::format(
        "model '{}' parameter '{}' must be an integer, got '{}'", config.name, key, it->second));
  }
  return value;
}

absl::StatusOr<std::filesystem::path> ArtifactPath(const ModelConfig& config,
                                                   const std::filesystem::path& version_dir,
                                                   std::string_view default_name) {
  std::string artifact(default_name);
  if (auto it = config.parameters.find("artifact"); it != config.parameters.end()) {
    artifact = it->second;
  }
  const std::filesystem::path relative(artifact);
  if (relative.empty() || relative.is_absolute() || *relative.lexically_normal().begin() == "..") {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' parameter 'artifact' must name a file inside the version "
                    "directory, got '{}'",
                    config.name, artifact));
  }
  std::filesystem::path path = version_dir / relative;
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return absl::NotFoundError(
        fmt::format("model '{}': {} does not exist", config.name, path.string()));
  }
  return path;
}

absl::StatusOr<int> ThreadsParameter(const ModelConfig& config) {
  absl::StatusOr<int> threads = IntParameter(config, "threads", 1);
  if (threads.ok() && *threads < 1) {
    return absl::InvalidArgumentError(fmt::format(
        "model '{}' parameter 'threads' must be at least 1, got {}", config.name, *threads));
  }
  return threads;
}

absl::Status CheckTreeModelSignature(const ModelConfig& config, std::string_view backend) {
  if (config.inputs.size() != 1) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}': the {} backend takes exactly one input, config.yaml "
                    "declares {}",
                    config.name, backend, config.inputs.size()));
  }
  const TensorSpec& input = config.inputs[0];
  if (input.dtype != core::DataType::kFp32 || input.shape.size() != 2 || input.shape[1] <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}': the {} backend's input must be FP32 of shape "
                    "[-1, F] with a fixed feature count F; config.yaml declares '{}' as "
                    "{} {}",
                    config.name, backend, input.name, core::DataTypeName(input.dtype),
                    core::ShapeToString(input.shape)));
  }
  if (config.outputs.size() != 1) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}': the {} backend produces exactly one output, "
                    "config.yaml declares {}",
                    config.name, backend, config.outputs.size()));
  }
  const TensorSpec& output = config.outputs[0];
  if (output.dtype != core::DataType::kFp32 || output.shape.empty() || output.shape.size() > 2) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}': the {} backend's output must be FP32 of shape [-1] "
                    "or [-1, K]; config.yaml declares '{}' as {} {}",
                    config.name, backend, output.name, core::DataTypeName(output.dtype),
                    core::ShapeToString(output.shape)));
  }
  return absl::OkStatus();
}

absl::Status CheckOneFp32Matrix(std::span<const core::Tensor> inputs, int64_t width,
                                std::string_view model) {
  if (inputs.size() != 1 || inputs[0].dtype != core::DataType::kFp32 ||
      inputs[0].shape.size() != 2 || inputs[0].shape[0] < 0 || inputs[0].shape[1] != width ||
      inputs[0].data.size() != static_cast<size_t>(inputs[0].shape[0] * width) * sizeof(float)) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' takes one FP32 [N,{}] input with matching data", model, width));
  }
  return absl::OkStatus();
}

}  // namespace strata::runtime
