// Includes LibTorch's graph headers (as torchscript_model.cc does); the
// network it builds is plain C++.
#include "runtime/torchscript/dense_graph_reader.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status_macros.h"
#include "fmt/format.h"

namespace strata::runtime {
namespace {

using dense::DenseNetwork;
using dense::LinearWeights;
using dense::Step;
using dense::StepKind;
using torch::jit::Node;
using torch::jit::Value;

absl::Status Unsupported(std::string what) { return absl::UnimplementedError(std::move(what)); }

std::optional<c10::IValue> Constant(const Value* value) {
  c10::optional<c10::IValue> constant = torch::jit::toIValue(value);
  if (!constant) return std::nullopt;
  return *constant;
}

bool IsConstantInt(const Value* value, std::initializer_list<int64_t> accepted) {
  std::optional<c10::IValue> constant = Constant(value);
  if (!constant || !constant->isInt()) return false;
  return std::find(accepted.begin(), accepted.end(), constant->toInt()) != accepted.end();
}

bool IsConstantOne(const Value* value) {
  std::optional<c10::IValue> constant = Constant(value);
  return constant && ((constant->isInt() && constant->toInt() == 1) ||
                      (constant->isDouble() && constant->toDouble() == 1.0));
}

bool IsConstantNone(const Value* value) {
  std::optional<c10::IValue> constant = Constant(value);
  return constant && constant->isNone();
}

std::vector<float> Floats(const at::Tensor& tensor) {
  const at::Tensor dense = tensor.contiguous();
  const float* data = dense.data_ptr<float>();
  return std::vector<float>(data, data + dense.numel());
}

// A constant float32 matrix, e.g. a layer's weights.
absl::StatusOr<at::Tensor> ConstantMatrix(const Value* value) {
  std::optional<c10::IValue> constant = Constant(value);
  if (!constant || !constant->isTensor() || constant->toTensor().dim() != 2 ||
      constant->toTensor().scalar_type() != at::kFloat) {
    return Unsupported("a matrix product whose right side is not a constant float32 matrix");
  }
  return constant->toTensor();
}

// A constant added to every row: a float32 tensor of `width` elements
// ([width] or [1, width]), or one number (a tensor or a scalar) repeated.
absl::StatusOr<std::vector<float>> ConstantRow(const Value* value, int64_t width) {
  std::optional<c10::IValue> constant = Constant(value);
  if (constant && (constant->isDouble() || constant->isInt())) {
    return std::vector<float>(width, static_cast<float>(constant->toScalar().toDouble()));
  }
  if (!constant || !constant->isTensor() || constant->toTensor().scalar_type() != at::kFloat) {
    return Unsupported("an addition of a constant that is not float32");
  }
  const at::Tensor tensor = constant->toTensor();
  if (tensor.numel() == 1 && tensor.dim() <= 2) {
    return std::vector<float>(width, tensor.item<float>());
  }
  const bool row = tensor.dim() == 1 || (tensor.dim() == 2 && tensor.size(0) == 1);
  if (!row || tensor.numel() != width) {
    return Unsupported(fmt::format("an addition of a constant of shape {} to rows of {} columns",
                                   fmt::join(tensor.sizes(), "x"), width));
  }
  return Floats(tensor);
}

class GraphReader {
 public:
  explicit GraphReader(const ModelConfig& config) : config_(config) {}

  absl::StatusOr<DenseNetwork> Read(const torch::jit::Graph& graph);

 private:
  absl::Status ReadNode(const Node& node);
  absl::Status ReadLinear(const Node& node);
  absl::Status ReadAdd(const Node& node);
  absl::Status ReadBiasAdd(const Node& node, int32_t input, const Value* constant);
  absl::Status ReadElementwise(const Node& node, StepKind kind);
  absl::Status ReadSoftmax(const Node& node, StepKind kind);
  absl::Status ReadPassThrough(const Node& node);
  absl::Status ReadOutputs(const Value& answer);
  absl::StatusOr<int32_t> ValueOf(const Value* value) const;
  void AddStep(Step step, int64_t width, const Value* output);

  const ModelConfig& config_;
  DenseNetwork network_;
  std::vector<int64_t> widths_;  // columns of each value
  std::unordered_map<const Value*, int32_t> index_;
};

absl::StatusOr<int32_t> GraphReader::ValueOf(const Value* value) const {
  auto it = index_.find(value);
  if (it == index_.end()) {
    return Unsupported(fmt::format("the graph reads %{}, which the dense engine does not compute",
                                   value->debugName()));
  }
  return it->second;
}

void GraphReader::AddStep(Step step, int64_t width, const Value* output) {
  network_.steps.push_back(step);
  widths_.push_back(width);
  index_[output] = static_cast<int32_t>(network_.steps.size());
}

absl::StatusOr<DenseNetwork> GraphReader::Read(const torch::jit::Graph& graph) {
  const auto inputs = graph.inputs();
  if (inputs.size() != 2) {
    return Unsupported(fmt::format("forward() takes {} inputs; the dense engine takes one",
                                   inputs.empty() ? 0 : inputs.size() - 1));
  }
  if (!inputs[0]->uses().empty()) {
    return Unsupported("forward() reads the module's attributes (the module was not frozen)");
  }
  if (config_.inputs.size() != 1 || config_.inputs[0].shape.size() != 2 ||
      config_.inputs[0].shape[1] <= 0) {
    return Unsupported("the dense engine takes one input of shape [N, K]");
  }
  network_.input_width = config_.inputs[0].shape[1];
  widths_ = {network_.input_width};
  index_[inputs[1]] = 0;
  for (const Node* node : graph.nodes()) STRATA_RETURN_IF_ERROR(ReadNode(*node));
  if (graph.outputs().size() != 1) return Unsupported("forward() answers several values");
  STRATA_RETURN_IF_ERROR(ReadOutputs(*graph.outputs()[0]));
  return std::move(network_);
}

absl::Status GraphReader::ReadNode(const Node& node) {
  namespace aten = c10::aten;
  namespace prim = c10::prim;
  const c10::Symbol kind = node.kind();
  if (kind == prim::Constant || kind == prim::TupleConstruct || kind == prim::ListConstruct ||
      kind == prim::DictConstruct) {
    return absl::OkStatus();  // constants are read where used; the answer by ReadOutputs
  }
  if (node.outputs().size() != 1) {
    return Unsupported(fmt::format("the graph has {}", kind.toQualString()));
  }
  if (kind == aten::linear || kind == aten::addmm || kind == aten::matmul || kind == aten::mm) {
    return ReadLinear(node);
  }
  if (kind == aten::add) return ReadAdd(node);
  if (kind == aten::relu) return ReadElementwise(node, StepKind::kRelu);
  if (kind == aten::sigmoid) return ReadElementwise(node, StepKind::kSigmoid);
  if (kind == aten::tanh) return ReadElementwise(node, StepKind::kTanh);
  if (kind == aten::softmax) return ReadSoftmax(node, StepKind::kSoftmax);
  if (kind == aten::log_softmax) return ReadSoftmax(node, StepKind::kLogSoftmax);
  if (kind == aten::flatten || kind == aten::reshape || kind == aten::view ||
      kind == aten::dropout || kind == aten::contiguous || kind == aten::detach) {
    return ReadPassThrough(node);
  }
  return Unsupported(fmt::format("the graph has {}", kind.toQualString()));
}

// linear(x, W[out, in], b?), addmm(b, x, W[in, out], 1, 1), matmul or mm(x, W[in, out]).
absl::Status GraphReader::ReadLinear(const Node& node) {
  const auto in = node.inputs();
  const bool is_linear = node.kind() == c10::aten::linear;
  const bool is_addmm = node.kind() == c10::aten::addmm;
  if (is_addmm && (!IsConstantOne(in[3]) || !IsConstantOne(in[4]))) {
    return Unsupported("aten::addmm with beta or alpha other than 1");
  }
  const Value* x = is_addmm ? in[1] : in[0];
  STRATA_ASSIGN_OR_RETURN(const int32_t input, ValueOf(x));
  STRATA_ASSIGN_OR_RETURN(at::Tensor matrix, ConstantMatrix(is_addmm ? in[2] : in[1]));
  if (is_linear) matrix = matrix.t();
  LinearWeights linear;
  linear.in = matrix.size(0);
  linear.out = matrix.size(1);
  if (linear.in != widths_[input]) {
    return Unsupported(fmt::format("a matrix product of {} columns by a {}x{} matrix",
                                   widths_[input], linear.in, linear.out));
  }
  linear.weights = Floats(matrix);
  const Value* bias = is_addmm ? in[0] : (is_linear ? in[2] : nullptr);
  if (bias != nullptr && !IsConstantNone(bias)) {
    STRATA_ASSIGN_OR_RETURN(linear.bias, ConstantRow(bias, linear.out));
  }
  network_.linears.push_back(std::move(linear));
  const auto layer = static_cast<int32_t>(network_.linears.size() - 1);
  AddStep(Step{StepKind::kLinear, input, -1, layer}, network_.linears.back().out, node.output());
  return absl::OkStatus();
}

absl::Status GraphReader::ReadAdd(const Node& node) {
  const auto in = node.inputs();
  if (in.size() != 3 || !IsConstantOne(in[2])) return Unsupported("aten::add with alpha != 1");
  const bool left = index_.contains(in[0]), right = index_.contains(in[1]);
  if (left && right) {
    const int32_t a = index_.at(in[0]), b = index_.at(in[1]);
    if (widths_[a] != widths_[b]) return Unsupported("an addition of rows of different widths");
    AddStep(Step{StepKind::kAdd, a, b, -1}, widths_[a], node.output());
    return absl::OkStatus();
  }
  if (!left && !right) return Unsupported("an addition of two constants");
  return ReadBiasAdd(node, left ? index_.at(in[0]) : index_.at(in[1]), left ? in[1] : in[0]);
}

// value + constant row. Folded into the linear layer that wrote `input`
// when that layer has no bias yet and nothing else reads its product.
absl::Status GraphReader::ReadBiasAdd(const Node& node, int32_t input, const Value* constant) {
  STRATA_ASSIGN_OR_RETURN(std::vector<float> row, ConstantRow(constant, widths_[input]));
  const Value* product = index_.contains(node.inputs()[0]) ? node.inputs()[0] : node.inputs()[1];
  const c10::Symbol writer_kind = product->node()->kind();
  const bool from_product = writer_kind == c10::aten::linear || writer_kind == c10::aten::addmm ||
                            writer_kind == c10::aten::matmul || writer_kind == c10::aten::mm;
  if (from_product && product->uses().size() == 1) {
    const Step& writer = network_.steps[input - 1];
    if (writer.kind == StepKind::kLinear && network_.linears[writer.layer].bias.empty()) {
      network_.linears[writer.layer].bias = std::move(row);
      index_[node.output()] = input;
      return absl::OkStatus();
    }
  }
  network_.biases.push_back(std::move(row));
  const auto bias = static_cast<int32_t>(network_.biases.size() - 1);
  AddStep(Step{StepKind::kAddBias, input, -1, bias}, widths_[input], node.output());
  return absl::OkStatus();
}

absl::Status GraphReader::ReadElementwise(const Node& node, StepKind kind) {
  if (node.inputs().size() != 1) {
    return Unsupported(
        fmt::format("the graph has {} with extra arguments", node.kind().toQualString()));
  }
  STRATA_ASSIGN_OR_RETURN(const int32_t input, ValueOf(node.inputs()[0]));
  AddStep(Step{kind, input, -1, -1}, widths_[input], node.output());
  return absl::OkStatus();
}

absl::Status GraphReader::ReadSoftmax(const Node& node, StepKind kind) {
  const auto in = node.inputs();
  if (in.size() != 3 || !IsConstantInt(in[1], {1, -1}) || !IsConstantNone(in[2])) {
    return Unsupported(fmt::format("{} other than over the last dimension in the input's dtype",
                                   node.kind().toQualString()));
  }
  STRATA_ASSIGN_OR_RETURN(const int32_t input, ValueOf(in[0]));
  AddStep(Step{kind, input, -1, -1}, widths_[input], node.output());
  return absl::OkStatus();
}

// Nodes that leave an [N, K] value as it is: flatten(x, 1, -1), reshape or
// view to [-1, K], dropout in eval, contiguous, detach.
absl::Status GraphReader::ReadPassThrough(const Node& node) {
  const auto in = node.inputs();
  STRATA_ASSIGN_OR_RETURN(const int32_t input, ValueOf(in[0]));
  const c10::Symbol kind = node.kind();
  bool same = kind == c10::aten::contiguous || kind == c10::aten::detach;
  if (kind == c10::aten::flatten) {
    same = IsConstantInt(in[1], {1}) && IsConstantInt(in[2], {1, -1});
  } else if (kind == c10::aten::reshape || kind == c10::aten::view) {
    std::optional<c10::IValue> shape = Constant(in[1]);
    same = shape && shape->isIntList() &&
           shape->toIntVector() == std::vector<int64_t>{-1, widths_[input]};
  } else if (kind == c10::aten::dropout) {
    std::optional<c10::IValue> train = Constant(in[2]);
    same = train && train->isBool() && !train->toBool();
  }
  if (!same) {
    return Unsupported(fmt::format("{} that changes the shape of an [N, {}] value",
                                   kind.toQualString(), widths_[input]));
  }
  index_[node.output()] = input;
  return absl::OkStatus();
}

absl::Status GraphReader::ReadOutputs(const Value& answer) {
  const Node* node = answer.node();
  const c10::Symbol kind = node->kind();
  std::vector<const Value*> values;
  if (kind == c10::prim::TupleConstruct || kind == c10::prim::ListConstruct) {
    values.assign(node->inputs().begin(), node->inputs().end());
  } else if (kind == c10::prim::DictConstruct) {
    std::unordered_map<std::string, const Value*> by_name;
    for (size_t i = 0; i + 1 < node->inputs().size(); i += 2) {
      std::optional<c10::IValue> key = Constant(node->inputs()[i]);
      if (!key || !key->isString()) return Unsupported("a dict answer with a computed key");
      by_name[key->toStringRef()] = node->inputs()[i + 1];
    }
    for (const TensorSpec& spec : config_.outputs) {
      auto it = by_name.find(spec.name);
      if (it == by_name.end()) return Unsupported("a dict answer without output " + spec.name);
      values.push_back(it->second);
    }
  } else {
    values.push_back(&answer);
  }
  for (const Value* value : values) {
    STRATA_ASSIGN_OR_RETURN(const int32_t index, ValueOf(value));
    network_.outputs.push_back(index);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<dense::DenseNetwork> ReadDenseNetwork(const torch::jit::Graph& graph,
                                                     const ModelConfig& config) {
  return GraphReader(config).Read(graph);
}

}  // namespace strata::runtime
