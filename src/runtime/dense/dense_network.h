// DenseNetwork is a small dense model as the dense engine runs it: a list of
// steps over float matrices of `rows` rows, each step reading earlier values
// and writing one new value, and the values the model answers with. Value 0
// is the model's one input. A plain value type with no framework types
// (safe to read from many threads); runtime/torchscript builds one from a
// frozen TorchScript graph.
#ifndef STRATA_RUNTIME_DENSE_DENSE_NETWORK_H_
#define STRATA_RUNTIME_DENSE_DENSE_NETWORK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::runtime::dense {

enum class StepKind {
  kLinear,      // value · weights (+ bias): a linear layer, addmm, matmul (+ add)
  kAddBias,     // value + a constant row, broadcast over the rows
  kAdd,         // value + value, elementwise (a residual connection)
  kRelu,        // max(x, 0)
  kSigmoid,     // 1 / (1 + exp(-x))
  kTanh,        // tanh(x)
  kSoftmax,     // softmax over each row
  kLogSoftmax,  // log_softmax over each row
};

// A linear layer's constants. `weights` is [in][out], row-major: the layout
// in which one input column scales one contiguous row of weights.
struct LinearWeights {
  int64_t in = 0;
  int64_t out = 0;
  std::vector<float> weights;  // in * out
  std::vector<float> bias;     // out, or empty
};

struct Step {
  StepKind kind = StepKind::kRelu;
  int32_t input = 0;   // the value read
  int32_t other = -1;  // kAdd: the second value read
  int32_t layer = -1;  // kLinear: index into `linears`; kAddBias: into `biases`
};

struct DenseNetwork {
  int64_t input_width = 0;  // columns of value 0
  std::vector<Step> steps;  // step i writes value i + 1
  std::vector<LinearWeights> linears;
  std::vector<std::vector<float>> biases;
  std::vector<int32_t> outputs;  // the answered values, in declared output order
};

std::string_view StepKindName(StepKind kind);

// The number of columns of every value (value 0 first), checking that each
// step reads values written before it with widths that fit. Error
// (INVALID_ARGUMENT) for a malformed network.
absl::StatusOr<std::vector<int64_t>> ValueWidths(const DenseNetwork& network);

// The weights of every linear layer, summed.
int64_t WeightCount(const DenseNetwork& network);

// Above this many weights (1 MiB of floats: past the L2 cache) OpenBLAS's
// blocked products beat the engine's kernels at batch sizes over a few rows
// (a 1.6M-weight MLP: 0.6x LibTorch's time at 1 row, 3x at 64), so a model
// without `engine: dense` stays on LibTorch.
inline constexpr int64_t kDenseDefaultMaxWeights = int64_t{1} << 18;

// One line for the log, e.g. "3 linear layers, 64 -> 128 -> 64 -> 10, 13 steps".
std::string Describe(const DenseNetwork& network);

}  // namespace strata::runtime::dense

#endif  // STRATA_RUNTIME_DENSE_DENSE_NETWORK_H_
