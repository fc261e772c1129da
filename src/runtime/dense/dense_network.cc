#include "runtime/dense/dense_network.h"

#include "fmt/format.h"

namespace strata::runtime::dense {
namespace {

absl::Status Malformed(size_t step, std::string_view why) {
  return absl::InvalidArgumentError(fmt::format("dense network step {}: {}", step, why));
}

// The width of the value `step` writes, given the widths written so far.
absl::StatusOr<int64_t> StepWidth(const DenseNetwork& network, size_t index,
                                  const std::vector<int64_t>& widths) {
  const Step& step = network.steps[index];
  const auto known = static_cast<int32_t>(widths.size());
  if (step.input < 0 || step.input >= known) return Malformed(index, "reads an unknown value");
  const int64_t width = widths[step.input];
  switch (step.kind) {
    case StepKind::kLinear: {
      if (step.layer < 0 || step.layer >= static_cast<int32_t>(network.linears.size())) {
        return Malformed(index, "names an unknown linear layer");
      }
      const LinearWeights& linear = network.linears[step.layer];
      if (linear.in != width || linear.out <= 0 ||
          linear.weights.size() != static_cast<size_t>(linear.in * linear.out) ||
          (!linear.bias.empty() && linear.bias.size() != static_cast<size_t>(linear.out))) {
        return Malformed(index, "a linear layer's weights do not fit its input");
      }
      return linear.out;
    }
    case StepKind::kAddBias:
      if (step.layer < 0 || step.layer >= static_cast<int32_t>(network.biases.size()) ||
          network.biases[step.layer].size() != static_cast<size_t>(width)) {
        return Malformed(index, "a bias does not fit its input");
      }
      return width;
    case StepKind::kAdd:
      if (step.other < 0 || step.other >= known || widths[step.other] != width) {
        return Malformed(index, "adds values of different widths");
      }
      return width;
    default:
      return width;
  }
}

}  // namespace

std::string_view StepKindName(StepKind kind) {
  switch (kind) {
    case StepKind::kLinear:
      return "linear";
    case StepKind::kAddBias:
      return "add_bias";
    case StepKind::kAdd:
      return "add";
    case StepKind::kRelu:
      return "relu";
    case StepKind::kSigmoid:
      return "sigmoid";
    case StepKind::kTanh:
      return "tanh";
    case StepKind::kSoftmax:
      return "softmax";
    case StepKind::kLogSoftmax:
      return "log_softmax";
  }
  return "unknown";
}

absl::StatusOr<std::vector<int64_t>> ValueWidths(const DenseNetwork& network) {
  if (network.input_width <= 0) {
    return absl::InvalidArgumentError("dense network: the input has no columns");
  }
  std::vector<int64_t> widths = {network.input_width};
  for (size_t i = 0; i < network.steps.size(); ++i) {
    absl::StatusOr<int64_t> width = StepWidth(network, i, widths);
    if (!width.ok()) return width.status();
    widths.push_back(*width);
  }
  if (network.outputs.empty()) return absl::InvalidArgumentError("dense network: no outputs");
  for (int32_t output : network.outputs) {
    if (output < 0 || output >= static_cast<int32_t>(widths.size())) {
      return absl::InvalidArgumentError("dense network: an output names an unknown value");
    }
  }
  return widths;
}

int64_t WeightCount(const DenseNetwork& network) {
  int64_t count = 0;
  for (const LinearWeights& linear : network.linears) count += linear.in * linear.out;
  return count;
}

std::string Describe(const DenseNetwork& network) {
  std::string widths = std::to_string(network.input_width);
  for (const LinearWeights& linear : network.linears) widths += fmt::format(" -> {}", linear.out);
  return fmt::format("{} linear layer{}, {}, {} steps", network.linears.size(),
                     network.linears.size() == 1 ? "" : "s", widths, network.steps.size());
}

}  // namespace strata::runtime::dense
