#include "serving/request_validator.h"

#include <algorithm>

#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace strata::serving {
namespace {

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

std::string DeclaredNames(const std::vector<runtime::TensorSpec>& specs) {
  std::vector<std::string> names;
  for (const runtime::TensorSpec& spec : specs) names.push_back(spec.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

absl::Status CheckInput(const runtime::ModelConfig& config, const runtime::TensorSpec& spec,
                        const core::Tensor& input) {
  if (input.dtype != spec.dtype) {
    return Invalid(fmt::format("input '{}' has datatype {} but model '{}' expects {}", input.name,
                               core::DataTypeName(input.dtype), config.name,
                               core::DataTypeName(spec.dtype)));
  }
  if (!core::ShapeMatches(spec.shape, input.shape)) {
    return Invalid(fmt::format("input '{}' has shape {} but model '{}' expects {} (-1 = any size)",
                               input.name, core::ShapeToString(input.shape), config.name,
                               core::ShapeToString(spec.shape)));
  }
  if (config.max_batch_size > 0 && input.shape[0] > config.max_batch_size) {
    return Invalid(fmt::format("input '{}' has batch size {} but model '{}' accepts at most {}",
                               input.name, input.shape[0], config.name, config.max_batch_size));
  }
  return core::ValidateTensorData(input);
}

}  // namespace

absl::Status ValidateAndOrderInputs(const runtime::ModelConfig& config,
                                    core::InferRequest& request) {
  std::vector<core::Tensor> ordered(config.inputs.size());
  std::vector<bool> seen(config.inputs.size(), false);
  for (core::Tensor& input : request.inputs) {
    size_t index = 0;
    while (index < config.inputs.size() && config.inputs[index].name != input.name) {
      ++index;
    }
    if (index == config.inputs.size()) {
      return Invalid(fmt::format("unknown input '{}' for model '{}'; it takes: {}", input.name,
                                 config.name, DeclaredNames(config.inputs)));
    }
    if (seen[index]) {
      return Invalid(fmt::format("input '{}' is given more than once", input.name));
    }
    if (absl::Status s = CheckInput(config, config.inputs[index], input); !s.ok()) {
      return s;
    }
    seen[index] = true;
    ordered[index] = std::move(input);
  }
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) {
      return Invalid(fmt::format("missing input '{}' for model '{}'; it takes: {}",
                                 config.inputs[i].name, config.name, DeclaredNames(config.inputs)));
    }
  }
  if (config.max_batch_size > 0) {
    for (const core::Tensor& input : ordered) {
      if (input.shape[0] != ordered[0].shape[0]) {
        return Invalid(fmt::format("inputs '{}' and '{}' disagree on the batch size ({} vs {})",
                                   ordered[0].name, input.name, ordered[0].shape[0],
                                   input.shape[0]));
      }
    }
  }
  request.inputs = std::move(ordered);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<size_t>> SelectOutputs(const runtime::ModelConfig& config,
                                                  const core::InferRequest& request) {
  std::vector<size_t> selected;
  if (request.outputs.empty()) {
    for (size_t i = 0; i < config.outputs.size(); ++i) selected.push_back(i);
    return selected;
  }
  for (const core::RequestedOutput& wanted : request.outputs) {
    size_t index = 0;
    while (index < config.outputs.size() && config.outputs[index].name != wanted.name) {
      ++index;
    }
    if (index == config.outputs.size()) {
      return Invalid(fmt::format("unknown output '{}' for model '{}'; it has: {}", wanted.name,
                                 config.name, DeclaredNames(config.outputs)));
    }
    if (std::find(selected.begin(), selected.end(), index) != selected.end()) {
      return Invalid(fmt::format("output '{}' is requested more than once", wanted.name));
    }
    selected.push_back(index);
  }
  return selected;
}

}  // namespace strata::serving
