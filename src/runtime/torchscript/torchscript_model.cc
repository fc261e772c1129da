// One of the two translation units of strata that include LibTorch headers
// (with dense_graph_reader.cc).
#include "runtime/torchscript/torchscript_model.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/script.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "runtime/library_error.h"
#include "runtime/signature_check.h"
#include "runtime/torchscript/dense_graph_reader.h"
#include "spdlog/spdlog.h"

namespace strata::runtime {
namespace {

std::optional<at::ScalarType> ToTorch(core::DataType dtype) {
  switch (dtype) {
    case core::DataType::kBool:
      return at::kBool;
    case core::DataType::kUint8:
      return at::kByte;
    case core::DataType::kInt8:
      return at::kChar;
    case core::DataType::kInt16:
      return at::kShort;
    case core::DataType::kInt32:
      return at::kInt;
    case core::DataType::kInt64:
      return at::kLong;
    case core::DataType::kFp16:
      return at::kHalf;
    case core::DataType::kBf16:
      return at::kBFloat16;
    case core::DataType::kFp32:
      return at::kFloat;
    case core::DataType::kFp64:
      return at::kDouble;
    default:
      return std::nullopt;  // BYTES, UINT16/32/64
  }
}

std::optional<core::DataType> FromTorch(at::ScalarType type) {
  switch (type) {
    case at::kBool:
      return core::DataType::kBool;
    case at::kByte:
      return core::DataType::kUint8;
    case at::kChar:
      return core::DataType::kInt8;
    case at::kShort:
      return core::DataType::kInt16;
    case at::kInt:
      return core::DataType::kInt32;
    case at::kLong:
      return core::DataType::kInt64;
    case at::kHalf:
      return core::DataType::kFp16;
    case at::kBFloat16:
      return core::DataType::kBf16;
    case at::kFloat:
      return core::DataType::kFp32;
    case at::kDouble:
      return core::DataType::kFp64;
    default:
      return std::nullopt;
  }
}

std::string Names(const std::vector<TensorSpec>& specs) {
  std::string names;
  for (const TensorSpec& spec : specs) {
    names += (names.empty() ? "" : ", ") + spec.name;
  }
  return names;
}

// A LibTorch error without its C++ backtrace; for an error raised inside the
// TorchScript interpreter, only its last line ("RuntimeError: ..."), not the
// TorchScript traceback before it.
std::string ErrorText(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  std::string_view text = c10_error ? c10_error->what_without_backtrace() : error.what();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (text.find("Traceback of TorchScript") != text.npos) {
    text = text.substr(text.rfind('\n') + 1);
  }
  return std::string(text);
}

// LibTorch's intra-op thread count is process-global, but with OpenMP the
// value is cached per thread; apply ours on the calling thread if it differs.
void ApplyThreads(int threads) {
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
}

absl::Status CheckDeclaredDtypes(const ModelConfig& config) {
  for (const auto* specs : {&config.inputs, &config.outputs}) {
    for (const TensorSpec& spec : *specs) {
      if (!ToTorch(spec.dtype)) {
        return absl::InvalidArgumentError(
            fmt::format("model '{}': {} '{}' is {}, which the torchscript backend does "
                        "not support",
                        config.name, specs == &config.inputs ? "input" : "output", spec.name,
                        core::DataTypeName(spec.dtype)));
      }
    }
  }
  return absl::OkStatus();
}

// forward() must take one Tensor per declared input (after `self`).
absl::Status CheckForwardArguments(const ModelConfig& config, const torch::jit::Module& module) {
  c10::optional<torch::jit::Method> forward = module.find_method("forward");
  if (!forward) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' has no forward() method", config.name));
  }
  const auto& arguments = forward->function().getSchema().arguments();
  std::string names;
  for (size_t i = 1; i < arguments.size(); ++i) {
    names += (i == 1 ? "" : ", ") + arguments[i].name();
  }
  const size_t count = arguments.empty() ? 0 : arguments.size() - 1;
  if (count != config.inputs.size()) {
    return absl::FailedPreconditionError(
        fmt::format("model '{}': forward() takes {} inputs ({}) but config.yaml declares "
                    "{} ({}); inputs are passed by position in declared order",
                    config.name, count, names, config.inputs.size(), Names(config.inputs)));
  }
  for (size_t i = 1; i < arguments.size(); ++i) {
    if (arguments[i].type()->kind() != c10::TypeKind::TensorType) {
      return absl::FailedPreconditionError(
          fmt::format("model '{}': forward() argument '{}' is {}; only Tensor arguments "
                      "are supported",
                      config.name, arguments[i].name(), arguments[i].type()->str()));
    }
  }
  return absl::OkStatus();
}

// True when forward() may write to one of its inputs in place, by alias
// analysis of its graph with submodule calls inlined. Such a model must get
// copies of the caller's (const) buffers.
bool ForwardWritesInputs(const torch::jit::Module& module) {
  std::shared_ptr<torch::jit::Graph> graph = module.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  const torch::jit::AliasDb alias_db(graph);
  const auto inputs = graph->inputs();
  for (size_t i = 1; i < inputs.size(); ++i) {  // inputs[0] is self
    if (alias_db.hasWriters(inputs[i])) return true;
  }
  return false;
}

// Arranges forward()'s result in declared output order.
absl::StatusOr<std::vector<at::Tensor>> OrderOutputs(const ModelConfig& config,
                                                     const c10::IValue& result) {
  const size_t declared = config.outputs.size();
  std::vector<c10::IValue> values;
  if (result.isTensor()) {
    values.push_back(result);
  } else if (result.isTuple()) {
    for (const c10::IValue& v : result.toTupleRef().elements()) {
      values.push_back(v);
    }
  } else if (result.isList()) {
    for (const c10::IValue& v : result.toListRef()) values.push_back(v);
  } else if (result.isGenericDict()) {
    const c10::Dict<c10::IValue, c10::IValue> dict = result.toGenericDict();
    for (const TensorSpec& spec : config.outputs) {
      auto it = dict.find(c10::IValue(spec.name));
      if (it == dict.end()) {
        std::string keys;
        for (const auto& entry : dict) {
          keys += (keys.empty() ? "" : ", ") +
                  (entry.key().isString() ? entry.key().toStringRef() : entry.key().tagKind());
        }
        return absl::FailedPreconditionError(
            fmt::format("model '{}': forward() returned a dict without the declared "
                        "output '{}' (its keys: {})",
                        config.name, spec.name, keys));
      }
      values.push_back(it->value());
    }
  } else {
    return absl::FailedPreconditionError(
        fmt::format("model '{}': forward() returned {}; expected a Tensor, a tuple or "
                    "list of Tensors, or a Dict[str, Tensor]",
                    config.name, result.tagKind()));
  }
  if (values.size() != declared) {
    return absl::FailedPreconditionError(
        fmt::format("model '{}': forward() returned {} tensors but config.yaml declares "
                    "{} outputs ({})",
                    config.name, values.size(), declared, Names(config.outputs)));
  }
  std::vector<at::Tensor> tensors;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].isTensor()) {
      return absl::FailedPreconditionError(
          fmt::format("model '{}': forward() returned {} for output '{}'; expected a "
                      "Tensor",
                      config.name, values[i].tagKind(), config.outputs[i].name));
    }
    tensors.push_back(values[i].toTensor());
  }
  return tensors;
}

absl::StatusOr<core::Tensor> CopyOutput(const ModelConfig& config, const TensorSpec& spec,
                                        const at::Tensor& tensor) {
  std::optional<core::DataType> dtype = FromTorch(tensor.scalar_type());
  if (!dtype) {
    return absl::FailedPreconditionError(
        fmt::format("model '{}' output '{}' has torch dtype {}, which strata cannot "
                    "represent",
                    config.name, spec.name, c10::toString(tensor.scalar_type())));
  }
  const at::Tensor dense = tensor.to(at::kCPU).contiguous();
  core::Tensor out{spec.name, *dtype, core::Shape(dense.sizes().begin(), dense.sizes().end()), {}};
  out.data.resize(dense.nbytes());
  if (!out.data.empty()) {
    std::memcpy(out.data.data(), dense.data_ptr(), out.data.size());
  }
  return out;
}

absl::Status CheckInputs(const ModelConfig& config, std::span<const core::Tensor> inputs) {
  if (inputs.size() != config.inputs.size()) {
    return absl::InvalidArgumentError(fmt::format("model '{}' takes {} inputs ({}), got {}",
                                                  config.name, config.inputs.size(),
                                                  Names(config.inputs), inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec& spec = config.inputs[i];
    const core::Tensor& in = inputs[i];
    std::optional<int64_t> count = core::ElementCount(in.shape);
    if (in.dtype != spec.dtype || !count ||
        in.data.size() != static_cast<size_t>(*count) * core::ElementSize(in.dtype)) {
      return absl::InvalidArgumentError(
          fmt::format("model '{}' input '{}' must be {} with data matching its shape; got "
                      "{} {} with {} bytes",
                      config.name, spec.name, core::DataTypeName(spec.dtype),
                      core::DataTypeName(in.dtype), core::ShapeToString(in.shape), in.data.size()));
    }
  }
  return absl::OkStatus();
}

// The module frozen (parameters folded into the graph as constants) and
// optimized for inference (torch::jit::optimize_for_inference: e.g. a
// linear layer's weight transposed once instead of on every call), which
// took a one-row digits MLP's forward() from 127k to 92k instructions
// (callgrind, 1,000 calls after warm-up).
// A module that freezing or the optimization rejects is served as loaded;
// the reason is logged.
torch::jit::Module Frozen(const std::string& model, const torch::jit::Module& module) {
  try {
    torch::jit::Module frozen = torch::jit::freeze(module);
    return torch::jit::optimize_for_inference(frozen);
  } catch (const std::exception& e) {
    spdlog::info("model '{}': served unfrozen (torch::jit::freeze failed: {})", model,
                 ErrorText(e));
    return module;
  }
}

bool AllZero(const std::vector<uint8_t>& data) {
  return std::all_of(data.begin(), data.end(), [](uint8_t byte) { return byte == 0; });
}

}  // namespace

struct TorchScriptModel::State {
  ModelConfig config;
  int threads = 1;
  torch::jit::Module module;
  bool copy_inputs = false;  // the model may write to its inputs

  // Runs forward() on `inputs`; LibTorch may throw, the caller catches.
  absl::StatusOr<std::vector<core::Tensor>> Forward(std::span<const core::Tensor> inputs);
};

absl::StatusOr<std::vector<core::Tensor>> TorchScriptModel::State::Forward(
    std::span<const core::Tensor> inputs) {
  STRATA_RETURN_IF_ERROR(CheckInputs(config, inputs));
  ApplyThreads(threads);
  c10::InferenceMode guard;
  std::vector<c10::IValue> arguments;
  arguments.reserve(inputs.size());
  for (const core::Tensor& in : inputs) {
    // LibTorch wants a mutable pointer; the buffer is only read unless the
    // model writes to its inputs, and then copy_inputs is set.
    auto* data = const_cast<uint8_t*>(in.data.data());
    at::Tensor tensor =
        torch::from_blob(data, in.shape, at::TensorOptions().dtype(*ToTorch(in.dtype)));
    arguments.emplace_back(copy_inputs ? tensor.clone() : tensor);
  }
  const c10::IValue result = module.forward(std::move(arguments));
  STRATA_ASSIGN_OR_RETURN(std::vector<at::Tensor> tensors, OrderOutputs(config, result));
  std::vector<core::Tensor> outputs;
  outputs.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    STRATA_ASSIGN_OR_RETURN(core::Tensor out, CopyOutput(config, config.outputs[i], tensors[i]));
    outputs.push_back(std::move(out));
  }
  return outputs;
}

absl::StatusOr<std::unique_ptr<TorchScriptModel>> TorchScriptModel::Create(Options options) {
  auto state = std::make_unique<State>();
  state->config = std::move(options.config);
  state->threads = options.threads;
  const ModelConfig& config = state->config;
  STRATA_RETURN_IF_ERROR(CheckDeclaredDtypes(config));
  try {
    ApplyThreads(options.threads);
    state->module = torch::jit::load(options.artifact.string(), at::kCPU);
    state->module.eval();
    STRATA_RETURN_IF_ERROR(CheckForwardArguments(config, state->module));
    state->copy_inputs = ForwardWritesInputs(state->module);
    state->module = Frozen(config.name, state->module);
  } catch (const std::exception& e) {  // c10::Error is one
    return WithLibraryDetail(
        absl::InvalidArgumentError(fmt::format("model '{}': cannot load {} as a TorchScript module",
                                               config.name, options.artifact.string())),
        ErrorText(e));
  }

  std::unique_ptr<TorchScriptModel> model(new TorchScriptModel(std::move(state)));
  const int64_t batch = config.max_batch_size > 0 ? 2 : 1;
  STRATA_ASSIGN_OR_RETURN(std::vector<core::Tensor> dry_inputs, MakeDryRunInputs(config, batch));
  absl::StatusOr<std::vector<core::Tensor>> dry_outputs = model->Run(dry_inputs);
  if (dry_outputs.status().code() == absl::StatusCode::kInternal) {
    return absl::FailedPreconditionError(
        fmt::format("{} (in the dry run at load, on zero-filled inputs)",
                    std::string(dry_outputs.status().message())));
  }
  STRATA_RETURN_IF_ERROR(dry_outputs.status());
  STRATA_RETURN_IF_ERROR(CheckOutputsMatch(config, *dry_outputs));
  // A safety net for alias analysis: zero-filled inputs that are no longer
  // zero were written to in place.
  if (!std::all_of(dry_inputs.begin(), dry_inputs.end(),
                   [](const core::Tensor& in) { return AllZero(in.data); })) {
    model->state_->copy_inputs = true;
  }
  return model;
}

TorchScriptModel::TorchScriptModel(std::unique_ptr<State> state) : state_(std::move(state)) {}

TorchScriptModel::~TorchScriptModel() = default;

absl::StatusOr<std::vector<core::Tensor>> TorchScriptModel::Run(
    std::span<const core::Tensor> inputs) {
  const std::string& name = state_->config.name;
  try {
    return state_->Forward(inputs);
  } catch (const std::exception& e) {  // c10::Error is one
    return absl::InternalError(fmt::format("model '{}': forward() failed: {}", name, ErrorText(e)));
  }
}

absl::StatusOr<dense::DenseNetwork> TorchScriptModel::AsDenseNetwork() const {
  try {
    return ReadDenseNetwork(*state_->module.get_method("forward").graph(), state_->config);
  } catch (const std::exception& e) {  // c10::Error is one
    return absl::UnimplementedError(
        fmt::format("reading the graph for the dense engine failed: {}", ErrorText(e)));
  }
}

}  // namespace strata::runtime
