#include "runtime/dense/dense_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "core/buffer_pool.h"
#include "core/status_macros.h"
#include "fmt/format.h"
#include "runtime/dense/dense_kernels.h"
#include "runtime/signature_check.h"

namespace strata::runtime::dense {
namespace {

absl::Status CheckSignature(const ModelConfig& config, const DenseNetwork& network) {
  if (config.inputs.size() != 1 || config.inputs[0].dtype != core::DataType::kFp32 ||
      config.inputs[0].shape.size() != 2 || config.inputs[0].shape[1] != network.input_width) {
    return absl::UnimplementedError(
        fmt::format("the dense engine takes one FP32 [N, {}] input", network.input_width));
  }
  if (config.outputs.size() != network.outputs.size()) {
    return absl::UnimplementedError(
        fmt::format("the graph answers {} values, config.yaml "
                    "declares {} outputs",
                    network.outputs.size(), config.outputs.size()));
  }
  for (const TensorSpec& spec : config.outputs) {
    if (spec.dtype != core::DataType::kFp32) {
      return absl::UnimplementedError(
          fmt::format("output '{}' is {}; the dense engine answers FP32", spec.name,
                      core::DataTypeName(spec.dtype)));
    }
  }
  return absl::OkStatus();
}

// Each thread's scratch rows and value pointers, reused from call to call.
struct Scratch {
  std::vector<float> rows;
  std::vector<float*> values;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

double MaxScaledDifference(std::span<const float> want, std::span<const float> got) {
  double scale = 1.0, largest = 0.0;
  for (float w : want) {
    if (std::isfinite(w)) scale = std::max(scale, static_cast<double>(std::fabs(w)));
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == got[i] || (std::isnan(want[i]) && std::isnan(got[i]))) continue;
    const double difference = std::fabs(static_cast<double>(want[i]) - got[i]);
    if (!(difference <= largest)) largest = difference;  // keeps a NaN
    if (std::isnan(largest)) break;
  }
  return largest / scale;
}

absl::StatusOr<std::unique_ptr<DenseModel>> DenseModel::Create(ModelConfig config,
                                                               DenseNetwork network) {
  STRATA_ASSIGN_OR_RETURN(std::vector<int64_t> widths, ValueWidths(network));
  STRATA_RETURN_IF_ERROR(CheckSignature(config, network));
  return std::unique_ptr<DenseModel>(
      new DenseModel(std::move(config), std::move(network), std::move(widths)));
}

DenseModel::DenseModel(ModelConfig config, DenseNetwork network, std::vector<int64_t> widths)
    : config_(std::move(config)), network_(std::move(network)), widths_(std::move(widths)) {
  for (const LinearWeights& linear : network_.linears) linears_.push_back(Pack(linear));
  offsets_.assign(widths_.size(), 0);
  for (size_t v = 1; v < widths_.size(); ++v) {
    offsets_[v] = scratch_width_;
    scratch_width_ += widths_[v];
  }
}

absl::Status DenseModel::CheckInput(std::span<const core::Tensor> inputs) const {
  return CheckOneFp32Matrix(inputs, network_.input_width, config_.name);
}

void DenseModel::RunStep(size_t index, int64_t rows, std::span<float* const> values) const {
  const Step& step = network_.steps[index];
  const float* in = values[step.input];
  float* out = values[index + 1];
  const int64_t width = widths_[index + 1];
  switch (step.kind) {
    case StepKind::kLinear:
      return LinearRows(linears_[step.layer], rows, in, out);
    case StepKind::kAddBias:
      return AddBiasRows(network_.biases[step.layer], rows, in, out);
    case StepKind::kAdd:
      return AddElements(rows * width, in, values[step.other], out);
    case StepKind::kRelu:
      return ReluElements(rows * width, in, out);
    case StepKind::kSigmoid:
      return SigmoidElements(rows * width, in, out);
    case StepKind::kTanh:
      return TanhElements(rows * width, in, out);
    case StepKind::kSoftmax:
      return SoftmaxRows(rows, width, in, out);
    case StepKind::kLogSoftmax:
      return LogSoftmaxRows(rows, width, in, out);
  }
}

absl::StatusOr<std::vector<core::Tensor>> DenseModel::Run(std::span<const core::Tensor> inputs) {
  STRATA_RETURN_IF_ERROR(CheckInput(inputs));
  const int64_t rows = inputs[0].shape[0];
  Scratch& scratch_space = ThreadScratch();
  std::vector<float>& scratch = scratch_space.rows;
  scratch.resize(static_cast<size_t>(rows * scratch_width_));
  std::vector<float*>& values = scratch_space.values;
  values.resize(widths_.size());
  // The input is only read: steps never write to value 0.
  values[0] = const_cast<float*>(inputs[0].As<float>().data());
  for (size_t v = 1; v < values.size(); ++v) values[v] = scratch.data() + rows * offsets_[v];
  for (size_t i = 0; i < network_.steps.size(); ++i) RunStep(i, rows, values);

  std::vector<core::Tensor> outputs;
  outputs.reserve(network_.outputs.size());
  for (size_t i = 0; i < network_.outputs.size(); ++i) {
    const int32_t value = network_.outputs[i];
    // Into a buffer an earlier response gave back (core/buffer_pool.h).
    const size_t bytes = static_cast<size_t>(rows * widths_[value]) * sizeof(float);
    const auto* first = reinterpret_cast<const uint8_t*>(values[value]);
    core::Tensor out{config_.outputs[i].name,
                     core::DataType::kFp32,
                     {rows, widths_[value]},
                     core::TensorDataPool::Take(bytes)};
    out.data.assign(first, first + bytes);
    outputs.push_back(std::move(out));
  }
  if (scratch.size() * sizeof(float) > kKeepScratchBytes) {
    scratch.clear();
    scratch.shrink_to_fit();
  }
  return outputs;
}

}  // namespace strata::runtime::dense
