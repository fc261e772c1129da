// ReadDenseNetwork reads a frozen TorchScript forward() graph as a
// dense::DenseNetwork when the dense engine can express it: one tensor
// input, constant float32 weights, and only linear layers (aten::linear,
// addmm, matmul or mm, with an optional bias add), elementwise add, relu,
// sigmoid, tanh, softmax and log_softmax over the last dimension; flatten,
// reshape or view to [N, K], dropout (eval), contiguous and detach pass
// their input through. The answer is a tensor, a tuple or list of them, or a
// Dict[str, Tensor] read in declared output order. Pure; thread-safe.
#ifndef STRATA_RUNTIME_TORCHSCRIPT_DENSE_GRAPH_READER_H_
#define STRATA_RUNTIME_TORCHSCRIPT_DENSE_GRAPH_READER_H_

#include "absl/status/statusor.h"
#include "runtime/dense/dense_network.h"
#include "runtime/model_config.h"

namespace torch::jit {
struct Graph;
}  // namespace torch::jit

namespace strata::runtime {

// UNIMPLEMENTED, naming the first node or signature the engine cannot
// express (e.g. "the graph has aten::conv2d"), for any other graph.
absl::StatusOr<dense::DenseNetwork> ReadDenseNetwork(const torch::jit::Graph& graph,
                                                     const ModelConfig& config);

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_TORCHSCRIPT_DENSE_GRAPH_READER_H_
